"""Headless Chromium through Selenium and Debian's chromedriver, for the tests that look at
pages the way a phone or a desktop browser does (installed by scripts/test-setup)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest


def start_chromium(profile: Path) -> Any:
    """A new headless Chromium with its own profile folder; the caller quits it."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    assert binary and driver_path, "Chromium or its driver is missing: run scripts/test-setup"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(driver_path))
