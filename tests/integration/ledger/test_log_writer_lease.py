"""The log has one writer: beside relays that share the relay lease, the writer runs only while
its process's relay holds the lease, stops when it is lost and starts again when it is taken."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
from redis import Redis

from services.recorder.exceptions import StoreUnavailable
from services.recorder.ledger import Ledger, LogWriter
from services.relay.lease import Lease
from services.runtime.ledger import log_writer_running
from services.wire.streams import Streams
from tests.factories import note, scenario
from tests.waiting import wait_for

LONG_MS = 30_000


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def lease_of(client: Redis, prefix: str) -> Lease:
    streams = Streams(prefix)
    return Lease(
        client, key=streams.relay_lease, counter=streams.relay_fence_counter, lease_ms=LONG_MS
    )


def test_the_log_writer_runs_only_while_its_relay_holds_the_lease(
    writer: LogWriter, ledger: Ledger, redis_client: Redis, prefix: str
) -> None:
    other, mine = lease_of(redis_client, prefix), lease_of(redis_client, prefix)
    other.tick()
    stored = writer.app.max_position()
    nid = scenario()[0].negotiation_id
    logged = lambda: ledger.size() == writer.app.max_position()  # noqa: E731
    with log_writer_running(writer, mine):
        mine.tick()  # stands by: the other relay holds the lease
        writer.app.record(note("while standing by", nid=nid), principal="t")
        writer.notify()
        time.sleep(1.0)  # time enough for a running writer to log it
        assert ledger.size() == 0 and not mine.held()

        other.release()
        mine.tick()
        assert mine.held()
        wait_for(logged, 30, "the writer to log every stored event once the lease is held")
        assert ledger.size() == stored + 1

        mine.lost("taken")
        writer.app.record(note("after losing the lease", nid=nid), principal="t")
        writer.notify()
        time.sleep(1.0)
        assert ledger.size() == stored + 1


def test_a_writer_stopped_while_the_store_is_unreachable_ends_cleanly(
    writer: LogWriter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A lost lease stops the writer; if the store is down just then, the writer still ends
    (its thread died on the size it logs, and the process never logged again)."""

    def unreachable() -> int:
        raise StoreUnavailable("store_unavailable", "the postgres event store is unavailable")

    monkeypatch.setattr(writer.ledger, "size", unreachable)
    stop = threading.Event()
    stop.set()
    with caplog.at_level(logging.INFO, logger="talkstream.ledger"):
        writer.run(stop)  # returns, raises nothing
    assert "log writer stopped" in caplog.text and "does not answer" in caplog.text
