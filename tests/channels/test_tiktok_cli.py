"""TikTok where the officer meets it: ``siar count``, ``siar preview`` (terminal, JSON,
HTML) with the unaudited-app warning, ``siar accounts check`` and ``siar daemon`` (live and
dry-run) against the fake — whose refresh stores the rotated token in the database, never
on the screen, where the next daemon start finds it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import create_engine, text

# the CLI tests' workspace and in-process runner, as fixtures of this module
from tests.core.conftest import Result, siar, workspace  # noqa: F401
from tests.fakes.photos import photo_url
from tests.fakes.tiktok import FakeTikTok

SECRETS = {"client_key": "awtiktokclientkey", "client_secret": "tiktok-client-secret-42",
           "refresh_token": "rft.first-refresh-token"}
RELEASE = """---
title: Rakor Agen Informasi Pemasyarakatan
at: 2099-09-24 10:00 WIB
hashtags: [Pemasyarakatan]
images: [{path: foto.jpg, alt: "Peserta rakor"}]
---
Humas Lapas mengikuti rapat koordinasi nasional di Jakarta.
"""


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    with FakeTikTok(**SECRETS) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def officer(request: pytest.FixtureRequest, fake: FakeTikTok,
            monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str]]:
    """``siar ARGS`` (the CLI tests' runner) in a workspace with one unaudited TikTok
    account aimed at the fake; the exit code and everything printed."""
    folder: Path = request.getfixturevalue("workspace")
    run_siar: Callable[..., Result] = request.getfixturevalue("siar")
    for field, value in SECRETS.items():
        monkeypatch.setenv(f"SIAR_SECRET_TIKTOK_LAPAS_{field.upper()}", value)
    options = ", ".join(["audited = false", "poll_interval = 0.01", "read_timeout = 5",
                         f'public_media_base_url = "{photo_url("media")}"'])
    (folder / "siar.toml").write_text(f"""
timezone = "Asia/Jakarta"
[[accounts]]
name = "tiktok-lapas"
network = "tiktok"
base_url = "{fake.url}"
options = {{ {options} }}
""", encoding="utf-8")
    (folder / "rilis.md").write_text(RELEASE, encoding="utf-8")
    Image.new("RGB", (1080, 1350), (30, 90, 160)).save(folder / "foto.jpg")

    def run(*args: str) -> tuple[int, str]:
        result = run_siar(*args)
        return result.code, result.out + result.err

    return run


def test_count_measures_tiktok_captions_in_utf16_units(officer):
    code, out = officer("count", "--json", "--channel", "tiktok", "Rakor 🎉")

    assert code == 0
    (row,) = json.loads(out)
    assert (row["channel"], row["length"], row["limit"], row["fits"]) == ("tiktok", 8, 2200,
                                                                          True)


def test_a_caption_longer_than_2200_is_shortened_to_fit(officer, tmp_path):
    long_body = "Humas Lapas mengikuti rapat koordinasi nasional. " * 80
    (tmp_path / "rilis.md").write_text(RELEASE + long_body, encoding="utf-8")

    code, out = officer("preview", "rilis.md", "--json")

    assert code == 0, out
    (variant,) = json.loads(out)["variants"]
    assert variant["length"][0] <= 2200 == variant["limit"]
    assert len("\n\n".join(variant["parts"]).encode("utf-16-le")) // 2 <= 2200


def test_preview_shows_the_account_and_warns_that_an_unaudited_app_posts_privately(
        officer, tmp_path):
    code, out = officer("preview", "rilis.md", "--json")
    terminal_code, terminal = officer("preview", "rilis.md", "--html", "kartu.html")

    assert code == terminal_code == 0, out + terminal
    (variant,) = json.loads(out)["variants"]
    assert variant["channel"] == "tiktok" and variant["privacy_level"] == "SELF_ONLY"
    assert any("SELF_ONLY" in warning for warning in variant["warnings"])
    assert "tiktok-lapas" in terminal and "SELF_ONLY" in terminal
    page = (tmp_path / "kartu.html").read_text(encoding="utf-8")
    assert "TikTok" in page and "SELF_ONLY" in page


def test_accounts_check_names_the_creator_says_unaudited_and_stores_the_rotated_token(
        officer, fake, tmp_path):
    code, out = officer("accounts", "check")

    assert code == 0, out
    assert "@lapaspangkalpinang" in out and "NOT audited" in out
    for secret in [*SECRETS.values(), fake.refresh_token]:
        assert secret not in out
    database = create_engine(f"sqlite:///{tmp_path / 'home' / 'siar.db'}")
    with database.connect() as connection:
        stored = connection.execute(text("SELECT refresh_token FROM channel_token "
                                         "WHERE account = 'tiktok-lapas'")).scalar_one()
    database.dispose()
    assert stored == fake.refresh_token  # the next daemon start refreshes with this one


def test_the_daemon_publishes_and_a_restarted_daemon_refreshes_with_the_stored_token(
        officer, fake):
    assert officer("add", "rilis.md", "--now")[0] == 0
    code, out = officer("daemon", "--until-drained", "--json")
    assert code == 0, out
    assert len(fake.posts) == 1 and fake.refreshes == 1
    body = fake.calls("POST", "/v2/post/publish/content/init/")[0].json()
    assert body["post_info"]["privacy_level"] == "SELF_ONLY"  # the unaudited account

    fake.expire_access_tokens()  # the next day: the seed in the environment is spent
    assert officer("add", "rilis.md", "--now")[0] == 0
    code, out = officer("daemon", "--until-drained", "--json")

    assert code == 0, out
    assert len(fake.posts) == 2 and fake.refreshes == 2
    code, history = officer("history", "--json")
    assert code == 0 and history.count("tiktok-lapas") >= 2
    for secret in [*SECRETS.values(), fake.refresh_token]:
        assert secret not in out + history


def test_a_dry_run_daemon_sends_nothing_to_tiktok(officer, fake):
    assert officer("add", "rilis.md", "--now")[0] == 0

    code, out = officer("daemon", "--dry-run", "--until-drained", "--json")

    assert code == 0, out
    assert fake.requests == []
