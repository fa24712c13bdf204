"""What a video host checks of the bytes it received: a real MP4 with H.264 video.

The networks' fakes refuse what their APIs refuse: bytes that are not a video at all, a
truncated upload, parts put together in the wrong order. PyAV (FFmpeg's libraries) reads
the container as the network's transcoder would; nothing is parsed by hand.
"""

from __future__ import annotations

import io

import av

__all__ = ["check_video"]


def check_video(data: bytes, *, codecs: tuple[str, ...] = ("h264", "hevc")) -> str | None:
    """Why a network would refuse these bytes as a video, or ``None``."""
    try:
        with av.open(io.BytesIO(data)) as container:
            if "mp4" not in container.format.name:
                return f"not an MP4 file ({container.format.name})"
            videos = [s for s in container.streams if s.type == "video"]
            if not videos:
                return "the file has no video stream"
            codec = videos[0].codec_context.name
            if codec not in codecs:
                return f"video codec {codec} is not supported"
            for _ in container.decode(videos[0]):  # a cut-off file fails here
                pass
    except (av.error.FFmpegError, ValueError) as exc:
        return f"the file is not a readable video: {exc}"
    return None
