"""What an e-mail does with a release's video: it links to it, and attaches it only when
the account allows a small attachment.

A video is never attached by default. Mail servers commonly refuse messages over
10–25 MB, an attachment grows by a third in base64, and every recipient's mailbox would
keep a copy; a link works for a video of any size. The message shows the video's cover
(inline, like a photo) linked to where the video can be watched: its public URL in the
media store, else the release's link (e.g. the website post that embeds it), with its
length. An account may allow attaching videos up to ``video_attach_max_mb`` (at most
10 MB; off by default) — then a video that small, and only that small, also rides along.
Without any URL and without an attachment the message says the video is on the
institution's channels, so the text never promises what the e-mail does not carry.

The video is prepared like any network's (``EmailChannel.video_rules``: H.264/AAC that
every browser plays, with a cover), and put in the media store when one is configured
(:func:`channels.image_host.lasting_urls`: the recipient watches it when they read the
message, so Siar never deletes it; the store's own expiry does).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from channels.base import Delivery
from channels.image_host import ImageHost, lasting_urls
from channels.rules import MIB
from channels.uploads import video_of
from channels.variant import Media, Variant

#: the most an account may allow as a video attachment
MAX_ATTACH_MB = 10


@dataclass(frozen=True)
class VideoMail:
    """How one message carries its video."""

    #: where the video can be watched, if anywhere
    url: str | None
    #: the file rides along as an attachment
    attach: bool
    #: a line for the plain-text part
    text: str
    #: a paragraph for the HTML part (the cover goes before it)
    html: str


def duration_text(seconds: float | None) -> str:
    """``(1:05)`` for a 65-second video; empty when the length is not known."""
    if not seconds:
        return ""
    whole = round(seconds)
    return f" ({whole // 60}:{whole % 60:02d})"


def attach_limit(options: Mapping[str, Any]) -> int:
    """Bytes of video an account allows as an attachment (0: never)."""
    mb = float(options.get("video_attach_max_mb", 0) or 0)
    return int(min(max(mb, 0.0), MAX_ATTACH_MB) * MIB)


def video_mail(video: Media, variant: Variant, options: Mapping[str, Any]) -> VideoMail:
    """The policy above, for this video, post and account."""
    url = video.url or variant.link
    attach = 0 < (video.bytes or 0) <= attach_limit(options)
    length = duration_text(video.duration)
    if url:
        text = f"Tonton video{length}: {url}"
        markup = (f'<p><a href="{html.escape(url)}">&#9654; Tonton video{length}</a></p>')
    elif attach:
        text = f"Video{length} terlampir: {PurePath(video.path).name}"
        markup = f"<p>&#9654; Video{length} terlampir.</p>"
    else:
        text = f"Video{length} dapat ditonton di kanal resmi kami."
        markup = f"<p>&#9654; Video{length} dapat ditonton di kanal resmi kami.</p>"
    return VideoMail(url=url, attach=attach, text=text, html=markup)


def linked_video(delivery: Delivery, host: ImageHost | None,
                 options: Mapping[str, Any]) -> Media | None:
    """The post's video with the URL its link points to (hosted now where a store is
    configured and no earlier attempt hosted it), or ``None`` for a post without one.
    Raises :class:`channels.image_host.HostingError` when the store refuses it."""
    video = video_of(delivery.variant)
    if video is None:
        return None
    [linked] = lasting_urls([video], host, delivery, options)
    return linked


def pictures(variant: Variant, video: Media | None) -> list[Media]:
    """The images shown inline: the video's cover first (linked to the video), then the
    release's photos."""
    cover = [Media(video.cover, alt=video.alt, mime="image/jpeg")] if video and video.cover \
        else []
    return [*cover, *(m for m in variant.media if m.kind != "video")]
