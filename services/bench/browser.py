"""Headless Chromium from the system's packages (``/usr/bin/chromium`` and
``/usr/bin/chromedriver``, or ``TALKSTREAM_CHROMIUM`` / ``TALKSTREAM_CHROMEDRIVER``), driven
by Selenium with a fresh profile and no background traffic; nothing is downloaded."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from services.bench.exceptions import BenchExtraMissing, BrowserMissing

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def browser_paths() -> tuple[Path, Path]:
    """Chromium and chromedriver, where the environment says or Debian puts them."""
    return (
        Path(os.environ.get("TALKSTREAM_CHROMIUM", "/usr/bin/chromium")),
        Path(os.environ.get("TALKSTREAM_CHROMEDRIVER", "/usr/bin/chromedriver")),
    )


def missing_browser() -> str | None:
    """What is missing to drive Chromium (None: nothing)."""
    missing = [str(p) for p in browser_paths() if not p.exists()]
    return ", ".join(missing) or None


def require_browser(command: str) -> None:
    """Fails before anything starts when Selenium or the browser is missing."""
    try:
        import selenium  # noqa: F401 (imported only to learn whether it is installed)
    except ImportError:
        raise BenchExtraMissing(command, "selenium") from None
    missing = missing_browser()
    if missing is not None:
        raise BrowserMissing(command, missing)


@contextmanager
def chromium(command: str, width: int = 1280, height: int = 1000) -> Iterator[Any]:
    """A Selenium driver on the system Chromium with a fresh profile, quit afterwards;
    ``command`` names who asks, for the error when something is missing."""
    require_browser(command)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = browser_paths()
    profile = tempfile.mkdtemp(prefix="talkstream-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(binary)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(driver_path)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
