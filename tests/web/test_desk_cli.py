"""`siar users` and `siar web` from the command line: passwords never on the command line
nor shown, bad input exits 1 with the fix, and the web stack stays out of every other
command's start-up."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon.processes import ROOT


@pytest.fixture
def workdir(tmp_path: Path, db_url: str) -> Path:
    (tmp_path / "siar.toml").write_text(f'database_url = "{db_url}"\n')
    return tmp_path


def siar(workdir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    env |= {"COLUMNS": "200", "SIAR_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "scheduler.cli", "--config",
                           str(workdir / "siar.toml"), *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_users_are_added_with_a_hashed_password_and_listed_without_it(workdir: Path) -> None:
    password = "kalimat-sandi-yang-panjang"
    added = siar(workdir, "users", "add", "kasubag", "--role", "penyetuju", "--password-stdin",
                 stdin=password + "\n")
    assert added.returncode == 0, added.stderr
    listed = siar(workdir, "users", "list", "--json")
    assert json.loads(listed.stdout) == [{"name": "kasubag", "role": "penyetuju"}]
    assert password not in added.stdout + added.stderr + listed.stdout

    again = siar(workdir, "users", "add", "kasubag", "--role", "staf", "--password-stdin",
                 stdin=password + "\n")
    assert again.returncode == 1 and "exists already" in again.stderr
    short = siar(workdir, "users", "add", "rina", "--role", "staf", "--password-stdin",
                 stdin="pendek\n")
    assert short.returncode == 1 and "too short" in short.stderr and "pendek" not in short.stderr
    wrong_role = siar(workdir, "users", "add", "rina", "--role", "kepala", "--password-stdin",
                      stdin=password + "\n")
    assert wrong_role.returncode == 2 and "staf" in wrong_role.stderr


def test_web_on_a_port_already_taken_exits_1_with_the_fix(workdir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = siar(workdir, "web", "--port", str(port))
    assert ran.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in ran.stderr and "--port" in ran.stderr


def test_the_web_stack_is_not_imported_by_the_cli_itself() -> None:
    probe = subprocess.run([sys.executable, "-c", (
        "import sys, scheduler.cli; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'argon2', 'multipart') "
        "if m in sys.modules))")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "[]", probe.stderr


def test_siar_web_serves_the_login_page_on_localhost(workdir: Path) -> None:
    import time

    import requests

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")} | {
        "SIAR_LANG": "id"}
    server = subprocess.Popen([sys.executable, "-m", "scheduler.cli", "--config",
                               str(workdir / "siar.toml"), "web", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        assert f"http://127.0.0.1:{port}/" in server.stdout.readline()  # said once bound
        deadline = time.monotonic() + 60
        while True:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/masuk", timeout=5)
                break
            except requests.ConnectionError:  # printed just before uvicorn listens
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.05)
        assert page.status_code == 200 and '<html lang="id">' in page.text
        assert page.headers["x-frame-options"] == "DENY" and "server" not in page.headers
    finally:
        server.terminate()
        server.wait(30)
