"""Video on Meta's networks: Reels and Threads videos by URL, and the Graph API's
Resumable Upload API that Facebook Page videos go through.

**Instagram and Threads** (:class:`VideoContainerChannel`) fetch a video from a public
URL, as they fetch images: the media store hosts the prepared MP4 (and the cover, for a
Reel) while the container is processed, then lets it go — deleted unless ``[media]
keep``. Processing a video takes minutes, so its polling has a time of its own
(``video_poll_timeout``, default 300 s); a container still IN_PROGRESS after it leaves
the post **in doubt**, and the probe settles it from the checkpointed container's status
(PUBLISHED: it exists; anything else: not published, and the next attempt waits for the
same container instead of making another). The hosted files stay while Meta may still
fetch them and go once the container is published or given up.

**The Resumable Upload API** (:class:`GraphUpload`, Graph "Upload a file"):
``POST /{app-id}/uploads {file_name, file_length, file_type}`` opens a session
(``upload:…``), ``POST /upload:…`` with a ``file_offset`` header carries the bytes from
that offset, and the answer of the last part holds the file handle (``h``);
``GET /upload:…`` tells the offset Meta has. Both use ``Authorization: OAuth`` with a
User or System User token (a Page token is not accepted there). The file goes in parts
of ``upload_part_bytes`` (8 MiB); a part that fails is sent again from the offset Meta
reports, so nothing is sent twice and nothing is restarted. Session and handle are
checkpointed, so a later attempt resumes, or skips the upload altogether.
"""

from __future__ import annotations

import time
from pathlib import PurePath
from typing import Any, ClassVar

from channels.base import Delivery, InDoubt, NotSent, Outcome, Published, Rejected
from channels.i18n import N_, _
from channels.image_host import ImagesOfAnAttempt
from channels.meta import ContainerChannel, GraphChannel
from channels.variant import Media

__all__ = ["GraphUpload", "VideoContainerChannel", "cover_media", "without_video_url"]

#: the Resumable Upload API's part size: large enough to be few requests, small enough
#: that a broken one costs little (each gets the deadline plus time for its size)
UPLOAD_PART_BYTES = 8 * 1024 * 1024
#: Meta reports the whole file received, yet the answer with its handle was lost
HANDLE_LOST = N_("Meta has the whole file but its handle was lost: the next attempt uploads it "
                 "again")


def cover_media(video: Media) -> Media | None:
    """The video's prepared cover image as a media item to host, or ``None``."""
    if not video.cover:
        return None
    return Media(path=video.cover, alt=video.alt, mime="image/jpeg")


class VideoContainerChannel(ContainerChannel):
    """A container channel that also publishes one video per post, by URL."""

    #: the network shows a video's cover, so it is hosted too (Instagram; not Threads)
    sends_cover: ClassVar[bool] = False

    def publish(self, delivery: Delivery) -> Outcome:
        """As :meth:`ContainerChannel.publish`; a video's container is polled longer, and
        a timeout leaves the post in doubt."""
        from channels.uploads import video_of
        from channels.video.checks import refused_video
        self._attempt.video = video_of(delivery.variant) is not None
        if self._attempt.video and not delivery.done_part(0) and \
                not delivery.state.get(self.container_key(0)) and \
                (refused := refused_video(delivery.variant)):
            return refused  # changed or removed since it was queued: nothing sent
        return super().publish(delivery)

    def wait_until_ready(self, container_id: str) -> str | Outcome:
        """Images: as before. A video: poll up to ``video_poll_timeout``; still processing
        then → in doubt (the container is kept; the probe reads its status)."""
        from channels.uploads import (
            GRAPH_OPTION_NAMES,
            Processed,
            StillProcessing,
            by_status,
            upload_options,
            wait_until_processed,
        )
        if not getattr(self._attempt, "video", False):
            return super().wait_until_ready(container_id)
        rules = upload_options(self.account.options, **GRAPH_OPTION_NAMES)
        # misses=1: a status that could not be read ends the attempt as it is
        done = wait_until_processed(
            by_status(lambda: self.container_status(container_id), ("IN_PROGRESS",)),
            limit=rules["limit"], every=rules["every"], misses=1)
        if isinstance(done, StillProcessing):
            self._attempt.still_processing = True  # Meta may still fetch the video
            return InDoubt(_("{network} was still processing the video of container "
                             "{container_id} after {seconds:g}s; the probe reads the container's "
                             "status, and the next attempt publishes that container rather than "
                             "making another").format(
                               network=self.display_name, container_id=container_id,
                               seconds=rules['limit']))
        return str(done.value) if isinstance(done, Processed) else done

    def video_urls(self, video: Media, images: ImagesOfAnAttempt) -> dict[str, str]:
        """``video_url`` (and ``cover_url`` when the video has a prepared cover), hosted
        by the store for this attempt."""
        urls = {"video_url": images.url(video) or ""}
        cover = cover_media(video)
        if cover is not None and self.sends_cover:
            urls["cover_url"] = images.url(cover) or ""
        return urls

    def missing_urls(self, media: list[Media]) -> list[str]:
        """Names of the files (and covers the network takes) no public URL will be known
        for."""
        covers = [c for m in media if (c := cover_media(m)) is not None]
        items = list(media) + (covers if self.sends_cover else [])
        return [PurePath(m.path).name for m in items if not self.will_have_url(m)]

    def probe(self, delivery: Delivery) -> Outcome | None:
        """As :meth:`ContainerChannel.probe`; once the post is found published, the files
        the store hosted for it are let go (nothing will fetch them any more)."""
        verdict = super().probe(delivery)
        if isinstance(verdict, Published):
            self.images(delivery).finish(network_may_still_fetch=False)
        return verdict


