"""A Mastodon video (https://docs.joinmastodon.org/methods/media/): ``POST /api/v2/media``
with the file streamed from disk (multipart ``file``, ``description`` as alt text, the
cover as ``thumbnail``) answers 202 — the instance processes it in the background — and
``GET /api/v1/media/:id`` answers 206 while it does, 200 with ``url`` when done, 422 when
processing failed.

The attachment's id is checkpointed (``mastodon_video``) as soon as the instance answers,
before the wait: a crash, a refused status or a wait that ran out never uploads the file
again, and the status that follows keeps its ``Idempotency-Key``. The upload request is
sent again at once when it fails (:func:`channels.uploads.retried`): an attachment no
status uses is never shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from channels.base import Delivery, Media, NotSent, Outcome, Rejected, describe
from channels.http import answered
from channels.i18n import _
from channels.uploads import (
    Processed,
    StillProcessing,
    Waiting,
    multipart_body,
    retried,
    upload_options,
    wait_until_processed,
)
from channels.video.checks import refused_video

if TYPE_CHECKING:
    import requests

    from channels.mastodon import MastodonChannel


def upload_video(channel: MastodonChannel, delivery: Delivery,
                 video: Media) -> list[str] | Outcome:
    """The ``media_ids`` of the status (the processed video), or why there are none."""
    rules = upload_options(channel.account.options)
    media_id = (delivery.state.get("mastodon_video") or {}).get("id")
    if media_id is None:
        if refused := refused_video(delivery.variant):
            return refused  # changed or removed since it was queued: nothing sent

        def upload() -> requests.Response | Outcome:
            covers = ({"thumbnail": ("cover.jpg", Path(video.cover).read_bytes(),
                                     "image/jpeg")} if video.cover else {})
            body, kind = multipart_body({"description": video.alt} if video.alt else {},
                                        "file", video.path, "video.mp4", "video/mp4",
                                        small_files=covers)
            response = channel._request("POST", "/api/v2/media", data=body,
                                        headers={"Content-Type": kind})
            return channel._media_outcome(response, _("video upload")) or response
        response = retried(upload, pause=rules["pause"])
        if not answered(response):
            return response
        media_id = str(response.json()["id"])
        delivery.checkpoint(mastodon_video={"id": media_id})
    waited = wait_until_processed(lambda: _state(channel, media_id),
                                  limit=rules["limit"], every=rules["every"])
    if isinstance(waited, StillProcessing):
        return waited.in_doubt("the video")
    if isinstance(waited, Processed):
        return [media_id]
    if isinstance(waited, Rejected):
        delivery.checkpoint(mastodon_video=None)  # sent again, it starts from the file
    return waited


def _state(channel: MastodonChannel, media_id: str) -> Processed | Waiting | Outcome:
    response = channel._request("GET", f"/api/v1/media/{media_id}")
    if answered(response) and response.status_code == 422:
        return Rejected(_("the instance could not process the video: {reason} — check that it "
                          "plays, or prepare it again").format(
                            reason=describe(channel._error(response, 'media'))), http_status=422)
    if answered(response) and response.status_code == 404:
        return NotSent(_("the instance no longer knows video {media_id}: it is uploaded again "
                         "next time").format(media_id=media_id), http_status=404)
    if (outcome := channel._media_outcome(response, _("video processing"))) is not None:
        return outcome
    assert answered(response)
    if response.status_code == 200 and response.json().get("url"):
        return Processed(media_id)
    return Waiting(progress=f"HTTP {response.status_code}")
