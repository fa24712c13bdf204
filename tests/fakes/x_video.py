"""X's chunked media upload, as the fake X API serves it (X's OpenAPI document for API v2:
``initializeMediaUpload``, ``appendMediaUpload``, ``finalizeMediaUpload``,
``getMediaUploadStatus``; the chunked-upload guide for the order of the steps).

INIT takes ``media_type``, ``total_bytes`` and ``media_category`` (nothing else); APPEND
takes multipart ``media`` (at most 5 MB) and ``segment_index`` (0–999) — a segment sent
again replaces the earlier one; FINALIZE refuses segments that are not 0…n-1 or whose sizes
do not add up to ``total_bytes``; STATUS answers ``processing_info`` (``pending`` →
``in_progress`` → ``succeeded`` | ``failed`` with ``error``) after ``check_after_secs``.
A video can be posted only once it has ``succeeded``, and only alone.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.multipart import parse_form_data
from tests.fakes.processing import Processing
from tests.fakes.server import FakeRequest, Response

if TYPE_CHECKING:
    from tests.fakes.x import FakeX

INIT_FIELDS = {"media_type", "total_bytes", "media_category", "additional_owners", "shared"}
MAX_SEGMENT = 5 * 1024 * 1024
#: the most X takes for ``tweet_video`` (512 MB)
MAX_VIDEO = 512 * 1024 * 1024


@dataclass
class Upload:
    media_id: str
    total_bytes: int
    category: str
    segments: dict[int, bytes] = field(default_factory=dict)
    finalized: bool = False
    processing: Processing = field(default_factory=Processing)

    @property
    def data(self) -> bytes:
        return b"".join(self.segments[i] for i in sorted(self.segments))


class ChunkedUploads:
    """The chunked-upload endpoints of one :class:`~tests.fakes.x.FakeX`."""

    def __init__(self, fake: FakeX) -> None:
        self.fake = fake
        #: what each new upload's processing does (tests change it)
        self.plan = Processing()
        #: what STATUS suggests as ``check_after_secs`` (0: ask again at once, for tests)
        self.check_after_secs = 0
        self.uploads: dict[str, Upload] = {}
        self._ids = itertools.count(1_890_000_000_000_000_001)
        fake.route("POST", "/2/media/upload/initialize", self._initialize)
        fake.route("POST", "/2/media/upload/{id}/append", self._append)
        fake.route("POST", "/2/media/upload/{id}/finalize", self._finalize)
        fake.route("GET", "/2/media/upload", self._status)

    def reset(self) -> None:
        self.uploads.clear()
        self.plan = Processing()
        self.check_after_secs = 0

    def refuse_in_post(self, media_ids: list[str]) -> str | None:
        """Why a post with these media ids is refused for its videos, or None."""
        videos = [self.uploads[m] for m in media_ids if m in self.uploads]
        if videos and len(media_ids) > 1:
            return "a video cannot be combined with other media"
        if any(v.processing.state != "succeeded" or not v.finalized for v in videos):
            return "Your media IDs are invalid."
        return None

    # --- endpoints ------------------------------------------------------------------------
    def _initialize(self, request: FakeRequest) -> Response:
        body = request.json() if request.body else None
        if not isinstance(body, dict) or set(body) - INIT_FIELDS:
            return self.fake._invalid("INIT takes a JSON object of media_type, total_bytes, "
                                      "media_category")
        if body.get("media_type") != "video/mp4" or body.get("media_category") != "tweet_video":
            return self.fake._invalid("media_type video/mp4 with media_category tweet_video "
                                      "is what this fake serves")
        total = body.get("total_bytes")
        if not isinstance(total, int) or not 0 < total <= MAX_VIDEO:
            return self.fake._invalid("total_bytes must be between 1 and 536870912")
        upload = Upload(str(next(self._ids)), total, body["media_category"],
                        processing=self.plan.fresh())
        with self.fake.lock:
            self.uploads[upload.media_id] = upload
            self.fake.media[upload.media_id] = {"size": total, "alt_text": None,
                                                "category": upload.category}
        return 200, {}, {"data": {"id": upload.media_id, "media_key": f"7_{upload.media_id}",
                                  "expires_after_secs": 86400}}

    def _upload(self, request: FakeRequest) -> Upload | Response:
        upload = self.uploads.get(request.params["id"])
        if upload is None:
            return 404, {}, {"title": "Not Found Error", "type": "about:blank",
                             "detail": "Could not find media", "status": 404}
        return upload

    def _append(self, request: FakeRequest) -> Response:
        upload = self._upload(request)
        if not isinstance(upload, Upload):
            return upload
        try:
            fields = parse_form_data(request.header("Content-Type") or "", request.body)
        except ValueError:
            return self.fake._invalid("APPEND must be multipart/form-data")
        if set(fields) != {"media", "segment_index"}:
            return self.fake._invalid("APPEND takes media and segment_index")
        index = fields["segment_index"].text
        if not index.isdigit() or int(index) > 999:
            return self.fake._invalid("segment_index must be 0 to 999")
        data = fields["media"].data
        if not data or len(data) > MAX_SEGMENT:
            return self.fake._invalid("a segment must hold 1 to 5242880 bytes")
        if upload.finalized:
            return self.fake._invalid("the upload is already finalized")
        with self.fake.lock:
            upload.segments[int(index)] = data
        return 200, {}, {"data": {"expires_at": int(time.time()) + 86400}}

    def _finalize(self, request: FakeRequest) -> Response:
        upload = self._upload(request)
        if not isinstance(upload, Upload):
            return upload
        if sorted(upload.segments) != list(range(len(upload.segments))):
            return self.fake._invalid("segments are missing")
        if sum(map(len, upload.segments.values())) != upload.total_bytes:
            return self.fake._invalid("File size mismatch: the segments do not add up to "
                                      "total_bytes")
        upload.finalized = True
        return 200, {}, {"data": {**self._described(upload),
                                  "processing_info": {"state": "pending",
                                                      "check_after_secs":
                                                          self.check_after_secs}}}

    def _status(self, request: FakeRequest) -> Response:
        if request.query.get("command") != ["STATUS"]:
            return self.fake._invalid("command must be STATUS")
        upload = self.uploads.get((request.query.get("media_id") or [""])[0])
        if upload is None or not upload.finalized:
            return 404, {}, {"title": "Not Found Error", "type": "about:blank",
                             "detail": "Could not find media", "status": 404}
        state = upload.processing.ask()
        info: dict[str, Any] = {"state": state}
        if state == "in_progress":
            info |= {"check_after_secs": self.check_after_secs,
                     "progress_percent": min(99, 10 * upload.processing.asked)}
        elif state == "failed":
            info["error"] = {"code": 1, "name": "InvalidMedia",
                             "message": upload.processing.fails}
        return 200, {}, {"data": {**self._described(upload), "processing_info": info}}

    @staticmethod
    def _described(upload: Upload) -> dict[str, Any]:
        return {"id": upload.media_id, "media_key": f"7_{upload.media_id}",
                "size": upload.total_bytes, "expires_after_secs": 86400}