class GraphUpload:
    """One file put on Meta's servers through the Resumable Upload API, for a handle."""

    SESSION_KEY = "upload_session"
    HANDLE_KEY = "upload_handle"

    def __init__(self, channel: GraphChannel, *, app_id: str, token: str) -> None:
        from channels.uploads import GRAPH_OPTION_NAMES, upload_options
        self.channel = channel
        self.app_id = app_id
        self.headers = {"Authorization": f"OAuth {token}"}
        options = channel.account.options
        self.part_bytes = int(options.get("upload_part_bytes", UPLOAD_PART_BYTES))
        self.part_wait = upload_options(options, **GRAPH_OPTION_NAMES)["pause"]

    def handle(self, delivery: Delivery, video: Media) -> str | Outcome:
        """The uploaded file's handle: checkpointed, or uploaded now (resuming the
        checkpointed session where Meta has it). The upload publishes nothing, so every
        failure here is ``NotSent``."""
        from channels.uploads import video_size
        if handle := delivery.state.get(self.HANDLE_KEY):
            return str(handle)
        size = video_size(video)
        session = delivery.state.get(self.SESSION_KEY)
        offset = 0
        if session:
            known = self.offset(session)
            if isinstance(known, Rejected):  # the session is gone (expired): start anew
                session = None
            elif not isinstance(known, int):
                return known
            else:
                offset = known
        if not session:
            opened = self.open_session(video, size)
            if not isinstance(opened, str):
                return opened
            session = opened
            delivery.checkpoint(**{self.SESSION_KEY: session})
        handle = self.send_from(session, video.path, offset, size)
        if isinstance(handle, str):
            delivery.checkpoint(**{self.HANDLE_KEY: handle, self.SESSION_KEY: None})
        elif isinstance(handle, NotSent) and handle.reason == _(HANDLE_LOST):
            delivery.checkpoint(**{self.SESSION_KEY: None})
        return handle

    def open_session(self, video: Media, size: int) -> str | Outcome:
        body = self.channel.call("POST", f"{self.app_id}/uploads", creating=False,
                                 headers=self.headers,
                                 params={"file_name": PurePath(video.path).name,
                                         "file_length": str(size),
                                         "file_type": video.mime or "video/mp4"})
        if not isinstance(body, dict):
            return body
        return str(body.get("id") or "") or NotSent(_("upload session opened without an id"))

    def offset(self, session: str) -> int | Outcome:
        """How many bytes of the file Meta has (``GET /upload:…``)."""
        body = self.channel.call("GET", session, creating=False, headers=self.headers)
        if not isinstance(body, dict):
            return body
        return int(body.get("file_offset") or 0)

    def send_from(self, session: str, path: str, offset: int, size: int) -> str | Outcome:
        """Send the file from ``offset`` part by part; the handle, or why it stopped.
        A part that fails for a passing reason is sent again from the offset Meta
        reports (up to :data:`channels.uploads.TRIES` times in a row) — not
        :func:`channels.uploads.retried`, which would send the same bytes again."""
        from channels.uploads import TRIES, read_part
        failures = 0
        while True:
            if offset >= size:
                return NotSent(_(HANDLE_LOST))
            data = read_part(path, offset, min(self.part_bytes, size - offset))
            answer = self.channel.call("POST", session, creating=False, data=data,
                                       headers={**self.headers, "file_offset": str(offset),
                                                "Content-Type": "application/octet-stream"})
            if isinstance(answer, dict):
                if answer.get("h"):
                    return str(answer["h"])
                offset = int(answer.get("file_offset", offset + len(data)))
                failures = 0
                continue
            failures += 1
            if not (isinstance(answer, NotSent) and not answer.rate_limited) \
                    or failures >= TRIES:
                return answer
            time.sleep(self.part_wait * failures)
            known = self.offset(session)
            if isinstance(known, int):
                offset = known

    def describe(self, video: Media) -> list[dict[str, Any]]:
        """The upload's requests, for a dry run."""
        api = self.channel.api_url
        size = video.bytes or 0
        parts = max(1, -(-size // self.part_bytes))
        return [{"method": "POST", "url": f"{api}/{self.app_id}/uploads",
                 "params": {"file_name": PurePath(video.path).name, "file_length": size,
                            "file_type": video.mime or "video/mp4"}},
                *({"method": "POST", "url": f"{api}/{{upload-session}}",
                   "headers": {"file_offset": str(i * self.part_bytes)},
                   "data": f"<bytes {i * self.part_bytes}-"
                           f"{min((i + 1) * self.part_bytes, size) - 1} of {video.path}>"}
                  for i in range(parts))]


def without_video_url(params: dict[str, str]) -> dict[str, str]:
    """``params`` as a dry run shows them before the store has hosted anything."""
    return {k: (v or "{hosted-url}") if k in ("video_url", "cover_url") else v
            for k, v in params.items()}

