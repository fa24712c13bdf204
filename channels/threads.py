"""Threads adapter (Threads API on ``graph.threads.net/v1.0``).

Each part is one post made in two steps (see :class:`channels.meta.ContainerChannel`):
``POST /{user}/threads {media_type, text, image_url, alt_text, reply_to_id, topic_tag}``
creates a container, its ``status`` is polled until FINISHED, the container id is
checkpointed and ``POST /{user}/threads_publish {creation_id}`` publishes it. Later
parts reply to the previous part's media id, so a long release becomes a thread.

Threads keeps **one topic tag** per post (``topic_tag``, from ``variant.extra``), sent
with the first part only. Images must be at a public URL, as for Instagram: the media
store the daemon hands in (``[media] store``), else the media's own ``url`` or
``public_media_base_url`` (:mod:`channels.image_host`).

Long-lived tokens last 60 days and are refreshed with ``th_refresh_token``
(:meth:`ThreadsChannel.refresh_token`); :meth:`check` reports the expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from channels.base import CheckResult, Delivery, NotSent, Outcome, Published, Rejected
from channels.composing import Draft, Release
from channels.http import answered, redact, request
from channels.i18n import N_, _
from channels.image_host import ImagesOfAnAttempt
from channels.meta import classify
from channels.meta_video import VideoContainerChannel
from channels.rules import MB, Counting, HashtagRules, ImageRules, PostRules, Unit, VideoRules
from channels.variant import Media, Variant

if TYPE_CHECKING:  # imported on first use: composing reads only the rules
    pass

__all__ = ["ThreadsChannel", "TokenRefresh"]

MAX_CAROUSEL = 20
#: refresh a long-lived token when it has less than this left
REFRESH_MARGIN = timedelta(days=7)


#: Threads' topic tag: 1–50 characters, no "." or "&"
TOPIC_MAX = 50


def threads_topic(tags: tuple[str, ...]) -> str | None:
    """Threads takes one topic tag per post: the first that fits its rules."""
    for tag in tags:
        if 1 <= len(tag) <= TOPIC_MAX and "." not in tag and "&" not in tag:
            return tag
    return None


@dataclass(frozen=True)
class TokenRefresh:
    """A refreshed long-lived token: store it as the account's new ``access_token``."""

    access_token: str
    expires_at: datetime

    def __repr__(self) -> str:  # the token must not reach a log through repr()
        return f"TokenRefresh(access_token='***', expires_at={self.expires_at.isoformat()})"


