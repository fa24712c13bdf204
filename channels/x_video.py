"""X's chunked media upload for a video (X API v2, X's published OpenAPI document):

1. ``POST /2/media/upload/initialize`` ``{media_type, total_bytes, media_category:
   "tweet_video"}`` → the media id (usable for ``expires_after_secs``);
2. ``POST /2/media/upload/{id}/append`` per chunk: multipart ``media`` (at most 5 MB)
   and ``segment_index`` (0–999, in order);
3. ``POST /2/media/upload/{id}/finalize`` → ``processing_info``;
4. ``GET /2/media/upload?command=STATUS&media_id=…`` after ``check_after_secs``, until
   ``state`` is ``succeeded`` (or ``failed``, with ``error.message``).

The media id, the next chunk and whether it was finalized are checkpointed as the upload
goes (``x_video``): after a crash or a failed chunk the next attempt resumes with the
chunk that was not confirmed (X takes a segment sent again in its place), and after a
wait that ran out it asks STATUS again instead of uploading the file a second time. A
chunk that fails is sent again at once, alone (:func:`channels.uploads.retried`).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from channels import http
from channels.base import Delivery, Media, NotSent, Outcome, Rejected
from channels.http import answered
from channels.i18n import _
from channels.uploads import (
    Processed,
    StillProcessing,
    Waiting,
    read_part,
    retried,
    upload_options,
    video_size,
    wait_until_processed,
)

if TYPE_CHECKING:
    import requests

    from channels.x import XChannel

#: X takes at most 5 MB per APPEND; 4 MiB leaves room for the multipart framing
CHUNK_BYTES = 4 * 1024 * 1024
#: an upload session this close to its end is not resumed (a new one is started)
EXPIRY_MARGIN = 600


class VideoUpload:
    """One video's way through X's chunked upload, for one attempt of one post."""

    def __init__(self, channel: XChannel, delivery: Delivery, video: Media) -> None:
        self.channel, self.delivery, self.video = channel, delivery, video
        self.rules = upload_options(channel.account.options)
        self.chunk = int(channel.account.options.get("x_chunk_bytes", CHUNK_BYTES))
        self.url = f"{channel.base_url}/2/media/upload"

    def run(self) -> list[str] | Outcome:
        """The media ids for the post, or why there are none."""
        state = dict(self.delivery.state.get("x_video") or {})
        if state and (state.get("sha256") != self.video.sha256
                      or state.get("expires_at", 0) - time.time() < EXPIRY_MARGIN):
            state = {}  # another file, or a session X is about to forget: start anew
        if not state:
            started = self._initialize()
            if not isinstance(started, dict):
                return started
            state = started
        processing: dict[str, Any] | None = {"state": "pending"}
        if not state.get("finalized"):
            finished = self._append_and_finalize(state)
            if not isinstance(finished, dict):
                return finished
            processing = finished.get("processing_info")
        if processing is not None:
            waited = wait_until_processed(lambda: self._status(state["media_id"]),
                                          limit=self.rules["limit"], every=self.rules["every"],
                                          first=_after(processing))
            if isinstance(waited, StillProcessing):
                return waited.in_doubt("the video")
            if not isinstance(waited, Processed):
                if isinstance(waited, Rejected):
                    self.delivery.checkpoint(x_video=None)  # a new try starts from the file
                return waited
        if self.video.alt:
            alt = self._post(f"{self.channel.base_url}/2/media/metadata", "alt text", json={
                "id": state["media_id"],
                "metadata": {"alt_text": {"text": self.video.alt[:1000]}}})
            if not answered(alt):
                return alt
        return [state["media_id"]]

    # --- the steps ------------------------------------------------------------------------
    def _post(self, url: str, what: str, **kwargs: Any) -> requests.Response | Outcome:
        """One upload request; its answer if 2xx, else the outcome (never a post's
        doubt: a media upload creates no post)."""
        channel = self.channel
        response = http.request(channel.session, "POST", url, secrets=channel.secrets.values(),
                                timeout=channel.timeouts, auth=channel._oauth(), **kwargs)
        failed = channel._media_failure(response, what)
        return failed if failed is not None else response

    def _initialize(self) -> dict[str, Any] | Outcome:
        size = video_size(self.video)
        response = retried(lambda: self._post(f"{self.url}/initialize", _("video upload INIT"),
                                              json={"media_type": "video/mp4",
                                                    "total_bytes": size,
                                                    "media_category": "tweet_video"}),
                           pause=self.rules["pause"])
        if not answered(response):
            return response
        data = response.json()["data"]
        state = {"media_id": str(data["id"]), "sha256": self.video.sha256, "next": 0,
                 "expires_at": time.time() + float(data.get("expires_after_secs", 86400))}
        self.delivery.checkpoint(x_video=state)  # before the first byte of the file leaves
        return state

    def _append_and_finalize(self, state: dict[str, Any]) -> dict[str, Any] | Outcome:
        media_id = state["media_id"]
        chunks = max(1, math.ceil(video_size(self.video) / self.chunk))
        for index in range(int(state.get("next", 0)), chunks):
            data = read_part(self.video.path, index * self.chunk, self.chunk)
            appended = retried(lambda data=data, index=index: self._post(
                f"{self.url}/{media_id}/append", _("video chunk {number} of {chunks}").format(
                                                     number=index + 1, chunks=chunks),
                data={"segment_index": str(index)},
                files={"media": ("chunk", data, "application/octet-stream")}),
                pause=self.rules["pause"])
            if not answered(appended):
                return appended
            state["next"] = index + 1
            self.delivery.checkpoint(x_video=dict(state))
        finalized = retried(lambda: self._post(f"{self.url}/{media_id}/finalize",
                                               _("video upload FINALIZE")),
                            pause=self.rules["pause"])
        if not answered(finalized):
            return finalized
        state["finalized"] = True
        self.delivery.checkpoint(x_video=dict(state))
        return dict(finalized.json().get("data") or {})

    def _status(self, media_id: str) -> Processed | Waiting | Outcome:
        channel = self.channel
        response = http.request(channel.session, "GET", self.url,
                                secrets=channel.secrets.values(), timeout=channel.timeouts,
                                auth=channel._oauth(),
                                params={"command": "STATUS", "media_id": media_id})
        failed = channel._media_failure(response, _("video processing STATUS"))
        if failed is not None:
            if isinstance(failed, Rejected):
                # X no longer knows the upload (expired): the next attempt uploads anew
                self.delivery.checkpoint(x_video=None)
                return NotSent(_("{reason} (the upload is started again next time)").format(
                                   reason=failed.reason),
                               http_status=failed.http_status)
            return failed
        assert answered(response)
        info = (response.json().get("data") or {}).get("processing_info") or {}
        status = info.get("state", "succeeded")
        if status == "succeeded":
            return Processed(media_id)
        if status == "failed":
            error = info.get("error") or {}
            return Rejected(_("X could not process the video: {reason} — check that it plays, or "
                              "prepare it again").format(
                                reason=(error.get("message") or error.get("name")
                                        or _("no reason given"))))
        percent = info.get("progress_percent")
        return Waiting(after=_after(info),
                       progress=f"{status}, {percent} %" if percent is not None else status)


def _after(info: dict[str, Any]) -> float | None:
    seconds = info.get("check_after_secs")
    return float(seconds) if isinstance(seconds, int | float) else None


def video_upload_steps(base_url: str, video: Media) -> list[dict[str, Any]]:
    """The upload requests :class:`VideoUpload` sends, for the dry run."""
    url = f"{base_url}/2/media/upload"
    chunks = max(1, math.ceil((video.bytes or 0) / CHUNK_BYTES))
    steps: list[dict[str, Any]] = [
        {"method": "POST", "url": f"{url}/initialize",
         "json": {"media_type": "video/mp4", "total_bytes": video.bytes,
                  "media_category": "tweet_video"}},
        {"method": "POST", "url": f"{url}/<media id>/append", "file": video.path,
         "chunks": chunks, "data": {"segment_index": f"0…{chunks - 1}"}},
        {"method": "POST", "url": f"{url}/<media id>/finalize"},
        {"method": "GET", "url": f"{url}?command=STATUS&media_id=<media id>",
         "until": "processing_info.state == succeeded"}]
    if video.alt:
        steps.append({"method": "POST", "url": f"{base_url}/2/media/metadata",
                      "json": {"id": "<media id>",
                               "metadata": {"alt_text": {"text": video.alt[:1000]}}}})
    return steps
