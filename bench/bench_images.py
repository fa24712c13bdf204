"""Benchmark: one 24 MP camera JPEG prepared for all 14 networks (target ≤ 1.5 s, ≤ 300 MB).

    .venv/bin/python -m bench.bench_images [--runs 5] [--accounts-per-network 2] [--photo F]

Each run is a fresh process that prepares the photo the way ``siar add`` does at queue
time (``scheduler.media_prep.prepare_variants``: decode once, every distinct output made
once, kept in a media store in a scratch folder) and reports:

* CPU seconds of that process for the preparation (user + system; the host is shared, so
  wall time would measure the neighbours too), and wall seconds beside it;
* peak resident memory of the process (``VmHWM``), and how much of it came after the
  imports (what preparing itself took);
* how many prepared files were written for how many accounts: with several accounts per
  network the work must stay the same (processed once per distinct output).

The photo is made once (6000×4000, detailed like a camera's, EXIF orientation and a GPS
position) unless ``--photo`` names one. The median and the best run are printed, with the
load average before and after.
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
            "linkedin", "wordpress", "discord", "slack", "webhook", "email", "console"]


def make_photo(path: Path) -> Path:
    """A 24 MP JPEG like a camera's: smooth light, fine grain, EXIF orientation, GPS."""
    from PIL import ExifTags, Image

    grain = Image.effect_noise((1500, 1000), 50).resize((6000, 4000),
                                                        Image.Resampling.BICUBIC)
    fine = Image.effect_noise((6000, 4000), 12)
    light = Image.linear_gradient("L").rotate(90).resize((6000, 4000))
    pixels = Image.merge("RGB", (Image.blend(grain, light, 0.5), Image.blend(grain, fine, 0.3),
                                 Image.blend(light, fine, 0.2)))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 1
    exif[ExifTags.Base.Make] = "KameraHumas"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = (2.0, 7.0, 48.0)
    pixels.save(path, quality=95, exif=exif.tobytes())
    return path


def peak_rss_kb() -> int:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss``, it is not
    inherited from the parent that forked before exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # elsewhere: the best known


def one_run(photo: Path, per_network: int) -> dict[str, float]:
    """Prepare ``photo`` for every network in this process; the figures as a dict."""
    sys.path.insert(0, str(ROOT))
    import PIL.Image  # noqa: F401  imported before measuring: not the preparation's cost

    from channels.variant import Media, Variant
    from scheduler.media_prep import prepare_variants
    from scheduler.media_store import MediaStore
    from scheduler.releases import ImageRef

    variants = [Variant(account=f"{network}-{n}", channel=network, parts=["x"], length=[1],
                        limit=None, media=[Media(path=str(photo), alt="foto")])
                for network in NETWORKS for n in range(per_network)]
    before_kb = peak_rss_kb()
    with tempfile.TemporaryDirectory() as scratch:
        store = MediaStore(root=Path(scratch) / "media")
        cpu, wall = time.process_time(), time.perf_counter()
        prepared = prepare_variants(variants, [ImageRef(path=photo, alt="foto")], store,
                                    source="bench")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        files = len({m.path for v in prepared.variants for m in v.media})
    peak_kb = peak_rss_kb()
    return {"cpu_s": cpu, "wall_s": wall, "peak_mb": peak_kb / 1024,
            "prepare_mb": (peak_kb - before_kb) / 1024, "files": files,
            "accounts": len(variants)}


def main() -> None:
    from bench.common import print_medians  # not in the measured runs: it imports the fakes

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--accounts-per-network", type=int, default=1)
    parser.add_argument("--photo", type=Path)
    parser.add_argument("--one-run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        print(json.dumps(one_run(args.one_run, args.accounts_per_network)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        photo = args.photo or make_photo(Path(scratch) / "kamera.jpg")
        print(f"photo: {photo.name}, {photo.stat().st_size:,} bytes; load {os.getloadavg()}")
        runs = []
        for _ in range(args.runs):  # a fresh process each: peak memory is this run's own
            out = subprocess.run(
                [sys.executable, "-m", "bench.bench_images", "--one-run", str(photo),
                 "--accounts-per-network", str(args.accounts_per_network)],
                cwd=ROOT, check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out))
    first = runs[0]
    print(f"{first['accounts']} accounts on {len(NETWORKS)} networks → {first['files']} "
          f"prepared files")
    print_medians(runs, (("cpu_s", "s CPU"), ("wall_s", "s wall"), ("peak_mb", "MB peak RSS"),
                         ("prepare_mb", "MB of it while preparing")))
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
