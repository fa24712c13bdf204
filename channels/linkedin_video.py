"""A LinkedIn video, through the Videos API, before the post that carries it.

1. ``POST /rest/videos?action=initializeUpload {initializeUploadRequest: {owner,
   fileSizeBytes, uploadCaptions, uploadThumbnail}}`` → the ``urn:li:video``, an
   ``uploadToken`` and ``uploadInstructions``: one ``{uploadUrl, firstByte, lastByte}``
   per part (LinkedIn cuts the file, about 4 MiB a part), plus ``thumbnailUploadUrl``;
2. ``PUT`` each part's bytes to its ``uploadUrl`` and keep the ``ETag`` of the answer
   (a part that fails for a passing reason is sent again on its own); the cover, when
   the video has one, to ``thumbnailUploadUrl``;
3. ``POST /rest/videos?action=finalizeUpload {finalizeUploadRequest: {video,
   uploadToken, uploadedPartIds}}`` with the ETags in part order;
4. ``GET /rest/videos/{urn}`` until ``status`` is ``AVAILABLE`` (``PROCESSING_FAILED``:
   rejected with ``processingFailureReason``; still ``PROCESSING`` after
   ``video_poll_timeout``: in doubt — the probe finds no post, and the next attempt
   waits for the same video without uploading it again).

Uploading creates nothing visible, so it never leaves a post in doubt. What is done is
checkpointed as it happens (the URN, the instructions, each part's ETag, finalized), so
an attempt after a crash goes on where the last one stopped while the upload URLs are
valid (``uploadUrlsExpireAt``), and starts the upload again after that.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from channels.base import Delivery, InDoubt, NotSent, Outcome, Rejected
from channels.http import answered
from channels.i18n import _
from channels.uploads import (
    GRAPH_OPTION_NAMES,
    Processed,
    StillProcessing,
    by_status,
    read_part,
    retried,
    upload_options,
    video_size,
    wait_until_processed,
)
from channels.video.checks import refused_video

if TYPE_CHECKING:
    from channels.linkedin import LinkedInChannel
    from channels.variant import Media, Variant

__all__ = ["VideoUpload", "video_title"]


def video_title(video: Media, variant: Variant) -> dict[str, str]:
    """The post's ``content.media.title``: the video's own title (``videos: [{title: …}]``),
    else the release's; nothing when there is neither."""
    title = video.title or variant.title
    return {"title": title} if title else {}

#: what the Videos API says while a video is not ready yet
PENDING = ("PROCESSING", "WAITING_UPLOAD")


