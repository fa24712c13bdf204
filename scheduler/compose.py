"""Composer: one release becomes one :class:`Variant` per account.

For each account: take the rules its channel declares (:class:`channels.base.Channel`:
limit and counting, dialect, hashtag and mention rules, template), turn the release's
Markdown into the channel's format, merge campaign and release hashtags, resolve mentions,
add UTM parameters to the link, render the template, and fit the result into the limit (a
numbered thread, or one post cut with an ellipsis); then the channel's
:meth:`~channels.base.Channel.compose_extra` adds its own fields. Every part is measured
with the network's own counting; a release that cannot be made valid raises
:class:`ComposeError` naming the account, what does not fit and the fix. Nothing here
depends on which network it is.
"""

from __future__ import annotations

import html
import mimetypes
from copy import deepcopy
from dataclasses import replace
from functools import lru_cache
from typing import Any, NoReturn

from channels import registry
from channels.base import Channel
from channels.rules import PostRules
from channels.variant import Media, Variant
from scheduler.drafts import ComposerDraft
from scheduler.errors import ComposeError
from scheduler.i18n import _
from scheduler.releases import ReleaseDoc
from scheduler.settings import AccountSettings, Settings
from scheduler.text import fitting, hashtags, markup, templating
from scheduler.text.counting import rules_for
from scheduler.text.links import with_utm
from scheduler.text.mentions import Mention, MentionFunction, with_dids

#: on networks with threads, optional hashtags may take at most this share of a post
_OPTIONAL_TAG_SHARE = 0.5


@lru_cache(maxsize=512)
def _fit(network: str, limit: int, mode: str, render: templating.Renderer,
         body: str, lead: str) -> tuple[tuple[str, ...], str]:
    """(parts, how) for a body too long for one post; pure, so remembered.

    ``how`` is "thread", "truncated" or "shortened" (a thread would have been too long).
    ``lead`` (the summary) opens the post when the body's first sentence has no room there.
    """
    rules = rules_for(network)

    def fits(text: str) -> bool:
        return rules.fits(text, limit)

    if mode == "thread":
        try:
            return tuple(fitting.thread(body, render, fits, limit=limit, lead=lead)), "thread"
        except fitting.ThreadTooLong:
            text, _how = fitting.truncate(body, render, fits, limit=limit, lead=lead)
            return (text,), "shortened"
    text, _how = fitting.truncate(body, render, fits, limit=limit, lead=lead)
    return (text,), "truncated"


@lru_cache(maxsize=512)
def _whole(render: templating.Renderer, body: str) -> str:
    """The post with the whole body; remembered, so that composing the same release again
    measures the very same string (its hash already known) instead of building it anew."""
    return render(body)


@lru_cache(maxsize=64)
def _channel(network: str) -> type[Channel]:
    return registry.lookup(network)


@lru_cache(maxsize=256)
def _tag_texts(in_text: bool, dialect: str, tags: tuple[str, ...]) -> tuple[str, ...]:
    """Hashtags as written in the post; none where the network takes them in a field of
    their own (``HashtagRules.in_text``)."""
    if not in_text:
        return ()
    return tuple(markup.hashtag(dialect, tag) for tag in tags)


@lru_cache(maxsize=256)
def _base_context(network: str, dialect: str, account: str, title: str, link: str,
                  summary: str, language: str, mentions: tuple[str, ...],
                  html_body_of: str | None, mention: MentionFunction) -> dict[str, Any]:
    """What templates get besides ``hashtags`` and ``body`` (shared: never modify it)."""
    return {
        "title": markup.escape_for(dialect, title),
        "link": markup.escape_link(dialect, link),
        "link_attr": html.escape(link), "mentions": mentions, "summary": summary,
        "language": language, "network": network, "account": account,
        "body_html": markup.convert(html_body_of, "html") if html_body_of is not None else "",
        "mention": mention,
    }


@lru_cache(maxsize=256)
def _title_frame(template: templating.Template, network: str, dialect: str, account: str,
                 link: str, summary: str, language: str, mentions: tuple[str, ...],
                 mention: MentionFunction, tag_texts: tuple[str, ...]) -> tuple[str, ...] | None:
    """:func:`templating.title_frame` of what :meth:`_Composer._context` gives a network
    without an HTML body, but the title: the same for every release of a calendar."""
    return templating.title_frame(template, {
        **_base_context(network, dialect, account, "", link, summary, language, mentions,
                        None, mention), "hashtags": tag_texts})


