"""Siar Desk on a phone, in real headless Chromium (Debian's chromium and chromedriver via
Selenium): log in, see the calendar, open the release, approve it — then the daemon
publishes it. Every page fits 360 px without sideways scrolling; screenshots at 390×844
and 1280×800 are written for the developer to look at (their paths are printed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from scheduler import approval, queries
from scheduler.daemon.service import Daemon
from scheduler.states import Status
from scheduler.timeparse import utcnow
from scheduler.web import users
from scheduler.web.app import build
from tests.chromium import start_chromium
from tests.daemon.conftest import make_settings, release, variant
from tests.daemon.draining import run_until_drained
from tests.fakes.counting import CountingChannel, CountingNetwork
from tests.web.conftest import serving

pytestmark = pytest.mark.browser
SIZES = ((390, 844, True), (1280, 800, False))


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    browser = start_chromium(tmp_path / "profile")
    try:
        yield browser
    finally:
        browser.quit()


def screen(browser: Any, width: int, height: int, mobile: bool) -> None:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def fits(browser: Any) -> bool:
    """The page does not scroll sideways."""
    return bool(browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"))


def arrives(browser: Any, path: str) -> None:
    """Wait for the navigation a click began (a form's POST and its redirect) to end at
    ``path``: WebDriver's click returns before the next page is there."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(browser, 30).until(expected_conditions.url_contains(path))
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return document.readyState") == "complete")


def shoot(browser: Any, folder: Path, name: str) -> None:
    for width, height, mobile in SIZES:
        screen(browser, width, height, mobile)
        browser.refresh()
        path = folder / f"desk-{name}-{width}x{height}.png"
        browser.save_screenshot(str(path))
        print(f"screenshot: {path}")
    screen(browser, *SIZES[0])


def test_an_approver_approves_on_a_phone_and_the_daemon_then_publishes(
        engine: Engine, network: CountingNetwork, tokens: Callable, chromium: Any,
        tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    tokens(["akun-a"])
    settings = make_settings(str(engine.url), ["akun-a"], network.url)
    settings.approval = "required"
    users.add_user(engine, "kasubag", "penyetuju", "sandi-penyetuju-rahasia")
    queued, _posts = approval.enqueue(engine, settings, release("Rakor Agen Informasi"),
                                      [variant("akun-a")], utcnow(), zone=None, by="rina")
    browser = chromium
    with serving(build(settings, engine)) as url:
        screen(browser, *SIZES[0])
        browser.get(f"{url}/kalender")  # not logged in: the login page
        assert "/masuk" in browser.current_url
        shoot(browser, tmp_path, "login")
        browser.find_element(By.ID, "nama").send_keys("kasubag")
        browser.find_element(By.ID, "sandi").send_keys("sandi-penyetuju-rahasia")
        browser.find_element(By.ID, "masuk").click()

        arrives(browser, "/kalender")
        chip = browser.find_element(By.CSS_SELECTOR, f'a[href="/rilis/{queued.id}"]')
        assert "Rakor Agen Informasi" in chip.text and "akun-a" in chip.get_attribute("title")
        shoot(browser, tmp_path, "calendar")
        for width in (360, 390):
            screen(browser, width, 800, True)
            assert fits(browser), f"the calendar scrolls sideways at {width} px"
        screen(browser, *SIZES[0])
        browser.find_element(By.CSS_SELECTOR, f'a[href="/rilis/{queued.id}"]').click()

        arrives(browser, f"/rilis/{queued.id}")
        assert browser.find_elements(By.CSS_SELECTOR, "section.card")  # the preview cards
        shoot(browser, tmp_path, "release")
        screen(browser, 360, 800, True)
        assert fits(browser), "the release page scrolls sideways at 360 px"
        browser.find_element(By.ID, "komentar").send_keys("Silakan tayang")
        browser.find_element(By.ID, "setujui").click()
        arrives(browser, f"/rilis/{queued.id}?ok=setujui")
        browser.get(f"{url}/status")
        assert fits(browser), "the status page scrolls sideways at 360 px"
        shoot(browser, tmp_path, "status")

    _release, [post] = queries.release_with_posts(engine, queued.id)  # type: ignore[arg-type]
    assert post.status == Status.SCHEDULED
    run_until_drained(Daemon(settings, engine=engine,
                             channel_classes={"counting": CountingChannel}))
    _release, [post] = queries.release_with_posts(engine, queued.id)  # type: ignore[arg-type]
    assert post.status == Status.PUBLISHED and network.total() == 1
