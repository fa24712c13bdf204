"""The daemon warns staff days before an account's token lapses, not at the first failed post."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from scheduler.daemon.service import Daemon
from scheduler.db import session
from scheduler.models import Alert
from scheduler.settings import AccountSettings
from tests.daemon.conftest import make_settings
from tests.fakes.threads import ThreadsFake

TOKEN = "THAAwatchtoken789"
USER = "26072145678901234"


@pytest.fixture
def threads() -> Iterator[ThreadsFake]:
    with ThreadsFake(token=TOKEN, user_id=USER) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def daemon(threads: ThreadsFake, engine: Engine,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    account = AccountSettings(name="threads-lapas", network="threads", base_url=threads.url,
                              options={"user_id": USER})
    monkeypatch.setenv(account.secret_variable("access_token"), TOKEN)
    settings = make_settings(str(engine.url), [], None, notify=[account])
    settings.notify.accounts = []  # alerts are stored; sending them is tested elsewhere
    watcher = Daemon(settings, engine=engine)
    yield watcher
    watcher.notifier.close()


def _alerts(engine: Engine) -> list[Alert]:
    with session(engine) as s:
        return list(s.scalars(select(Alert).where(Alert.kind == "token_expiring")))


def test_a_token_expiring_within_the_warning_days_alerts_once_with_the_fix(
        daemon: Daemon, threads: ThreadsFake, engine: Engine) -> None:
    threads.token_expires_at = int(time.time()) + 3 * 86_400
    daemon.jobs.check_tokens()
    daemon.jobs.check_tokens()  # the next check (or another daemon) does not repeat it
    [alert] = _alerts(engine)
    assert "threads-lapas" in alert.subject and "expires" in alert.subject
    assert "siar accounts refresh threads-lapas" in alert.message
    assert TOKEN not in alert.subject + alert.message


def test_a_token_with_weeks_left_raises_no_alert(daemon: Daemon, threads: ThreadsFake,
                                                 engine: Engine) -> None:
    threads.token_expires_at = int(time.time()) + 40 * 86_400
    daemon.jobs.check_tokens()
    assert _alerts(engine) == []


def test_a_refused_token_is_logged_not_alerted_as_expiring(
        daemon: Daemon, threads: ThreadsFake, engine: Engine,
        caplog: pytest.LogCaptureFixture) -> None:
    threads.token = "a-different-token"
    daemon.jobs.check_tokens()
    assert _alerts(engine) == []
    assert "threads-lapas" in caplog.text and TOKEN not in caplog.text
