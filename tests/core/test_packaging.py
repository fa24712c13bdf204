"""A regular (non-editable) install finds its templates and example config in the package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_templates_and_config_and_they_are_found(tmp_path: Path):
    wheels = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(wheels), str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("siar-*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(wheel)], check=True, capture_output=True,
                   timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target), "SIAR_HOME": str(tmp_path / "home")}
    probe = ("import scheduler, scheduler.resources as r; "
             "print(scheduler.__file__); print(r.templates_dir()); print(r.config_dir())")
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, check=True,
                         capture_output=True, text=True).stdout.split()
    module, templates, config = map(Path, out)
    assert target in module.parents, "the installed copy is imported, not the checkout"
    assert target in templates.parents and any(templates.iterdir())
    assert (config / "siar.example.toml").is_file()
    assert (config / "example-release.md").is_file()

    starter = tmp_path / "starter"
    init = subprocess.run([sys.executable, "-m", "scheduler.cli", "init", str(starter)],
                          env=env, cwd=tmp_path, capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    assert (starter / "siar.toml").is_file()
