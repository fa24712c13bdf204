"""Video clips made for tests with PyAV (FFmpeg's libraries), instead of files in the tree.

A clip is a moving colour gradient with a sine tone, so encoders, probes and the
preparation code see real streams. Keep ``fps`` low in tests: a 60 s clip at 5 frames a
second encodes in a second or two and still has the duration, size and codecs asked for.
"""

from __future__ import annotations

import math
from array import array
from fractions import Fraction
from pathlib import Path

import av

__all__ = ["make_clip"]


def make_clip(path: Path, *, seconds: float = 2.0, width: int = 1080, height: int = 1920,
              codec: str = "h264", fps: int = 5, audio: bool = True,
              container: str = "mp4", audio_codec: str = "aac") -> Path:
    """Write a clip of ``seconds`` at ``width``×``height`` with ``codec`` (``h264``,
    ``hevc``, ``mpeg4`` …) and, when ``audio``, an ``audio_codec`` 440 Hz tone.
    Returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = max(1, round(seconds * fps))
    with av.open(str(path), "w", format=container) as out:
        video = out.add_stream(codec, rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p"
        if codec in {"h264", "libx264"}:
            video.options = {"preset": "ultrafast"}
        elif codec in {"hevc", "libx265"}:
            video.options = {"preset": "ultrafast", "x265-params": "log-level=error"}
        sound = None
        if audio:
            sound = out.add_stream(audio_codec, rate=44100)
            sound.layout = "mono"
        for index in range(frames):
            frame = _gradient_frame(width, height, index)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            _write_tone(out, sound, seconds)
    return path


def _gradient_frame(width: int, height: int, index: int) -> av.VideoFrame:
    """A YUV 4:2:0 frame: a luma ramp sliding sideways, chroma changing with ``index``."""
    frame = av.VideoFrame(width, height, "yuv420p")
    luma, blue, red = frame.planes
    shift = (index * 7) % 256
    row = bytes((x * 256 // max(1, width) + shift) % 256 for x in range(luma.line_size))
    luma.update(row * height)
    blue.update(bytes([(index * 13) % 256]) * blue.buffer_size)
    red.update(bytes([255 - (index * 13) % 256]) * red.buffer_size)
    return frame


def _write_tone(out: av.container.OutputContainer, sound: av.audio.stream.AudioStream,
                seconds: float) -> None:
    rate = 44100
    step = sound.codec_context.frame_size or 1024
    total = int(seconds * rate)
    # 440 Hz repeats exactly every second at 44.1 kHz: compute one second, slice it
    second = array("f", (0.2 * math.sin(2 * math.pi * 440 * i / rate) for i in range(rate)))
    for start in range(0, total, step):
        count = min(step, total - start)
        offset = start % rate
        samples = (second[offset:offset + count] if offset + count <= rate
                   else second[offset:] + second[:offset + count - rate])
        frame = av.AudioFrame(format="flt", layout="mono", samples=count)
        frame.planes[0].update(samples.tobytes().ljust(frame.planes[0].buffer_size, b"\0"))
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        for packet in sound.encode(frame):
            out.mux(packet)
    for packet in sound.encode():
        out.mux(packet)