def _renderer_for(template: templating.Template, context: dict[str, Any],
                  telegram: bool) -> templating.Renderer:
    spliced = templating.spliced(template, tuple(context.items()), telegram)
    if spliced is not None:
        return spliced
    post = template.blocks["post"]
    return templating.Renderer("", "", telegram, lambda body: post({**context, "body": body}))


@lru_cache(maxsize=1024)
def _optional_tags_kept(template: templating.Template, base: tuple[tuple[str, Any], ...],
                        required: tuple[str, ...], optional: tuple[str, ...], network: str,
                        limit: int, budget: float, telegram: bool) -> int:
    """How many optional tags (as written) the post without body still has room for."""
    rules = rules_for(network)

    def room_for(count: int) -> bool:
        context = {**dict(base), "hashtags": required + optional[:count]}
        bare = _renderer_for(template, context, telegram)("")
        return rules.measure(bare) <= budget and rules.fits(bare, limit)

    if room_for(len(optional)):
        return len(optional)
    low, high = 0, len(optional) - 1  # more tags never take less room
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if room_for(middle) else (low, middle - 1)
    return low


@lru_cache(maxsize=256)
def _written_tags(markdown: str) -> frozenset[str]:
    return frozenset(t.casefold() for t in hashtags.inline_tags(markdown))


@lru_cache(maxsize=1024)
def _merged_tags(campaign: tuple[str, ...], release: tuple[str, ...], valid: str,
                 cap: int | None) -> hashtags.TagSet:
    return hashtags.merge(list(campaign), list(release), valid=valid, cap=cap)


def _media(release: ReleaseDoc, account: AccountSettings, rules: PostRules,
           warnings: list[str]) -> list[Media]:
    """The release's images for this account: alt text checked against the account's
    policy and cut to the network's limit, extra images beyond the network's count left
    out with a warning (the files are prepared later, see ``scheduler/media_prep.py``)."""
    if not release.images and not release.videos:  # most releases: nothing to look up
        return []
    from scheduler.media_prep import alt_limit

    network = account.network
    limit = alt_limit(network, rules)
    media = []
    for image in release.images:
        alt = image.alt
        if not alt:
            if account.alt_text == "require":
                raise ComposeError(
                    _("account {account} ({network}) requires alt text, and image {image} has "
                      "none").format(account=repr(account.name), network=network,
                                     image=image.path.name),
                    hint=_("describe the photo in 'alt:' for screen-reader users, e.g. "
                           "images: [{example}]").format(
                               example='{path: foto.jpg, alt: "Kalapas membuka rakor"}'))
            warnings.append(_("image {image} has no alt text: screen-reader users will not "
                              "know what it shows").format(image=image.path.name))
        if limit and len(alt) > limit:
            warnings.append(_("alt text of {image} cut to {limit} characters").format(
                image=image.path.name, limit=limit))
            alt, _how = fitting.truncate(alt, lambda text: text,
                                      lambda text, limit=limit: len(text) <= limit)
        media.append(Media(path=str(image.path), alt=alt,
                           mime=mimetypes.guess_type(image.path.name)[0],
                           source=str(image.path)))
    if rules.max_images is not None and len(media) > rules.max_images:
        warnings.append(_("{network} takes {most} images per post: {count} left out").format(
            network=network, most=rules.max_images, count=len(media) - rules.max_images))
        media = media[:rules.max_images]
    if release.videos:
        media = _with_video(release, account, media, warnings)
    return media


