"""``GET /v1/subscribe``: a change reaches a subscriber within a second of the write, a
reconnect with Last-Event-ID misses nothing, an idle stream gets heartbeats, hundreds of
subscribers share one Redis reader, and a client that leaves is a normal end."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from tests.factories import NOTE, body, opening_body
from tests.integration.api.conftest import Served, bearer
from tests.integration.api.raw_sse import RawSubscriber

names = itertools.count()


@dataclass
class Frame:
    id: str | None
    event: str | None
    data: dict[str, object] | None
    comment: str | None
    at: float


@contextmanager
def subscription(
    served: Served, negotiation: str, last_event_id: str | None = None
) -> Iterator[queue.Queue[Frame]]:
    """Frames of the stream, parsed in a background thread, in arrival order."""
    frames: queue.Queue[Frame] = queue.Queue()
    headers = bearer(served.keys["reader"])
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    client = httpx.Client(base_url=served.url, timeout=httpx.Timeout(10, read=30))
    stop = threading.Event()
    opened = threading.Event()

    def read() -> None:
        try:
            follow()
        except httpx.HTTPError:
            if not stop.is_set():
                raise

    def follow() -> None:
        with client.stream(
            "GET", "/v1/subscribe", params={"negotiation": negotiation}, headers=headers
        ) as response:
            assert response.status_code == 200
            opened.set()
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if stop.is_set():
                    return  # closes the response: the server sees the client leave
                if line.startswith(":"):
                    frames.put(Frame(None, None, None, line[1:].strip(), time.monotonic()))
                elif line == "":
                    if "event" in fields:
                        data = json.loads(fields["data"])
                        frame = Frame(
                            fields.get("id"), fields["event"], data, None, time.monotonic()
                        )
                        frames.put(frame)
                    fields = {}
                else:
                    name, _, value = line.partition(": ")
                    fields[name] = value

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    assert opened.wait(10), "the subscription did not open"
    try:
        yield frames
    finally:
        stop.set()
        client.close()
        thread.join(timeout=5)


def changes(frames: queue.Queue[Frame], count: int, timeout: float = 10) -> list[Frame]:
    got: list[Frame] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        frame = frames.get(timeout=max(0.01, deadline - time.monotonic()))
        if frame.event == "change":
            got.append(frame)
    return got


def open_talks(served: Served) -> str:
    nid = f"sse-{next(names)}"
    with served.client("publisher") as client:
        assert (
            client.post(
                "/v1/negotiations", json={**opening_body(), "negotiation_id": nid}
            ).status_code
            == 201
        )
    return nid


def test_a_change_reaches_the_subscriber_with_the_written_position(served: Served) -> None:
    nid = f"sse-{next(names)}"
    with subscription(served, nid) as frames:
        with served.client("publisher") as client:
            answer = client.post("/v1/negotiations", json={**opening_body(), "negotiation_id": nid})
        assert answer.status_code == 201
        (first,) = changes(frames, 1, timeout=30.0)
    assert first.data is not None and first.data["negotiation_id"] == nid
    assert first.data["position"] == answer.json()["position"]


def test_a_reconnect_with_last_event_id_misses_no_change(served: Served) -> None:
    nid = open_talks(served)
    with subscription(served, nid, last_event_id="0-0") as frames:
        first = changes(frames, 1)[0]
    with served.client("publisher") as client:
        for n in range(3):
            note = body("ContextNoted", {**NOTE, "topic": f"note {n}"}, nid=nid)
            assert client.post(f"/v1/negotiations/{nid}/events", json=note).status_code == 201
    with served.client("reader") as client:  # every view has applied the last write
        last = served.ctx.app.max_position()
        for path in ("", "/timeline"):
            client.get(f"/v1/negotiations/{nid}{path}", params={"min_position": last})
    expected = [
        entry_id.decode()
        for entry_id, fields in served.ctx.redis.xrange(
            served.ctx.streams.changes, min=f"({first.id}"
        )
        if fields[b"negotiation_id"] == nid.encode()
    ]
    assert len(expected) >= 3
    with subscription(served, nid, last_event_id=first.id) as frames:
        resumed = changes(frames, len(expected))
    assert [f.id for f in resumed] == expected


def test_an_idle_stream_gets_heartbeats(served: Served) -> None:
    with subscription(served, "nobody-writes-here") as frames:
        deadline = time.monotonic() + 5
        comments = []
        while len(comments) < 2 and time.monotonic() < deadline:
            frame = frames.get(timeout=5)
            if frame.comment == "heartbeat":
                comments.append(frame)
    assert len(comments) == 2


def test_a_malformed_last_event_id_is_422(served: Served) -> None:
    with served.client("reader") as client:
        answer = client.get("/v1/subscribe", headers={"Last-Event-ID": "yesterday"})
    assert answer.status_code == 422
    assert "Last-Event-ID" in answer.json()["error"]["message"]


def _open(served: Served, nid: str) -> dict[str, object]:
    with served.client("publisher") as client:
        answer = client.post("/v1/negotiations", json={**opening_body(), "negotiation_id": nid})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_150_subscribers_at_once_all_receive_a_change(served: Served) -> None:
    nid = f"sse-{next(names)}"

    async def run() -> tuple[dict[str, object], list[object]]:
        subs = await asyncio.gather(
            *(
                RawSubscriber.open(served.port, served.keys["reader"], query=f"?negotiation={nid}")
                for _ in range(150)
            )
        )
        try:
            refused = [(s.status, s.body[:200]) for s in subs if s.status != 200]
            assert refused == [], f"{len(refused)} of 150 refused, e.g. {refused[:1]}"
            await asyncio.gather(*(s.frame() for s in subs))  # the opening comment
            written = await asyncio.to_thread(_open, served, nid)
            arrived = await asyncio.gather(*(s.change(timeout=30) for s in subs))
        finally:
            for s in subs:
                s.close()
        return written, [f.data for f in arrived]

    written, arrived = asyncio.run(run())
    assert len(arrived) == 150
    for data in arrived:
        assert isinstance(data, dict)
        assert data["negotiation_id"] == nid and data["position"] == written["position"]


def test_a_last_event_id_beyond_the_end_of_the_stream_is_422(served: Served) -> None:
    _open(served, f"sse-{next(names)}")
    top = served.ctx.redis.xrevrange(served.ctx.streams.changes, count=1)
    millis = int(top[0][0].split(b"-")[0]) if top else 0
    ahead = f"{millis + 86_400_000}-0"

    async def subscribe() -> RawSubscriber:
        sub = await RawSubscriber.open(served.port, served.keys["reader"], last_event_id=ahead)
        sub.close()
        return sub

    answer = asyncio.run(subscribe())
    assert answer.status == 422
    assert answer.error["code"] == "last_event_id_beyond_end"
    assert "Last-Event-ID" in answer.error["message"] and ahead in answer.error["message"]


def _subscribers_now(served: Served) -> float:
    with served.client(None) as client:
        text = client.get("/metrics").text
    for line in text.splitlines():
        if line.startswith("talkstream_sse_subscribers "):
            return float(line.split()[1])
    raise AssertionError("/metrics has no talkstream_sse_subscribers")


def test_subscribers_that_disconnect_leave_no_error_in_the_log(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """Clients leave (FIN and RST) while changes stream to them: a normal end, no ERROR, no
    traceback, no warning per write to a dead socket."""
    caplog.set_level(logging.INFO)
    before = _subscribers_now(served)
    nid = open_talks(served)
    notes = [body("ContextNoted", {**NOTE, "topic": f"n{n}"}, nid=nid) for n in range(200)]

    async def run() -> None:
        subs = [
            await RawSubscriber.open(
                served.port, served.keys["reader"], query=f"?negotiation={nid}"
            )
            for _ in range(20)
        ]
        assert {s.status for s in subs} == {200}
        await asyncio.gather(*(s.frame() for s in subs))
        with served.client("publisher") as client:
            writing = asyncio.create_task(
                asyncio.to_thread(client.post, "/v1/events:batch", json={"events": notes})
            )
            await asyncio.gather(*(s.change(timeout=30) for s in subs))
            for n, sub in enumerate(subs):
                sub.close(reset=n % 2 == 0)
                await asyncio.sleep(0.01)
            assert (await writing).status_code == 200

    asyncio.run(run())
    with served.client("reader") as client:  # every view has applied the last write
        last = served.ctx.app.max_position()
        for path in ("", "/timeline"):
            client.get(f"/v1/negotiations/{nid}{path}", params={"min_position": last})
    time.sleep(2)  # the server notices every disconnect (heartbeats every 0.5 s)
    bad = [
        f"{r.name} {r.levelname} {r.getMessage()[:120]}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info or r.name == "asyncio"
    ]
    assert bad == []
    deadline = time.monotonic() + 20
    while _subscribers_now(served) != before:
        assert time.monotonic() < deadline, "the server still counts the departed subscribers"
        time.sleep(0.1)
