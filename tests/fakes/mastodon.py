"""A fake Mastodon instance (client API of Mastodon 4.x).

Follows Mastodon's API documentation and https://docs.joinmastodon.org/methods/:
``POST /api/v1/statuses`` (TextStatus/MediaStatus, ``Idempotency-Key`` remembered for
an hour, text counted in grapheme clusters with every URL as 23, 422 ``Validation
failed`` errors), ``POST /api/v2/media`` (multipart ``file`` + ``description``; 200, or 202
while processing), ``GET /api/v1/media/:id`` (206 while processing, then 200; a video,
with an optional ``thumbnail``, is always processed in the background; 422 when that
failed),
``GET /api/v1/accounts/verify_credentials``, ``GET /api/v1/accounts/:id/statuses``,
``GET /api/v2/instance``. Every answer carries ``X-RateLimit-Limit/-Remaining/-Reset``
(an ISO 8601 time); errors are the documented ``{"error": "..."}`` entity.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import regex

from tests.fakes.multipart import FormPart, parse_form_data
from tests.fakes.processing import Processing
from tests.fakes.server import FakeRequest, FakeServer, Fault, Response

URL_PATTERN = regex.compile(r"https?://[^\s]+")
GRAPHEME = regex.compile(r"\X")
SUPPORTED_IMAGES = ("image/jpeg", "image/png", "image/gif", "image/webp")
SUPPORTED_VIDEOS = ("video/mp4", "video/webm", "video/quicktime")
#: the instance's ``configuration.media_attachments.video_size_limit`` (99 MiB)
VIDEO_SIZE_LIMIT = 103809024


def mastodon_length(text: str) -> int:
    """Grapheme clusters, with each URL counted as 23 characters."""
    urls = URL_PATTERN.findall(text)
    rest = URL_PATTERN.sub("", text)
    return len(GRAPHEME.findall(rest)) + 23 * len(urls)


def render_content(text: str) -> str:
    """The HTML ``content`` Mastodon renders from plain text (paragraphs, line breaks,
    links shortened with invisible spans)."""
    def link(match: regex.Match[str]) -> str:
        url = match.group(0)
        scheme, _, rest = url.partition("://")
        shown, hidden = rest[:30], rest[30:]
        return (f'<a href="{url}" rel="nofollow noopener" target="_blank">'
                f'<span class="invisible">{scheme}://</span><span class="ellipsis">{shown}'
                f'</span><span class="invisible">{hidden}</span></a>')

    paragraphs = [p for p in text.split("\n\n") if p]
    rendered = []
    for paragraph in paragraphs:
        escaped = html.escape(paragraph, quote=False)
        rendered.append(URL_PATTERN.sub(link, escaped).replace("\n", "<br />"))
    return "".join(f"<p>{p}</p>" for p in rendered)


@dataclass
class Attachment:
    id: str
    description: str | None
    mime: str
    size: int
    polls_until_ready: int = 0
    #: a video's processing (images: ``polls_until_ready``)
    processing: Processing | None = None
    thumbnail: bytes | None = None
    data: bytes = b""

    @property
    def ready(self) -> bool:
        if self.processing is not None:
            return self.processing.state == "succeeded"
        return self.polls_until_ready <= 0


@dataclass
class Status:
    id: str
    text: str
    created_at: datetime
    visibility: str
    language: str | None
    in_reply_to_id: str | None
    media: list[Attachment] = field(default_factory=list)
    spoiler_text: str = ""


class FakeMastodon(FakeServer):
    """One instance with one account whose token is ``token``."""

    def __init__(self, token: str = "mastodon-access-token-0123456789",
                 username: str = "humaslapas", max_characters: int = 500) -> None:
        super().__init__()
        self.token = token
        self.username = username
        self.account_id = "109876543210"
        self.max_characters = max_characters
        self.max_media = 4
        self.description_limit = 1500
        #: number of 206 answers a new upload gives before it is processed (0: sync 200)
        self.processing_polls = 0
        #: what each uploaded video's processing does (always asynchronous: 202)
        self.video_processing = Processing()
        self.statuses: list[Status] = []
        self.attachments: dict[str, Attachment] = {}
        self.idempotency: dict[str, tuple[str, datetime]] = {}
        self._ids = itertools.count(113_500_000_000_000_001)
        self.route("POST", "/api/v1/statuses", self._create_status)
        self.route("POST", "/api/v2/media", self._upload_media)
        self.route("GET", "/api/v1/media/{id}", self._get_media)
        self.route("GET", "/api/v1/accounts/verify_credentials", self._verify_credentials)
        self.route("GET", "/api/v1/accounts/{id}/statuses", self._account_statuses)
        self.route("GET", "/api/v2/instance", self._instance)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.statuses.clear()
            self.attachments.clear()
            self.idempotency.clear()
            self.processing_polls = 0
            self.video_processing = Processing()

    # --- fault helpers ------------------------------------------------------------------
    def rate_limit(self, reset_in: timedelta) -> str:
        """The next request gets 429 with an ISO reset time; returns that time."""
        reset = (datetime.now(UTC) + reset_in).isoformat(timespec="milliseconds")
        reset = reset.replace("+00:00", "Z")
        self.fail_next(Fault(status=429, body={"error": "Too many requests"}, headers={
            "X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset}))
        return reset

    def add_old_status(self, text: str, age: timedelta) -> Status:
        """A status posted ``age`` ago (e.g. beyond the idempotency hour)."""
        status = Status(id=str(next(self._ids)), text=text,
                        created_at=datetime.now(UTC) - age, visibility="public",
                        language=None, in_reply_to_id=None)
        with self.lock:
            self.statuses.append(status)
        return status

    # --- answers ------------------------------------------------------------------------
    def _answer(self, request: FakeRequest) -> Response:
        public = request.path == "/api/v2/instance"
        if not public and request.header("Authorization") != f"Bearer {self.token}":
            return 401, self._rate_headers(), {"error": "The access token is invalid"}
        status, headers, body = super()._answer(request)
        return status, {**self._rate_headers(), **headers}, body

    @staticmethod
    def _rate_headers() -> dict[str, str]:
        reset = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
        return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299",
                "X-RateLimit-Reset": reset.isoformat().replace("+00:00", ".000Z")}

    def _create_status(self, request: FakeRequest) -> Response:
        params = self._params(request)
        if params is None:
            return 422, {}, {"error": "Unprocessable entity: request body is not valid"}
        key = request.header("Idempotency-Key")
        with self.lock:
            if key and key in self.idempotency:
                status_id, stored = self.idempotency[key]
                if datetime.now(UTC) - stored < timedelta(hours=1):
                    return 200, {}, self._status_json(self._find(status_id))
        text = params.get("status") or ""
        media_ids = params.get("media_ids") or []
        if not isinstance(text, str) or not isinstance(media_ids, list):
            return 422, {}, {"error": "Validation failed: invalid parameter types"}
        if not text and not media_ids:
            return 422, {}, {"error": "Validation failed: Text can't be blank"}
        if mastodon_length(text + (params.get("spoiler_text") or "")) > self.max_characters:
            return 422, {}, {"error": f"Validation failed: Text character limit of "
                                      f"{self.max_characters} exceeded"}
        if len(media_ids) > self.max_media:
            return 422, {}, {"error": "Validation failed: Cannot attach more than "
                                      f"{self.max_media} files"}
        media = []
        for media_id in media_ids:
            attachment = self.attachments.get(str(media_id))
            if attachment is None:
                return 422, {}, {"error": "Validation failed: media_ids are invalid"}
            if not attachment.ready:
                return 422, {}, {"error": "Cannot attach files that have not finished "
                                          "processing. Try again in a moment!"}
            media.append(attachment)
        reply_to = params.get("in_reply_to_id")
        if reply_to is not None and self._find(str(reply_to)) is None:
            return 404, {}, {"error": "Record not found"}
        visibility = params.get("visibility", "public")
        if visibility not in ("public", "unlisted", "private", "direct"):
            return 422, {}, {"error": "Validation failed: Visibility is not included in the "
                                      "list"}
        status = Status(id=str(next(self._ids)), text=text, created_at=datetime.now(UTC),
                        visibility=visibility, language=params.get("language"),
                        in_reply_to_id=str(reply_to) if reply_to else None, media=media,
                        spoiler_text=params.get("spoiler_text") or "")
        with self.lock:
            self.statuses.append(status)
            if key:
                self.idempotency[key] = (status.id, status.created_at)
        return 200, {}, self._status_json(status)

    @staticmethod
    def _params(request: FakeRequest) -> dict[str, Any] | None:
        content_type = (request.header("Content-Type") or "").split(";")[0]
        if content_type == "application/json":
            try:
                body = request.json()
            except ValueError:
                return None
            return body if isinstance(body, dict) else None
        if content_type == "application/x-www-form-urlencoded":
            form = request.form()
            params: dict[str, Any] = {k: v[-1] for k, v in form.items() if not k.endswith("[]")}
            if "media_ids[]" in form:
                params["media_ids"] = form["media_ids[]"]
            return params
        return None

    def _upload_media(self, request: FakeRequest) -> Response:
        try:
            fields = parse_form_data(request.header("Content-Type") or "", request.body)
        except ValueError:
            return 422, {}, {"error": "Validation failed: File can't be blank"}
        if "file" not in fields or not fields["file"].filename:
            return 422, {}, {"error": "Validation failed: File can't be blank"}
        upload = fields["file"]
        if upload.content_type in SUPPORTED_VIDEOS:
            return self._upload_video(fields)
        if upload.content_type not in SUPPORTED_IMAGES:
            return 422, {}, {"error": "Validation failed: File content type is invalid"}
        if len(upload.data) > 16 * 1024 * 1024:
            return 422, {}, {"error": "Validation failed: File file size must be less than "
                                      "16 MB"}
        description = fields["description"].text if "description" in fields else None
        if description is not None and len(description) > self.description_limit:
            return 422, {}, {"error": "Validation failed: Description is too long (maximum "
                                      f"is {self.description_limit} characters)"}
        attachment = Attachment(id=str(next(self._ids)), description=description,
                                mime=upload.content_type, size=len(upload.data),
                                polls_until_ready=self.processing_polls)
        with self.lock:
            self.attachments[attachment.id] = attachment
        if attachment.ready:
            return 200, {}, self._attachment_json(attachment)
        return 202, {}, self._attachment_json(attachment)

    def _upload_video(self, fields: dict[str, FormPart]) -> Response:
        """A video: at most ``video_size_limit``, an optional image ``thumbnail``; always
        processed in the background (202, ``url`` null)."""
        upload = fields["file"]
        if len(upload.data) > VIDEO_SIZE_LIMIT:
            return 422, {}, {"error": "Validation failed: File file size must be less than "
                                      "99 MB"}
        thumbnail = fields.get("thumbnail")
        if thumbnail is not None and thumbnail.content_type not in SUPPORTED_IMAGES:
            return 422, {}, {"error": "Validation failed: Thumbnail content type is invalid"}
        description = fields["description"].text if "description" in fields else None
        attachment = Attachment(id=str(next(self._ids)), description=description,
                                mime=upload.content_type or "", size=len(upload.data),
                                processing=self.video_processing.fresh(), data=upload.data,
                                thumbnail=thumbnail.data if thumbnail else None)
        with self.lock:
            self.attachments[attachment.id] = attachment
        return 202, {}, self._attachment_json(attachment)

    def _get_media(self, request: FakeRequest) -> Response:
        attachment = self.attachments.get(request.params["id"])
        if attachment is None:
            return 404, {}, {"error": "Record not found"}
        if attachment.processing is not None:
            state = attachment.processing.ask()
            if state == "failed":  # Mastodon: processing_failed? → 422
                return 422, {}, {"error": f"Error processing thumbnail for uploaded media: "
                                          f"{attachment.processing.fails}"}
            return (206 if state == "in_progress" else 200), {}, self._attachment_json(
                attachment)
        if not attachment.ready:
            attachment.polls_until_ready -= 1
            return 206, {}, self._attachment_json(attachment)
        return 200, {}, self._attachment_json(attachment)

    def _verify_credentials(self, request: FakeRequest) -> Response:
        return 200, {}, self._account_json()

    def _account_statuses(self, request: FakeRequest) -> Response:
        if request.params["id"] != self.account_id:
            return 404, {}, {"error": "Record not found"}
        limit = min(int(request.query.get("limit", ["20"])[0]), 40)
        newest_first = sorted(self.statuses, key=lambda s: int(s.id), reverse=True)
        return 200, {}, [self._status_json(s) for s in newest_first[:limit]]

    def _instance(self, request: FakeRequest) -> Response:
        return 200, {}, {
            "domain": "127.0.0.1", "title": "Fake Mastodon", "version": "4.4.0",
            "configuration": {
                "urls": {"streaming": "wss://127.0.0.1"},
                "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                "statuses": {"max_characters": self.max_characters,
                             "max_media_attachments": self.max_media,
                             "characters_reserved_per_url": 23},
                "media_attachments": {
                    "supported_mime_types": list(SUPPORTED_IMAGES),
                    "description_limit": self.description_limit,
                    "image_size_limit": 16777216, "image_matrix_limit": 33177600,
                    "video_size_limit": 103809024, "video_frame_rate_limit": 120,
                    "video_matrix_limit": 8294400},
                "polls": {"max_options": 4, "max_characters_per_option": 50,
                          "min_expiration": 300, "max_expiration": 2629746},
                "translation": {"enabled": False},
            },
        }

    # --- entities -----------------------------------------------------------------------
    def _find(self, status_id: str) -> Status | None:
        return next((s for s in self.statuses if s.id == status_id), None)

    def _host(self) -> str:
        return self.url

    def _account_json(self) -> dict[str, Any]:
        return {"id": self.account_id, "username": self.username, "acct": self.username,
                "display_name": "Humas Lapas", "url": f"{self._host()}/@{self.username}",
                "source": {"privacy": "public", "language": "id"}}

    def _attachment_json(self, attachment: Attachment) -> dict[str, Any]:
        url = f"{self._host()}/system/media/{attachment.id}.jpg" if attachment.ready else None
        kind = "video" if attachment.processing is not None else "image"
        return {"id": attachment.id, "type": kind, "url": url,
                "preview_url": f"{self._host()}/system/media/{attachment.id}_small.jpg",
                "remote_url": None, "description": attachment.description, "meta": {},
                "blurhash": "UFBWY:8_0Jxv4mof%NWB"}

    def _status_json(self, status: Status | None) -> dict[str, Any]:
        assert status is not None
        return {
            "id": status.id,
            "created_at": status.created_at.isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": self.account_id if status.in_reply_to_id else None,
            "sensitive": False, "spoiler_text": status.spoiler_text,
            "visibility": status.visibility, "language": status.language,
            "uri": f"{self._host()}/users/{self.username}/statuses/{status.id}",
            "url": f"{self._host()}/@{self.username}/{status.id}",
            "content": render_content(status.text),
            "account": self._account_json(),
            "media_attachments": [self._attachment_json(a) for a in status.media],
            "mentions": [], "tags": [], "emojis": [],
        }
