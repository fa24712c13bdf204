"""Videos made to fit each network: probed, then sent as they are or transcoded once.

A release's video is **prepared** at queue time for every network it goes to that takes
video (:attr:`channels.base.Channel.video_rules`): FFmpeg, through PyAV, probes it
(:func:`probe`: length, size, codecs, rotation, bit rate, frame rate); each network's
plan (:func:`plan_video`) says whether the streams fit as they are — then they are copied
into a fresh MP4 without the phone's metadata — or what one transcode to H.264/AAC makes:
turned upright, padded (never cropped) into the network's aspect range, scaled within its
sides, frame rate and bit rate capped so the file fits the byte limit. Networks whose
plans agree share one file, and every transcode of a release is fed by one decode, frame
by frame: a 500 MB video is never held in memory. A cover JPEG is made where the network
wants one or the release names one.

Only what cannot be fixed is refused (:class:`VideoError`, with the limit and the fix): a
clip longer than the network takes — unless the release says ``trim: true`` — or shorter.

The prepared file goes into the media store (``…/media/<sha256>/<name>.mp4``); adapters
call :func:`refused_video` (:func:`check_prepared`) before the first request of an
attempt, which refuses a file changed or removed since: nothing is sent.
PyAV is imported where a video is first opened, not here.
"""

from __future__ import annotations

from channels.rules import VideoRules
from channels.video.checks import check_prepared, refused_video
from channels.video.encoding import DEFAULT_PRESET, frame_jpeg, preset
from channels.video.lookup import video_rules_for
from channels.video.planning import Output, VideoPlan, plan_video
from channels.video.preparing import PreparedVideo, file_sha256, plan_all, prepare_videos
from channels.video.probe import VideoError, VideoFacts, probe

#: the file suffixes a release may name in ``videos:``
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".3gp"})
#: a video file larger than this is refused in a release (4 GiB: hours of phone video;
#: no network Siar serves takes more than 1 GB)
MAX_VIDEO_BYTES = 4 * 1024 ** 3

__all__ = [
    "DEFAULT_PRESET",
    "MAX_VIDEO_BYTES",
    "VIDEO_SUFFIXES",
    "Output",
    "PreparedVideo",
    "VideoError",
    "VideoFacts",
    "VideoPlan",
    "VideoRules",
    "check_prepared",
    "file_sha256",
    "frame_jpeg",
    "plan_all",
    "plan_video",
    "prepare_videos",
    "preset",
    "probe",
    "refused_video",
    "video_rules_for",
]