class VideoUpload:
    """One video of one post, uploaded to LinkedIn and followed until it is AVAILABLE."""

    STATE_KEY = "video"

    def __init__(self, channel: LinkedInChannel) -> None:
        self.channel = channel
        self.rules = upload_options(channel.account.options, **GRAPH_OPTION_NAMES)

    @property
    def api(self) -> str:
        return f"{self.channel.base_url}/rest/videos"

    def urn(self, delivery: Delivery, video: Media) -> str | Outcome:
        """The ``urn:li:video`` once uploaded, finalized and AVAILABLE, or why not."""
        state: dict[str, Any] = dict(delivery.state.get(self.STATE_KEY) or {})
        if state and not state.get("finalized") and \
                state.get("expires_at", 0) <= time.time() * 1000:
            state = {}  # the upload URLs have expired: upload again
        if not state.get("finalized") and (refused := refused_video(delivery.variant)):
            return refused  # changed or removed since it was queued: nothing sent
        if not state:
            started = self.initialize(video)
            if not isinstance(started, dict):
                return started
            state = started
            self.save(delivery, state)
        if not state.get("finalized"):
            done = self.upload(delivery, state, video)
            if done is not None:
                return done
        return self.wait_until_available(str(state["urn"]))

    def initialize(self, video: Media) -> dict[str, Any] | Outcome:
        request = {"owner": self.channel.author, "fileSizeBytes": video_size(video),
                   "uploadCaptions": False, "uploadThumbnail": bool(video.cover)}
        answer = self.channel.call("POST", self.api, creating=False,
                                   params={"action": "initializeUpload"},
                                   json={"initializeUploadRequest": request})
        if not answered(answer):
            return answer
        try:
            value = answer.json()["value"]
            parts = [{"url": str(p["uploadUrl"]), "first": int(p["firstByte"]),
                      "last": int(p["lastByte"])} for p in value["uploadInstructions"]]
            return {"urn": str(value["video"]), "token": str(value.get("uploadToken", "")),
                    "parts": parts, "etags": [],
                    "thumbnail_url": value.get("thumbnailUploadUrl"),
                    "expires_at": int(value.get("uploadUrlsExpireAt") or 0)}
        except (ValueError, KeyError, TypeError):
            return NotSent(_("initializeUpload answered without video/uploadInstructions"))

    def upload(self, delivery: Delivery, state: dict[str, Any],
               video: Media) -> Outcome | None:
        """Send the parts not yet sent, the cover, and finalize; ``None`` when done."""
        etags: list[str] = list(state.get("etags", []))
        for part in state["parts"][len(etags):]:
            data = read_part(video.path, part["first"], part["last"] - part["first"] + 1)
            etag = retried(lambda url=part["url"], data=data: self.put(url, data),
                           pause=self.rules["pause"])
            if not isinstance(etag, str):
                return etag
            etags.append(etag)
            state["etags"] = etags
            self.save(delivery, state)
        if video.cover and state.get("thumbnail_url") and not state.get("thumbnail_sent"):
            sent = retried(lambda: self.put(str(state["thumbnail_url"]),
                                            Path(str(video.cover)).read_bytes(),
                                            thumbnail=True), pause=self.rules["pause"])
            if not isinstance(sent, str):
                return sent
            state["thumbnail_sent"] = True
        finalize = {"video": state["urn"], "uploadToken": state["token"],
                    "uploadedPartIds": etags}
        answer = self.channel.call("POST", self.api, creating=False,
                                   params={"action": "finalizeUpload"},
                                   json={"finalizeUploadRequest": finalize})
        if not answered(answer):
            return answer
        state["finalized"] = True
        self.save(delivery, state)
        return None

    def save(self, delivery: Delivery, state: dict[str, Any]) -> None:
        """Checkpoint what is done so far (a copy: ``state`` goes on changing)."""
        delivery.checkpoint(**{self.STATE_KEY: {**state, "etags": list(state["etags"])}})

    def put(self, url: str, data: bytes, *, thumbnail: bool = False) -> str | Outcome:
        """One part (or the cover) to its upload URL; the answer's ETag."""
        headers = {"Content-Type": "application/octet-stream"}
        if thumbnail:
            headers["media-type-family"] = "STILLIMAGE"
        answer = self.channel.call("PUT", url, creating=False, data=data, headers=headers)
        if not answered(answer):
            return answer
        return answer.headers.get("ETag") or ("" if thumbnail else NotSent(
            _("a part was taken without an ETag; it is sent again")))

    def status(self, urn: str) -> tuple[str, str] | Outcome:
        """The video's ``status`` and ``processingFailureReason``."""
        answer = self.channel.call("GET", f"{self.api}/{quote(urn, safe='')}", creating=False)
        if not answered(answer):
            return answer
        try:
            body = answer.json()
        except ValueError:
            return NotSent(_("unreadable video status"))
        return str(body.get("status") or ""), str(body.get("processingFailureReason") or "")

    def wait_until_available(self, urn: str) -> str | Outcome:
        reason = ""

        def read() -> str | Outcome:
            nonlocal reason
            answer = self.status(urn)
            if not isinstance(answer, tuple):
                return answer
            status, reason = answer
            return status

        # misses=1: a status that could not be read ends the attempt as it is
        done = wait_until_processed(by_status(read, PENDING), limit=self.rules["limit"],
                                    every=self.rules["every"], misses=1)
        if isinstance(done, StillProcessing):
            return InDoubt(_("LinkedIn was still processing video {urn} after {seconds:g}s; the "
                             "probe looks for the post, and the next attempt waits for the same "
                             "video").format(urn=urn, seconds=self.rules['limit']))
        if not isinstance(done, Processed):
            return done
        status = str(done.value)
        if status != "AVAILABLE":
            return Rejected(_("LinkedIn could not process video {urn} ({status}): {reason}").format(
                                urn=urn, status=status, reason=reason or _("no reason given")))
        return urn

    def describe(self, video: Media, author: str) -> list[dict[str, Any]]:
        """The upload's requests, for a dry run."""
        headers = self.channel.headers(with_token=False)
        request = {"owner": author, "fileSizeBytes": video.bytes or 0,
                   "uploadCaptions": False, "uploadThumbnail": bool(video.cover)}
        calls: list[dict[str, Any]] = [
            {"method": "POST", "url": f"{self.api}?action=initializeUpload",
             "headers": headers, "json": {"initializeUploadRequest": request}},
            {"method": "PUT", "url": "{uploadInstructions[i].uploadUrl}",
             "data": f"<bytes firstByte-lastByte of {video.path}, each part>"}]
        if video.cover:
            calls.append({"method": "PUT", "url": "{thumbnailUploadUrl}",
                          "data": f"<bytes of {video.cover}>"})
        calls += [{"method": "POST", "url": f"{self.api}?action=finalizeUpload",
                   "headers": headers,
                   "json": {"finalizeUploadRequest": {"video": "{video-urn}",
                                                      "uploadToken": "{uploadToken}",
                                                      "uploadedPartIds": ["{etag-i}"]}}},
                  {"method": "GET", "url": f"{self.api}/{{video-urn}}", "headers": headers,
                   "until": "status = AVAILABLE"}]
        return calls
