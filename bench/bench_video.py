"""Benchmark: a 60 s 1080×1920 phone clip prepared for every network that takes video
(target ≤ 300 MB peak RSS), against the ``ffmpeg`` command doing the same transcodes.

    .venv/bin/python -m bench.bench_video [--runs 3] [--fps 30] [--clip F] [--preset P]

The clip is made once with :func:`tests.clips.make_clip` (H.264/AAC, 30 fps) and stored
the way a phone stores an upright video: the picture sideways (1920×1080) with a display
matrix turning it. So no network can take it as it is: each run prepares it the way
``siar add`` does (``scheduler.media_prep.prepare_variants``: probed once, one decode
feeding as many distinct transcodes as fit ``SIAR_VIDEO_MEMORY_MB``, another decode for
the rest, kept in a media store in a scratch folder), and then
``ffmpeg`` — the static binary of the ``imageio-ffmpeg`` wheel, installed with the test
tools — makes the same outputs (same sizes, padding, x264 preset, CRF, bit-rate cap, one
x264 thread, sound copied, ``+faststart``) in one command with one decode. Each side is a
fresh process: CPU seconds (user + system of the process; the host is shared, so wall
time measures the neighbours too), wall seconds, and peak resident memory. The two
alternate run by run, and the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = ["x", "mastodon", "bluesky", "threads", "telegram", "facebook", "instagram",
            "tiktok", "youtube", "linkedin", "wordpress", "discord", "slack", "webhook",
            "email"]


def make_phone_clip(path: Path, fps: int) -> Path:
    """60 s shown 1080×1920: stored 1920×1080 with a 90° display matrix, H.264/AAC."""
    import av

    sys.path.insert(0, str(ROOT))
    from tests.clips import make_clip

    flat = make_clip(path.with_name("flat.mp4"), seconds=60, width=1920, height=1080, fps=fps)
    with av.open(str(flat)) as reading, av.open(str(path), "w") as writing:
        copies = {s.index: writing.add_stream_from_template(s)
                  for s in (reading.streams.video[0], reading.streams.audio[0])}
        copies[reading.streams.video[0].index].set_display_rotation(90)
        for packet in reading.demux():
            if packet.dts is not None:
                packet.stream = copies[packet.stream.index]
                writing.mux(packet)
    flat.unlink()
    return path


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def siar_run(clip: Path) -> dict[str, object]:
    """Prepare ``clip`` for every network in this process, as queue time does."""
    sys.path.insert(0, str(ROOT))
    import av  # noqa: F401  imported before measuring: not the preparation's cost

    from channels.variant import Media, Variant
    from channels.video import plan_all, probe
    from channels.video.encoding import passes
    from scheduler.media_prep import prepare_variants
    from scheduler.media_store import MediaStore
    from scheduler.release_videos import VideoRef

    variants = [Variant(account=network, channel=network, parts=["x"], length=[1],
                        limit=None, media=[Media(path=str(clip), kind="video")])
                for network in NETWORKS]
    facts = probe(clip)
    outputs = list(dict.fromkeys(p.output for p in plan_all(facts, NETWORKS).values()))
    decodes = len(passes([o for o in outputs if o is not None]))
    before = peak_rss_mb()
    with tempfile.TemporaryDirectory() as scratch:
        store = MediaStore(root=Path(scratch) / "media")
        cpu, wall = time.process_time(), time.perf_counter()
        prepared = prepare_variants(variants, [], store, source="bench",
                                    videos=[VideoRef(path=clip)])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        files = {m.path: m.bytes for v in prepared.variants for m in v.media}
    return {"cpu_s": cpu, "wall_s": wall, "peak_mb": peak_rss_mb(),
            "before_mb": before, "files": len(files), "bytes": sorted(files.values()),
            "decodes": decodes,
            "outputs": [o.__dict__ if o else None for o in outputs]}


def ffmpeg_command(clip: Path, outputs: list[dict], folder: Path, preset: str) -> list[str]:
    """One ``ffmpeg`` command making ``outputs`` (the plans' :class:`Output` as dicts)
    from one decode, as :mod:`channels.video.encoding` does."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(clip)]
    for index, out in enumerate(outputs):
        width, height = out["picture"]
        chain = f"scale={width}:{height}:flags=bicubic,setsar=1"  # ffmpeg turns it upright
        if (width, height) != (out["width"], out["height"]):
            chain += f",pad={out['width']}:{out['height']}:(ow-iw)/2:(oh-ih)/2:black"
        if out["fps"]:
            chain += f",fps={out['fps']:g}"
        kbps = out["video_kbps"]
        command += ["-map", "0:v:0", "-map", "0:a:0?", "-vf", chain + ",format=yuv420p",
                    "-c:v", "libx264", "-preset", preset, "-crf", "23",
                    "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k", "-g", "60",
                    "-threads", "1", "-c:a", "copy", "-map_metadata", "-1",
                    "-movflags", "+faststart", str(folder / f"out-{index}.mp4")]
    return command


def ffmpeg_run(clip: Path, outputs: list[dict], preset: str) -> dict[str, object]:
    """Run the ``ffmpeg`` command as a child; its CPU, wall time and peak memory."""
    with tempfile.TemporaryDirectory() as scratch:
        command = ffmpeg_command(clip, outputs, Path(scratch), preset)
        wall = time.perf_counter()
        subprocess.run(command, check=True)
        wall = time.perf_counter() - wall
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        sizes = sorted(p.stat().st_size for p in Path(scratch).glob("out-*.mp4"))
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall,
            "peak_mb": usage.ru_maxrss / 1024, "files": len(sizes), "bytes": sizes}


