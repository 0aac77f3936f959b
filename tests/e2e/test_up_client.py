"""The reading client against a running ``talkstream up``: views now and as of a past date,
the negotiation's events as RecordedEvents whose hashes hold, the audit history page by page,
the asyncio twin answering the same, and ``subscribe()`` that resumes after ``up`` is stopped
and started again, missing and repeating no change."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from services.client import AsyncClient, Change, Client, ReadFailed
from services.recorder.jsonl import scenario_lines
from tests.e2e.helpers import SCENARIO_ID, TALKSTREAM, Runner, Served, _wait_healthy, ok
from tests.ports import free_port
from tests.processes import stop_process

EVENTS = len(scenario_lines())


@contextmanager
def up_on(cli: Runner, port: int) -> Iterator[Served]:
    """``talkstream up`` on ``port`` (so a client can find it again after a restart)."""
    logs = cli.base / f"up-{time.monotonic_ns()}"
    logs.mkdir()
    with (logs / "stdout").open("w") as out, (logs / "stderr").open("w") as err:
        process = subprocess.Popen(
            [str(TALKSTREAM), "up", "--port", str(port)],
            cwd=cli.base,
            env=cli.environment(),
            text=True,
            stdout=out,
            stderr=err,
        )
    served = Served(process, port, logs)
    try:
        _wait_healthy(served)
        yield served
    finally:
        stop_process(process)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    return Runner(tmp_path_factory.mktemp("client"))


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def keys(cli: Runner, port: int) -> dict[str, str]:
    """Keys, and the scenario recorded over HTTP through a first ``up``."""
    made = {
        role: ok(cli("keys", "create", "--role", role, "--name", f"client-{role}")).stdout.strip()
        for role in ("publisher", "reader", "auditor")
    }
    with up_on(cli, port) as up:
        import httpx

        with httpx.Client(
            base_url=up.url, headers={"Authorization": f"Bearer {made['publisher']}"}
        ) as c:
            for i, line in enumerate(scenario_lines()):
                path = "/v1/negotiations" if i == 0 else f"/v1/negotiations/{SCENARIO_ID}/events"
                assert c.post(path, json=json.loads(line)).status_code == 201
    return made


def test_views_events_and_the_audit_history_read_back_typed(
    cli: Runner, port: int, keys: dict[str, str]
) -> None:
    with up_on(cli, port) as up, Client(up.url, key=keys["reader"]) as client:
        now = client.view(SCENARIO_ID, min_position=EVENTS)
        early = client.view(SCENARIO_ID, "timeline", as_of="2024-06")
        events = client.events(SCENARIO_ID)
        before = client.events(SCENARIO_ID, as_of="2024-06")
        with pytest.raises(ReadFailed) as missing:
            client.view("no-such-talks")
        with Client(up.url, key=keys["auditor"]) as auditor:
            history = list(auditor.audit_events(limit=4))
        with pytest.raises(ReadFailed) as forbidden:
            client.audit_page()
    assert (now.source, now.position, now.view["status"]) == ("live", EVENTS, "implementation")
    assert early.source == "store" and 0 < len(early.view) < EVENTS
    assert len(events) == EVENTS and all(e.hash_ok() for e in events)
    assert [e.position for e in events] == list(range(1, EVENTS + 1))
    assert events[0].type == "NegotiationOpened"
    assert len(before) == len(early.view)
    assert (missing.value.status, missing.value.code) == (404, "negotiation_not_found")
    assert [e.event_id for e in history] == [e.event_id for e in events]
    assert all(e.hash_ok() for e in history)
    assert forbidden.value.status == 403


def test_the_async_client_answers_the_same(cli: Runner, port: int, keys: dict[str, str]) -> None:
    async def read(url: str) -> tuple[object, list[str], list[int]]:
        async with AsyncClient(url, key=keys["reader"]) as client:
            view = await client.view(SCENARIO_ID, "positions")
            events = await client.events(SCENARIO_ID)
        async with AsyncClient(url, key=keys["auditor"]) as auditor:
            positions = [e.position async for e in auditor.audit_events(limit=5)]
        return view.view, [e.event_id for e in events], positions

    with up_on(cli, port) as up, Client(up.url, key=keys["reader"]) as sync:
        view, ids, positions = asyncio.run(read(up.url))
        assert view == sync.view(SCENARIO_ID, "positions").view
        assert ids == [e.event_id for e in sync.events(SCENARIO_ID)]
    assert positions == list(range(1, EVENTS + 1))


def test_subscribe_resumes_after_the_server_restarts(
    cli: Runner, port: int, keys: dict[str, str]
) -> None:
    got: queue.Queue[Change] = queue.Queue()
    url = f"http://127.0.0.1:{port}"
    note = {
        "type": "ContextNoted",
        "occurred_at": "2024-10",
        "verification": "reported",
        "sources": [{"outlet": "Wire", "kind": "wire"}],
        "payload": {"topic": "Troops", "text": "A note."},
    }

    done = threading.Event()

    def follow() -> None:
        """Follows until the test is done; the server is gone then, and the client gives up."""
        try:
            with Client(url, key=keys["reader"]) as client:
                for change in client.subscribe(
                    SCENARIO_ID, "negotiation", reconnect=0.2, give_up_after=30
                ):
                    got.put(change)
        except ReadFailed:
            if not done.is_set():
                raise

    def write(up: Served) -> int:
        import httpx

        headers = {"Authorization": f"Bearer {keys['publisher']}"}
        with httpx.Client(base_url=up.url, headers=headers) as c:
            answer = c.post(f"/v1/negotiations/{SCENARIO_ID}/events", json=note)
        assert answer.status_code == 201, answer.text
        return int(answer.json()["position"])

    def until(position: int) -> list[Change]:
        seen = []
        deadline = time.monotonic() + 60
        while not seen or seen[-1].position < position:
            seen.append(got.get(timeout=max(0.1, deadline - time.monotonic())))
        return seen

    with up_on(cli, port) as up:
        threading.Thread(target=follow, daemon=True).start()
        time.sleep(1)  # subscribed
        first = until(write(up))
    # while the server is down (the connection dropped), an event is recorded from the CLI:
    # its change is made when `up` is back, maybe before the client reconnects
    offline = {k: v for k, v in note.items() if k != "type"}
    missed = ok(
        cli("record", "ContextNoted", "-n", SCENARIO_ID, "--json", "-", input=json.dumps(offline))
    )
    missed_position = json.loads(missed.stdout)["position"]
    with up_on(cli, port) as up:  # the client comes back on its own, after its last change
        second = until(missed_position)
        second += until(write(up))
    done.set()
    ids = [c.id for c in first + second]
    assert len(ids) == len(set(ids)) and ids == sorted(
        ids, key=lambda i: tuple(map(int, i.split("-")))
    )
    assert second[-1].position > missed_position > first[-1].position
    assert missed_position in {c.position for c in second}
    assert {c.negotiation_id for c in first + second} == {SCENARIO_ID}
