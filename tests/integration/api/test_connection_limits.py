"""Slow and excess clients on a served API: connections trickling their request head or
body are answered 408 and closed within the configured bound, a normal client is served
meanwhile, and connections beyond the cap are answered 503 ``too_many_connections``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.factories import opening_body
from tests.integration.api.conftest import Served, served_api
from tests.integration.api.raw_sse import closed_by_server

TRICKLERS = 50
BOUND = 1.0  # seconds for a request head, and for a body
MARGIN = 15.0  # generous: the machine is shared


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("guarded") / "home"
    with served_api(
        home,
        redis_url,
        workers=False,
        api_header_timeout=BOUND,
        api_body_timeout=BOUND,
        api_max_connections=TRICKLERS + 20,
    ) as served:
        yield served


async def _trickle(writer: asyncio.StreamWriter, start: bytes, drip: bytes) -> None:
    """Sends ``start``, then ``drip`` every 0.2 s until the server closes the connection."""
    writer.write(start)
    with contextlib.suppress(ConnectionError, OSError):
        while not writer.is_closing():
            await asyncio.sleep(0.2)
            writer.write(drip)
            await writer.drain()


async def _tricklers_closed(served: Served, start: bytes, drip: bytes) -> list[bytes]:
    """Opens the trickling connections, checks a normal client is served meanwhile, and
    returns what the server sent each one before closing it."""
    conns = [await asyncio.open_connection("127.0.0.1", served.port) for _ in range(TRICKLERS)]
    drips = [asyncio.create_task(_trickle(w, start, drip)) for _, w in conns]
    try:
        await asyncio.sleep(0.3)
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
            assert (await client.get("/healthz")).status_code == 200
        return list(await asyncio.gather(*(closed_by_server(r, BOUND + MARGIN) for r, _ in conns)))
    finally:
        for task in drips:
            task.cancel()
        for _, writer in conns:
            writer.close()


def _status_and_error(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)["error"]


def test_connections_trickling_their_request_head_are_answered_408_and_closed(
    guarded: Served,
) -> None:
    start = b"GET /healthz HTTP/1.1\r\nHost: test\r\n"
    answers = asyncio.run(_tricklers_closed(guarded, start, b"X-Slow: a\r\n"))
    assert len(answers) == TRICKLERS
    for answer in answers:
        status, error = _status_and_error(answer)
        assert status == 408 and error["code"] == "header_timeout"


def test_connections_trickling_a_body_are_answered_408_and_closed(guarded: Served) -> None:
    payload = json.dumps(opening_body()).encode()
    head = (
        "POST /v1/negotiations HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {guarded.keys['publisher']}\r\n"
        f"Content-Length: {len(payload) + 10_000}\r\n\r\n"
    )
    answers = asyncio.run(_tricklers_closed(guarded, head.encode() + payload[:1], b" "))
    for answer in answers:
        status, error = _status_and_error(answer)
        assert status == 408 and error["code"] == "body_timeout"
    assert guarded.ctx.app.max_position() == 0  # nothing was stored


def test_connections_beyond_the_cap_are_answered_503(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> None:
    home = tmp_path_factory.mktemp("capped") / "home"
    with served_api(home, redis_url, workers=False, api_max_connections=5) as served:

        async def run() -> None:
            idle = [await asyncio.open_connection("127.0.0.1", served.port) for _ in range(5)]
            try:
                async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
                    answer = await client.get("/healthz")
                assert answer.status_code == 503
                assert answer.json()["error"]["code"] == "too_many_connections"
            finally:
                for _, writer in idle:
                    writer.close()
            deadline = time.monotonic() + MARGIN
            async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
                while (await client.get("/healthz")).status_code != 200:
                    assert time.monotonic() < deadline, "freed connections were not given back"
                    await asyncio.sleep(0.1)

        asyncio.run(run())
