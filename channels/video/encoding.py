"""Writing prepared MP4s with PyAV, frame by frame: nothing holds a whole video.

:func:`remux` copies the streams of a file that already fits into a fresh MP4 (no
metadata, index in front); :func:`transcode` decodes a file once and feeds every distinct
:class:`~channels.video.planning.Output` its own filter graph and encoders, so one
release reaching ten networks decodes its video once. Every MP4 is written with
``movflags=+faststart``: the index first, so networks that fetch by URL can start at once.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from channels.i18n import _
from channels.video.planning import Output
from channels.video.probe import VideoError

#: the x264 preset: ``veryfast`` makes a one-minute phone clip in well under real time
#: on one core; ``SIAR_VIDEO_PRESET`` changes it (``ultrafast`` on a slow host, ``medium``
#: for smaller files)
DEFAULT_PRESET = "veryfast"
#: x264's constant quality, capped by the plan's bit rate (``maxrate``)
CRF = 23
#: FFmpeg's mp4 muxer options: the index (``moov``) before the data
MP4_OPTIONS = {"movflags": "+faststart"}
#: what one x264 encoder (one thread) holds per pixel of its frame, by preset: its
#: lookahead and reference frames with their half-pixel planes (measured with PyAV's
#: libx264; a preset not listed is taken as the slowest)
ENCODER_BYTES_PER_PIXEL = {"ultrafast": 20, "superfast": 55, "veryfast": 80,
                           "faster": 120, "fast": 160, "medium": 200}
#: and what it holds whatever its frame size
ENCODER_FIXED_BYTES = 8 * 1024 ** 2
#: the memory the encoders fed by one decode may hold together, in MiB: outputs beyond
#: it wait for another decode of the source (a decode costs about a twentieth of one
#: encode). ``SIAR_VIDEO_MEMORY_MB`` changes it: one 1080×1920 encoder at ``veryfast``
#: takes about 165 MiB, and Siar's queue-time process about 90 MiB besides
DEFAULT_ENCODER_BUDGET_MB = 160


def preset() -> str:
    """The x264 preset in use (see :data:`DEFAULT_PRESET`)."""
    return os.environ.get("SIAR_VIDEO_PRESET", "").strip() or DEFAULT_PRESET


def encoder_bytes(output: Output) -> int:
    """The memory the x264 encoder of ``output`` holds, estimated (see
    :data:`ENCODER_BYTES_PER_PIXEL`)."""
    per_pixel = ENCODER_BYTES_PER_PIXEL.get(preset(), 300)
    return ENCODER_FIXED_BYTES + per_pixel * output.width * output.height


def encoder_budget() -> int:
    """Bytes the encoders of one decode may hold together (see
    :data:`DEFAULT_ENCODER_BUDGET_MB`)."""
    try:
        mb = float(os.environ.get("SIAR_VIDEO_MEMORY_MB", "").strip() or
                   DEFAULT_ENCODER_BUDGET_MB)
    except ValueError:
        mb = DEFAULT_ENCODER_BUDGET_MB
    return int(max(mb, 0) * 1024 ** 2)


def passes(outputs: Sequence[Output], budget: int | None = None) -> list[list[Output]]:
    """``outputs`` in groups made from one decode each, every group's encoders within
    ``budget`` bytes together (:func:`encoder_budget` by default; an output alone above
    it has a decode of its own): the largest first, each into the first group it fits."""
    budget = encoder_budget() if budget is None else budget
    groups: list[tuple[int, list[Output]]] = []
    for output in sorted(outputs, key=encoder_bytes, reverse=True):
        need = encoder_bytes(output)
        for index, (used, members) in enumerate(groups):
            if used + need <= budget:
                groups[index] = (used + need, [*members, output])
                break
        else:
            groups.append((need, [output]))
    return [members for _cost, members in groups]


def remux(source: Path, target: Path) -> None:
    """The first video and audio streams of ``source`` copied into a new MP4 at
    ``target``: packets as they are, no container or stream metadata."""
    import av

    with av.open(str(source)) as reading, \
            av.open(str(target), "w", format="mp4", options=MP4_OPTIONS) as writing:
        wanted = [reading.streams.video[0], *list(reading.streams.audio[:1])]
        copies = {}
        for stream in wanted:
            copy = writing.add_stream_from_template(stream)
            copy.metadata.clear()  # a phone's "location" and "creation_time" stay home
            copies[stream.index] = copy
        for packet in reading.demux(wanted):
            if packet.dts is None:  # the demuxer's end-of-stream marker
                continue
            packet.stream = copies[packet.stream.index]
            writing.mux(packet)


class _Encoder:
    """One output's filter graph, encoders and file, fed the decoded frames."""

    def __init__(self, output: Output, target: Path, video_in: Any,
                 audio_in: Any | None) -> None:
        import av

        self.output = output
        self.file = av.open(str(target), "w", format="mp4", options=MP4_OPTIONS)
        rate = Fraction(output.fps).limit_denominator(1001) if output.fps else (
            video_in.average_rate or Fraction(25))
        self.video = self.file.add_stream("libx264", rate=rate)
        self.video.width, self.video.height = output.width, output.height
        self.video.pix_fmt = "yuv420p"
        kbps = output.video_kbps
        # one x264 thread: its rate control under a bit-rate cap (VBV) decides differently
        # from run to run with several threads, and the file ``siar preview`` describes
        # must be the file ``siar add`` keeps, byte for byte (the decoder keeps its threads)
        self.video.options = {"preset": preset(), "crf": str(CRF), "maxrate": f"{kbps}k",
                              "bufsize": f"{2 * kbps}k", "g": str(max(1, round(rate * 2))),
                              "threads": "1"}
        if output.fps is None:  # keep the source's timing (variable frame rates too)
            self.video.codec_context.time_base = video_in.time_base
        self.graph = _video_graph(output, video_in)
        self.audio = None
        self.resampler = None
        self.audio_copy = None
        if audio_in is not None and output.audio_copy:
            self.audio_copy = self.file.add_stream_from_template(audio_in)
            self.audio_copy.metadata.clear()
        elif audio_in is not None and output.audio_kbps:
            layout = "stereo" if output.audio_channels == 2 else "mono"
            self.audio = self.file.add_stream("aac", rate=output.audio_rate)
            self.audio.layout = layout
            self.audio.bit_rate = output.audio_kbps * 1000
            # the "fast" coder: FFmpeg's default search ("twoloop") costs more than the
            # video at these sizes, for a difference no phone speaker lets anyone hear
            self.audio.options = {"aac_coder": "fast"}
            self.resampler = av.AudioResampler(format="fltp", layout=layout,
                                               rate=output.audio_rate)

    def video_frame(self, frame: Any) -> None:
        self.graph.push(frame)
        self._drain()

    def audio_frame(self, frame: Any) -> None:
        """The source's sound, decoded: resampled and encoded to AAC."""
        if self.audio is None or self.resampler is None:
            return
        if self.output.seconds is not None and frame.time is not None and \
                frame.time >= self.output.seconds:
            return
        for ready in self.resampler.resample(frame):
            for packet in self.audio.encode(ready):
                self.file.mux(packet)

    def audio_packet(self, packet: Any) -> None:
        """The source's sound, copied (the output's own packet: muxing consumes it)."""
        import av

        if self.audio_copy is None:
            return
        if self.output.seconds is not None and packet.pts is not None and \
                packet.time_base is not None and \
                float(packet.pts * packet.time_base) >= self.output.seconds:
            return
        copy = av.Packet(bytes(packet))
        copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
        copy.is_keyframe = packet.is_keyframe
        copy.stream = self.audio_copy
        self.file.mux(copy)

    def _drain(self) -> None:
        import av

        while True:
            try:
                frame = self.graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            if self.output.seconds is not None and frame.time is not None and \
                    frame.time >= self.output.seconds:
                continue
            for packet in self.video.encode(frame):
                self.file.mux(packet)

    def close(self) -> None:
        self.graph.push(None)
        self._drain()
        for packet in self.video.encode(None):
            self.file.mux(packet)
        if self.audio is not None and self.resampler is not None:
            for ready in self.resampler.resample(None):
                for packet in self.audio.encode(ready):
                    self.file.mux(packet)
            for packet in self.audio.encode(None):
                self.file.mux(packet)
        self.file.close()


