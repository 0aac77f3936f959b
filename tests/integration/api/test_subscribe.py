"""``GET /v1/subscribe``: a change reaches a subscriber within a second of the write, a
reconnect with Last-Event-ID misses nothing, and an idle stream gets heartbeats."""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from tests.factories import NOTE, body, opening_body
from tests.integration.api.conftest import Served, bearer

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


def test_a_change_arrives_within_a_second_of_the_write(served: Served) -> None:
    nid = f"sse-{next(names)}"
    with subscription(served, nid) as frames:
        with served.client("publisher") as client:
            answer = client.post("/v1/negotiations", json={**opening_body(), "negotiation_id": nid})
        written_at = time.monotonic()
        assert answer.status_code == 201
        (first,) = changes(frames, 1, timeout=1.0)
    assert first.data is not None and first.data["negotiation_id"] == nid
    assert first.data["position"] == answer.json()["position"]
    assert first.at - written_at < 1.0


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
