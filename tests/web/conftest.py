"""Siar Desk served for real (uvicorn on a free port, in a thread) over a database on
SQLite and on PostgreSQL, with a release awaiting approval and three users."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import requests
import uvicorn
from sqlalchemy.engine import Engine

from scheduler import approval
from scheduler.db import session
from scheduler.models import DeskUser
from scheduler.settings import AccountSettings, Settings
from scheduler.timeparse import utcnow
from scheduler.web.app import build
from tests.daemon.conftest import db_url, engine, network, release, tokens, variant  # noqa: F401

PASSWORDS = {"rina": "sandi-staf-rahasia", "kasubag": "sandi-penyetuju-rahasia",
             "admin": "sandi-admin-rahasia"}
ROLES = {"rina": "staf", "kasubag": "penyetuju", "admin": "admin"}


@dataclass
class Served:
    url: str
    engine: Engine
    settings: Settings
    release_id: int

    def login(self, name: str, password: str | None = None) -> requests.Session:
        """A browser session logged in as ``name``."""
        browser = requests.Session()
        page = browser.get(f"{self.url}/masuk")
        answer = browser.post(f"{self.url}/masuk", data={
            "csrf": csrf(page.text), "nama": name, "sandi": password or PASSWORDS[name]},
            allow_redirects=False)
        assert answer.status_code == 303, answer.text
        return browser


def csrf(html: str) -> str:
    """The CSRF field of the page's last form (the page's own, after the menu's)."""
    found = re.findall(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def desk_settings(db: str, network_url: str | None = None) -> Settings:
    settings = Settings(database_url=db, approval="required", accounts=[
        AccountSettings(name="akun-a", network="counting", base_url=network_url)])
    return settings


@pytest.fixture(scope="session")
def password_hashes() -> dict[str, str]:
    """Each user's password hashed as ``siar users add`` hashes it (argon2 with its default
    cost, which by design takes a third of a second of CPU: paid once per session, not
    three times per test; adding users is tested in test_desk_cli.py)."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher()
    return {name: hasher.hash(password) for name, password in PASSWORDS.items()}


@pytest.fixture
def served(engine: Engine, db_url: str, password_hashes: dict[str, str]  # noqa: F811
           ) -> Iterator[Served]:
    settings = desk_settings(db_url)
    with session(engine) as s:
        s.add_all(DeskUser(name=name, role=role, password_hash=password_hashes[name])
                  for name, role in ROLES.items())
    queued, _posts = approval.enqueue(engine, settings, release("Rakor Agen Informasi"),
                                      [variant("akun-a")], utcnow() + timedelta(hours=2),
                                      zone=None, by="rina")
    with serving(build(settings, engine)) as url:
        yield Served(url, engine, settings, queued.id)  # type: ignore[arg-type]


class serving:
    """uvicorn serving ``app`` on a free port in a thread, until the block ends."""

    def __init__(self, app: object) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                    log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:  # uvicorn's own flag: set once it listens
            assert self.thread.is_alive() and time.monotonic() < deadline, "not serving"
            time.sleep(0.02)
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)
