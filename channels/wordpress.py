"""WordPress adapter (REST API ``/wp-json/wp/v2`` with an application password).

* images: ``POST /wp/v2/media`` with the raw bytes and ``Content-Disposition``, then
  ``POST /wp/v2/media/{id} {alt_text}``; the first becomes ``featured_media``
* tags by name → ids: ``GET /wp/v2/tags?slug=…`` or ``POST /wp/v2/tags {name}``
  (a 400 ``term_exists`` carries the existing ``term_id``); categories from the
  account option ``categories`` (ids or names, resolved the same way)
* the post: ``POST /wp/v2/posts {title, content, excerpt, status, slug, tags,
  categories, featured_media}``

WordPress has no idempotency key, so every post gets a **slug of its own**: the
composer's slug (or the title's) followed by 8 hex characters of the post's publish key,
``jadwal-kunjungan-3f9c01ab``. Before a create that an earlier attempt may already have
made, and when probing a post in doubt, ``GET /wp/v2/posts?slug=…&status=any`` tells
whether it exists; the marker in the slug makes sure the post found is this one and never
another release's post with the same title.

Titles, excerpts and alt texts are plain text to Siar but HTML to WordPress (``title`` is
filtered by kses and printed unescaped by themes): they are sent escaped, so
``Jam Layanan <Online> & Tatap Muka`` shows as written.

:meth:`WordPressChannel.host_file` and :meth:`~WordPressChannel.delete_media` are also
how the ``wordpress:ACCOUNT`` media store gives Instagram and Threads the public URL
they fetch an image from.
"""

from __future__ import annotations

import base64
import html
import re
import unicodedata
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from channels.base import (
    AuthFailed,
    CheckResult,
    Delivery,
    InDoubt,
    NotSent,
    Outcome,
    Published,
    Rejected,
    describe,
)
from channels.composing import Draft, Release
from channels.errors import SiarError
from channels.http import HttpChannel, answered, classify_status, make_session, redact, request
from channels.i18n import N_, _
from channels.rules import MB, WEB_FORMATS, ImageRules, VideoRules
from channels.variant import Variant

if TYPE_CHECKING:
    from channels.images import PreparedImage
    from channels.uploads import FileBody

if TYPE_CHECKING:  # imported on first use: composing reads only the rules
    import requests

__all__ = ["MediaUploadError", "WordPressChannel", "slugify"]

#: WordPress error codes meaning the user may not do this: fix the account, not the post
PERMISSION_CODES = frozenset({"rest_cannot_create", "rest_cannot_publish", "rest_forbidden",
                              "rest_cannot_upload", "rest_cannot_assign_term",
                              "rest_cannot_create_term"})
#: WordPress caps slugs at 200 characters; keep them readable (the marker comes on top)
SLUG_LENGTH = 80
HASHTAG = re.compile(r"(?<![\w&])#(\w+)")
#: ``sanitize_text_field`` (which WordPress applies to alt text) deletes ``%`` + 2 hex digits
PERCENT_OCTET = re.compile(r"%(?=[0-9a-fA-F]{2})")


class MediaUploadError(SiarError):
    """An image could not be put into the WordPress media library."""


