"""What a video file is, as FFmpeg (through PyAV) reads it: never a parser of our own.

:func:`probe` opens the container, reads the stream parameters, and decodes the first
video frame only for what the stream header does not say: the display matrix (a phone
that filmed upright stores its picture sideways and a rotation next to it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from channels.errors import SiarError
from channels.i18n import _

#: FFmpeg's names of the MP4/MOV family (one demuxer reads them all)
MP4_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"


class VideoError(SiarError):
    """A video that cannot be read, or cannot be made acceptable for a network."""


@dataclass(frozen=True)
class VideoFacts:
    """One video file as it is stored and as it is shown."""

    #: FFmpeg's demuxer name (``mov,mp4,m4a,3gp,3g2,mj2`` for MP4 and MOV)
    container: str
    #: seconds
    duration: float
    #: the coded picture, before rotation
    coded_width: int
    coded_height: int
    #: counter-clockwise degrees from the display matrix (0, 90, 180 or 270)
    rotation: int
    video_codec: str
    #: None when the file has no sound
    audio_codec: str | None
    #: frames per second (the stream's average)
    fps: float
    #: the whole file's bit rate, and the video stream's when the container says it
    bit_rate: int
    video_bit_rate: int | None
    audio_bit_rate: int | None
    audio_rate: int | None
    audio_channels: int | None
    pix_fmt: str
    #: bytes
    size: int
    #: the file's own name (used for the prepared file's name)
    name: str

    @property
    def width(self) -> int:
        """Width as shown, the rotation applied."""
        return self.coded_height if self.rotation in (90, 270) else self.coded_width

    @property
    def height(self) -> int:
        """Height as shown, the rotation applied."""
        return self.coded_width if self.rotation in (90, 270) else self.coded_height

    @property
    def is_mp4(self) -> bool:
        return self.container == MP4_FAMILY and Path(self.name).suffix.lower() in {".mp4",
                                                                                   ".m4v"}

    def describe(self) -> str:
        """"1080×1920 H264/AAC, 60.0 s, 25 fps, 12,345,678 bytes"."""
        sound = f"/{self.audio_codec.upper()}" if self.audio_codec else _(", silent")
        return (_("{width}×{height} {codec}{sound}, {duration:.1f} s, {fps:g} fps, "
                  "{size:,} bytes").format(
                    width=self.width, height=self.height, codec=self.video_codec.upper(),
                    sound=sound, duration=self.duration, fps=self.fps, size=self.size))


def probe(path: str | Path) -> VideoFacts:
    """The facts of the video at ``path``; :class:`VideoError` when it is missing or
    FFmpeg cannot read a video stream in it."""
    import av

    path = Path(path)
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise VideoError(_("video not found: {path}").format(
                             path=path), hint=_("check the path in the release")) \
            from exc
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(_("{name} has no video stream").format(name=path.name),
                                 hint=_("name a video file (MP4, MOV, WebM …) in 'videos:'"))
            video = container.streams.video[0]
            audio = container.streams.audio[0] if container.streams.audio else None
            rotation = _first_frame_rotation(container, video)
            duration = _duration(container, video)
            rate = video.average_rate or video.guessed_rate or Fraction(25)
            context = video.codec_context
            return VideoFacts(
                container=container.format.name, duration=duration,
                coded_width=context.width, coded_height=context.height,
                rotation=rotation, video_codec=context.name,
                audio_codec=audio.codec_context.name if audio else None,
                fps=float(rate), bit_rate=container.bit_rate or int(size * 8 / duration),
                video_bit_rate=context.bit_rate or None,
                audio_bit_rate=(audio.codec_context.bit_rate or None) if audio else None,
                audio_rate=audio.codec_context.sample_rate if audio else None,
                audio_channels=audio.codec_context.channels if audio else None,
                pix_fmt=context.pix_fmt or "?", size=size, name=path.name)
    except VideoError:
        raise
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise VideoError(_("{name} is not a video FFmpeg can read ({reason})").format(
                             name=path.name, reason=exc),
                         hint=_("export it again as MP4 (H.264/AAC)")) from exc


def _duration(container, video) -> float:  # type: ignore[no-untyped-def]
    """Seconds: the stream's own duration, else the container's."""
    if video.duration is not None and video.time_base is not None:
        seconds = float(video.duration * video.time_base)
        if seconds > 0:
            return seconds
    if container.duration:
        import av

        return container.duration / av.time_base
    raise VideoError(_("{name}: its length cannot be read").format(name=Path(container.name).name),
                     hint=_("export it again as MP4 (H.264/AAC)"))


def _first_frame_rotation(container, video) -> int:  # type: ignore[no-untyped-def]
    """The display matrix's rotation, in counter-clockwise degrees 0/90/180/270 (the
    decoder hands it on with each frame; nothing else in PyAV's API reads it)."""
    for frame in container.decode(video):
        return round((frame.rotation or 0) / 90) % 4 * 90
    return 0
