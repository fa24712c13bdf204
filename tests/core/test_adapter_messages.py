"""What the networks' adapters tell staff comes out in the officer's language: Indonesian
when SIAR_LANG is unset (or ``id``), English with ``SIAR_LANG=en``. The text is made when the
adapter meets the problem (a refused credential, a network that says "wait"), so these run
the real adapters against the fake servers and read what ``siar`` prints."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.fakes.mastodon import FakeMastodon


def speak(monkeypatch: pytest.MonkeyPatch, lang: str | None) -> None:
    """The interface language for what runs next (None: SIAR_LANG unset, the default)."""
    if lang is None:
        monkeypatch.delenv("SIAR_LANG", raising=False)
    else:
        monkeypatch.setenv("SIAR_LANG", lang)


@pytest.mark.parametrize(("lang", "says", "fix"), [
    (None, "application password pengguna 'humas' salah atau sudah dicabut",
     "buat di Users → Profile → Application Passwords lalu isikan ke"),
    ("id", "application password pengguna 'humas' salah atau sudah dicabut",
     "buat di Users → Profile → Application Passwords lalu isikan ke"),
    ("en", "the application password of user 'humas' is wrong or was revoked",
     "create one under Users → Profile → Application Passwords and set"),
])
def test_a_refused_credential_is_explained_in_the_officers_language(
        wordpress, workspace: Path, siar, monkeypatch: pytest.MonkeyPatch,
        lang: str | None, says: str, fix: str) -> None:
    (workspace / ".env").write_text("SIAR_SECRET_WEB_LAPAS_USERNAME=humas\n"
                                    "SIAR_SECRET_WEB_LAPAS_APP_PASSWORD=sandi lama\n")
    speak(monkeypatch, lang)
    result = siar("accounts", "check", "web-lapas")
    assert result.code == 1 and "Traceback" not in result.err
    output = " ".join((result.out + result.err).split())
    assert says in output and fix in output, output
    # the fix names the exact variable to set, and the secret itself is never shown
    assert "SIAR_SECRET_WEB_LAPAS_APP_PASSWORD" in output and "sandi lama" not in output


@pytest.mark.parametrize(("lang", "says"), [
    (None, ["jaringan meminta menunggu", "melewati masa tenggang",
            "jadi tidak dikirim terlambat", "status bagian 1: HTTP 429"]),
    ("en", ["the network asked to wait", "beyond the grace period",
            "so it is not sent late", "status part 1: HTTP 429"]),
])
def test_a_rate_limit_beyond_the_grace_period_is_explained_in_the_officers_language(
        workspace: Path, siar, mastodon: FakeMastodon, monkeypatch: pytest.MonkeyPatch,
        lang: str | None, says: list[str]) -> None:
    added = siar("add", "rilis.md", "--now", "--channels", "mastodon-lapas", "--json")
    assert added.code == 0, added.err
    release = json.loads(added.out)["release"]
    mastodon.rate_limit(timedelta(hours=6))  # the next request: 429, reset in 6 h
    speak(monkeypatch, lang)
    assert siar("daemon", "--until-drained").code == 0

    [post] = json.loads(siar("show", str(release), "--json").out)["posts"]
    assert post["status"] == "missed"  # --json keeps the stored status for scripts
    shown = " ".join(siar("show", str(release)).out.split())
    assert all(text in shown for text in says), shown
