"""``GET /v1/subscribe`` caps: subscribers beyond the per-key and per-process caps get 429
``too_many_subscribers`` until a place is freed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.integration.api.conftest import Served, served_api
from tests.integration.api.raw_sse import RawSubscriber


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("capped") / "home"
    with served_api(
        home, redis_url, workers=False, sse_max_per_key=3, sse_max_subscribers=5
    ) as served:
        yield served


async def _subscribe(served: Served, role: str) -> RawSubscriber:
    return await RawSubscriber.open(served.port, served.keys[role])


def test_subscribers_beyond_the_caps_get_429_too_many_subscribers(capped: Served) -> None:
    async def run() -> None:
        readers = [await _subscribe(capped, "reader") for _ in range(3)]
        auditors = [await _subscribe(capped, "auditor") for _ in range(2)]
        try:
            assert [s.status for s in readers + auditors] == [200] * 5
            over_key = await _subscribe(capped, "reader")
            assert over_key.status == 429
            assert over_key.error["code"] == "too_many_subscribers"
            assert over_key.error["details"] == {"limit": 3, "per": "key"}
            over_process = await _subscribe(capped, "admin")
            assert over_process.status == 429
            assert over_process.error["code"] == "too_many_subscribers"
            assert over_process.error["details"] == {"limit": 5, "per": "process"}
            readers.pop().close()
            deadline = time.monotonic() + 20
            while (again := await _subscribe(capped, "reader")).status != 200:
                assert time.monotonic() < deadline, "a freed place was never given back"
                await asyncio.sleep(0.1)
            readers.append(again)
        finally:
            for sub in readers + auditors:
                sub.close()

    asyncio.run(run())
