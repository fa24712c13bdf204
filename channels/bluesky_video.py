"""A Bluesky video through the video service (docs.bsky.app "Uploading video"; lexicons
``app.bsky.video.{getUploadLimits,uploadVideo,getJobStatus,defs}``,
``com.atproto.server.getServiceAuth``, ``app.bsky.embed.video``):

1. ``getUploadLimits`` on the video service, with a service-auth token for it
   (``aud`` the service's DID, ``lxm`` the method): may this account upload this many
   bytes today? ``canUpload`` false is refused with the service's message (an e-mail not
   verified); the day's videos or bytes used up is "not sent";
2. ``uploadVideo?did=…&name=…`` with the raw MP4, streamed, and a service-auth token
   for the account's PDS (``aud`` ``did:web:<PDS host>``, ``lxm``
   ``com.atproto.repo.uploadBlob``, 30 minutes): the video service processes the file
   and stores the result on the PDS for us → a job id (or, for a file it already knows,
   ``already_exists`` with that job);
3. ``getJobStatus?jobId=…`` until ``JOB_STATE_COMPLETED`` with the ``blob``
   (``JOB_STATE_FAILED``: refused with the service's message);
4. the post's record embeds ``app.bsky.embed.video {video: blob, aspectRatio, alt}``.

The job id is checkpointed as soon as the service answers, and the blob once processed
(``bsky_video``): a retry, or the attempt after a wait that ran out, asks for the same job
instead of uploading again. The post's own ``rkey`` stays what makes it idempotent.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from channels import http
from channels.base import AuthFailed, Delivery, InDoubt, Media, NotSent, Outcome, Rejected
from channels.http import answered
from channels.i18n import _
from channels.uploads import (
    FileBody,
    Processed,
    StillProcessing,
    Waiting,
    retried,
    size_text,
    upload_options,
    video_size,
    wait_until_processed,
)

if TYPE_CHECKING:
    import requests

    from channels.bluesky import BlueskyChannel

VIDEO_SERVICE = "https://video.bsky.app"
VIDEO_SERVICE_DID = "did:web:video.bsky.app"
#: how long the upload's service-auth token is valid (the docs recommend 30 minutes)
TOKEN_SECONDS = 30 * 60


class VideoUpload:
    """One video's way through the video service, for one attempt of one post."""

    def __init__(self, channel: BlueskyChannel, delivery: Delivery, video: Media) -> None:
        self.channel, self.delivery, self.video = channel, delivery, video
        options = channel.account.options
        self.service = str(options.get("video_service", VIDEO_SERVICE)).rstrip("/")
        self.service_did = str(options.get("video_service_did", VIDEO_SERVICE_DID))
        self.rules = upload_options(options)

    def embed(self) -> dict[str, Any] | Outcome:
        """The post's ``app.bsky.embed.video``, or why there is none."""
        state = dict(self.delivery.state.get("bsky_video") or {})
        if state.get("sha256") != self.video.sha256:
            state = {}
        blob = state.get("blob")
        if blob is None:
            if "job" not in state:
                job = self._upload()
                if not isinstance(job, str):
                    return job
                state = {"job": job, "sha256": self.video.sha256}
                self.delivery.checkpoint(bsky_video=state)
            waited = wait_until_processed(lambda: self._job(state["job"]),
                                          limit=self.rules["limit"], every=self.rules["every"])
            if isinstance(waited, StillProcessing):
                return waited.in_doubt("the video")
            if not isinstance(waited, Processed):
                if isinstance(waited, Rejected):
                    self.delivery.checkpoint(bsky_video=None)
                return waited
            blob = waited.value
            self.delivery.checkpoint(bsky_video={**state, "blob": blob})
        embed: dict[str, Any] = {"$type": "app.bsky.embed.video", "video": blob}
        if self.video.width and self.video.height:
            embed["aspectRatio"] = {"width": self.video.width, "height": self.video.height}
        if self.video.alt:
            embed["alt"] = self.video.alt
        return embed

    # --- the steps ------------------------------------------------------------------------
    def _service_token(self, audience: str, method: str,
                       seconds: int | None = None) -> str | Outcome:
        params: dict[str, Any] = {"aud": audience, "lxm": method}
        if seconds:
            params["exp"] = int(time.time()) + seconds
        response = self.channel._xrpc("GET", "com.atproto.server.getServiceAuth",
                                      params=params)
        if answered(response) and response.status_code == 200:
            return str(response.json()["token"])
        return self._not_a_post(response, "getServiceAuth")

    def _call(self, method: str, nsid: str, token: str | None = None,
              **kwargs: Any) -> requests.Response | Outcome:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        channel = self.channel
        return http.request(channel.session, method, f"{self.service}/xrpc/{nsid}",
                            secrets=channel._secrets() + ([token] if token else []),
                            timeout=channel.timeouts, headers=headers, **kwargs)

    def _not_a_post(self, response: requests.Response | Outcome, what: str) -> Outcome:
        """A failed step's outcome; nothing of it is a post, so doubt is "not sent"."""
        outcome = self.channel._error(response, what) if answered(response) else response
        if isinstance(outcome, InDoubt):
            return NotSent(_("{detail} (no post was created)").format(detail=outcome.detail),
                           http_status=outcome.http_status)
        return outcome

    def _upload(self) -> str | Outcome:
        """Check the day's limits, then send the file: the video service's job id."""
        size = video_size(self.video)
        token = self._service_token(self.service_did, "app.bsky.video.getUploadLimits")
        if not isinstance(token, str):
            return token
        limits = self._call("GET", "app.bsky.video.getUploadLimits", token)
        if not answered(limits) or limits.status_code != 200:
            return self._not_a_post(limits, "getUploadLimits")
        allowed = limits.json()
        said = allowed.get("message") or allowed.get("error") or ""
        if not allowed.get("canUpload", False):
            return Rejected(_("Bluesky does not let this account upload videos: "
                              "{reason} (a Bluesky-hosted account must have verified "
                              "its e-mail address)").format(reason=said or _("no reason given")))
        if (allowed.get("remainingDailyVideos", 1) < 1
                or allowed.get("remainingDailyBytes", size) < size):
            return NotSent(_("the account's daily video allowance on Bluesky is used up "
                             "({videos} videos, {left} left; this one is "
                             "{size})").format(
                               videos=allowed.get("remainingDailyVideos"),
                               left=size_text(int(allowed.get("remainingDailyBytes", 0))),
                               size=size_text(size)))
        audience = self.channel.pds_did()
        token = self._service_token(audience, "com.atproto.repo.uploadBlob", TOKEN_SECONDS)
        if not isinstance(token, str):
            return token
        params = {"did": self.channel._login_did(), "name": "video.mp4"}

        def upload() -> requests.Response | Outcome:
            response = self._call("POST", "app.bsky.video.uploadVideo", token, params=params,
                                  data=FileBody(self.video.path),
                                  headers={"Content-Type": "video/mp4"})
            if answered(response) and (response.status_code == 200
                                       or _job_id(response) is not None):
                return response
            return self._not_a_post(response, "uploadVideo")

        response = retried(upload, pause=self.rules["pause"])
        if not answered(response):
            return response
        job = _job_id(response)
        if job is None:
            return NotSent(_("uploadVideo answered without a job id (no post was created)"))
        return job

    def _job(self, job: str) -> Processed | Waiting | Outcome:
        response = self._call("GET", "app.bsky.video.getJobStatus", params={"jobId": job})
        if not answered(response) or response.status_code != 200:
            outcome = self._not_a_post(response, "getJobStatus")
            if isinstance(outcome, Rejected | AuthFailed):
                # the service no longer knows the job: the next attempt uploads again
                self.delivery.checkpoint(bsky_video=None)
                return NotSent(_("{reason} (the video is uploaded again next time)").format(
                                   reason=_text(outcome)))
            return outcome
        status = response.json().get("jobStatus") or {}
        if status.get("blob"):  # completed, or "already_exists" with the earlier blob
            return Processed(status["blob"])
        if status.get("state") == "JOB_STATE_FAILED":
            return Rejected(_("Bluesky could not process the video: {reason} ({code}) — "
                              "check that it plays, or prepare it again").format(
                                reason=(status.get("message") or status.get("error")
                                        or _("no reason given")),
                                code=status.get("failureCode", "failed")))
        progress = status.get("progress")
        return Waiting(progress=f"{status.get('state', 'in process')}"
                                f"{f', {progress} %' if progress is not None else ''}")


