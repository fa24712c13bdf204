"""Video posts on a Facebook Page (Meta's Video API, "Publish with the Video API").

1. the file goes to Meta's servers through the Resumable Upload API
   (:class:`channels.meta_video.GraphUpload`), which gives a file handle — the guide's
   only documented way to a handle, resumable and in parts, so a 500 MB file is never
   sent (or held) in one piece; the session and the handle are checkpointed;
2. ``POST graph-video.facebook.com/{version}/{page-id}/videos {description,
   fbuploader_video_file_chunk, published, title?}`` (+ the cover as the ``thumb`` file)
   makes the post — the risky step; the video id is checkpointed as soon as it is known;
3. ``GET /{video-id}?fields=status,permalink_url`` is polled until ``status.video_status``
   is ``ready`` (published), ``error``/``expired`` (rejected, with Meta's reason), or
   ``video_poll_timeout`` (300 s) passes: then the post is in doubt and the probe reads
   the same status.

A crash after step 2 is settled by the probe: the checkpointed video's status, or —
when the answer with its id was lost — the Page's videos since the post was due, by
description. A later attempt never uploads again once the handle is checkpointed and
never makes a second video once the id is.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from channels.base import Delivery, InDoubt, NotSent, Outcome, Published, Rejected, describe
from channels.i18n import N_, _
from channels.meta import GraphChannel
from channels.meta_video import GraphUpload

if TYPE_CHECKING:
    from channels.variant import Media, Variant

__all__ = ["PROBE_WINDOW", "PageVideos"]

#: how far before the due time the probe looks for the post
PROBE_WINDOW = timedelta(hours=1)

DEFAULT_VIDEO_HOST = "https://graph-video.facebook.com"
NEEDS_APP_ID = N_("a Facebook video is uploaded through the Resumable Upload API, which "
                "belongs to a Meta app: set the account option app_id (the app's id, "
                "from developers.facebook.com/apps)")
#: what ``status.video_status`` says while Meta is still at it (anything not final)
FINAL = frozenset({"ready", "error", "expired"})


class PageVideos(GraphChannel):
    """A Facebook Page's video posts: the base of :class:`channels.facebook.FacebookChannel`."""

    optional_secret_fields = ("user_access_token",)

    @property
    def page_id(self) -> str:
        return self.option("page_id")

    @staticmethod
    def message(delivery: Delivery) -> str:
        """The post's text: the parts joined (a Page has no threads)."""
        return "\n\n".join(delivery.variant.parts)

    @property
    def video_api_url(self) -> str:
        """The graph-video host (or the account's ``base_url``, e.g. a test fake)."""
        base = (self.account.options.get("video_base_url") or self.account.base_url
                or DEFAULT_VIDEO_HOST)
        return f"{str(base).rstrip('/')}/{self.version}"

    @property
    def upload_token(self) -> str:
        """The User or System User token the upload session needs (``user_access_token``;
        a System User token as ``access_token`` serves both)."""
        return self.secrets.get("user_access_token") or self.secrets.get("access_token", "")

    def video_preflight(self, variant: Variant) -> str | None:
        """Why a video post cannot be made (no ``app_id``), or ``None``."""
        from channels.uploads import video_of
        if video_of(variant) and not self.account.options.get("app_id"):
            return _(NEEDS_APP_ID)
        return None

    def uploader(self) -> GraphUpload:
        return GraphUpload(self, app_id=str(self.account.options.get("app_id")),
                           token=self.upload_token)

    # --- publishing ---------------------------------------------------------------------
    def publish_video(self, delivery: Delivery, video: Media) -> Outcome:
        """Upload (or resume), create the video post once, wait for Meta to process it."""
        from channels.video.checks import refused_video
        video_id = delivery.state.get("video_id")
        if not video_id:
            if refused := refused_video(delivery.variant):
                return refused  # changed or removed since it was queued: nothing sent
            if problem := self.video_preflight(delivery.variant):
                return Rejected(problem)
            handle = self.uploader().handle(delivery, video)
            if not isinstance(handle, str):
                return handle
            created = self._create_video(delivery, video, handle)
            if not isinstance(created, str):
                return created
            video_id = created
            delivery.checkpoint(video_id=video_id)
        return self._await_video(delivery, str(video_id))

    def _create_video(self, delivery: Delivery, video: Media, handle: str) -> str | Outcome:
        data = {"description": self.message(delivery),
                "fbuploader_video_file_chunk": handle, "published": "true"}
        if title := video.title or delivery.variant.title:  # the video's own, if named
            data["title"] = title
        extra: dict[str, Any] = {}
        if video.cover:
            extra["files"] = {"thumb": ("cover.jpg", Path(video.cover).read_bytes(),
                                        "image/jpeg")}
        page = self.page_id
        body = self.call("POST", f"{self.video_api_url}/{page}/videos",
                         creating=True, data=data, **extra)
        if not isinstance(body, dict):
            return body
        return str(body.get("id") or "") or InDoubt(_("videos answered without a video id"))

    def video_status(self, video_id: str) -> tuple[str, dict[str, Any]] | Outcome:
        """``status.video_status`` of the video (``processing`` for any phase not final)
        and the whole answer."""
        body = self.call("GET", video_id, creating=False,
                         params={"fields": "id,status,permalink_url"})
        if not isinstance(body, dict):
            return body
        status = str((body.get("status") or {}).get("video_status") or "processing")
        return (status if status in FINAL else "processing"), body

    def _await_video(self, delivery: Delivery, video_id: str) -> Outcome:
        from channels.uploads import (
            GRAPH_OPTION_NAMES,
            Processed,
            StillProcessing,
            by_status,
            upload_options,
            wait_until_processed,
        )
        last: dict[str, Any] = {}

        def read() -> str | Outcome:
            answer = self.video_status(video_id)
            if not isinstance(answer, tuple):
                return answer
            last.update(answer[1])
            return answer[0]

        rules = upload_options(self.account.options, **GRAPH_OPTION_NAMES)
        # misses=1: a status that could not be read ends the wait (in doubt, below)
        done = wait_until_processed(by_status(read, ("processing",)), limit=rules["limit"],
                                    every=rules["every"], misses=1)
        if isinstance(done, StillProcessing):
            return InDoubt(_("Facebook was still processing video {video_id} after {seconds:g}s; "
                             "the probe reads its status").format(
                               video_id=video_id, seconds=rules['limit']))
        if not isinstance(done, Processed):
            # the video exists; only its status could not be read
            return InDoubt(_("video {video_id} was created but its status could not be read: "
                             "{reason}").format(video_id=video_id, reason=describe(done)))
        status = str(done.value)
        if status != "ready":
            return Rejected(_("Facebook could not process video {video_id} ({status}): "
                              "{reason}").format(
                                video_id=video_id, status=status, reason=processing_error(last)))
        return self._video_published(delivery, video_id, last)

    def _video_published(self, delivery: Delivery, video_id: str,
                         body: dict[str, Any]) -> Published:
        link = str(body.get("permalink_url") or "")
        url = (f"https://www.facebook.com{link}" if link.startswith("/") else link) or \
            f"https://www.facebook.com/{self.page_id}/videos/{video_id}/"
        delivery.part_published(0, video_id, url)
        return Published(video_id, url)

    # --- settling and describing --------------------------------------------------------
    def probe_video(self, delivery: Delivery) -> Outcome | None:
        """A video post exists once its video is ``ready``. Without a checkpointed id (the
        answer to ``/videos`` was lost) the Page's videos are searched by description."""
        video_id = delivery.state.get("video_id")
        if not video_id:
            if not delivery.state.get(GraphUpload.HANDLE_KEY):
                return NotSent(_("the video was never handed to the Page: safe to send"))
            found = self._find_video(delivery)
            if not isinstance(found, str):
                return found
            video_id = found
            delivery.checkpoint(video_id=video_id)
        answer = self.video_status(str(video_id))
        if not isinstance(answer, tuple):
            return None
        status, body = answer
        if status == "ready":
            return self._video_published(delivery, str(video_id), body)
        # processing, or failed: either way not published; the next attempt waits for (or
        # reports on) this same video and uploads nothing again
        return NotSent(_("video {video_id} is {status}, not published yet: the next attempt "
                         "follows it without uploading again").format(
                           video_id=video_id, status=status))

    def _find_video(self, delivery: Delivery) -> str | Outcome | None:
        """The id of the Page's video with this post's description since it was due."""
        found = self.find_recent(delivery, "videos", "description",
                                 "id,description,created_time")
        if found is None:
            return None
        return str(found["id"]) if found else NotSent(
            _("no video with this description on the Page since it was due: safe to send"))

    def find_recent(self, delivery: Delivery, edge: str, field: str,
                    fields: str) -> dict[str, Any] | None:
        """The item of the Page's ``edge`` (``posts``, ``videos``) since shortly before the
        post was due whose ``field`` is the post's text: ``{}`` when there is none,
        ``None`` when the Page could not be read."""
        since = int((delivery.due_at - PROBE_WINDOW).timestamp())
        body = self.call("GET", f"{self.page_id}/{edge}", creating=False,
                         params={"fields": fields, "since": str(since), "limit": "50"})
        if not isinstance(body, dict):
            return None
        wanted = self.message(delivery).strip()
        return next((item for item in body.get("data", [])
                     if str(item.get(field, "")).strip() == wanted), {})

    def describe_video(self, delivery: Delivery, video: Media) -> list[dict[str, Any]]:
        """The requests of a video post, for a dry run."""
        page = self.account.options.get("page_id", "{page-id}")
        data: dict[str, Any] = {"description": self.message(delivery),
                                "fbuploader_video_file_chunk": "{file-handle}",
                                "published": "true"}
        if title := video.title or delivery.variant.title:
            data["title"] = title
        create: dict[str, Any] = {"method": "POST", "url": f"{self.video_api_url}/{page}/videos",
                                  "data": data}
        if video.cover:
            create["files"] = {"thumb": video.cover}
        return [*self.uploader().describe(video), create,
                {"method": "GET", "url": f"{self.api_url}/{{video-id}}",
                 "params": {"fields": "id,status,permalink_url"},
                 "until": "status.video_status = ready"}]


def processing_error(body: dict[str, Any]) -> str:
    """Meta's reason for a failed video, from the phases of its ``status``."""
    status = body.get("status") or {}
    for phase in ("uploading_phase", "processing_phase", "publishing_phase"):
        for error in (status.get(phase) or {}).get("errors") or []:
            if isinstance(error, dict) and error.get("message"):
                return str(error["message"])
    return _("no reason given")
