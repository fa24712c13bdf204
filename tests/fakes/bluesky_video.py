"""Bluesky's video service and the PDS's service-auth tokens, as the fake serves them
(lexicons ``app.bsky.video.{getUploadLimits,uploadVideo,getJobStatus,defs}`` and
``com.atproto.server.getServiceAuth``; docs.bsky.app "Uploading video").

The PDS issues a service-auth token for an audience (``aud``) and a method (``lxm``).
The video service takes ``getUploadLimits`` only with a token for itself, and
``uploadVideo?did=…&name=…`` (raw ``video/mp4``) only with a token for the account's PDS
and ``com.atproto.repo.uploadBlob``; it answers a job, processed over several
``getJobStatus`` questions (``JOB_STATE_ENCODING`` …) into ``JOB_STATE_COMPLETED`` with a
blob stored on the PDS, or ``JOB_STATE_FAILED`` with ``error``/``message``/
``failureCode``. A file it already processed is refused as ``already_exists`` with the
earlier job. Both live on the fake PDS's socket (the adapter's ``video_service`` option
points there).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.processing import Processing
from tests.fakes.server import FakeRequest, Response

if TYPE_CHECKING:
    from tests.fakes.bluesky import FakeBluesky

VIDEO_DID = "did:web:video.bsky.app"
#: app.bsky.embed.video's ``maxSize`` (bytes)
MAX_VIDEO = 100_000_000


@dataclass
class Job:
    job_id: str
    sha256: str
    size: int
    processing: Processing = field(default_factory=Processing)
    blob: dict[str, Any] | None = None


class VideoService:
    """The video service (and the PDS's getServiceAuth) of one fake PDS."""

    def __init__(self, pds: FakeBluesky) -> None:
        self.pds = pds
        self.plan = Processing()
        self.can_upload = True
        self.remaining_videos = 25
        self.remaining_bytes = 10_000_000_000
        self.jobs: dict[str, Job] = {}
        #: service-auth token → (aud, lxm)
        self.tokens: dict[str, tuple[str, str]] = {}
        self._ids = itertools.count(1)
        pds.route("GET", "/xrpc/com.atproto.server.getServiceAuth", self._service_auth)
        pds.route("GET", "/xrpc/app.bsky.video.getUploadLimits", self._limits)
        pds.route("POST", "/xrpc/app.bsky.video.uploadVideo", self._upload)
        pds.route("GET", "/xrpc/app.bsky.video.getJobStatus", self._job_status)

    def reset(self) -> None:
        self.plan = Processing()
        self.can_upload, self.remaining_videos = True, 25
        self.remaining_bytes = 10_000_000_000
        self.jobs.clear()
        self.tokens.clear()

    @property
    def pds_did(self) -> str:
        return "did:web:" + self.pds.url.split("://", 1)[1].replace(":", "%3A")

    # --- the PDS's part -------------------------------------------------------------------
    def _service_auth(self, request: FakeRequest) -> Response:
        if (denied := self.pds._authorize(request)) is not None:
            return denied
        aud = (request.query.get("aud") or [""])[0]
        lxm = (request.query.get("lxm") or [""])[0]
        if not aud.startswith("did:"):
            return self.pds._error(400, "InvalidRequest", "aud must be a DID")
        token = f"svc.{next(self._ids)}"
        self.tokens[token] = (aud, lxm)
        return 200, {}, {"token": token}

    def _allowed(self, request: FakeRequest, aud: str, lxm: str) -> Response | None:
        token = self.pds._bearer(request)
        if self.tokens.get(token or "") != (aud, lxm):
            return self.pds._error(401, "AuthenticationRequired",
                                   f"a service-auth token for {aud} and {lxm} is required")
        return None

    # --- the video service ----------------------------------------------------------------
    def _limits(self, request: FakeRequest) -> Response:
        if (denied := self._allowed(request, VIDEO_DID,
                                    "app.bsky.video.getUploadLimits")) is not None:
            return denied
        answer: dict[str, Any] = {"canUpload": self.can_upload,
                                  "remainingDailyVideos": self.remaining_videos,
                                  "remainingDailyBytes": self.remaining_bytes}
        if not self.can_upload:
            answer["message"] = "You need to verify your email address before uploading"
        return 200, {}, answer

    def _upload(self, request: FakeRequest) -> Response:
        if (denied := self._allowed(request, self.pds_did,
                                    "com.atproto.repo.uploadBlob")) is not None:
            return denied
        if (request.query.get("did") or [""])[0] != self.pds.did:
            return self.pds._error(400, "InvalidRequest", "did must be the uploader's DID")
        if request.header("Content-Type") != "video/mp4" or not request.body:
            return self.pds._error(400, "InvalidRequest", "the body must be a video/mp4")
        if len(request.body) > MAX_VIDEO:
            return self.pds._error(400, "InvalidRequest", "video too large")
        digest = hashlib.sha256(request.body).hexdigest()
        known = next((j for j in self.jobs.values() if j.sha256 == digest), None)
        if known is not None:
            return 409, {}, {"error": "already_exists", "message": "Video already processed",
                             "jobId": known.job_id, "did": self.pds.did,
                             "state": "JOB_STATE_COMPLETED"}
        job = Job(f"job{next(self._ids)}", digest, len(request.body), self.plan.fresh())
        with self.pds.lock:
            self.jobs[job.job_id] = job
            self.remaining_videos -= 1
            self.remaining_bytes -= job.size
        return 200, {}, {"jobStatus": {"jobId": job.job_id, "did": self.pds.did,
                                       "state": "JOB_STATE_CREATED"}}

    def _job_status(self, request: FakeRequest) -> Response:
        job = self.jobs.get((request.query.get("jobId") or [""])[0])
        if job is None:
            return self.pds._error(400, "InvalidRequest", "job not found")
        state = job.processing.ask()
        status: dict[str, Any] = {"jobId": job.job_id, "did": self.pds.did}
        if state == "in_progress":
            status |= {"state": "JOB_STATE_ENCODING",
                       "progress": min(99, 20 * job.processing.asked)}
        elif state == "failed":
            status |= {"state": "JOB_STATE_FAILED", "error": "encoding failed",
                       "message": job.processing.fails, "failureCode": "encoding_failure"}
        else:
            job.blob = job.blob or self._store(job)
            status |= {"state": "JOB_STATE_COMPLETED", "blob": job.blob}
        return 200, {}, {"jobStatus": status}

    def _store(self, job: Job) -> dict[str, Any]:
        """The processed video, written to the PDS as the service does for the account."""
        from tests.fakes.bluesky import Blob, fake_cid

        cid = fake_cid(job.sha256.encode())
        with self.pds.lock:
            self.pds.blobs[cid] = Blob(cid=cid, mime="video/mp4", size=job.size)
        return {"$type": "blob", "ref": {"$link": cid}, "mimeType": "video/mp4",
                "size": job.size}
