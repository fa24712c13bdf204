"""What a video must become for one network: a pure decision on probed facts.

:func:`plan_video` compares a file's :class:`~channels.video.probe.VideoFacts` with a
network's :class:`~channels.rules.VideoRules` and says whether its streams can be sent as
they are (copied into a fresh MP4: metadata dropped, index in front) or what the one
transcode makes: picture size, padding, frame rate, bit rates, length. It refuses only
what no transcode fixes without losing content: a clip longer than the network takes
(unless the release asks for ``trim``), shorter than it takes, or so long for the byte
limit that no watchable bit rate fits.

Networks whose plans come out equal share one prepared file: :class:`Output` is the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from channels.i18n import N_, _
from channels.rules import VideoRules
from channels.video.probe import VideoError, VideoFacts

#: the one change when a video already fits: stored with the post, in the language of
#: the moment it was queued (the preview recognises it in either language)
AS_IS = N_("sent as it is (streams copied, metadata dropped)")

#: bits per pixel per frame a transcode aims at: ample for H.264 at phone sizes
QUALITY_BPP = 0.1
#: below this many bits per pixel per frame the picture is made smaller instead
MIN_BPP = 0.04
#: a picture is never made smaller than this on its long side to fit a byte limit
MIN_LONG_SIDE = 640
#: below this video bit rate (kbit/s) a clip is refused for the network's byte limit
MIN_VIDEO_KBPS = 150
#: the video bit rates (kbit/s) a transcode uses: about a fifth apart
RATE_LADDER = (150, 200, 250, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000, 2500, 3000,
               4000, 5000, 6000, 8000, 10_000, 12_000, 15_000, 20_000, 25_000, 30_000)
#: the container and index take this share of the byte budget
CONTAINER_SHARE = 0.06
#: a trimmed clip ends this much before the limit (the last audio frame runs a little on)
TRIM_MARGIN = 0.1
#: AAC sample rates kept as they are; others are resampled to 48 kHz
AAC_RATES = frozenset({44_100, 48_000})
#: pixel formats every network plays (4:2:0, 8 bit)
PLAIN_PIX_FMTS = frozenset({"yuv420p", "yuvj420p"})
#: aspect ratios are compared with this tolerance (even sizes round a little)
ASPECT_SLACK = 0.01
#: frame rates are compared with this tolerance (a stream's average is rarely exact)
FPS_SLACK = 0.01
#: a rate raised to a network's ``min_fps`` lands at least this far above it (a network
#: measuring 22.99 fps refuses a clip at 23), and at most at
#: :data:`HIGHEST_RAISED_FPS` when it is a whole multiple of the source's rate
RAISED_FPS_MARGIN = 1.0
HIGHEST_RAISED_FPS = 30.0


@dataclass(frozen=True)
class Output:
    """One transcode's result: equal outputs are made once for every network wanting it."""

    #: the frame sent (even sizes)
    width: int
    height: int
    #: the picture inside it, scaled (the rest is black padding)
    picture: tuple[int, int]
    #: the source's display rotation, undone in the pixels (counter-clockwise degrees)
    rotation: int
    #: frames per second made with FFmpeg's ``fps`` filter; None keeps the source timing
    fps: float | None
    video_kbps: int
    #: None: the source has no sound
    audio_kbps: int | None
    #: the sound already fits (AAC within the rates): its packets are copied, not encoded
    audio_copy: bool
    audio_rate: int
    audio_channels: int
    #: keep only the first this many seconds; None: all of it
    seconds: float | None


@dataclass(frozen=True)
class VideoPlan:
    """What one network gets: the streams copied (``output`` None) or one transcode."""

    output: Output | None
    width: int
    height: int
    duration: float
    #: what changes, for the officer ("HEVC transcoded to H.264", "padded to 9:16" …)
    changes: tuple[str, ...]

    @property
    def copied(self) -> bool:
        return self.output is None


def plan_video(facts: VideoFacts, rules: VideoRules, network: str, *,
               trim: bool = False) -> VideoPlan:
    """The plan for sending ``facts`` to ``network``; :class:`VideoError` for what cannot
    be fixed, naming the limit and the fix."""
    seconds, changes = _length(facts, rules, network, trim)
    frame_w, frame_h, scale = _frame(facts.width, facts.height, rules)
    fps = min(facts.fps, rules.max_fps)
    audio_kbps = min(rules.max_audio_kbps, 128) if facts.audio_codec else None
    video_kbps, scale = _bit_rate(facts, rules, network, seconds, fps, audio_kbps or 0,
                                  frame_w, frame_h, scale)
    width, height, picture = _scaled(frame_w, frame_h, facts.width, facts.height, scale)
    reasons = _why_transcode(facts, rules, seconds, (width, height), picture, video_kbps)
    if not reasons:
        return VideoPlan(None, facts.width, facts.height, facts.duration,
                         (_(AS_IS),))
    output = Output(width=width, height=height, picture=picture, rotation=facts.rotation,
                    fps=frame_rate(facts.fps, rules),
                    video_kbps=video_kbps, audio_kbps=audio_kbps,
                    audio_copy=facts.audio_codec is not None and _audio_fits(facts, rules),
                    audio_rate=_audio_rate(facts, rules),
                    audio_channels=min(facts.audio_channels or 2, 2),
                    seconds=seconds if seconds < facts.duration else None)
    return VideoPlan(output, width, height, seconds, tuple(changes + reasons))


