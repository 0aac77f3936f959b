"""`talkstream intake` as separate processes: one killed mid-batch, its pending entries
claimed by the next and recorded once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis

from services.runtime.bootstrap import build_application
from services.settings import Settings
from services.wire.streams import Streams
from tests.factories import NID
from tests.integration.intake.support import pending, read_stream, xadd_all
from tests.unit.intake.entry_cases import entry, setup_events, valid_note
from tests.waiting import wait_for

TALKSTREAM = Path(sys.executable).parent / "talkstream"
ENTRIES = 600
CLAIM_IDLE_MS = 500


@pytest.fixture
def start_intake(
    redis_settings: Settings, tmp_path: Path
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts `talkstream intake` processes on the test's home and prefix; kills leftovers."""
    started: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "TALKSTREAM_HOME": str(redis_settings.home),
        "TALKSTREAM_REDIS_URL": redis_settings.redis_url or "",
        "TALKSTREAM_PREFIX": redis_settings.prefix,
        "TALKSTREAM_INTAKE_CLAIM_IDLE_MS": str(CLAIM_IDLE_MS),
    }

    def start() -> subprocess.Popen[bytes]:
        log = (tmp_path / f"intake-{len(started)}.log").open("wb")
        started.append(subprocess.Popen([str(TALKSTREAM), "intake"], env=env, stderr=log))
        return started[-1]

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def stalled(redis: Redis, streams: Streams) -> bool:
    """A batch is pending and stays so while no result is added: the consumer waits on the
    store's lock with it (a batch seen pending just before its XACK would not be)."""
    before = (pending(redis, streams), redis.xlen(streams.intake_results))
    time.sleep(0.3)
    return before[0] > 0 and (pending(redis, streams), redis.xlen(streams.intake_results)) == before


def answered(redis: Redis, streams: Streams) -> set[str]:
    return {r["entry_id"] for r in read_stream(redis, streams.intake_results)}


def test_a_consumer_killed_mid_batch_has_its_entries_claimed_and_recorded_once(
    redis_settings: Settings,
    redis_url: str,
    start_intake: Callable[[], subprocess.Popen[bytes]],
) -> None:
    streams = Streams(redis_settings.prefix)
    redis = Redis.from_url(redis_url)
    first = start_intake()
    wait_for(lambda: redis.exists(streams.intake) == 1, 20, "the first consumer's group")
    entries = [entry(setup_events()[0]), *(entry(valid_note(i)) for i in range(ENTRIES - 1))]
    ids = xadd_all(redis, streams.intake, entries)
    wait_for(lambda: redis.xlen(streams.intake_results) > 0, 20, "some results")
    # Hold the store's write lock so that the first consumer stalls with a batch in hand.
    lock = sqlite3.connect(redis_settings.events_db, timeout=20)
    lock.execute("BEGIN EXCLUSIVE")
    wait_for(lambda: stalled(redis, streams), 20, "a batch in the first consumer's hands")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    lock.rollback()
    lock.close()
    assert len(answered(redis, streams)) < ENTRIES, "the first consumer finished its work"
    assert pending(redis, streams) > 0

    second = start_intake()
    assert second.pid != first.pid
    wait_for(
        lambda: answered(redis, streams) == set(ids) and pending(redis, streams) == 0,
        30,
        "every entry answered and none pending",
    )
    refused = [r for r in read_stream(redis, streams.intake_results) if r["status"] != "recorded"]
    assert refused == []
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0
    redis.close()

    app = build_application(redis_settings)
    try:
        history = app.history(NID)
        assert app.max_position() == ENTRIES
    finally:
        app.close()
    keys = [e.draft.idempotency_key for e in history]
    assert sorted(keys) == sorted(f"intake:{i}" for i in ids)
    texts = [getattr(e.draft.payload, "text", None) for e in history[1:]]
    assert len(set(texts)) == ENTRIES - 1