def _with_video(release: ReleaseDoc, account: AccountSettings, images: list[Media],
                warnings: list[str]) -> list[Media]:
    """The post's media once the release's video is considered: the video alone where the
    network cannot mix it with photos (X, Bluesky, Mastodon, Reels … take one or the
    other, and the video is what the release was made for), the video and the photos
    where it can, the photos alone where the network takes no video."""
    from channels.video import video_rules_for

    video = release.videos[0]
    name = video.path.name
    rules = video_rules_for(account.network)
    if rules is None:
        warnings.append(_("{network} takes no video here: {name} left out (to point to it, "
                          "put its web address in the text or in 'link:')").format(
                              network=account.network, name=name))
        return images
    if not video.caption:
        if account.alt_text == "require":
            raise ComposeError(
                _("account {account!r} ({network}) requires a description of each picture, and "
                  "video {name} has no caption").format(
                    account=account.name, network=account.network, name=name),
                hint=_("say what the video shows in 'caption:', e.g. videos: [{{path: {name}, "
                       "caption: \"Kalapas membuka rakor\"}}]").format(name=name))
        warnings.append(_("video {name} has no caption: screen-reader users will not know what "
                          "it shows").format(name=name))
    if images and not rules.with_images:
        warnings.append(_("{network} takes a video or photos in one post, not both: the "
                          "video is sent, {count} photo(s) left out").format(
                              network=account.network, count=len(images)))
        images = []
    shown = Media(path=str(video.path), alt=video.caption, kind="video",
                  mime=mimetypes.guess_type(name)[0] or "video/mp4", source=str(video.path),
                  title=video.title)
    return [shown, *images]