def frame_rate(fps: float, rules: VideoRules) -> float | None:
    """The frame rate a transcode makes from a source at ``fps``: ``max_fps`` for a
    faster one; for one slower than ``min_fps`` the smallest whole multiple of ``fps``
    (each frame shown that many times: no judder) reaching ``min_fps`` +
    :data:`RAISED_FPS_MARGIN`, or that rate itself when the multiple would pass
    :data:`HIGHEST_RAISED_FPS`; None keeps the source's timing."""
    if fps > rules.max_fps + FPS_SLACK:
        return rules.max_fps
    if rules.min_fps is None or fps >= rules.min_fps:
        return None
    wanted = min(rules.min_fps + RAISED_FPS_MARGIN, rules.max_fps)
    multiple = fps * math.ceil(wanted / fps - 1e-9) if fps > 0 else math.inf
    return round(multiple, 3) if multiple <= max(HIGHEST_RAISED_FPS, wanted) else wanted


def _length(facts: VideoFacts, rules: VideoRules, network: str,
            trim: bool) -> tuple[float, list[str]]:
    if facts.duration < rules.min_seconds:
        raise VideoError(_("{name} lasts {duration:.1f} s; {network} takes videos of at least "
                           "{least:g} s").format(
                             name=facts.name, duration=facts.duration, network=network,
                             least=rules.min_seconds),
                         hint=_("use a longer clip, or leave {network} out of 'channels:'").format(
                                  network=network))
    if facts.duration <= rules.max_seconds:
        return facts.duration, []
    if not trim:
        raise VideoError(_("{name} lasts {duration:.1f} s; {network} takes at most "
                           "{most:g} s").format(
                             name=facts.name, duration=facts.duration, network=network,
                             most=rules.max_seconds),
                         hint=_("trim the clip to {most:g} s, add 'trim: true' to the video in "
                                "the release to send its beginning, or leave {network} out of "
                                "'channels:'").format(most=rules.max_seconds, network=network))
    seconds = rules.max_seconds - TRIM_MARGIN
    return seconds, [_("trimmed to the first {seconds:.1f} s ({network} takes at most "
                       "{most:g} s)").format(
                         seconds=seconds, network=network, most=rules.max_seconds)]


def _frame(width: int, height: int, rules: VideoRules) -> tuple[float, float, float]:
    """(frame width, frame height, scale): the frame padded into the aspect range, and
    the scale that brings it within the network's sides."""
    frame_w, frame_h = float(width), float(height)
    ratio = width / height
    if rules.aspect and not (rules.aspect[0] - ASPECT_SLACK <= ratio
                             <= rules.aspect[1] + ASPECT_SLACK):
        target = rules.pad_to or (rules.aspect[0] if ratio < rules.aspect[0]
                                  else rules.aspect[1])
        if ratio < target:
            frame_w = height * target  # too tall: pad the sides
        else:
            frame_h = width / target  # too wide: pad above and below
    scale = min(1.0, rules.max_long_side / max(frame_w, frame_h),
                rules.max_short_side / min(frame_w, frame_h))
    return frame_w, frame_h, scale


def _scaled(frame_w: float, frame_h: float, width: int, height: int,
            scale: float) -> tuple[int, int, tuple[int, int]]:
    """(frame width, frame height, picture size) at ``scale``, all even."""
    out_w, out_h = _even(frame_w * scale), _even(frame_h * scale)
    picture = (min(out_w, _even(width * scale)), min(out_h, _even(height * scale)))
    return out_w, out_h, picture


