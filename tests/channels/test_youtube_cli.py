"""YouTube as officers meet it: ``siar count``, ``siar preview`` (terminal and HTML card),
``siar accounts check`` against the fake API with secrets from ``.env``, never shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.core.conftest import siar, workspace  # noqa: F401  (the CLI fixtures)
from tests.fakes.youtube import FakeYouTube

SECRETS = {"client_id": "1234-abcd.apps.googleusercontent.com",
           "client_secret": "GOCSPX-s3cr3t-client-value",
           "refresh_token": "1//0g-refresh-token-value-xyz"}


@pytest.fixture
def api() -> Iterator[FakeYouTube]:
    with FakeYouTube(**SECRETS) as fake:
        yield fake  # type: ignore[misc]


def with_youtube(workspace: Path, settings: str = "") -> None:  # noqa: F811
    config = workspace / "siar.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[[accounts]]\nname = '
                      '"youtube-lapas"\nnetwork = "youtube"\n' + settings, encoding="utf-8")


def test_count_measures_a_description_in_utf8_bytes(siar: Any) -> None:  # noqa: F811
    result = siar("count", "Rakor — agen informasi", "--json")

    rows = {row["channel"]: row for row in json.loads(result.out)}
    assert rows["youtube"] == {"channel": "youtube", "length": 24, "limit": 5000,
                               "fits": True}


def test_preview_shows_the_youtube_card_in_the_terminal_and_in_html(
        workspace: Path, siar: Any) -> None:  # noqa: F811
    with_youtube(workspace)

    shown = siar("preview", "rilis.md", "--channels", "youtube-lapas")
    page = siar("preview", "rilis.md", "--channels", "youtube-lapas", "--html", "kartu.html")

    assert shown.code == 0, shown.err
    assert "YouTube" in shown.out and "Humas Lapas mengikuti" in shown.out
    assert page.code == 0, page.err
    html = (workspace / "kartu.html").read_text(encoding="utf-8")
    assert "YouTube" in html and "#ff0000" in html


def test_accounts_check_names_the_channel_and_shows_no_secret(
        workspace: Path, siar: Any, api: FakeYouTube) -> None:  # noqa: F811
    with_youtube(workspace, f'base_url = "{api.url}"\n'
                            f'options = {{ token_url = "{api.url}/token" }}\n')
    (workspace / ".env").write_text("".join(
        f"SIAR_SECRET_YOUTUBE_LAPAS_{name.upper()}={value}\n"
        for name, value in SECRETS.items()), encoding="utf-8")
    (workspace / ".env").chmod(0o600)

    result = siar("accounts", "check", "youtube-lapas")

    assert result.code == 0, result.out + result.err
    assert "@lapaspangkalpinang" in result.out and "long uploads: allowed" in result.out
    for value in SECRETS.values():
        assert value not in result.out + result.err
    assert len(api.calls("POST", "/token")) == 1
