"""One reader per process: the appliers of a process share what any of them read of the
event stream (and the events it decoded); one that lags reads Redis itself; nothing read
before an applier's head was read again is reused (the stream may have been replaced)."""

from __future__ import annotations

from typing import Any

from redis import Redis

from projections.live.apply import EntryReader, SharedReads
from projections.live.worker import appliers
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from tests.integration.projections.support import live_differences, write_notes

NIDS = ["talks-a", "talks-b", "talks-c"]


def _counting(reads: SharedReads) -> list[int]:
    """The positions after which ``reads`` went to Redis."""
    calls: list[int] = []
    inner = reads.reader.after

    def after(position: int, **options: Any) -> Any:
        calls.append(position)
        return inner(position, **options)

    reads.reader.after = after  # type: ignore[method-assign]
    return calls


def test_the_appliers_of_a_process_read_each_range_once(
    sqlite_app: Negotiations, relay: Relay, client: Redis, prefix: str
) -> None:
    write_notes(sqlite_app, NIDS, 300, 50)
    end = relay.catch_up()
    workers = appliers(client, prefix)
    shared = {id(a.reads) for a in workers.values()}
    assert len(shared) == 1
    reads = next(iter(workers.values())).reads
    for applier in workers.values():  # each knows its head: started at the same position
        assert applier.apply_through(1) == 1
    calls = _counting(reads)
    step = 100
    for upto in range(step, end + step, step):  # the workers follow the stream together
        for applier in workers.values():
            assert applier.apply_through(min(upto, end)) == min(upto, end)
    assert len(calls) == len(set(calls)), "a range was read from Redis twice"
    assert reads.hits >= (len(workers) - 1) * len(calls)
    for name, applier in workers.items():
        assert live_differences(applier.store, PROJECTIONS[name], sqlite_app, NIDS) == []


def test_a_lagging_applier_reads_redis_itself_and_holds_no_one_back(
    sqlite_app: Negotiations, relay: Relay, client: Redis, prefix: str
) -> None:
    write_notes(sqlite_app, NIDS, 300, 50)
    end = relay.catch_up()
    workers = appliers(client, prefix)
    ahead, behind = workers["negotiation"], workers["positions"]
    assert ahead.apply_through() == end  # the other has not started
    calls = _counting(ahead.reads)
    assert behind.apply_through() == end
    assert calls and calls[0] == 0  # its ranges were read again from Redis
    assert live_differences(behind.store, PROJECTIONS["positions"], sqlite_app, NIDS) == []


def test_nothing_read_before_a_forget_is_reused(client: Redis, stream: str) -> None:
    client.xadd(stream, {"type": "Old", "event": b"{}", "hash": "h"}, id="1-0")
    client.xadd(stream, {"type": "Old", "event": b"{}", "hash": "h"}, id="2-0")
    reads = SharedReads(EntryReader(client, stream))
    assert [r.type for r in reads.after(0, count=10)] == ["Old", "Old"]
    client.delete(stream)  # the stream replaced under the same positions
    client.xadd(stream, {"type": "New", "event": b"{}", "hash": "h"}, id="1-0")
    client.xadd(stream, {"type": "New", "event": b"{}", "hash": "h"}, id="2-0")
    reads.forget()
    assert [r.type for r in reads.after(0, count=10)] == ["New", "New"]


def test_a_read_in_flight_during_a_forget_is_not_kept(client: Redis, stream: str) -> None:
    client.xadd(stream, {"type": "Old", "event": b"{}", "hash": "h"}, id="1-0")
    client.xadd(stream, {"type": "Old", "event": b"{}", "hash": "h"}, id="2-0")
    reads = SharedReads(EntryReader(client, stream))
    inner = reads.reader.after

    def after(position: int, **options: Any) -> Any:
        got = inner(position, **options)
        reads.forget()  # another applier read its head meanwhile
        return got

    reads.reader.after = after  # type: ignore[method-assign]
    reads.after(0, count=10)
    reads.after(0, count=10)
    assert (reads.hits, reads.misses) == (0, 2)


def test_the_states_kept_between_batches_stay_within_their_budget(
    sqlite_app: Negotiations, relay: Relay, client: Redis, prefix: str
) -> None:
    nids = [f"talks-{n}" for n in range(12)]
    write_notes(sqlite_app, nids, 600, 40)
    end = relay.catch_up()
    workers = appliers(client, prefix, state_budget=20)
    step = 50
    for upto in range(step, end + step, step):
        for applier in workers.values():
            applier.apply_through(min(upto, end))
            assert applier._cache.held <= 20
    assert (
        workers["negotiation"]._cache.evictions > 0
    )  # 12 slices of a headline, an issue and two parties each
    for name, applier in workers.items():
        assert live_differences(applier.store, PROJECTIONS[name], sqlite_app, nids) == []
