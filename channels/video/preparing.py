"""A video prepared for one or many networks: probed once, each distinct output made once.

:func:`prepare_videos` is what queue time (and ``siar preview``) uses: the file is probed,
each network's plan made (:func:`~channels.video.planning.plan_video`), the streams copied
once for every network that takes them as they are, and one decode feeds every distinct
transcode. The results are written into ``folder`` (the media store's, so moving them in
is a rename) with their SHA-256, and a cover JPEG where the network wants one or the
release names one.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from channels.i18n import _
from channels.rules import VideoRules
from channels.stored_media import file_digest
from channels.video.encoding import frame_jpeg, image_cover, passes, remux, transcode
from channels.video.lookup import video_rules_for
from channels.video.planning import Output, VideoPlan, plan_video
from channels.video.probe import VideoError, VideoFacts, probe

#: each retry of a transcode that came out above the byte limit lowers the bit rate so
SHRINK_RATE = 0.75
#: the default cover: this second, or the middle of a shorter clip (a first frame is
#: often black)
COVER_SECOND = 1.0


@dataclass(frozen=True)
class PreparedVideo:
    """One network's video, written in the work folder: what the post will name."""

    path: Path
    sha256: str
    width: int
    height: int
    bytes: int
    duration: float
    #: the streams were copied (True) or transcoded
    copied: bool
    #: what preparing changed, for the officer
    changes: tuple[str, ...]
    #: a cover JPEG in the work folder, where wanted
    cover: Path | None = None
    cover_sha256: str | None = None


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file at ``path``, read in chunks."""
    return file_digest(path)


def plan_all(facts: VideoFacts, networks: Iterable[str], *,
             trim: bool = False) -> dict[str, VideoPlan]:
    """Each network's plan (networks without video rules are left out); raises
    :class:`VideoError` for the first network that cannot have the video."""
    plans = {}
    for network in dict.fromkeys(networks):
        rules = video_rules_for(network)
        if rules is not None:
            plans[network] = plan_video(facts, rules, network, trim=trim)
    return plans


def prepare_videos(path: str | Path, networks: Iterable[str], folder: Path, *,
                   trim: bool = False, cover: float | Path | None = None
                   ) -> dict[str, PreparedVideo]:
    """The video at ``path`` made acceptable for each of ``networks`` (those that take
    video), written into ``folder``. ``cover``: a second of the video or an image file
    for the cover; without one a cover is made only for networks whose rules want one.
    Raises :class:`VideoError` naming the network and the fix."""
    path = Path(path)
    facts = probe(path)
    plans = plan_all(facts, networks, trim=trim)
    if isinstance(cover, (int, float)) and not 0 <= cover <= facts.duration:
        raise VideoError(_("cover: second {cover:g} is outside the {duration:.1f} s of "
                           "{name}").format(cover=cover, duration=facts.duration, name=facts.name),
                         hint=_("give a second from 0 to {most}").format(most=int(facts.duration)))
    made = _make(path, facts, plans, folder)
    prepared = {}
    covers: dict[Path, tuple[Path, str]] = {}
    for network, plan in plans.items():
        file, size, sha256 = made[plan.output]
        rules = video_rules_for(network)
        assert rules is not None
        picture = None
        if rules.cover or cover is not None:
            if file not in covers:
                covers[file] = _cover(file, folder, plan, cover)
            picture = covers[file]
        prepared[network] = PreparedVideo(
            path=file, sha256=sha256, width=plan.width, height=plan.height, bytes=size,
            duration=plan.duration, copied=plan.copied, changes=plan.changes,
            cover=picture[0] if picture else None, cover_sha256=picture[1] if picture else None)
    return prepared


def _make(source: Path, facts: VideoFacts, plans: dict[str, VideoPlan],
          folder: Path) -> dict[Output | None, tuple[Path, int, str]]:
    """Each distinct output written once: (file, bytes, SHA-256) by output (None: the
    streams copied)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(facts.name).stem
    made: dict[Output | None, tuple[Path, int, str]] = {}
    if any(plan.copied for plan in plans.values()):
        target = folder / f"{stem}.mp4"
        remux(source, target)
        made[None] = (target, target.stat().st_size, file_sha256(target))
    wanted = list(dict.fromkeys(p.output for p in plans.values() if p.output is not None))
    limits = _byte_limits(plans)
    names = itertools.count(1)
    while wanted:
        targets = {output: folder / f"{stem}-{next(names)}.mp4" for output in wanted}
        # as many encoders at once as the memory budget holds: each group one decode
        for group in passes(wanted):
            transcode(source, group, [targets[output] for output in group])
        again = []
        for output, target in targets.items():
            size = target.stat().st_size
            if size <= limits[output] or output.video_kbps <= 150:
                made[output] = (target, size, file_sha256(target))
                continue
            # above the limit: once more at a lower rate, for the same networks
            target.unlink()
            smaller = _with_rate(output, int(output.video_kbps * SHRINK_RATE))
            for plan_key, plan in list(plans.items()):
                if plan.output == output:
                    plans[plan_key] = VideoPlan(smaller, plan.width, plan.height,
                                                plan.duration, plan.changes)
            limits[smaller] = limits[output]
            again.append(smaller)
        wanted = again
    too_big = [n for n, p in plans.items() if made[p.output][1] > _rules(n).max_bytes]
    if too_big:
        raise VideoError(_("{name} cannot be made smaller than {network}'s {limit:,} "
                           "bytes limit").format(
                             name=facts.name, network=too_big[0],
                             limit=_rules(too_big[0]).max_bytes),
                         hint=_("send a shorter clip, or leave {network} out").format(
                                  network=too_big[0]))
    return made


def _rules(network: str) -> VideoRules:
    rules = video_rules_for(network)
    assert rules is not None
    return rules


def _byte_limits(plans: dict[str, VideoPlan]) -> dict[Output, int]:
    limits: dict[Output, int] = {}
    for network, plan in plans.items():
        if plan.output is not None:
            limit = _rules(network).max_bytes
            limits[plan.output] = min(limits.get(plan.output, limit), limit)
    return limits


def _with_rate(output: Output, kbps: int) -> Output:
    from dataclasses import replace

    return replace(output, video_kbps=max(150, kbps))


def _cover(video: Path, folder: Path, plan: VideoPlan,
           cover: float | Path | None) -> tuple[Path, str]:
    """A cover JPEG for the prepared ``video``: the release's image, its second, or
    :data:`COVER_SECOND`."""
    if isinstance(cover, Path):
        data = image_cover(cover, plan.width, plan.height)
    else:
        second = cover if cover is not None else min(COVER_SECOND, plan.duration / 2)
        data = frame_jpeg(video, float(second))
    sha256 = hashlib.sha256(data).hexdigest()
    target = folder / f"{video.stem}-cover-{sha256[:12]}.jpg"
    target.write_bytes(data)
    return target, sha256