def _video_graph(output: Output, video_in: Any) -> Any:
    """buffer → turn upright → scale → pad → (fps) → yuv420p → sink."""
    import av

    graph = av.filter.Graph()
    chain = [graph.add_buffer(template=video_in)]
    # the display matrix turns the stored picture counter-clockwise by ``rotation``: the
    # same turn made in the pixels (as the ffmpeg command's autorotate does)
    turns = {90: [("transpose", "cclock")], 180: [("hflip", ""), ("vflip", "")],
             270: [("transpose", "clock")]}.get(output.rotation, [])
    width, height = output.picture
    steps = [*turns, ("scale", f"{width}:{height}:flags=bicubic"), ("setsar", "1")]
    if (width, height) != (output.width, output.height):
        steps.append(("pad", f"{output.width}:{output.height}:(ow-iw)/2:(oh-ih)/2:black"))
    if output.fps:
        steps.append(("fps", f"{output.fps:g}"))
    steps += [("format", "yuv420p"), ("buffersink", "")]
    for name, arguments in steps:
        chain.append(graph.add(name, arguments) if arguments else graph.add(name))
    for left, right in itertools.pairwise(chain):
        left.link_to(right)
    graph.configure()
    return graph


def transcode(source: Path, outputs: Sequence[Output], targets: Sequence[Path]) -> None:
    """Decode ``source`` once and write each of ``outputs`` to its target (H.264/AAC MP4).
    Raises :class:`VideoError` when FFmpeg fails on the file."""
    import av

    encoders: list[_Encoder] = []
    try:
        with av.open(str(source)) as reading:
            video_in = reading.streams.video[0]
            audio_in = reading.streams.audio[0] if reading.streams.audio else None
            video_in.thread_type = "AUTO"  # decode with the cores FFmpeg sees
            encoders = [_Encoder(output, target, video_in, audio_in)
                        for output, target in zip(outputs, targets, strict=True)]
            last = max((o.seconds for o in outputs if o.seconds is not None), default=None)
            if any(o.seconds is None for o in outputs):
                last = None
            decode_audio = any(not o.audio_copy for o in outputs)
            for item in _frames(reading, video_in, audio_in, last, decode_audio):
                if isinstance(item, av.VideoFrame):
                    for encoder in encoders:
                        encoder.video_frame(item)
                elif isinstance(item, av.Packet):
                    for encoder in encoders:
                        encoder.audio_packet(item)
                else:
                    for encoder in encoders:
                        encoder.audio_frame(item)
            for encoder in encoders:
                encoder.close()
            encoders = []
    except av.FFmpegError as exc:
        raise VideoError(_("{source}: FFmpeg could not transcode it ({reason})").format(
                             source=source.name, reason=exc),
                         hint=_("export it again as MP4 (H.264/AAC)")) from exc
    finally:
        for encoder in encoders:  # a failure: close what was opened (the caller deletes)
            with contextlib.suppress(Exception):
                encoder.file.close()