class _Composer:
    """The work of composing one release for one account."""

    def __init__(self, release: ReleaseDoc, account: AccountSettings, settings: Settings):
        self.release = release
        self.account = account
        self.network = account.network
        self.channel = _channel(self.network)
        self.rules = rules_for(self.network)
        self.limit = account.limit or self.rules.limit
        self.dialect = self.channel.dialect
        self.warnings: list[str] = []
        self.link = (with_utm(release.link, settings.utm.get(self.network))
                     if release.link else None)
        self.mention_table = settings.mentions
        self.mention = MentionFunction.of(self.network, self.dialect, settings.mentions,
                                          self.channel.mention_rules)
        self.mentions = [self.mention.resolve(key) for key in release.mentions]
        tag_rules = self.channel.hashtag_rules
        self.tags = _merged_tags(tuple(settings.campaign_hashtags), tuple(release.hashtags),
                                 tag_rules.valid, tag_rules.max_tags)
        if self.tags.dropped:
            self.warnings.append(_("hashtags left out on {network}: {tags}").format(
                network=self.network,
                tags=", ".join(f"#{t.lstrip('#')}" for t in self.tags.dropped)))
        self.template = templating.load(*templating.find(
            account, settings, self.channel.template or f"{self.network}.j2"))
        self.title = release.title  # shortened when title, link and tags leave no room
        self.body = self._body()
        self._renderers: dict[tuple[str, ...], templating.Renderer] = {}
        self._contexts: dict[tuple[str, ...], dict[str, Any]] = {}
        self._base: dict[str, Any] | None = None
        #: the channel's compose_extra asked for the account's name (Draft.account)
        self.name_read = False

    def reads_name(self) -> bool:
        """Whether the variant may depend on the account's name: the channel asked for it,
        or the template may use ``account`` (or includes other templates)."""
        return self.name_read or templating.may_read(self.template, "account")

    # --- formatting ----------------------------------------------------------------------

    def _body(self) -> str:
        return markup.convert(self.release.body, self.dialect)

    def _lead(self) -> str:
        """The summary, written for the network, to open a post the body cannot open whole."""
        summary = (self.release.summary or "").strip()
        if not summary:
            return ""
        return markup.escape_for(self.dialect, summary)

    def _tag_texts(self, tags: tuple[str, ...]) -> tuple[str, ...]:
        return _tag_texts(self.channel.hashtag_rules.in_text, self.dialect, tags)

    def _context(self, tags: tuple[str, ...]) -> dict[str, Any]:
        if tags not in self._contexts:
            self._contexts[tags] = {**self._base_context(), "hashtags": self._tag_texts(tags)}
        return self._contexts[tags]

    def _base_context(self) -> dict[str, Any]:
        """What templates get besides ``hashtags`` and ``body``."""
        if self._base is None:
            self._base = _base_context(
                self.network, self.dialect, self.account.name, self.title,
                self.link or "", self.release.summary or "", self.release.language,
                tuple(m.text for m in self.mentions),
                self.release.body if self.channel.html_body else None,
                self.mention)
        return self._base

    def _renderer(self, tags: tuple[str, ...]) -> templating.Renderer:
        if (renderer := self._renderers.get(tags)) is None:
            telegram = self.dialect == "telegram"
            # the frame around the title is the same for every release of a calendar
            # (networks whose template shows the body as HTML take the usual way)
            if self.channel.html_body or (renderer := templating.spliced_titled(
                    _title_frame(self.template, self.network, self.dialect, self.account.name,
                                 self.link or "", self.release.summary or "",
                                 self.release.language, tuple(m.text for m in self.mentions),
                                 self.mention, self._tag_texts(tags)),
                    markup.escape_for(self.dialect, self.title), telegram)) is None:
                renderer = _renderer_for(self.template, self._context(tags), telegram)
            self._renderers[tags] = renderer
        return renderer

    # --- fitting -------------------------------------------------------------------------

    def _fits(self, text: str) -> bool:
        return self.rules.fits(text, self.limit)

    def _choose_tags(self) -> tuple[str, ...]:
        """Required tags always; optional ones while the post without body has room."""
        required, optional = self.tags.required, self.tags.optional
        if self.limit is None or not optional:
            return required + optional
        budget = self.limit * (_OPTIONAL_TAG_SHARE if self.rules.threads else 1.0)
        kept = _optional_tags_kept(
            self.template, tuple(self._base_context().items()), self._tag_texts(required),
            self._tag_texts(optional), self.network, self.limit, budget,
            self.dialect == "telegram")
        if kept < len(optional):
            self.warnings.append(_("{count} hashtag(s) left out to fit {limit}: {tags}").format(
                count=len(optional) - kept, limit=self.limit,
                tags=" ".join(f"#{t}" for t in optional[kept:])))
        return required + optional[:kept]

    def parts(self) -> list[str]:
        tags = self._choose_tags()
        # tags already written in the body need not be repeated when the body goes whole
        # (a release without tags, the usual one, need not look for them in its body)
        untold = tags
        if tags:
            written = _written_tags(self.release.body)
            untold = tuple(t for t in tags if t.casefold() not in written)
        whole = _whole(self._renderer(untold), self.body)
        if self.limit is None or self._fits(whole):
            return [whole]
        mode = "thread" if self.rules.threads and self.account.long_text == "thread" \
            else "truncate"
        render = self._renderer(tags)
        try:
            parts, how = _fit(self.network, self.limit, mode, render, self.body, self._lead())
        except fitting.DoesNotFit as exc:
            if "required" not in exc.what:
                self._cannot_fit(exc, render, mode)
            parts, how = self._fit_shorter_title(tags, mode, exc)
        if how == "thread":
            self.warnings.append(_("too long for one post: sent as a thread of {count}").format(
                count=len(parts)))
        elif how == "shortened":
            self.warnings.append(_("a thread would need more than {count} posts: one "
                                   "shortened post is sent instead").format(
                                       count=fitting.MAX_THREAD_PARTS))
        elif self.link:
            self.warnings.append(_("too long: the text was shortened; the link leads to the "
                                   "full release"))
        else:
            self.warnings.append(_("too long: the text was shortened"))
        return list(parts)

    def _retitle(self, title: str) -> None:
        self.title = title
        self._base = None
        self._contexts.clear()
        self._renderers.clear()

    def _fit_shorter_title(self, tags: tuple[str, ...], mode: str,
                           exc: fitting.DoesNotFit) -> tuple[tuple[str, ...], str]:
        """The post with the longest head of the title (whole words, then an ellipsis)
        that leaves room for the body: a long headline must not block the release."""
        full = self.release.title
        words = full.split()

        def attempt(count: int) -> tuple[tuple[str, ...], str] | None:
            self._retitle(" ".join(words[:count]).rstrip(" ,.;:-–—") + fitting.ELLIPSIS)
            try:
                return _fit(self.network, self.limit, mode, self._renderer(tags), self.body,
                            self._lead())
            except fitting.DoesNotFit:
                return None

        # a shorter title never takes more room, so the longest that fits is found by halves
        low, high = 0, len(words) - 1
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if attempt(middle) is not None else (low, middle - 1)
        fitted = attempt(low) if low else None
        if fitted is None:
            if len(words) < 2:
                self._retitle(full)
            self._cannot_fit(exc, self._renderer(tags), mode)
        self.warnings.append(_("title shortened to fit beside the link and hashtags ({kept} of "
                               "{words} words kept): write a shorter title to choose the "
                               "words yourself").format(kept=low, words=len(words)))
        return fitted

    def _cannot_fit(self, exc: fitting.DoesNotFit, render: templating.Renderer,
                    mode: str) -> NoReturn:
        required = "required" in exc.what
        bare = render("")
        if mode == "thread":  # the room a thread reserves for its widest (i/n) marker
            bare += fitting.marker(fitting.MAX_THREAD_PARTS, fitting.MAX_THREAD_PARTS)
        if not required:
            problem = _("the word {word} is longer than one post ({limit} {unit})")
        elif mode == "thread":
            problem = _("even with the title cut to \u201c{title}\u201d, the title, link, "
                        "required hashtags and the thread marker measure {length} {unit}, "
                        "over the limit of {limit}")
        else:
            problem = _("even with the title cut to \u201c{title}\u201d, the title, link and "
                        "required hashtags measure {length} {unit}, over the limit of {limit}")
        raise ComposeError(
            _("account {account} ({network}): ").format(account=repr(self.account.name),
                                                        network=self.network)
            + problem.format(title=self.title, length=self.rules.measure(bare),
                             unit=_(self.rules.unit), limit=self.limit, word=repr(exc.word)),
            hint=_("shorten the campaign hashtags or the link, or give this account a "
                   "template without them") if required else
            _("break the long word or link in the release text"),
        ) from exc

    # --- extras ---------------------------------------------------------------------------

    def block(self, name: str) -> str | None:
        """The template's block ``name`` rendered with every tag and the whole body."""
        if name not in self.template.blocks:
            return None
        context = tuple({**self._context(self.tags.all), "body": self.body}.items())
        return templating.render_block(self.template, name, context)

    def did_mentions(self) -> tuple[Mention, ...]:
        """Every organisation of the table this network can mention by DID (also those a
        template named with mention())."""
        return tuple(with_dids(self.network, self.mention_table, self.channel.mention_rules))

    def variant(self) -> Variant:
        parts = self.parts()
        media = _media(self.release, self.account, self.rules.post, self.warnings)
        extra = self.channel.compose_extra(ComposerDraft(self, parts), self.release)
        return Variant(
            account=self.account.name, channel=self.network, parts=parts,
            length=[self.rules.measure(part) for part in parts], limit=self.limit,
            warnings=self.warnings, media=media, link=self.link, title=self.release.title,
            extra=extra,
        )


