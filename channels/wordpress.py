"""WordPress adapter (REST API ``/wp-json/wp/v2`` with an application password).

* images: ``POST /wp/v2/media`` with the raw bytes and ``Content-Disposition``, then
  ``POST /wp/v2/media/{id} {alt_text}``; the first becomes ``featured_media``
* tags by name → ids: ``GET /wp/v2/tags?slug=…`` or ``POST /wp/v2/tags {name}``
  (a 400 ``term_exists`` carries the existing ``term_id``); categories from the
  account option ``categories`` (ids or names, resolved the same way)
* the post: ``POST /wp/v2/posts {title, content, excerpt, status, slug, tags,
  categories, featured_media}``

WordPress has no idempotency key, so every post gets a **deterministic slug** (the
composer's ``slug``, or one derived from the title and the publish key). Before a
create that an earlier attempt may already have made, and when probing a post in doubt,
``GET /wp/v2/posts?slug=…&status=any`` tells whether it exists.

:meth:`WordPressChannel.upload_media` is also how Instagram and Threads images get the
public URL those networks fetch them from.
"""

from __future__ import annotations

import base64
import html
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import PurePath
from typing import Any

import requests

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
from channels.http import HttpChannel, classify_status, make_session, redact, request
from channels.images import ImageError, PreparedImage, prepare_image
from scheduler.errors import SiarError
from scheduler.variant import Variant

__all__ = ["MediaUploadError", "WordPressChannel", "slugify"]

#: WordPress error codes meaning the user may not do this: fix the account, not the post
PERMISSION_CODES = frozenset({"rest_cannot_create", "rest_cannot_publish", "rest_forbidden",
                              "rest_cannot_upload", "rest_cannot_assign_term",
                              "rest_cannot_create_term"})
#: WordPress caps slugs at 200 characters; keep them readable
SLUG_LENGTH = 80
#: how many WordPress "-2", "-3"… duplicates of a slug the look-up also asks for
SLUG_SUFFIXES_PROBED = 4
#: tolerated difference between the site's clock and ours
CLOCK_MARGIN = timedelta(hours=1)
HASHTAG = re.compile(r"(?<![\w&])#(\w+)")


class MediaUploadError(SiarError):
    """An image could not be put into the WordPress media library."""


