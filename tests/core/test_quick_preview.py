"""``siar preview`` as officers type it starts without click (scheduler/cli/previewing.py)
and ends exactly as through click: the same output, errors and exit code; every other
command line is click's to read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.cli import previewing

ROOT = Path(__file__).resolve().parents[2]
#: runs ``siar ARGS`` as the console script does, through click when argv[1] says so
DRIVER = """
import sys
from scheduler.cli import main, previewing
if sys.argv.pop(1) == "click":
    previewing.quick = lambda args: None
main()
"""
DEMO = ["--config", "config/demo.toml"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    environment |= {"SIAR_HOME": str(tmp_path / "home"), "SIAR_LANG": "en",
                    "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    return environment


def run(how: str, args: list[str], env: dict[str, str],
        stdin: str = "") -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-c", DRIVER, how, *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)
    return done.returncode, done.stdout, done.stderr


CASES = {
    "json": [*DEMO, "preview", "bench/text-release.md", "--json"],
    "panels, verbose": ["-vv", *DEMO, "preview", "bench/text-release.md"],
    "options first": ["--log-format=json", "-c", "config/demo.toml", "preview", "--json",
                      "--channels", "x-lapas,mastodon", "bench/text-release.md"],
    "a missing file": [*DEMO, "preview", "no-such-release.md"],
    "a missing config": ["--config=no-such.toml", "preview", "bench/text-release.md"],
    "an unknown account": [*DEMO, "preview", "bench/text-release.md", "--channels=nobody"],
    "standard input": [*DEMO, "preview", "-", "--json"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_quick_start_ends_as_click_does(case: str, env: dict[str, str]) -> None:
    args = CASES[case]
    assert previewing.quick(args) is not None
    stdin = "---\ntitle: Rakor\nat: besok 09.00\n---\nIsi rilis.\n"
    assert run("quick", args, env, stdin) == run("click", args, env, stdin)


def test_an_account_that_cannot_take_the_release_exits_1_either_way(
        env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "siar.toml"  # X limited to 40 characters: the title never fits
    config.write_text((ROOT / "config" / "demo.toml").read_text(encoding="utf-8").replace(
        'network = "x"\n', 'network = "x"\nlimit = 40\n'), encoding="utf-8")
    page = tmp_path / "halaman.html"
    args = ["--config", str(config), "preview", "bench/text-release.md", "--html", str(page)]
    quick = run("quick", args, env)
    written = page.read_text(encoding="utf-8")
    assert quick == run("click", args, env)
    assert page.read_text(encoding="utf-8") == written
    assert quick[0] == 1 and "account 'x-lapas' (x)" in " ".join(quick[2].split())


def test_the_environment_gives_the_config_and_log_format_as_to_click(
        env: dict[str, str]) -> None:
    env |= {"SIAR_CONFIG": "config/demo.toml", "SIAR_LOG_FORMAT": "json"}
    args = ["preview", "bench/text-release.md", "--json"]
    assert run("quick", args, env) == run("click", args, env)
    env["SIAR_LOG_FORMAT"] = "xml"  # click's to refuse
    assert run("quick", args, env)[0] == 2


@pytest.mark.parametrize("args", [
    [], ["--help"], ["preview"], ["preview", "--help"], ["preview", "a.md", "b.md"],
    ["preview", "a.md", "--jsn"], ["preview", "a.md", "-v"], ["-x", "preview", "a.md"],
    ["queue"], ["preview", "--", "a.md"], ["-cdemo.toml", "preview", "a.md"],
    ["--log-format", "xml", "preview", "a.md"], ["preview", "a.md", "--html"],
    ["--version"], ["add", "preview"]])
def test_every_other_command_line_is_left_to_click(args: list[str]) -> None:
    assert previewing.quick(args) is None
