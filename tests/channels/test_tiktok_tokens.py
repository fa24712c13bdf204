"""TikTok rotates the refresh token on every refresh: the new one is stored in the database
(``channel_token``) the moment it arrives, survives a restart, is shared by the account's
daemons, and gives way to a new one the operator puts in .env — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from channels.base import AccountConfig, Published
from channels.tiktok import TikTokChannel
from channels.tokens import StoredTokens, seed_of
from channels.variant import Media
from scheduler.db import make_engine, open_database
from scheduler.models import ChannelToken
from scheduler.token_store import DatabaseTokenStore
from tests.channels.helpers import make_delivery
from tests.fakes.photos import photo_url
from tests.fakes.tiktok import FakeTikTok

SECRETS = {"client_key": "awtiktokclientkey", "client_secret": "tiktok-client-secret-42",
           "refresh_token": "rft.first-refresh-token"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'siar.db'}"
    else:
        url = request.getfixturevalue("pg_database_url")
    open_database(url).dispose()
    made = make_engine(url)
    yield made
    made.dispose()


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    with FakeTikTok(**SECRETS) as server:
        yield server  # type: ignore[misc]


def daemon_adapter(fake: FakeTikTok, engine: Engine,
                   secrets: dict[str, str] = SECRETS) -> TikTokChannel:
    """The adapter one daemon process builds for the account (a new one: a restart)."""
    adapter = TikTokChannel(AccountConfig(name="tiktok-lapas", network="tiktok",
                                          base_url=fake.url,
                                          options={"poll_interval": 0.01}), dict(secrets))
    adapter.token_store = DatabaseTokenStore(engine, "tiktok-lapas")
    return adapter


def photo_post(key: str):
    return make_delivery("Rakor", publish_key=key, media=[
        Media(path="/data/foto.jpg", alt="Rakor", url=photo_url("foto.jpg"))])


def stored(engine: Engine) -> Any:
    """The account's row of channel_token, as the database holds it."""
    with engine.connect() as connection:
        return connection.execute(select(ChannelToken.__table__)).first()  # type: ignore[attr-defined]


def test_the_rotated_refresh_token_is_stored_and_survives_a_restart(fake, engine):
    assert isinstance(daemon_adapter(fake, engine).publish(photo_post("a")), Published)
    rotated = fake.refresh_token
    assert rotated != SECRETS["refresh_token"]  # the seed in .env no longer works

    fake.expire_access_tokens()  # a day later, after a restart
    outcome = daemon_adapter(fake, engine).publish(photo_post("b"))

    assert isinstance(outcome, Published)
    assert fake.refreshes == 2  # refreshed with the stored token, not the spent seed
    row = stored(engine)
    assert row is not None and row.refresh_token == fake.refresh_token
    assert row.seed == seed_of(SECRETS["refresh_token"]) != SECRETS["refresh_token"]


def test_a_stored_access_token_still_valid_is_used_without_a_refresh(fake, engine):
    daemon_adapter(fake, engine).publish(photo_post("a"))

    assert isinstance(daemon_adapter(fake, engine).publish(photo_post("b")), Published)
    assert fake.refreshes == 1


def test_a_new_refresh_token_in_dotenv_wins_over_the_stored_one(fake, engine):
    daemon_adapter(fake, engine).publish(photo_post("a"))
    fake.refresh_token = "rft.after-a-new-login"  # the operator authorised the app again

    adapter = daemon_adapter(fake, engine, {**SECRETS, "refresh_token": fake.refresh_token})

    assert isinstance(adapter.publish(photo_post("b")), Published)
    row = stored(engine)
    assert row is not None and row.seed == seed_of("rft.after-a-new-login")


def test_two_daemons_refreshing_share_what_the_first_stored(fake, engine):
    first, second = daemon_adapter(fake, engine), daemon_adapter(fake, engine)
    assert isinstance(second.access_token(), str)  # both start from the same tokens ...
    fake.expire_access_tokens()
    assert isinstance(first.access_token(renew=True), str)  # ... the first rotates them

    # the second's refresh token is spent: it reads the store instead of giving up
    outcome = second.publish(photo_post("b"))

    assert isinstance(outcome, Published), outcome
    assert fake.refreshes == 2


def test_save_keeps_newer_tokens_another_process_stored(engine):
    store = DatabaseTokenStore(engine, "tiktok-lapas")
    later = datetime.now(UTC) + timedelta(hours=24)
    mine = StoredTokens("act.a", "rft.b", later, None, seed="s")
    theirs = StoredTokens("act.c", "rft.d", later, None, seed="s")
    assert store.save(mine, replacing="rft.seed")
    assert store.save(theirs, replacing="rft.b")

    assert not store.save(StoredTokens("act.e", "rft.f", later, None, seed="s"),
                          replacing="rft.b")  # rft.b was spent by someone else
    assert store.load() == theirs
    assert "rft.d" not in repr(store.load()) and "act.c" not in repr(store.load())


def test_only_the_daemons_own_user_may_read_the_tokens(engine):
    DatabaseTokenStore(engine, "tiktok-lapas").save(StoredTokens(
        "act.a", "rft.b", datetime.now(UTC), None, seed="s"), replacing=None)

    if engine.dialect.name == "sqlite":
        for path in Path(str(engine.url.database)).parent.glob("siar.db*"):
            assert path.stat().st_mode & 0o077 == 0, path
    else:
        with engine.connect() as connection:
            assert not connection.execute(text(
                "SELECT has_table_privilege('public', 'channel_token', 'SELECT')")).scalar()