def _even(value: float) -> int:
    """The even number at or below ``value`` (4:2:0 needs even sizes), at least 2."""
    return max(2, int(value + 1e-6) // 2 * 2)


def _bit_rate(facts: VideoFacts, rules: VideoRules, network: str, seconds: float,
              fps: float, audio_kbps: int, frame_w: float, frame_h: float,
              scale: float) -> tuple[int, float]:
    """The video bit rate (kbit/s) a transcode uses, and the scale, made smaller where
    the byte limit leaves too few bits for every pixel."""
    budget = rules.max_bytes * 8 * (1 - CONTAINER_SHARE) / seconds / 1000 - audio_kbps
    if budget < MIN_VIDEO_KBPS:
        raise VideoError(_("{name}: {seconds:.0f} s of video cannot fit {network}'s {limit:,} "
                           "bytes limit at a watchable quality").format(
                             name=facts.name, seconds=seconds, network=network,
                             limit=rules.max_bytes),
                         hint=_("send a shorter clip, or leave {network} out of "
                                "'channels:'").format(network=network))
    ceiling = min(budget, rules.max_video_kbps or math.inf)
    while True:
        pixels = frame_w * scale * frame_h * scale * fps
        if ceiling >= pixels * MIN_BPP / 1000 or max(frame_w, frame_h) * scale * 0.75 < \
                MIN_LONG_SIDE:
            wanted = pixels * QUALITY_BPP / 1000
            return _on_the_ladder(max(MIN_VIDEO_KBPS, min(wanted, ceiling))), scale
        scale *= 0.75


def _on_the_ladder(kbps: float) -> int:
    """The highest rung of :data:`RATE_LADDER` at or below ``kbps``: networks whose byte
    budgets differ by a few per cent (Telegram's 50 MB and WordPress's 64 MB for a minute)
    then share one transcode instead of each costing an encoder."""
    return max((rung for rung in RATE_LADDER if rung <= kbps), default=MIN_VIDEO_KBPS)


def _audio_rate(facts: VideoFacts, rules: VideoRules) -> int:
    rate = facts.audio_rate or 48_000
    if rate in AAC_RATES and rate <= rules.max_audio_rate:
        return rate
    return min(48_000, rules.max_audio_rate)


def _audio_fits(facts: VideoFacts, rules: VideoRules) -> bool:
    """The sound can be sent as it is: a codec the network takes, at most stereo, within
    its sample rate and bit rate (a tenth of slack: encoders overshoot their target)."""
    return (facts.audio_codec in rules.audio_codecs and (facts.audio_channels or 0) <= 2
            and (facts.audio_rate or 0) <= rules.max_audio_rate
            and (facts.audio_bit_rate or 0) <= rules.max_audio_kbps * 1100)


def _why_transcode(facts: VideoFacts, rules: VideoRules, seconds: float,
                   frame: tuple[int, int], picture: tuple[int, int],
                   video_kbps: int) -> list[str]:
    """Why the streams cannot be copied; empty when they can."""
    reasons = []
    codec_ok = facts.video_codec in rules.video_codecs and facts.pix_fmt in PLAIN_PIX_FMTS
    if not codec_ok:
        reasons.append(_("{codec} ({pix_fmt}) transcoded to H.264").format(
                           codec=facts.video_codec.upper(), pix_fmt=facts.pix_fmt))
    if facts.audio_codec and not _audio_fits(facts, rules):
        reasons.append(_("sound ({codec}) re-encoded to AAC").format(
                           codec=facts.audio_codec.upper()))
    if facts.rotation:
        reasons.append(_("turned upright ({rotation}° in the file)").format(
                           rotation=facts.rotation))
    if frame != (facts.width, facts.height) or picture != frame:
        if picture != frame:
            reasons.append(_("padded to {width}:{height} (nothing cropped)").format(
                               width=frame[0], height=frame[1]))
        if picture != (facts.width, facts.height):
            reasons.append(_("scaled from {width}×{height} to {new_width}×{new_height}").format(
                               width=facts.width, height=facts.height, new_width=picture[0],
                               new_height=picture[1]))
    if facts.fps > rules.max_fps + FPS_SLACK:
        reasons.append(_("frame rate lowered from {fps:g} to {most:g}").format(
                           fps=facts.fps, most=rules.max_fps))
    elif (raised := frame_rate(facts.fps, rules)) is not None:
        reasons.append(_("frame rate raised from {fps:g} to {raised:g} (at least {least:g} fps "
                         "taken; each frame repeated)").format(
                           fps=facts.fps, raised=raised, least=rules.min_fps))
    video_rate = facts.video_bit_rate or facts.bit_rate
    too_big = facts.size > rules.max_bytes or (
        rules.max_video_kbps is not None and video_rate > rules.max_video_kbps * 1000)
    if too_big:
        reasons.append(_("bit rate lowered to {kbps:,} kbit/s (from {before:,}) to fit {limit:,} "
                         "bytes").format(
                           kbps=video_kbps, before=video_rate // 1000, limit=rules.max_bytes))
    if seconds < facts.duration:
        reasons.append(_("re-encoded to cut it"))
    return reasons