def _frames(reading: Any, video_in: Any, audio_in: Any | None, last: float | None,
            decode_audio: bool) -> Iterator[Any]:
    """Decoded video frames, and the sound's packets followed by their decoded frames
    when ``decode_audio``, in file order, until ``last`` seconds if given."""
    streams = [video_in] + ([audio_in] if audio_in is not None else [])
    for packet in reading.demux(streams):
        if packet.dts is None:  # the demuxer's end-of-stream marker: flushes decoders
            yield from packet.decode()
            continue
        if audio_in is not None and packet.stream.index == audio_in.index:
            yield packet
            if not decode_audio:
                continue
        for frame in packet.decode():
            if last is not None and frame.time is not None and frame.time > last + 1:
                return
            yield frame


def frame_jpeg(path: Path, second: float, *, quality: int = 85) -> bytes:
    """The frame shown at ``second`` of the video at ``path`` (the last one if the video
    is shorter), as a JPEG without metadata."""
    import io

    import av

    chosen = None
    with av.open(str(path)) as reading:
        stream = reading.streams.video[0]
        if second > 0 and stream.time_base:
            reading.seek(int(second / stream.time_base), stream=stream, backward=True)
        for frame in reading.decode(stream):
            chosen = frame
            if frame.time is not None and frame.time >= second:
                break
    if chosen is None:
        raise VideoError(_("{path}: no frame to make a cover from").format(path=path.name),
                         hint=_("export the video again"))
    out = io.BytesIO()
    chosen.to_image().convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def image_cover(path: Path, width: int, height: int, *, quality: int = 85) -> bytes:
    """The release's cover image as a JPEG within ``width``×``height``, upright, RGB,
    without metadata."""
    import io

    from PIL import Image, ImageOps

    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except Exception as exc:  # Pillow raises many types for a file it cannot read
        raise VideoError(_("cover {path} is not an image Pillow can read ({reason})").format(
                             path=path.name, reason=exc),
                         hint=_("export the cover as JPEG or PNG")) from exc
    image.thumbnail((width, height))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