def slugify(text: str) -> str:
    """A WordPress-style slug: ASCII, lower case, words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


class WordPressChannel(HttpChannel):
    """Publishes to one WordPress site (``base_url``, e.g. ``https://lapas.example.go.id``).

    Options: ``status`` (default ``publish``), ``categories`` (ids or names),
    ``rest_root`` (default ``/wp-json``, for sites that moved it).
    """

    network = "wordpress"
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
        answer = request(self.session, method, f"{self.api_url}/{path.lstrip('/')}",
                         secrets=self._secret_values, timeout=self.timeouts,
                         create=creating, **kwargs)
        if not isinstance(answer, requests.Response):
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
                f"not a REST answer (is /wp-json blocked?): {text}")

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
            hint = (" (some hosts strip the Authorization header: see "
                    "docs/channels/wordpress.md)" if code == "rest_not_logged_in" else "")
            return AuthFailed(f"WordPress refused the credentials: {message}{hint}",
                              http_status=status)
        if status >= 500 and not creating:
            return NotSent(f"HTTP {status}: {message}", http_status=status)
        outcome = classify_status(answer, secrets=self._secret_values)
        if isinstance(outcome, Rejected):
            return Rejected(f"HTTP {status}: {message}", http_status=status)
        return outcome or InDoubt(f"HTTP {status}: {message}", http_status=status)

    # --- what the post is made of -------------------------------------------------------
    def slug(self, delivery: Delivery) -> str:
        """The composer's slug, or title + a short hash of the publish key (stable)."""
        given = delivery.variant.extra.get("slug")
        if given:
            return str(given)
        base = slugify(self.title(delivery.variant))[:SLUG_LENGTH].rstrip("-") or "rilis"
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
        variant = delivery.variant
        content = self.content(variant)
        for item in media[1:]:
            content += (f'\n<figure class="wp-block-image"><img src="{html.escape(item["url"])}"'
                        f' alt="{html.escape(item["alt"])}" /></figure>')
        fields: dict[str, Any] = {
            "title": self.title(variant), "content": content,
            "status": str(self.account.options.get("status", "publish")),
            "slug": self.slug(delivery), "tags": tags, "categories": categories,
        }
        if variant.extra.get("excerpt"):
            fields["excerpt"] = str(variant.extra["excerpt"])
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
        if isinstance(answer, requests.Response):
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
        filename = image.filename.replace('"', "")
        body = self.call("POST", "media", creating=False, data=image.data,
                         headers={"Content-Type": image.mime,
                                  "Content-Disposition": f'attachment; filename="{filename}"'})
        if not isinstance(body, dict):
            return body
        media_id, url = int(body["id"]), str(body.get("source_url", ""))
        if image.alt:
            updated = self.call("POST", f"media/{media_id}", creating=False,
                                json={"alt_text": image.alt})
            if not isinstance(updated, dict):
                return updated
        return {"id": media_id, "url": url, "alt": image.alt}

    def upload_media(self, path: str, alt: str = "", *, prepare_for: str = "wordpress") -> str:
        """Upload ``path`` to the media library and return its public URL.

        ``prepare_for`` names the network that will fetch the URL (e.g. ``instagram``,
        so the file is a JPEG within Instagram's aspect ratios). Raises
        :class:`MediaUploadError` or :class:`channels.images.ImageError`.
        """
        uploaded = self._upload(prepare_image(path, prepare_for, alt=alt))
        if not isinstance(uploaded, dict):
            raise MediaUploadError(f"{PurePath(path).name} could not be uploaded to "
                                   f"WordPress: {describe(uploaded)}")
        return str(uploaded["url"])

    def _media(self, delivery: Delivery) -> list[dict[str, Any]] | Outcome:
        # Library items are invisible until a post uses them: an upload repeated after a
        # failure leaves a spare file, never a duplicate post; the checkpoint avoids even that.
        uploaded: list[dict[str, Any]] = list(delivery.state.get("media", []))
        for item in delivery.variant.media[len(uploaded):]:
            try:
                image = prepare_image(item.path, self.network, alt=item.alt)
            except ImageError as exc:
                return Rejected(f"image cannot be sent to WordPress: {exc}")
            result = self._upload(image)
            if not isinstance(result, dict):
                return result
            uploaded.append(result)
            delivery.checkpoint(media=uploaded)
        return uploaded

    # --- publishing -------------------------------------------------------------------
    def find_post(self, slug: str, since: datetime) -> dict[str, Any] | Outcome | None:
        """This post, found by its slug in any status; ``None`` if it does not exist.

        WordPress gives a taken slug a ``-2``, ``-3``… suffix, so those are asked for too,
        and a post dated before ``since`` is another post that happens to share the slug
        (e.g. an older release with the same title).
        """
        candidates = [slug, *(f"{slug}-{n}" for n in range(2, 2 + SLUG_SUFFIXES_PROBED))]
        found = self.call("GET", "posts", creating=False,
                          params={"slug": ",".join(candidates), "status": "any",
                                  "context": "edit", "_fields": "id,link,slug,status,date_gmt",
                                  "per_page": str(len(candidates))})
        if not isinstance(found, list):
            return found
        ours = [post for post in found if _posted_at(post) >= since]
        ours.sort(key=lambda post: candidates.index(post["slug"])
                  if post.get("slug") in candidates else len(candidates))
        return ours[0] if ours else None

    @staticmethod
    def probe_since(delivery: Delivery) -> datetime:
        """Posts older than this cannot be this post's (no attempt runs before it is due)."""
        return delivery.due_at - CLOCK_MARGIN

    def publish(self, delivery: Delivery) -> Outcome:
        done = delivery.done_part(0)
        if done:
            return Published(done.remote_id, done.url)
        slug = self.slug(delivery)
        if delivery.state.get("create_sent"):
            existing = self.find_post(slug, self.probe_since(delivery))
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
        delivery.checkpoint(create_sent=True)
        body = self.call("POST", "posts", creating=True, json=fields)
        if not isinstance(body, dict):
            return body
        return self._published(delivery, body)

    def _published(self, delivery: Delivery, post: dict[str, Any]) -> Published:
        post_id, link = str(post["id"]), post.get("link")
        delivery.part_published(0, post_id, link, slug=post.get("slug"))
        return Published(post_id, link)

    def probe(self, delivery: Delivery) -> Outcome | None:
        """The deterministic slug settles it: found → published, absent → not sent."""
        found = self.find_post(self.slug(delivery), self.probe_since(delivery))
        if isinstance(found, dict):
            return self._published(delivery, found)
        if found is None:
            return NotSent(f"no post with slug {self.slug(delivery)!r}: safe to send")
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
                               detail=f"{identity} may not publish posts on this site")
        return CheckResult(ok=True, identity=identity,
                           detail=f"application password accepted for {identity} "
                                  "(application passwords do not expire)")

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        api = self.api_url if self.account.base_url else "https://{site}/wp-json/wp/v2"
        calls: list[dict[str, Any]] = []
        for item in delivery.variant.media:
            name = PurePath(item.path).name
            calls.append({"method": "POST", "url": f"{api}/media",
                          "headers": {"Content-Disposition": f'attachment; filename="{name}"'},
                          "data": f"<bytes of {name}>"})
            calls.append({"method": "POST", "url": f"{api}/media/{{id}}",
                          "json": {"alt_text": item.alt}})
        for name in self.tag_names(delivery.variant):
            calls.append({"method": "GET", "url": f"{api}/tags?slug={slugify(name)}"})
        media = [{"id": f"{{media-{i}}}", "url": f"{{url-{i}}}", "alt": m.alt}
                 for i, m in enumerate(delivery.variant.media)]
        fields = self.post_fields(delivery, tags=["{tag-ids}"],  # type: ignore[list-item]
                                  categories=list(self.account.options.get("categories", [])),
                                  media=media)
        calls.append({"method": "POST", "url": f"{api}/posts", "json": fields})
        return calls


def _with_line_breaks(text: str) -> str:
    return text.replace("\n", "<br />")


def _posted_at(post: dict[str, Any]) -> datetime:
    """``date_gmt`` of a REST post (``2026-11-28T02:00:05``, UTC without an offset)."""
    try:
        return datetime.fromisoformat(str(post.get("date_gmt"))).replace(tzinfo=UTC)
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # a draft without a date: cannot exclude it


def _json_or_empty(answer: requests.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
