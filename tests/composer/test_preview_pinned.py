"""``siar preview`` prints, byte for byte, what it printed when these files were written:
the demo deployment's twelve accounts, for the benchmark's release (bold, a quote, a list)
and for the example release with its photo, as JSON, as Rich panels and as the HTML page
of the text release. Work that makes preview start faster must not change a byte of it.

The files in ``pinned/`` come from the ``siar`` of the commit that added them; when a change
to what preview shows is intended, write them again with ``SIAR_WRITE_PINNED=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PINNED = Path(__file__).parent / "pinned"
DEMO = ["--config", "config/demo.toml"]
CASES = {
    "text.json": [*DEMO, "preview", "bench/text-release.md", "--json"],
    "text.txt": [*DEMO, "preview", "bench/text-release.md"],
    "photo.json": [*DEMO, "preview", "config/example-release.md", "--json"],
}


def siar(args: list[str], home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    env |= {"SIAR_HOME": str(home), "SIAR_LANG": "en", "PYTHONPATH": str(ROOT),
            "COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}
    completed = subprocess.run([sys.executable, "-m", "scheduler.cli", *args], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=120,
                               check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.replace(str(ROOT), "<ROOT>")


def check(name: str, shown: str) -> None:
    if os.environ.get("SIAR_WRITE_PINNED"):
        (PINNED / name).write_text(shown, encoding="utf-8")
    assert shown == (PINNED / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_preview_shows_what_it_showed(name: str, tmp_path: Path) -> None:
    check(name, siar(CASES[name], tmp_path / "home"))


def test_the_html_page_is_what_it_was(tmp_path: Path) -> None:
    page = tmp_path / "preview.html"
    siar([*DEMO, "preview", "bench/text-release.md", "--json", "--html", str(page)],
         tmp_path / "home")
    check("text.html", page.read_text(encoding="utf-8").replace(str(ROOT), "<ROOT>"))
