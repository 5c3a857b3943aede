"""Headless Chromium from Debian's packages for browser tests (no downloaded browsers)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--window-size=1400,1000",
]


def require_chromium() -> None:
    """Skip outside CI when Chromium is missing; in CI the browser tests must run."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(
            "CI must run the browser tests: install Debian's chromium and chromium-driver "
            "(apt-get install -y chromium chromium-driver)", pytrace=False)
    pytest.skip(
        "headless Chromium is not installed (/usr/bin/chromium, /usr/bin/chromedriver); "
        "run `apt-get install -y chromium chromium-driver`", allow_module_level=True)


def make_driver(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    # Never let Selenium Manager look for drivers or browsers on the network.
    os.environ.setdefault("SE_OFFLINE", "true")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    return driver
