"""``talkstream bench page``: the page of the bundled scenario (``/n/us-iraq-jscd``) on a real
``talkstream up``, against ``GET /v1/negotiations/us-iraq-jscd`` in the same run: time to
first byte and to the whole answer over keep-alive HTTP, loads interleaved so both meet the
same noise; the page's complete render in headless Chromium (its load event); and its
weight (the HTML and every asset it loads)."""

from __future__ import annotations

import http.client
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.bench.browser import chromium, require_browser
from services.bench.http import _server
from services.bench.target import bench_redis
from services.recorder.jsonl import parse_lines, scenario_lines
from services.runtime.bootstrap import build_application
from services.settings import Settings

Progress = Callable[[str], object]
SCENARIO_ID = "us-iraq-jscd"
PAGE = f"/n/{SCENARIO_ID}"
API = f"/v1/negotiations/{SCENARIO_ID}"
COOKIE = "talkstream_key"  # the page's session cookie (services/web/session.py)
ASSET = re.compile(rb'(?:href|src)="(/assets/[^"]+)"')
CATCH_UP_SECONDS = 60.0


def bench_page(
    *,
    loads: int,
    progress: Progress,
    redis_url: str | None = None,
    prefix: str | None = None,
) -> dict[str, float]:
    require_browser("bench page")
    with (
        tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp,
        bench_redis(Path(tmp), redis_url, prefix) as (url, pfx),
    ):
        home = Path(tmp) / "server"
        count = _record_scenario(home)
        with _server(home, url, pfx, progress, split=False) as (port, key):
            _wait_views(port, key, count)
            progress(f"{loads} loads each of {PAGE} and {API}, interleaved…")
            timings = _interleaved(port, key, loads)
            weight = _weight(port, key)
            progress(f"{loads} renders of {PAGE} in headless Chromium…")
            rendered = _rendered(port, key, loads)
    return {**timings, **weight, **rendered}


def _record_scenario(home: Path) -> int:
    drafts, _ = parse_lines(scenario_lines())
    app = build_application(Settings(home=home, store="sqlite"))
    try:
        app.record_many(drafts, principal="bench")
    finally:
        app.close()
    return len(drafts)


def _wait_views(port: int, key: str, position: int) -> None:
    """Until the live view has applied the scenario (the page reads that view)."""
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while time.monotonic() < deadline:
        status, _, _ = _get(_connection(port), f"{API}?min_position={position}", _bearer(key))
        if status == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the views did not reach position {position} in {CATCH_UP_SECONDS:.0f} s")


def _connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _cookie(key: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={key}"}


def _get(
    conn: http.client.HTTPConnection, path: str, headers: dict[str, str]
) -> tuple[int, float, bytes]:
    """Status, seconds to the first byte (status line and headers read) and the body."""
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    first = time.perf_counter() - started
    return response.status, first, response.read()


def _interleaved(port: int, key: str, loads: int) -> dict[str, float]:
    page_conn, api_conn = _connection(port), _connection(port)
    samples: dict[str, list[float]] = {n: [] for n in ("page_ttfb", "page_full", "api_ttfb")}
    samples["api_full"] = []
    try:
        for _ in range(loads):
            for name, conn, path, headers in (
                ("page", page_conn, PAGE, _cookie(key)),
                ("api", api_conn, API, _bearer(key)),
            ):
                started = time.perf_counter()
                status, first, _ = _get(conn, path, headers)
                if status != 200:
                    raise RuntimeError(f"GET {path} answered {status}")
                samples[f"{name}_ttfb"].append(first)
                samples[f"{name}_full"].append(time.perf_counter() - started)
    finally:
        page_conn.close()
        api_conn.close()
    out: dict[str, float] = {}
    for name, seconds in samples.items():
        out.update(_percentiles(name, seconds))
    return out


def _weight(port: int, key: str) -> dict[str, float]:
    """The page's bytes: its HTML and each asset it names (stylesheet, scripts, icon)."""
    conn = _connection(port)
    try:
        _, _, html = _get(conn, PAGE, _cookie(key))
        assets = sorted({m.decode() for m in ASSET.findall(html)})
        sizes = {path: len(_get(conn, path, {})[2]) for path in assets}
    finally:
        conn.close()
    return {
        "html_kb": len(html) / 1024,
        "assets_kb": sum(sizes.values()) / 1024,
        "assets": float(len(sizes)),
        "weight_kb": (len(html) + sum(sizes.values())) / 1024,
    }


NAVIGATION = "return performance.getEntriesByType('navigation')[0].toJSON();"


def _rendered(port: int, key: str, loads: int) -> dict[str, float]:
    """Per load, from the browser's navigation timing: first byte and the load event's end
    (the document, stylesheet and scripts all in)."""
    base = f"http://127.0.0.1:{port}"
    first: list[float] = []
    done: list[float] = []
    with chromium("bench page") as driver:
        driver.get(f"{base}/assets/page.css")
        driver.add_cookie({"name": COOKIE, "value": key, "path": "/", "httpOnly": True})
        for _ in range(loads):
            driver.get(base + PAGE)
            timing = _load_timing(driver)
            first.append((timing["responseStart"] - timing["startTime"]) / 1000)
            done.append((timing["loadEventEnd"] - timing["startTime"]) / 1000)
    return {**_percentiles("render_ttfb", first), **_percentiles("render", done)}


def _load_timing(driver: Any) -> dict[str, float]:
    deadline = time.monotonic() + 10
    while True:
        timing: dict[str, float] = driver.execute_script(NAVIGATION)
        if timing["loadEventEnd"] > 0 or time.monotonic() > deadline:
            return timing
        time.sleep(0.005)


def _percentiles(name: str, seconds: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {f"{name}_p50_ms": cuts[49] * 1000, f"{name}_p99_ms": cuts[98] * 1000}