class ThreadsChannel(VideoContainerChannel):
    """Options: ``user_id`` (default ``me``), ``public_media_base_url``, ``graph_version``
    (default ``v1.0``), ``poll_interval``/``poll_timeout`` (seconds), and for videos
    ``video_poll_interval``/``video_poll_timeout``."""

    network = "threads"
    display_name = "Threads"
    accent_colour = "#101010"
    post_rules = PostRules(limit=500, counting=Counting(Unit.CODE_POINTS, emoji_as_bytes=True),
                           unit_name=N_("characters (emoji = UTF-8 bytes)"), threads=True,
                           max_links=5, max_images=MAX_CAROUSEL)
    # one topic tag per post, sent in its own field (compose_extra), none in the text
    hashtag_rules = HashtagRules(in_text=False)
    # Threads: JPEG/PNG ≤ 8 MB, width ≤ 1440.
    image_rules = ImageRules(max_bytes=8 * MB, max_side=1440)
    #: VIDEO containers: MP4, H.264, at most 1920 columns, 0.01:1 to 10:1, 25 Mbit/s,
    #: AAC ≤ 48 kHz at 128 kbit/s, up to 5 minutes and 1 GB
    video_rules = VideoRules(max_bytes=1000 * MB, max_seconds=300, min_seconds=0.1,
                             aspect=(0.01, 10.0), max_video_kbps=25_000)
    docs = "docs/channels/threads.md"

    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        """The topic tag (the first tag Threads accepts); warns about the tags left out and
        about parts with more links than Threads takes."""
        topic = threads_topic(draft.tags)
        if len(draft.tags) > 1:
            draft.warn(_("Threads takes one topic tag per post: #{topic} is used, the others are "
                         "left out").format(topic=topic))
        most = draft.rules.max_links
        for index, part in enumerate(draft.parts, start=1):
            links = len(draft.links(part))
            if links > (most or links):
                draft.warn(_("part {index} has {links} links; Threads rejects more "
                             "than {most}").format(index=index, links=links, most=most))
        return {"topic_tag": topic}
    fetches_media_by_url = True
    default_base_url = "https://graph.threads.net"
    default_version = "v1.0"
    # Threads documents only the access_token parameter (form body on POST, query on GET)
    token_in_header = False
    container_edge = "threads"
    publish_edge = "threads_publish"
    status_field = "status"

    @property
    def user_id(self) -> str:
        return str(self.account.options.get("user_id") or "me")

    # --- what the post needs ----------------------------------------------------------
    def preflight(self, variant: Variant) -> str | None:
        """Why this variant cannot be published on Threads, or ``None`` (for queue time)."""
        if len(variant.media) > MAX_CAROUSEL:
            return _("Threads takes at most {most} images per post").format(most=MAX_CAROUSEL)
        missing = self.missing_urls(variant.media)
        if missing:
            return (_("Threads fetches images and videos from a public URL, and none is known "
                      "for {files}: choose where Siar hosts them in siar.toml ([media] store = "
                      "\"wordpress:ACCOUNT\", \"s3\" or \"siar\"), or set the account option "
                      "public_media_base_url").format(files=', '.join(missing)))
        tag = variant.extra.get("topic_tag")
        if tag and (len(str(tag)) > 50 or any(c in str(tag) for c in ".&")):
            return _("Threads topic tag {tag!r} must be 1-50 characters without '.' or '&'").format(
                       tag=tag)
        return None

    @staticmethod
    def _image_params(media: Media, images: ImagesOfAnAttempt, *,
                      child: bool) -> dict[str, str]:
        params = {"media_type": "IMAGE", "image_url": images.url(media) or "",
                  "alt_text": media.alt}
        if child:
            params["is_carousel_item"] = "true"
        return params

    def part_params(self, variant: Variant, index: int, reply_to: str | None,
                    children: list[str] | None = None, *,
                    images: ImagesOfAnAttempt | None = None) -> dict[str, str]:
        """The container parameters of part ``index`` (images go with the first part)."""
        from channels.uploads import video_of
        params: dict[str, str] = {"media_type": "TEXT", "text": variant.parts[index]}
        video = video_of(variant)
        if index == 0 and video is not None:
            # a video post: media_type VIDEO and the hosted video_url (no cover on Threads)
            url = (images or self.images(None)).url(video) or "{hosted-url}"
            params.update({"media_type": "VIDEO", "video_url": url})
            if video.alt:
                params["alt_text"] = video.alt
        elif index == 0 and len(variant.media) == 1:
            params.update(self._image_params(variant.media[0], images or self.images(None),
                                             child=False))
        elif index == 0 and variant.media:
            params.update({"media_type": "CAROUSEL", "children": ",".join(children or [])})
        if index == 0 and variant.extra.get("topic_tag"):
            params["topic_tag"] = str(variant.extra["topic_tag"]).lstrip("#")
        if reply_to:
            params["reply_to_id"] = reply_to
        return params

    # --- publishing -------------------------------------------------------------------
    def publish_with(self, delivery: Delivery, images: ImagesOfAnAttempt) -> Outcome:
        variant = delivery.variant
        if problem := self.preflight(variant):
            return Rejected(problem)
        reply_to: str | None = None
        for index, text in enumerate(variant.parts):
            done = delivery.done_part(index)
            if done:
                reply_to = done.remote_id
                continue
            children: list[str] | None = None
            if index == 0 and len(variant.media) > 1:
                made = self.carousel_children(
                    delivery, len(variant.media),
                    lambda i: self._image_params(variant.media[i], images, child=True))
                if not isinstance(made, list):
                    return made
                children = made
            params = self.part_params(variant, index, reply_to, children, images=images)
            media_id = self.publish_container(delivery, index, text, params)
            if not isinstance(media_id, str):
                return media_id
            delivery.part_published(index, media_id, self.permalink(media_id),
                                    container_id=delivery.state.get(self.container_key(index)))
            reply_to = media_id
        first = min(delivery.progress, key=lambda p: p.index)
        return Published(first.remote_id, first.url)

    def container_error(self, container_id: str) -> str:
        body = self.call("GET", container_id, creating=False,
                         params={"fields": "status,error_message"})
        if isinstance(body, dict):
            return str(body.get("error_message") or body.get("status"))
        return "status ERROR"

    def find_published_media(self, text: str) -> tuple[str, str | None] | None:
        body = self.call("GET", f"{self.user_id}/threads", creating=False,
                         params={"fields": "id,text,permalink,timestamp", "limit": "25"})
        if not isinstance(body, dict):
            return None
        for media in body.get("data", []):
            if str(media.get("text", "")).strip() == text.strip():
                return str(media["id"]), media.get("permalink")
        return None

    # --- token ------------------------------------------------------------------------
    def refresh_token(self) -> TokenRefresh | Outcome:
        """Extend the long-lived token by 60 days (``GET /refresh_access_token``).

        The token must be at least 24 hours old and not yet expired. The adapter uses
        the new token at once; the caller stores it (``SIAR_SECRET_<ACCOUNT>_ACCESS_TOKEN``)
        because secrets live outside Siar's database.
        """
        old = self.secrets.get("access_token", "")
        answer = request(self.session, "GET", f"{self.base_url}/refresh_access_token",
                         secrets=self.secrets.values(), timeout=self.timeouts,
                         params={"grant_type": "th_refresh_token", "access_token": old})
        if not answered(answer):
            return answer
        outcome = classify(answer, secrets=self.secrets.values(), creating=False)
        if outcome is not None:
            return outcome
        try:
            body = answer.json()
            token, expires_in = str(body["access_token"]), int(body["expires_in"])
        except (ValueError, KeyError, TypeError):
            return NotSent(_("unreadable refresh answer: {text}").format(
                               text=redact(answer.text[:200], self.secrets.values())))
        self.secrets["access_token"] = token
        return TokenRefresh(token, datetime.now(UTC) + timedelta(seconds=expires_in))

    def check(self) -> CheckResult:
        """The Threads user, and when the token expires (with a nudge to refresh it)."""
        result = self.check_identity("id,username")
        if result.ok and result.expires_at is not None:
            left = result.expires_at - datetime.now(UTC)
            if left < REFRESH_MARGIN:
                return CheckResult(
                    ok=True, identity=result.identity, expires_at=result.expires_at,
                    detail=_("{detail}; only {days} days left: refresh the token "
                             "(th_refresh_token) before it lapses").format(
                               detail=result.detail, days=max(left.days, 0)))
        return result

    # --- describing -------------------------------------------------------------------
    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        from channels.uploads import video_of
        base = f"{self.api_url}/{self.user_id}"
        variant = delivery.variant
        calls: list[dict[str, Any]] = []
        children = None
        if len(variant.media) > 1:
            children = [f"{{child-{i}}}" for i in range(len(variant.media))]
            images = self.images(None)
            calls += [{"method": "POST", "url": f"{base}/threads",
                       "data": self._image_params(m, images, child=True)}
                      for m in variant.media]
        for index in range(len(variant.parts)):
            reply_to = f"{{media-id-of-part-{index - 1}}}" if index else None
            calls.append({"method": "POST", "url": f"{base}/threads",
                          "data": self.part_params(variant, index, reply_to, children)})
            if index == 0 and video_of(variant):
                calls.append({"method": "GET", "url": f"{self.api_url}/{{container-of-part-0}}",
                              "params": {"fields": "id,status"}, "until": "FINISHED"})
            calls.append({"method": "POST", "url": f"{base}/threads_publish",
                          "data": {"creation_id": f"{{container-of-part-{index}}}"}})
        return calls