def main() -> None:
    from bench.common import print_medians  # not in the measured runs: it imports the fakes

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--clip", type=Path)
    parser.add_argument("--preset", default="veryfast", help="x264 preset, both sides")
    parser.add_argument("--siar-run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ffmpeg-run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--outputs", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.siar_run:
        print(json.dumps(siar_run(args.siar_run)))
        return
    if args.ffmpeg_run:
        print(json.dumps(ffmpeg_run(args.ffmpeg_run, json.loads(args.outputs), args.preset)))
        return
    env = {**os.environ, "SIAR_VIDEO_PRESET": args.preset}
    with tempfile.TemporaryDirectory() as scratch:
        clip = args.clip or make_phone_clip(Path(scratch) / "tegak.mp4", args.fps)
        print(f"clip: {clip.name}, {clip.stat().st_size:,} bytes, preset {args.preset}; "
              f"load {os.getloadavg()}")
        runs: dict[str, list[dict]] = {"siar": [], "ffmpeg": []}
        for _ in range(args.runs):  # alternating, each a fresh process
            out = subprocess.run([sys.executable, "-m", "bench.bench_video", "--siar-run",
                                  str(clip)], cwd=ROOT, env=env, check=True,
                                 capture_output=True, text=True).stdout
            runs["siar"].append(json.loads(out))
            plans = [o for o in runs["siar"][-1]["outputs"] if o]
            out = subprocess.run([sys.executable, "-m", "bench.bench_video", "--ffmpeg-run",
                                  str(clip), "--outputs", json.dumps(plans), "--preset",
                                  args.preset], cwd=ROOT, env=env, check=True,
                                 capture_output=True, text=True).stdout
            runs["ffmpeg"].append(json.loads(out))
    first = runs["siar"][0]
    print(f"{len(NETWORKS)} networks → {first['files']} prepared files "
          f"({len([o for o in first['outputs'] if o])} transcodes from {first['decodes']} "
          f"decodes; ffmpeg: from one)")
    for side, measured in runs.items():
        print(f"{side}: sizes {measured[0]['bytes']}")
        print_medians(measured, (("cpu_s", "s CPU"), ("wall_s", "s wall"),
                                 ("peak_mb", "MB peak RSS")))
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
