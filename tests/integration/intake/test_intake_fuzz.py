"""Fuzzing the intake stream with hostile entries (tests/hostile_json.py and odd raw fields),
on the real FastStream intake, running in this process against the test Redis and a real
SQLite store holding the bundled scenario.

Every entry must be answered (recorded, or refused with a code and dead-lettered) without
waiting for a claim, none left pending; the store must move by exactly the new events
answered as recorded, a surely invalid event never among them; no traceback logged."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from redis import Redis

from services.intake.app import build_intake
from services.intake.entries import reply_stream
from services.recorder.application import Negotiations
from services.settings import Settings
from services.wire.streams import Streams
from tests.factories import scenario
from tests.hostile_json import Tracebacks, hostile_events, scenario_events
from tests.integration.intake.support import pending, read_stream
from tests.unit.intake.entry_cases import Fields
from tests.waiting import wait_for

EXAMPLES = 100
MAX_BYTES = 65_536
# Far above the time an example waits: every answer comes from a first delivery.
CLAIM_IDLE_MS = 600_000
WAIT_SECONDS = 20


@dataclass(frozen=True)
class Sent:
    fields: Fields
    surely_invalid: bool
    why: str


@contextmanager
def intake_running(settings: Settings, app: Negotiations) -> Iterator[None]:
    """The real intake on its own event loop in a thread, until the block ends."""
    started = threading.Event()
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def main() -> None:
        faststream_app, _ = build_intake(settings, app, settings.redis_url or "")
        running.append((asyncio.get_running_loop(), asyncio.Event()))
        async with faststream_app:
            started.set()
            await running[0][1].wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(30), "the intake did not start"
    try:
        yield
    finally:
        loop, stop = running[0]
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        assert not thread.is_alive(), "the intake did not stop"


def entries(prefix: str) -> st.SearchStrategy[Sent]:
    """One intake entry: a hostile event, raw bytes or none, with odd companion fields."""
    events = hostile_events(scenario_events())
    event = st.one_of(
        events.map(lambda c: (c.text.encode(), c.surely_invalid, c.why)),
        events.map(lambda c: (c.text.encode(), c.surely_invalid, c.why)),
        st.binary(max_size=64).map(lambda b: (b, True, "raw bytes")),
        st.just((b"x" * (MAX_BYTES + 1), True, "oversize")),
        st.just((None, True, "no event field")),
    )
    reply_to = st.sampled_from(
        [
            None,
            None,
            None,
            f"{prefix}:intake:reply:fuzz".encode(),
            f"{prefix}:events".encode(),
            b"\xff",
        ]
    )
    key = st.none() | st.none() | st.text(max_size=20) | st.sampled_from(["", "k" * 300])
    extra = st.none() | st.tuples(st.text(min_size=1, max_size=8), st.binary(max_size=20))

    @st.composite
    def one(draw: st.DrawFn) -> Sent:
        (raw, invalid, why), to, idem, more = draw(event), draw(reply_to), draw(key), draw(extra)
        fields: Fields = {} if raw is None else {"event": raw}
        if to is not None:
            fields["reply_to"] = to
        if idem is not None:
            fields["idempotency_key"] = idem.encode("utf-8", "surrogatepass")
        if more is not None and more[0] not in fields:
            fields[more[0]] = more[1]
        return Sent(fields or {"note": b"no event"}, invalid, why)  # XADD needs a field

    return one()


@pytest.fixture
def intake_settings(redis_settings: Settings) -> Settings:
    return redis_settings.model_copy(
        update={"intake_claim_idle_ms": CLAIM_IDLE_MS, "intake_max_bytes": MAX_BYTES}
    )


def test_hostile_entries_are_each_answered_at_once_and_stored_only_when_recorded(
    intake_settings: Settings, redis: Redis, app: Negotiations
) -> None:
    streams = Streams(intake_settings.prefix)
    app.record_many(scenario(), principal="seed")
    tracebacks = Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    try:
        with intake_running(intake_settings, app):
            run_examples(intake_settings, streams, redis, app, tracebacks)
    finally:
        logging.getLogger().removeHandler(tracebacks)


def run_examples(
    config: Settings, streams: Streams, redis: Redis, app: Negotiations, tracebacks: Tracebacks
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate],  # a failing example waits: report, not shrink
    )
    @given(batch=st.lists(entries(config.prefix), min_size=1, max_size=8))
    def check(batch: list[Sent]) -> None:
        logged = len(tracebacks.records)
        before = app.max_position()
        dead_before = redis.xlen(streams.intake_dead)
        pipe = redis.pipeline(transaction=False)
        for sent in batch:
            pipe.xadd(streams.intake, dict(sent.fields))
        ids = [i.decode() for i in pipe.execute()]
        where = {
            i: reply_stream(s.fields, streams.intake_results, config.prefix)
            for i, s in zip(ids, batch, strict=True)
        }
        answers = wait_for_answers(redis, where)

        tracebacks.assert_none(since=logged)
        recorded_new = 0
        for entry_id, sent in zip(ids, batch, strict=True):
            answer = answers[entry_id]
            if answer["status"] == "recorded":
                assert not sent.surely_invalid, f"recorded a surely invalid entry: {sent.why}"
                recorded_new += answer["duplicate"] == "false"
            else:
                assert answer["status"] == "refused", answer
                assert answer["code"] and answer["message"], answer
        assert app.max_position() - before == recorded_new
        refused = {i for i, a in answers.items() if a["status"] == "refused"}
        dead = read_stream(redis, streams.intake_dead)[dead_before:]
        assert {d["entry_id"] for d in dead} == refused
        assert len(dead) == len(refused)
        assert pending(redis, streams) == 0

    check()


def wait_for_answers(redis: Redis, where: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each entry's answer from its reply or results stream (waiting for all of them)."""
    found: dict[str, dict[str, str]] = {}

    def all_answered() -> bool:
        for stream in set(where.values()):
            for answer in read_stream(redis, stream):
                if answer["entry_id"] in where:
                    found[answer["entry_id"]] = answer
        return found.keys() == where.keys()

    wait_for(all_answered, WAIT_SECONDS, f"answers to {sorted(where)}")
    return found
