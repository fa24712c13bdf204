"""Website first: `link: website` makes a release's other posts wait for its website post
and go out with that post's real address; they never go out without it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from scheduler.models import Alert
from tests.core.conftest import WORDPRESS_PASSWORD as PASSWORD
from tests.fakes.wordpress import WordPressFake

RELEASE = """---
title: Lapas Gelar Pembinaan Kemandirian
at: {at}
channels: [web-lapas, console]
link: {link}
---
Warga binaan mengikuti pelatihan menjahit di aula.
"""


@pytest.fixture
def website(wordpress: WordPressFake, workspace: Path) -> WordPressFake:
    """The unit's WordPress site, with the account's application password in .env."""
    (workspace / ".env").write_text("SIAR_SECRET_WEB_LAPAS_USERNAME=humas\n"
                                    f"SIAR_SECRET_WEB_LAPAS_APP_PASSWORD={PASSWORD}\n")
    (workspace / ".env").chmod(0o600)
    return wordpress


def _release(workspace: Path, *, link: str = "website", at: str = "now") -> str:
    (workspace / "situs.md").write_text(RELEASE.format(at=at, link=link), encoding="utf-8")
    return "situs.md"


def _posts(siar, release: int = 1) -> dict[str, dict]:
    return {p["account"]: p for p in json.loads(siar("show", str(release), "--json").out)["posts"]}


@pytest.mark.parametrize("run", ["--until-drained", "--once"])
def test_the_other_posts_wait_and_go_out_with_the_website_posts_address(
        workspace: Path, siar, website: WordPressFake, database, run: str) -> None:
    assert siar("add", _release(workspace)).code == 0
    queued = _posts(siar)
    assert queued["web-lapas"]["status"] == "scheduled"
    assert queued["console"]["status"] == "waiting"
    assert queued["console"]["link_from"] == "web-lapas"

    ran = siar("daemon", run, "--json")
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["published"] == 2

    [page] = website.posts
    address = website.post_link(page)
    done = _posts(siar)
    assert done["web-lapas"]["remote_url"] == address
    assert done["console"]["status"] == "published"
    assert address in "".join(done["console"]["variant"]["parts"])
    assert "link_arrived" in [entry["outcome"] for entry in done["console"]["log"]]


def test_preview_fits_the_others_with_the_expected_address_and_says_they_wait(
        workspace: Path, siar, website: WordPressFake) -> None:
    result = siar("preview", _release(workspace, at="2099-09-24 10:00 WIB"), "--json")
    assert result.code == 0, result.err
    variants = {v["account"]: v for v in json.loads(result.out)["variants"]}
    expected = f"{website.url}/2099/09/24/lapas-gelar-pembinaan-kemandirian/"
    assert expected in "".join(variants["console"]["parts"])
    assert any("waits for web-lapas" in w for w in variants["console"]["warnings"])
    assert not any("waits for" in w for w in variants["web-lapas"]["warnings"])


def test_a_website_post_that_cannot_go_out_keeps_the_others_waiting_and_alerts_staff(
        workspace: Path, siar, website: WordPressFake, database) -> None:
    (workspace / ".env").write_text("SIAR_SECRET_WEB_LAPAS_USERNAME=humas\n"
                                    "SIAR_SECRET_WEB_LAPAS_APP_PASSWORD=sandi salah\n")
    assert siar("add", _release(workspace)).code == 0
    assert siar("daemon", "--until-drained").code == 0
    posts = _posts(siar)
    assert posts["web-lapas"]["status"] == "paused"  # the password was refused
    assert posts["console"]["status"] == "waiting"  # never without its link
    url = os.environ.get("SIAR_DATABASE_URL") or f"sqlite:///{workspace / 'home' / 'siar.db'}"
    engine = create_engine(url)
    with engine.connect() as connection:
        alerts = connection.execute(select(Alert.kind, Alert.subject)).all()
    engine.dispose()
    assert any(kind == "website" and "1 post(s) of release 1 wait" in subject
               for kind, subject in alerts)


def test_a_waiting_post_can_be_cancelled(workspace: Path, siar,
                                         website: WordPressFake) -> None:
    assert siar("add", _release(workspace, at="2099-09-24 10:00 WIB")).code == 0
    assert siar("cancel", "1/console").code == 0
    assert _posts(siar)["console"]["status"] == "cancelled"


@pytest.mark.parametrize(("link", "says"), [
    ("tidak-ada", "'tidak-ada' is not one of the release's accounts"),
    ("console", "console"),
])
def test_a_link_to_an_unknown_or_lone_account_is_refused(workspace: Path, siar,
                                                         website: WordPressFake, link: str,
                                                         says: str) -> None:
    if link == "console":  # the only account of the release: nothing would wait for it
        (workspace / "situs.md").write_text(RELEASE.format(at="now", link=link).replace(
            "[web-lapas, console]", "[console]"), encoding="utf-8")
    else:
        _release(workspace, link=link)
    result = siar("add", "situs.md")
    message = " ".join(result.err.split())
    assert result.code == 1 and "situs.md: link" in message and says in message


def test_website_needs_exactly_one_wordpress_account(workspace: Path, siar) -> None:
    (workspace / "situs.md").write_text(RELEASE.format(at="now", link="website").replace(
        "[web-lapas, console]", "[console, x-lapas]"), encoding="utf-8")
    result = siar("add", "situs.md")
    message = " ".join(result.err.split())
    assert result.code == 1 and "exactly one WordPress account" in message
