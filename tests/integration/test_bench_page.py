"""A smoke run of ``bench page`` at a tiny size: a real ``talkstream up`` with the scenario,
the page and the API GET timed in the same run, renders in headless Chromium, the page's
weight; no key is left under its prefix (never a timing assertion)."""

from __future__ import annotations

import math

from redis import Redis

from services.bench.page import bench_page
from tests.e2e.browser import browser_or_skip


def test_bench_page_reports_the_page_against_the_api_get_and_its_weight(
    redis_url: str, prefix: str
) -> None:
    browser_or_skip()
    lines: list[str] = []
    result = bench_page(loads=10, progress=lines.append, redis_url=redis_url, prefix=prefix)
    timed = [
        f"{n}_{p}_ms"
        for n in ("page_ttfb", "page_full", "api_ttfb", "api_full")
        for p in ("p50", "p99")
    ]
    timed += [f"{n}_{p}_ms" for n in ("render_ttfb", "render") for p in ("p50", "p99")]
    assert set(result) == {*timed, "html_kb", "assets_kb", "assets", "weight_kb"}
    assert all(math.isfinite(v) and v > 0 for v in result.values()), result
    assert result["page_full_p99_ms"] >= result["page_full_p50_ms"]
    assert result["render_p50_ms"] >= result["render_ttfb_p50_ms"]
    assert result["assets"] >= 3  # stylesheet and scripts
    assert result["weight_kb"] == result["html_kb"] + result["assets_kb"]
    assert result["html_kb"] > 5  # the scenario's page, not an error page
    assert any("10 loads each of /n/us-iraq-jscd" in line for line in lines)
    client = Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(match=f"{prefix}:*")) == []
    finally:
        client.close()