def compose(release: ReleaseDoc, account: AccountSettings, settings: Settings) -> Variant:
    """The variant of ``release`` for ``account``; raises ComposeError (naming the release's
    file) if it cannot fit."""
    try:
        return _Composer(release, account, settings).variant()
    except ComposeError as exc:
        raise exc.in_file(release.source) from exc


def compose_all(release: ReleaseDoc, accounts: list[AccountSettings],
                settings: Settings) -> list[Variant]:
    """Variants for every account, in the given order.

    Accounts the composer cannot tell apart share one composition: the same network,
    limit, long-text choice and template, where neither the template nor the channel's
    ``compose_extra`` reads the account's name. The first of them is composed; the others
    get a copy of its variant under their own name (25 Mastodon accounts: composed once).
    """
    composed: dict[tuple[Any, ...], tuple[Variant, _Composer]] = {}
    variants = []
    for account in accounts:
        # everything of the account the composition reads, but its name (see _Composer)
        alike = (account.network, account.limit, account.long_text, account.template)
        if (first := composed.get(alike)) is not None and not first[1].reads_name():
            variants.append(_named(first[0], account.name))
            continue
        composer = _Composer(release, account, settings)
        try:
            variant = composer.variant()
        except ComposeError as exc:
            raise exc.in_file(release.source) from exc
        composed.setdefault(alike, (variant, composer))
        variants.append(variant)
    return variants


def _named(variant: Variant, account: str) -> Variant:
    """``variant`` for another account: its own lists and extras, nothing shared."""
    return replace(variant, account=account, parts=list(variant.parts),
                   length=list(variant.length), warnings=list(variant.warnings),
                   media=list(variant.media), extra=deepcopy(variant.extra))


def compose_each(release: ReleaseDoc, accounts: list[AccountSettings],
                 settings: Settings) -> list[Variant | ComposeError]:
    """For every account its variant, or the reason it has none: one account that cannot
    be composed does not hide the others (``siar preview``)."""
    results: list[Variant | ComposeError] = []
    for account in accounts:
        try:
            results.append(compose(release, account, settings))
        except ComposeError as exc:
            results.append(exc)
    return results


__all__ = ["compose", "compose_all", "compose_each"]
