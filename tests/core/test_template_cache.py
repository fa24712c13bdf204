"""Compiled templates are kept between runs of ``siar``, and never stand in for an edited
template or stop a run when they cannot be kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scheduler.resources import templates_dir


def preview_x(workspace: Path) -> str:
    """The text of the X post, from a fresh ``siar preview`` process (in-process runs keep
    compiled templates in memory and would never read the cache)."""
    completed = subprocess.run(
        [sys.executable, "-m", "scheduler.cli", "preview", "rilis.md", "--channels", "x",
         "--json"], cwd=workspace, env=dict(os.environ), capture_output=True, text=True,
        timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)["variants"][0]["parts"][0]


def test_compiled_templates_are_kept_under_siar_home_and_give_the_same_post(workspace: Path):
    first = preview_x(workspace)
    kept = list((workspace / "home" / "cache" / "templates").iterdir())
    assert any(path.name.startswith("bounded-") for path in kept)
    # and what composing needs to know of the template's source, without parsing it again
    assert any(path.name.startswith("facts-") for path in kept)
    assert preview_x(workspace) == first


def test_an_edited_template_is_used_although_a_compiled_copy_is_kept(workspace: Path):
    own = workspace / "templates"
    own.mkdir()
    (own / "x.j2").write_text((templates_dir() / "x.j2").read_text(encoding="utf-8"),
                              encoding="utf-8")
    config = workspace / "siar.toml"
    config.write_text(f'templates_dir = "{own}"\n' + config.read_text(encoding="utf-8"),
                      encoding="utf-8")
    assert "Diedit" not in preview_x(workspace)

    (own / "x.j2").write_text("{% block post %}Diedit: {{ title }}{% endblock %}\n",
                              encoding="utf-8")
    assert preview_x(workspace) == "Diedit: Rakor Humas Pemasyarakatan"


def test_a_cache_folder_that_cannot_be_made_only_means_compiling_again(workspace: Path):
    (workspace / "home" / "cache").mkdir(parents=True)
    (workspace / "home" / "cache" / "templates").write_text("not a folder", encoding="utf-8")
    assert preview_x(workspace).startswith("Rakor Humas Pemasyarakatan")