def slugify(text: str) -> str:
    """A WordPress-style slug: ASCII, lower case, words joined by hyphens.

    WordPress's own ``sanitize_title`` leaves such a slug as it is, so the slug sent is the
    slug stored, and a look-up by it finds the post.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def alt_text(text: str) -> str:
    """Alt text as WordPress must receive it to show it literally: escaped like a title,
    and a ``%`` before two hex digits written ``&#37;`` (``sanitize_text_field`` would
    delete ``%ab`` as a URL-encoded octet)."""
    from channels.wordpress_video import plain_text
    return PERCENT_OCTET.sub("&#37;", plain_text(text))


class WordPressChannel(HttpChannel):
    """Publishes to one WordPress site (``base_url``, e.g. ``https://lapas.example.go.id``).

    Options: ``status`` (default ``publish``), ``categories`` (ids or names),
    ``rest_root`` (default ``/wp-json``, for sites that moved it).
    """

    network = "wordpress"
    display_name = "WordPress"
    accent_colour = "#21759b"
    html_body = True
    # WordPress scales anything above 2560 px itself (big_image_size_threshold); hosts
    # commonly cap uploads far below PHP's defaults, so stay modest.
    image_rules = ImageRules(max_bytes=8 * MB, formats=WEB_FORMATS, max_side=2560)
    #: the site's upload limit is PHP's (often 64–128 MB): Siar keeps within 64 MB, with a
    #: poster image for the video block, and the article keeps the release's photos too
    video_rules = VideoRules(max_bytes=64 * MB, max_seconds=float("inf"), cover=True,
                             with_images=True)
    docs = "docs/channels/wordpress.md"

    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        """Title, HTML (the template's ``html`` block, else the body), excerpt (its
        ``excerpt`` block, else the summary or first paragraph), slug and tags."""
        html, excerpt = draft.block("html"), draft.block("excerpt")
        return {"title": release.title, "html": draft.html() if html is None else html,
                "excerpt": excerpt or draft.excerpt(), "slug": draft.slug(),
                "tags": list(draft.tags)}
    secret_fields = ("username", "app_password")
    can_probe = True
    needs_base_url = True

    # --- plumbing ---------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        root = str(self.account.options.get("rest_root", "/wp-json")).rstrip("/")
        return f"{self.base_url}{root}/wp/v2"

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = make_session()
            # Application passwords are shown with spaces; WordPress ignores them.
            password = self.secrets.get("app_password", "").replace(" ", "")
            self._session.auth = (self.secrets.get("username", ""), password)
        return self._session

    @property
    def _secret_values(self) -> list[str]:
        # The user name is needed but not sensitive (it is shown as the identity); the
        # password is redacted both as configured and with its spaces removed.
        values = [v for k, v in self.secrets.items() if k != "username"]
        password = self.secrets.get("app_password", "").replace(" ", "")
        basic = base64.b64encode(
            f"{self.secrets.get('username', '')}:{password}".encode()).decode()
        return [*values, password, basic] if password else values

    def call(self, method: str, path: str, *, creating: bool,
             **kwargs: Any) -> Any | Outcome:
        """One REST request: the decoded JSON body, or the outcome it means."""
        # ``create``: the request that makes the post; once it has left, an exception
        # means the post may exist (channels.base.watch_sends)
        answer = request(self.session, method, f"{self.api_url}/{path.lstrip('/')}",
                         secrets=self._secret_values, timeout=self.timeouts,
                         create=creating, **kwargs)
        if not answered(answer):
            if isinstance(answer, InDoubt) and not creating:
                return NotSent(answer.detail)
            return answer
        if answer.status_code >= 400:
            return self._error(answer, creating=creating)
        try:
            return answer.json()
        except ValueError:
            text = redact(answer.text[:200], self._secret_values)
            # a security plugin or WAF answering HTML instead of the REST API
            return (InDoubt if creating else NotSent)(
                _("not a REST answer (is /wp-json blocked?): {text}").format(text=text))

    def _error(self, answer: requests.Response, *, creating: bool) -> Outcome:
        try:
            body = answer.json()
        except ValueError:
            body = {}
        code = body.get("code") if isinstance(body, dict) else None
        message = redact(f"{code}: {body.get('message')}" if code else answer.text[:300],
                         self._secret_values)
        status = answer.status_code
        if status == 401 or code in PERMISSION_CODES:
            return AuthFailed(_("WordPress refused the request ({message}): {cause}").format(
                                  message=message, cause=self.refusal_cause(code, status)),
                              http_status=status)
        if status >= 500 and not creating:
            return NotSent(f"HTTP {status}: {message}", http_status=status)
        outcome = classify_status(answer, secrets=self._secret_values)
        if isinstance(outcome, Rejected):
            return Rejected(f"HTTP {status}: {message}", http_status=status)
        return outcome or InDoubt(f"HTTP {status}: {message}", http_status=status)

    def refusal_cause(self, code: str | None, status: int) -> str:
        """What a refusal says about the credentials, from WordPress's own error code
        (``wp_authenticate_application_password`` in wp-includes/user.php)."""
        user = self.secrets.get("username", "")
        if code == "incorrect_password":
            return (_("the application password of user {user!r} is wrong or was revoked (the "
                      "login password does not work here): create one under Users → Profile → "
                      "Application Passwords and set {variable}").format(
                        user=user, variable=self._variable('app_password')))
        if code in ("invalid_username", "invalid_email"):
            return (_("the site has no user {user!r}: set {variable} to the login name (or "
                      "e-mail) of the user who owns the application password").format(
                        user=user, variable=self._variable('username')))
        if code == "application_passwords_disabled":
            return (_("this site does not allow application passwords: WordPress allows them "
                      "only over HTTPS, and a plugin or filter may turn them off"))
        if code == "application_passwords_disabled_for_user":
            return (_("application passwords are turned off for user {user!r}: ask the site's "
                      "administrator").format(user=user))
        if status == 401:
            # No error about the credentials: WordPress never saw them and treated the
            # request as anonymous.
            return (_("WordPress did not receive the credentials: the host may strip the "
                      "Authorization header (see docs/channels/wordpress.md), or the site has no "
                      "application password in use yet"))
        return (_("user {user!r} may not do this on this site: give it a role that may publish "
                  "posts and upload files (Author or Editor)").format(user=user))

    def _variable(self, field: str) -> str:
        # the environment variable of a secret, as scheduler.settings names it
        return f"SIAR_SECRET_{re.sub(r'[^A-Za-z0-9]', '_', self.account.name).upper()}_" \
               f"{field.upper()}"

    # --- what the post is made of -------------------------------------------------------
    def slug(self, delivery: Delivery) -> str:
        """The composer's slug (or the title's) + 8 hex characters of the publish key.

        The marker makes the slug this post's alone: another release with the same title
        gets another slug, so a look-up by slug can never take its post for this one.
        """
        given = delivery.variant.extra.get("slug") or self.title(delivery.variant)
        base = slugify(str(given))[:SLUG_LENGTH].rstrip("-") or "rilis"
        return f"{base}-{self.derive_key(delivery.publish_key, 'wordpress', length=8)}"

    @staticmethod
    def title(variant: Variant) -> str:
        return str(variant.extra.get("title") or variant.title
                   or variant.parts[0].splitlines()[0][:120])

    @staticmethod
    def content(variant: Variant) -> str:
        if variant.extra.get("html"):
            return str(variant.extra["html"])
        paragraphs = [p for part in variant.parts for p in part.split("\n\n") if p.strip()]
        return "\n".join(f"<p>{_with_line_breaks(html.escape(p))}</p>" for p in paragraphs)

    @staticmethod
    def tag_names(variant: Variant) -> list[str]:
        """``extra["tags"]``, or the hashtags of the text (``#HumasBergerakBersama``)."""
        names = variant.extra.get("tags")
        if names is None:
            names = [m.group(1) for part in variant.parts for m in HASHTAG.finditer(part)]
        return list(dict.fromkeys(str(n).lstrip("#") for n in names if str(n).strip("#")))

    def post_fields(self, delivery: Delivery, *, tags: list[int], categories: list[int],
                    media: list[dict[str, Any]]) -> dict[str, Any]:
        from channels.wordpress_video import plain_text, video_content
        variant = delivery.variant
        block, media = video_content(media)  # the video's block; its poster is featured
        content = block + self.content(variant)
        for item in media[1:]:
            content += (f'\n<figure class="wp-block-image"><img src="{html.escape(item["url"])}"'
                        f' alt="{html.escape(item["alt"])}" /></figure>')
        fields: dict[str, Any] = {
            "title": plain_text(self.title(variant)), "content": content,
            "status": str(self.account.options.get("status", "publish")),
            "slug": self.slug(delivery), "tags": tags, "categories": categories,
        }
        if variant.extra.get("excerpt"):
            fields["excerpt"] = plain_text(str(variant.extra["excerpt"]))
        if media:
            fields["featured_media"] = media[0]["id"]
        return fields

    # --- terms ------------------------------------------------------------------------
    def term_id(self, taxonomy: str, name: str) -> int | Outcome:
        """The id of the tag/category ``name``, created if the site does not have it."""
        found = self.call("GET", taxonomy, creating=False,
                          params={"slug": slugify(name), "_fields": "id,name,slug"})
        if not isinstance(found, list):
            return found
        if found:
            return int(found[0]["id"])
        answer = request(self.session, "POST", f"{self.api_url}/{taxonomy}",
                         secrets=self._secret_values, timeout=self.timeouts,
                         json={"name": name})
        if answered(answer):
            body = _json_or_empty(answer)
            if answer.status_code == 400 and body.get("code") == "term_exists":
                return int(body["data"]["term_id"])
            if answer.status_code < 400 and "id" in body:
                return int(body["id"])
            return self._error(answer, creating=False)
        # a term created twice is refused as term_exists next time: never harmful
        return NotSent(answer.detail) if isinstance(answer, InDoubt) else answer

    def _term_ids(self, taxonomy: str, names: list[Any]) -> list[int] | Outcome:
        ids: list[int] = []
        for name in names:
            if isinstance(name, int) or str(name).isdigit():
                ids.append(int(name))
                continue
            term = self.term_id(taxonomy, str(name))
            if not isinstance(term, int):
                return term
            ids.append(term)
        return ids

    # --- media ------------------------------------------------------------------------
    def _upload(self, image: PreparedImage) -> dict[str, Any] | Outcome:
        """Put one prepared image into the media library and set its alt text."""
        return self._upload_body(image.data, image.mime, image.filename, image.alt)

    def _upload_body(self, data: bytes | FileBody, mime: str, filename: str,
                     alt: str) -> dict[str, Any] | Outcome:
        """Put ``data`` (bytes, or a file streamed from disk) into the media library as
        ``filename`` and set its alt text."""
        filename = filename.replace('"', "")
        body = self.call("POST", "media", creating=False, data=data,
                         headers={"Content-Type": mime,
                                  "Content-Disposition": f'attachment; filename="{filename}"'})
        if not isinstance(body, dict):
            return body
        media_id, url = int(body["id"]), str(body.get("source_url", ""))
        if alt:
            updated = self.call("POST", f"media/{media_id}", creating=False,
                                json={"alt_text": alt_text(alt)})
            if not isinstance(updated, dict):
                return updated
        return {"id": media_id, "url": url, "alt": alt}

    def upload_media(self, path: str, alt: str = "", *, prepare_for: str = "wordpress") -> str:
        """Upload ``path`` prepared for ``prepare_for`` (the network that will fetch the
        URL, e.g. ``instagram``) and return its public URL. Raises
        :class:`MediaUploadError` or :class:`channels.images.ImageError`."""
        from channels.images import prepare_image
        return str(self.host_file(prepare_image(path, prepare_for, alt=alt))["url"])

    def host_file(self, image: PreparedImage) -> dict[str, Any]:
        """Put ``image`` into the media library as it is, for another network to fetch:
        ``{"id", "url"}`` (its ``source_url``). Raises :class:`MediaUploadError`."""
        uploaded = self._upload(image)
        if not isinstance(uploaded, dict) or not uploaded["url"]:
            problem = describe(uploaded) if not isinstance(uploaded, dict) else "no URL given"
            raise MediaUploadError(_("{filename} could not be uploaded to WordPress: "
                                     "{problem}").format(filename=image.filename, problem=problem))
        return uploaded

    def host_path(self, path: str, *, mime: str, filename: str,
                  alt: str = "") -> dict[str, Any]:
        """Put the file at ``path`` into the media library as it is, streamed from disk
        (a hosted video is never read whole): ``{"id", "url"}``. Raises
        :class:`MediaUploadError`, or :class:`OSError` when the file is not there."""
        from channels.uploads import FileBody
        uploaded = self._upload_body(FileBody(path), mime, filename, alt)
        if not isinstance(uploaded, dict) or not uploaded["url"]:
            problem = describe(uploaded) if not isinstance(uploaded, dict) else "no URL given"
            raise MediaUploadError(f"{filename} could not be uploaded to WordPress: "
                                   f"{problem}")
        return uploaded

    def delete_media(self, media_id: int) -> None:
        """Delete a media library item for good (``DELETE /wp/v2/media/{id}?force=true``:
        attachments cannot be trashed); one already gone is not an error. Raises
        :class:`MediaUploadError`."""
        answer = request(self.session, "DELETE", f"{self.api_url}/media/{int(media_id)}",
                         secrets=self._secret_values, timeout=self.timeouts,
                         params={"force": "true"})
        if answered(answer) and (answer.ok or answer.status_code == 404):
            return
        problem = self._error(answer, creating=False) if answered(answer) else answer
        raise MediaUploadError(_("media {media_id} could not be deleted: {reason}").format(
                                   media_id=media_id, reason=describe(problem)))

    def _media(self, delivery: Delivery) -> list[dict[str, Any]] | Outcome:
        # Library items are invisible until a post uses them: an upload repeated after a
        # failure leaves a spare file, never a duplicate post; the checkpoint avoids even that.
        from channels.images import ImageError, prepare_image
        from channels.uploads import video_of
        from channels.wordpress_video import upload_video
        uploaded: list[dict[str, Any]] = list(delivery.state.get("media", []))
        if video := video_of(delivery.variant):
            return upload_video(self, delivery, video, uploaded)
        for item in delivery.variant.media[len(uploaded):]:
            try:
                image = prepare_image(item.path, self.network, alt=item.alt)
            except ImageError as exc:
                return Rejected(_("image cannot be sent to WordPress: {reason}").format(reason=exc))
            result = self._upload(image)
            if not isinstance(result, dict):
                return result
            uploaded.append(result)
            delivery.checkpoint(media=uploaded)
        return uploaded

    # --- publishing -------------------------------------------------------------------
    def find_post(self, slug: str) -> dict[str, Any] | Outcome | None:
        """The post with this post's ``slug``, in any status; ``None`` if there is none.

        The slug carries the post's marker, so whatever answers to it is this post. (A
        ``-2`` duplicate could only be a second copy of this very post, which needs the
        first to exist: asking for the slug itself is enough.)
        """
        found = self.call("GET", "posts", creating=False,
                          params={"slug": slug, "status": "any", "context": "edit",
                                  "_fields": "id,link,slug,status"})
        if not isinstance(found, list):
            return found
        return next((post for post in found if post.get("slug") == slug), None)

    def sent_slug(self, delivery: Delivery) -> str | None:
        """The slug an earlier attempt's create carried, or ``None`` when that slug had
        no marker (sent by a Siar before markers: the composer's bare slug may be another
        release's post, so nothing found by it can be trusted)."""
        if "slug" in delivery.state:
            return str(delivery.state["slug"])
        if delivery.state.get("create_sent") and delivery.variant.extra.get("slug"):
            return None
        return self.slug(delivery)

    def publish(self, delivery: Delivery) -> Outcome:
        done = delivery.done_part(0)
        if done:
            return Published(done.remote_id, done.url)
        if delivery.state.get("create_sent"):
            sent = self.sent_slug(delivery)
            if sent is None:
                return InDoubt(_(_UNMARKED))
            existing = self.find_post(sent)
            if isinstance(existing, dict):
                return self._published(delivery, existing)
            if existing is not None:
                return existing
        media = self._media(delivery)
        if not isinstance(media, list):
            return media
        tags = self._term_ids("tags", self.tag_names(delivery.variant))
        if not isinstance(tags, list):
            return tags
        categories = self._term_ids("categories",
                                    list(self.account.options.get("categories", [])))
        if not isinstance(categories, list):
            return categories
        fields = self.post_fields(delivery, tags=tags, categories=categories, media=media)
        delivery.checkpoint(create_sent=True, slug=fields["slug"])
        body = self.call("POST", "posts", creating=True, json=fields)
        if isinstance(body, dict):
            return self._published(delivery, body)
        if not isinstance(body, InDoubt):
            # WordPress answered and refused (401, 403, 4xx, 429), or the request never
            # left: no post exists, and the next attempt need not look for one.
            delivery.checkpoint(create_sent=False)
        return body

    def _published(self, delivery: Delivery, post: dict[str, Any]) -> Published:
        post_id, link = str(post["id"]), post.get("link")
        delivery.part_published(0, post_id, link, slug=post.get("slug"))
        return Published(post_id, link)

    def probe(self, delivery: Delivery) -> Outcome | None:
        """This post's slug settles it: found → published, absent → not sent."""
        slug = self.sent_slug(delivery)
        if slug is None:
            return None  # staff decide (siar resolve)
        found = self.find_post(slug)
        if isinstance(found, dict):
            return self._published(delivery, found)
        if found is None:
            return NotSent(_("no post with slug {slug!r}: safe to send").format(slug=slug))
        return None

    def check(self) -> CheckResult:
        """``GET /wp/v2/users/me``: the user the application password belongs to."""
        me = self.call("GET", "users/me", creating=False, params={"context": "edit"})
        if not isinstance(me, dict):
            return CheckResult(ok=False, detail=describe(me))
        identity = str(me.get("username") or me.get("name") or me.get("id"))
        capabilities = me.get("capabilities") or {}
        if capabilities and not capabilities.get("publish_posts"):
            return CheckResult(ok=False, identity=identity,
                               detail=_("{identity} may not publish posts on this site").format(
                                          identity=identity))
        return CheckResult(ok=True, identity=identity,
                           detail=_("application password accepted for {identity} (application "
                                    "passwords do not expire)").format(identity=identity))

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        from channels.uploads import video_of
        from channels.wordpress_video import video_upload_steps
        api = self.api_url if self.account.base_url else "https://{site}/wp-json/wp/v2"
        video = video_of(delivery.variant)
        calls, media = (video_upload_steps(api, video, self.title(delivery.variant)) if video
                        else ([], []))
        for item in delivery.variant.media if not video else ():
            name = PurePath(item.path).name
            calls.append({"method": "POST", "url": f"{api}/media",
                          "headers": {"Content-Disposition": f'attachment; filename="{name}"'},
                          "data": f"<bytes of {name}>"})
            calls.append({"method": "POST", "url": f"{api}/media/{{id}}",
                          "json": {"alt_text": item.alt}})
        for name in self.tag_names(delivery.variant):
            calls.append({"method": "GET", "url": f"{api}/tags?slug={slugify(name)}"})
        media = media or [{"id": f"{{media-{i}}}", "url": f"{{url-{i}}}", "alt": m.alt}
                          for i, m in enumerate(delivery.variant.media)]
        fields = self.post_fields(delivery, tags=["{tag-ids}"],  # type: ignore[list-item]
                                  categories=list(self.account.options.get("categories", [])),
                                  media=media)
        calls.append({"method": "POST", "url": f"{api}/posts", "json": fields})
        return calls


_UNMARKED = N_("an earlier attempt, by a Siar version before per-post slugs, may have created "
             "this post under the composer's slug, which another release's post may share: "
             "look on the site and settle it with 'siar resolve'")


def _with_line_breaks(text: str) -> str:
    return text.replace("\n", "<br />")


def _json_or_empty(answer: requests.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
