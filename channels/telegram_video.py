"""A Telegram video: ``sendVideo`` (Bot API) as one multipart request — ``video`` streamed
from disk, ``width``, ``height``, ``duration``, ``supports_streaming``, and the cover as
``thumbnail`` (``attach://``; Telegram wants a JPEG of at most 320 px and 200 kB, so a
small copy of the cover is made) — within the 50 MB a bot may upload.

The upload *is* the post: there is nothing to checkpoint in between, no chunk to retry
alone, and the Bot API cannot read a channel back, so a failure after the request left is
in doubt for staff, as for any Telegram post. A video over the limit is refused when it
is queued (:meth:`~channels.telegram.TelegramChannel.preflight`), before anything is sent.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from channels.base import Media, Outcome
from channels.i18n import _
from channels.rules import MIB
from channels.uploads import multipart_body, size_text

if TYPE_CHECKING:
    from channels.telegram import TelegramChannel

#: what a bot may upload through api.telegram.org ("up to 50 MB")
BOT_UPLOAD_MB = 50
#: a local Bot API server takes uploads up to this
LOCAL_SERVER_UPLOAD_MB = 2000
THUMBNAIL_SIDE = 320
THUMBNAIL_BYTES = 200 * 1024


def upload_limit(channel: TelegramChannel) -> int:
    """Bytes a bot may upload here: 50 MB, or ``options.max_upload_mb`` (a local Bot API
    server, up to 2,000)."""
    mb = float(channel.account.options.get("max_upload_mb", BOT_UPLOAD_MB))
    return int(min(mb, LOCAL_SERVER_UPLOAD_MB) * MIB)


def upload_refusal(channel: TelegramChannel, video: Media) -> str | None:
    """Why ``video`` cannot be uploaded by this bot, with the fix; None if it can."""
    limit = upload_limit(channel)
    if (video.bytes or 0) <= limit:
        return None
    return (_("the video is {size}, but a Telegram bot may upload at most {most}: shorten the "
              "video or lower its quality, or run a local Bot API server (base_url) and raise "
              "options.max_upload_mb (up to 2000)").format(
                size=size_text(video.bytes or 0), most=size_text(limit)))


def video_fields(video: Media) -> dict[str, str]:
    """sendVideo's description of the file (what Telegram would otherwise guess)."""
    fields = {"supports_streaming": "true"}
    if video.width and video.height:
        fields |= {"width": str(video.width), "height": str(video.height)}
    if video.duration:
        fields["duration"] = str(round(video.duration))
    return fields


def thumbnail(cover: str) -> bytes:
    """The cover as Telegram takes a thumbnail: JPEG, ≤ 320 px a side, < 200 kB."""
    from PIL import Image

    with Image.open(cover) as image:
        small = image.convert("RGB")
        small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    for quality in (85, 70, 50, 30):
        out = io.BytesIO()
        small.save(out, "JPEG", quality=quality)
        if out.tell() < THUMBNAIL_BYTES:
            break
    return out.getvalue()


def send_video(channel: TelegramChannel, video: Media, *, caption: str | None,
               parse_mode: str | None) -> list[dict[str, Any]] | Outcome:
    """One ``sendVideo``: the sent message, or the outcome."""
    fields: dict[str, str] = {"chat_id": channel.chat_id, **video_fields(video)}
    if caption:
        fields["caption"] = caption
        if parse_mode:
            fields["parse_mode"] = parse_mode
    small: dict[str, tuple[str, bytes, str]] = {}
    if video.cover:
        fields["thumbnail"] = "attach://thumb"
        small["thumb"] = ("thumb.jpg", thumbnail(video.cover), "image/jpeg")
    body, kind = multipart_body(fields, "video", video.path, "video.mp4", "video/mp4",
                                small_files=small)
    return channel._call("sendVideo", data=body, headers={"Content-Type": kind})
