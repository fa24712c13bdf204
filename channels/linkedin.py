"""LinkedIn adapter (Posts API on an organization page, ``/rest/posts``).

Every call carries ``Linkedin-Version: YYYYMM`` (versions retire after about a year, so
it is an account option) and ``X-Restli-Protocol-Version: 2.0.0``.

* images: ``POST /rest/images?action=initializeUpload {initializeUploadRequest:
  {owner}}`` → ``uploadUrl`` + ``urn:li:image:…``; ``PUT`` the bytes to ``uploadUrl``;
  the post then carries ``content.media {id, altText}`` (``content.multiImage`` for
  several)
* a video: uploaded through the Videos API (:mod:`channels.linkedin_video`) until it is
  AVAILABLE; the post then carries ``content.media {id: urn:li:video…, title?}`` (the
  video's own title, else the release's)
* a link without images: ``content.article {source, title}`` (LinkedIn does not scrape)
* the post: ``POST /rest/posts`` → 201 with the post URN in the ``x-restli-id`` header

The commentary arrives already escaped by the composer (LinkedIn silently truncates
a post at the first unescaped reserved character) and is sent exactly as composed.
Several parts are joined into one post: LinkedIn has no threads.

LinkedIn's limits are daily, reset at 00:00 UTC and unpublished; a 429 comes without
any header, so the wait defaults to the next reset (option ``rate_limit_wait`` in
seconds overrides it). A repeated commentary is refused with 422 "Content is a
duplicate of urn:li:share:…", which names the post an earlier attempt created.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
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
from channels.http import HttpChannel, answered, classify_status, rate_limit_wait, redact, request
from channels.i18n import _
from channels.rules import MB, ImageRules, MentionRules, PostRules, VideoRules

if TYPE_CHECKING:
    from channels.images import PreparedImage

if TYPE_CHECKING:  # imported on first use: composing reads only the rules
    import requests

__all__ = ["LinkedInChannel"]

DEFAULT_VERSION = "202610"
DUPLICATE_OF = re.compile(r"duplicate of (urn:li:(?:share|ugcPost):\d+)")


def seconds_until_daily_reset(now: datetime | None = None) -> float:
    """Seconds to the next 00:00 UTC, when LinkedIn's daily limits reset."""
    now = now or datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