def _job_id(response: requests.Response) -> str | None:
    """The job id of uploadVideo's answer: its ``jobStatus`` (or the status itself, as
    the service's examples read it), also in an ``already_exists`` refusal."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    status = body.get("jobStatus") if isinstance(body.get("jobStatus"), dict) else body
    job = status.get("jobId")
    return str(job) if job else None


def _text(outcome: Outcome) -> str:
    return outcome.detail if isinstance(outcome, InDoubt) else getattr(outcome, "reason", "")


def pds_did_of(base_url: str, session: dict[str, Any] | None) -> str:
    """``did:web:`` of the account's PDS: the ``#atproto_pds`` service of the DID document
    createSession returned, else the host Siar talks to (a port as ``%3A``)."""
    endpoint = base_url
    for service in ((session or {}).get("didDoc") or {}).get("service", []):
        if str(service.get("id", "")).endswith("#atproto_pds"):
            endpoint = str(service.get("serviceEndpoint") or base_url)
    return "did:web:" + urlsplit(endpoint).netloc.replace(":", "%3A")


def video_upload_steps(base_url: str, service: str, video: Media) -> list[dict[str, Any]]:
    """The requests :class:`VideoUpload` sends, for the dry run."""
    return [
        {"method": "GET", "url": f"{base_url}/xrpc/com.atproto.server.getServiceAuth",
         "params": {"aud": VIDEO_SERVICE_DID, "lxm": "app.bsky.video.getUploadLimits"}},
        {"method": "GET", "url": f"{service}/xrpc/app.bsky.video.getUploadLimits"},
        {"method": "GET", "url": f"{base_url}/xrpc/com.atproto.server.getServiceAuth",
         "params": {"aud": "did:web:<PDS host>", "lxm": "com.atproto.repo.uploadBlob"}},
        {"method": "POST", "url": f"{service}/xrpc/app.bsky.video.uploadVideo",
         "params": {"did": "<account DID>", "name": "video.mp4"}, "file": video.path,
         "bytes": video.bytes},
        {"method": "GET", "url": f"{service}/xrpc/app.bsky.video.getJobStatus?jobId=<job>",
         "until": "JOB_STATE_COMPLETED with the blob"}]
