"""Headless Chromium for the HTML preview tests (Debian's chromium and chromium-driver,
installed by scripts/test-setup)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest


def headless_chromium(profile: Path) -> Any:
    """A WebDriver for headless Chromium with its profile in ``profile``; the test is
    skipped without selenium, and fails (saying what to run) without the browser."""
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    assert chromium and driver_path, "Chromium or its driver is missing: run scripts/test-setup"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-first-run",
                     f"--user-data-dir={profile}"):
        options.add_argument(argument)
    from selenium.webdriver.chrome.service import Service

    return webdriver.Chrome(options=options, service=Service(driver_path))