class LinkedInChannel(HttpChannel):
    """Options: ``author`` (``urn:li:organization:…``; or ``organization_id``),
    ``linkedin_version`` (YYYYMM), ``rate_limit_wait`` (seconds); for videos
    ``video_poll_interval``/``video_poll_timeout``, ``part_retry_wait``."""

    network = "linkedin"
    display_name = "LinkedIn"
    accent_colour = "#0a66c2"
    post_rules = PostRules(limit=3000, max_images=20)
    # the "little" text format: reserved characters escaped, or LinkedIn silently cuts the
    # post at the first one while still answering 201
    dialect = "little"
    # an organisation is mentioned by its URN: @[Name](urn:li:organization:ID)
    mention_rules = MentionRules(form="@[{name}]({handle})", handle_prefix="urn:li:")
    # LinkedIn Images API: JPG/GIF/PNG, at most 36,152,320 pixels; alt ≤ 4086 characters.
    image_rules = ImageRules(max_bytes=10 * MB, formats=frozenset({"JPEG", "PNG", "GIF"}),
                             max_pixels=36_152_320, max_alt=4086)
    #: the Videos API: MP4, 3 s to 30 min, 500 MB, 1:2.4 to 2.4:1
    video_rules = VideoRules(max_bytes=500 * MB, max_seconds=30 * 60, min_seconds=3,
                             aspect=(1 / 2.4, 2.4))
    docs = "docs/channels/linkedin.md"

    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        """The text format: reserved characters are already escaped."""
        return {"format": "little"}
    secret_fields = ("access_token",)
    default_base_url = "https://api.linkedin.com"
    can_probe = True


    # --- plumbing ---------------------------------------------------------------------
    @property
    def author(self) -> str:
        options = self.account.options
        if options.get("author"):
            return str(options["author"])
        if options.get("organization_id"):
            return f"urn:li:organization:{options['organization_id']}"
        raise ValueError(_("account {account!r} needs option 'author' (urn:li:organization:…) or "
                           "'organization_id'").format(account=self.account.name))

    @property
    def version(self) -> str:
        return str(self.account.options.get("linkedin_version", DEFAULT_VERSION))



    def headers(self, *, with_token: bool = True) -> dict[str, str]:
        headers = {"Linkedin-Version": self.version, "X-Restli-Protocol-Version": "2.0.0"}
        if with_token:
            headers["Authorization"] = f"Bearer {self.secrets.get('access_token', '')}"
        return headers

    def call(self, method: str, url: str, *, creating: bool,
             **kwargs: Any) -> requests.Response | Outcome:
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        answer = request(self.session, method, url, secrets=self.secrets.values(),
                         timeout=self.timeouts, headers=headers, create=creating, **kwargs)
        if not answered(answer):
            if isinstance(answer, InDoubt) and not creating:
                return NotSent(answer.detail)
            return answer
        if answer.status_code >= 400:
            return self._error(answer, creating=creating)
        return answer

    def _error(self, answer: requests.Response, *, creating: bool) -> Outcome:
        status = answer.status_code
        text = redact(answer.text[:500], self.secrets.values())
        if status == 429:
            wait = self.account.options.get("rate_limit_wait")
            return NotSent(_("rate limited (HTTP 429): {text}").format(text=text),
                           retry_after=rate_limit_wait(answer.headers) or (
                               float(wait) if wait else seconds_until_daily_reset()),
                           rate_limited=True, http_status=status)
        if status in (401, 403):
            return AuthFailed(_("LinkedIn refused the token (HTTP {status}): {text}").format(
                                  status=status, text=text),
                              http_status=status)
        if status >= 500 and not creating:
            return NotSent(f"HTTP {status}: {text}", http_status=status)
        return classify_status(answer, secrets=self.secrets.values()) or InDoubt(text)

    @staticmethod
    def post_url(urn: str) -> str:
        return f"https://www.linkedin.com/feed/update/{urn}/"

    @staticmethod
    def commentary(delivery: Delivery) -> str:
        return "\n\n".join(delivery.variant.parts)

    # --- images -----------------------------------------------------------------------
    def upload_image(self, image: PreparedImage) -> str | Outcome:
        """The ``urn:li:image`` of ``image`` once its bytes are uploaded.

        An image is invisible until a post uses it, so failures here are ``NotSent``.
        """
        answer = self.call("POST", f"{self.base_url}/rest/images", creating=False,
                           params={"action": "initializeUpload"},
                           json={"initializeUploadRequest": {"owner": self.author}})
        if not answered(answer):
            return answer
        try:
            value = answer.json()["value"]
            upload_url, urn = str(value["uploadUrl"]), str(value["image"])
        except (ValueError, KeyError, TypeError):
            return NotSent(_("initializeUpload answered without uploadUrl/image"))
        put = self.call("PUT", upload_url, creating=False, data=image.data,
                        headers={"Content-Type": "application/octet-stream"})
        if not answered(put):
            return put
        return urn

    def _content(self, delivery: Delivery) -> dict[str, Any] | Outcome | None:
        from channels.images import ImageError, prepare_image
        from channels.linkedin_video import VideoUpload, video_title
        from channels.uploads import video_of
        variant = delivery.variant
        if video := video_of(variant):
            urn = VideoUpload(self).urn(delivery, video)
            if not isinstance(urn, str):
                return urn
            return {"media": {"id": urn, **video_title(video, variant)}}
        if not variant.media:
            if variant.link:
                return {"article": {"source": variant.link,
                                    "title": variant.title or variant.link}}
            return None
        images: list[dict[str, str]] = list(delivery.state.get("images", []))
        for media in variant.media[len(images):]:
            try:
                prepared = prepare_image(media.path, self.network, alt=media.alt)
            except ImageError as exc:
                return Rejected(_("image cannot be sent to LinkedIn: {reason}").format(reason=exc))
            urn = self.upload_image(prepared)
            if not isinstance(urn, str):
                return urn
            images.append({"id": urn, "altText": media.alt})
            delivery.checkpoint(images=images)
        if len(images) == 1:
            return {"media": images[0]}
        return {"multiImage": {"images": images}}

    def post_body(self, delivery: Delivery, content: dict[str, Any] | None,
                  author: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "author": author or self.author,
            "commentary": self.commentary(delivery),
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if content:
            body["content"] = content
        return body

    # --- publishing -------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Outcome:
        done = delivery.done_part(0)
        if done:
            return Published(done.remote_id, done.url)
        content = self._content(delivery)
        if content is not None and not isinstance(content, dict):
            return content
        answer = self.call("POST", f"{self.base_url}/rest/posts", creating=True,
                           json=self.post_body(delivery, content))
        if not answered(answer):
            if isinstance(answer, Rejected) and (match := DUPLICATE_OF.search(answer.reason)):
                # an earlier attempt in doubt did create it: that post is this post
                return self._published(delivery, match.group(1))
            return answer
        urn = answer.headers.get("x-restli-id")
        if not urn:
            return InDoubt(_("LinkedIn answered without x-restli-id: the post may exist"),
                           http_status=answer.status_code)
        return self._published(delivery, urn)

    def _published(self, delivery: Delivery, urn: str) -> Published:
        url = self.post_url(urn)
        delivery.part_published(0, urn, url)
        return Published(urn, url)

    def probe(self, delivery: Delivery) -> Outcome | None:
        """Look for the exact commentary among the organization's latest posts.

        Needs the ``r_organization_social`` scope; without it there is no telling.
        """
        answer = self.call("GET", f"{self.base_url}/rest/posts", creating=False,
                           params={"q": "author", "author": self.author, "count": "20",
                                   "sortBy": "LAST_MODIFIED"})
        if not answered(answer):
            return None
        try:
            elements = answer.json().get("elements", [])
        except ValueError:
            return None
        wanted = self.commentary(delivery)
        for post in elements:
            if post.get("commentary") == wanted and post.get("id"):
                return self._published(delivery, str(post["id"]))
        return NotSent(_("no post with this commentary among the latest: safe to send"))

    def check(self) -> CheckResult:
        """``GET /v2/userinfo`` names the member; 403 (no ``openid`` scope) still proves
        the token is valid. LinkedIn does not tell the expiry (tokens last 60 days)."""
        answer = request(self.session, "GET", f"{self.base_url}/v2/userinfo",
                         secrets=self.secrets.values(), timeout=self.timeouts,
                         headers={"Authorization": self.headers()["Authorization"]})
        if not answered(answer):
            return CheckResult(ok=False, detail=describe(answer))
        if answer.status_code == 403:
            return CheckResult(ok=True, detail=_("token accepted (no openid scope to name the "
                                                 "member); LinkedIn tokens last 60 days"))
        if answer.status_code >= 400:
            return CheckResult(ok=False, detail=f"HTTP {answer.status_code}: "
                               f"{redact(answer.text[:300], self.secrets.values())}")
        me = answer.json()
        identity = str(me.get("name") or me.get("sub"))
        return CheckResult(ok=True, identity=identity,
                           detail=_("token accepted for {identity}; LinkedIn tokens last 60 days "
                                    "from issue").format(identity=identity))

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        from channels.linkedin_video import VideoUpload, video_title
        from channels.uploads import video_of
        headers = self.headers(with_token=False)
        try:
            author = self.author
        except ValueError:
            author = "{urn:li:organization:id}"
        calls: list[dict[str, Any]] = []
        images = []
        if video := video_of(delivery.variant):
            calls += VideoUpload(self).describe(video, author)
            title = video_title(video, delivery.variant)
            calls.append({"method": "POST", "url": f"{self.base_url}/rest/posts",
                          "headers": headers,
                          "json": self.post_body(delivery, {"media": {"id": "{video-urn}",
                                                                      **title}},
                                                 author=author)})
            return calls
        for i, media in enumerate(delivery.variant.media):
            calls.append({"method": "POST",
                          "url": f"{self.base_url}/rest/images?action=initializeUpload",
                          "headers": headers,
                          "json": {"initializeUploadRequest": {"owner": author}}})
            calls.append({"method": "PUT", "url": "{uploadUrl}",
                          "data": f"<bytes of {media.path}>"})
            images.append({"id": f"{{image-urn-{i}}}", "altText": media.alt})
        content: dict[str, Any] | None = None
        if len(images) == 1:
            content = {"media": images[0]}
        elif images:
            content = {"multiImage": {"images": images}}
        elif delivery.variant.link:
            content = {"article": {"source": delivery.variant.link,
                                   "title": delivery.variant.title or delivery.variant.link}}
        calls.append({"method": "POST", "url": f"{self.base_url}/rest/posts",
                      "headers": headers,
                      "json": self.post_body(delivery, content, author=author)})
        return calls
