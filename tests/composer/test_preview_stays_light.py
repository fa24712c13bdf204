"""``siar preview FILE`` imports what showing the posts needs, and nothing it does not: no
click (for the command lines officers type), HTTP stack, database, Rich (for ``--json``),
other commands' modules, image or video machinery for a release without them, and — for a
release of paragraphs, quotes, lists and bold, front matter of plain lines — neither
markdown-it nor PyYAML. What makes it start fast is tested as imports, not as time;
``bench/bench_cli.py`` measures the time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: what preview of any release must not have imported when it ends
NEVER = ("click", "requests", "urllib3", "pycurl", "tweepy", "sqlalchemy", "sqlmodel", "alembic",
         "scheduler.db", "scheduler.queue", "rich", "channels.uploads", "channels.video",
         "scheduler.cli.approval", "scheduler.cli.report", "scheduler.cli.accounts",
         "scheduler.cli.ops", "scheduler.cli.desk", "smtplib")
#: nor, for the benchmark's release (text only, simple Markdown, plain front matter), these
TEXT_ONLY = ("markdown_it", "yaml", "PIL", "channels.images", "scheduler.media_prep")
#: runs ``siar ARGS`` as the console script does, then names the modules of ``argv[1]``
#: (comma-separated) it imported
PROBE = """
import atexit, sys
names = sys.argv.pop(1).split(",")
atexit.register(lambda: sys.stderr.write("\\nimported:" + ",".join(
    n for n in names if n in sys.modules) + "\\n"))
sys.argv = ["siar", *sys.argv[1:]]
from scheduler.cli import main
main()
"""


def imported(names: tuple[str, ...], *args: str, home: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    env |= {"SIAR_HOME": str(home), "SIAR_LANG": "en", "PYTHONPATH": str(ROOT)}
    completed = subprocess.run([sys.executable, "-c", PROBE, ",".join(names), "--config",
                                "config/demo.toml", *args], env=env, cwd=ROOT,
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    line = completed.stderr.rsplit("imported:", 1)[1].splitlines()[0]
    return [name for name in line.split(",") if name]


def test_preview_of_a_text_release_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    assert imported((*NEVER, *TEXT_ONLY), "preview", "bench/text-release.md", "--json",
                    home=tmp_path) == []


@pytest.mark.parametrize("release", ["config/example-release.md", "bench/text-release.md"])
def test_preview_of_a_release_imports_no_http_database_or_other_commands(
        release: str, tmp_path: Path) -> None:
    assert imported(NEVER, "preview", release, "--json", home=tmp_path) == []


def test_the_probe_sees_a_module_preview_does_import(tmp_path: Path) -> None:
    assert imported(("channels.images", "rich"), "preview",
                    "config/example-release.md", home=tmp_path) == ["channels.images", "rich"]


def test_a_photo_every_network_takes_as_it_is_is_previewed_without_pillow(
        tmp_path: Path) -> None:
    # the example's photo is a plain JPEG within every network's limits: its header is
    # read from its bytes (channels/images/header.py)
    assert imported(("PIL",), "preview", "config/example-release.md", "--json",
                    home=tmp_path) == []


def test_a_photo_that_must_be_changed_is_prepared_with_pillow(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (4000, 3000), "white").save(tmp_path / "besar.jpg", quality=60)
    release = tmp_path / "rilis.md"
    release.write_text("---\ntitle: Foto besar\nat: besok 09.00\nimages: [besar.jpg]\n---\n"
                       "Teks rilis.\n", encoding="utf-8")
    assert imported(("PIL",), "preview", str(release), "--json", home=tmp_path) == ["PIL"]


def test_previews_after_the_first_render_the_built_in_templates_without_jinja2(
        tmp_path: Path) -> None:
    # the first run compiles the templates and keeps their programs beside them
    assert imported(("jinja2",), "preview", "config/example-release.md", "--json",
                    home=tmp_path) == ["jinja2"]
    # what is kept is the templates', not one release's: another release needs no Jinja2
    assert imported(("jinja2",), "preview", "bench/text-release.md", "--json",
                    home=tmp_path) == []
    assert imported(("jinja2",), "preview", "config/example-release.md", home=tmp_path) == []


def test_finding_a_built_in_network_reads_no_entry_points() -> None:
    # importlib.metadata (the email and zipfile packages with it) is for third-party
    # adapters only; the composer loads Siar's own ones by name
    probe = ("import sys; from channels import registry; registry.load('x'); "
             "registry.lookup('email'); print('importlib.metadata' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                               text=True, timeout=60, check=False,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (completed.returncode, completed.stdout.strip()) == (0, "False"), completed.stderr


def test_a_preview_after_the_first_imports_no_logging(tmp_path: Path) -> None:
    # the CLI sets logging up once a module imports it; reading the settings the first time
    # does (pydantic-settings), the cached settings and the composer do not
    imported(("logging",), "preview", "bench/text-release.md", "--json", home=tmp_path)
    assert imported(("logging",), "preview", "bench/text-release.md", "--json",
                    home=tmp_path) == []
