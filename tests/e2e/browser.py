"""Headless Chromium from the system's packages, driven by Selenium
(``services.bench.browser``): no browser is downloaded at test time. Tests skip when Chromium
is missing, except with TALKSTREAM_REQUIRE_BROWSER=1 (.ci/run sets it): then they fail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from services.bench.browser import chromium as launch
from services.bench.browser import missing_browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
REQUIRE_BROWSER = os.environ.get("TALKSTREAM_REQUIRE_BROWSER", "") not in ("", "0")


def browser_or_skip() -> None:
    missing = missing_browser()
    if missing is None:
        return
    message = f"no browser: {missing} missing (apt-get install chromium chromium-driver)"
    if REQUIRE_BROWSER:
        pytest.fail(f"TALKSTREAM_REQUIRE_BROWSER is set but {message}")
    pytest.skip(message)


@contextmanager
def chromium(width: int = 1280, height: int = 1000) -> Iterator[Any]:
    """A Selenium driver on the system Chromium with a fresh profile (the bench's launcher)."""
    browser_or_skip()
    with launch("browser tests", width, height) as driver:
        yield driver


def screenshot(driver: Any, path: Path) -> Path:
    """The whole page (beyond the viewport) as PNG."""
    import base64

    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.stat().st_size > 1000, f"empty screenshot {path}"
    return path


def phone(driver: Any, width: int = 375, height: int = 812) -> None:
    """Emulates a phone-sized viewport (CSS pixels)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
    )


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the current page; axe-core (tests/e2e/vendor) is injected
    from disk, so the check fetches nothing."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document).then(function (r) { done(r); },"
        " function (e) { done({error: String(e)}); });"
    )
    assert "error" not in result, result
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def loaded_urls(driver: Any) -> list[str]:
    """Every URL the page fetched: the document and its resources."""
    urls: list[str] = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat("
        "performance.getEntriesByType('resource')).map(function (e) { return e.name; });"
    )
    return urls
