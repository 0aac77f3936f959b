"""Group commit: concurrent single-event writes are stored in one transaction, each answered
alone (its result, its refusal, its idempotency); a lone writer commits at once, itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

from services.recorder.application import Negotiations, Written
from services.recorder.exceptions import ConflictError, NegotiationNotFound, RecorderError
from services.recorder.group import GroupCommit, Slot
from tests.factories import NID, note, started

WAIT = 10.0


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.001)


class Saves:
    """Counts the application's committed saves (one per transaction) and can hold the first
    one open until ``queued`` writes wait behind it, so that they form the next group."""

    def __init__(self, app: Negotiations) -> None:
        self.app = app
        self.count = 0
        self.threads: list[int] = []
        self.hold_for = 0
        app.after_save.append(self._saved)

    def _saved(self) -> None:
        self.count += 1
        self.threads.append(threading.get_ident())
        if self.count == 1 and self.hold_for:
            _until(lambda: self.app.group_commit.waiting >= self.hold_for)


@contextmanager
def grouped(app: Negotiations, blocker: Any, *asks: Any) -> Iterator[list[Future[Written]]]:
    """Records ``blocker`` (held open in its save) and then ``asks`` concurrently, so that
    every ask lands in one group behind it; yields one future per ask."""
    saves = Saves(app)
    saves.hold_for = len(asks)
    with ThreadPoolExecutor(len(asks) + 1) as pool:
        first = pool.submit(app.record, blocker, principal="p")
        _until(lambda: saves.count == 1 or app.group_commit.largest > 0)
        futures = [pool.submit(app.record, a, principal="p") for a in asks]
        yield futures
        first.result(WAIT)
    assert saves.count == 2, "the queued writes were stored in one transaction"


@pytest.fixture
def app(memory_app: Negotiations) -> Negotiations:
    memory_app.record_many(started(), principal="p")
    return memory_app


def test_a_lone_writer_commits_at_once_in_its_own_thread(app: Negotiations) -> None:
    saves = Saves(app)
    written = app.record(note("Alone."), principal="p")
    assert saves.threads == [threading.get_ident()]
    assert (app.group_commit.groups, app.group_commit.largest) == (1, 1)
    assert written.position == app.max_position()


def test_concurrent_writes_share_one_transaction_and_keep_their_own_results(
    app: Negotiations,
) -> None:
    texts = [f"Note {i}." for i in range(6)]
    with grouped(app, note("First."), *(note(t) for t in texts)) as futures:
        results = [f.result(WAIT) for f in futures]
    assert app.group_commit.largest == len(texts)
    assert len({r.event_id for r in results}) == len(texts)
    assert len({r.position for r in results}) == len(texts)
    stored = {w["event_id"]: w for w in app.wires(NID)}
    for text, result in zip(texts, results, strict=True):
        assert stored[result.event_id]["payload"]["text"] == text
        assert stored[result.event_id]["position"] == result.position
        assert not result.duplicate


def test_a_refused_write_sinks_none_of_its_group(app: Negotiations) -> None:
    asks = [note("Kept 1."), note("Lost.", "never-opened"), note("Kept 2.")]
    with grouped(app, note("First."), *asks) as futures:
        with pytest.raises(NegotiationNotFound):
            futures[1].result(WAIT)
        kept = [futures[0].result(WAIT), futures[2].result(WAIT)]
    texts = {w["event_id"]: w["payload"].get("text") for w in app.wires(NID)}
    assert [texts[k.event_id] for k in kept] == ["Kept 1.", "Kept 2."]
    assert "Lost." not in texts.values()


def test_a_repeated_idempotency_key_in_one_group_records_once(app: Negotiations) -> None:
    same = note("Keyed.", idempotency_key="k-1")
    with grouped(app, note("First."), same, same) as futures:
        a, b = (f.result(WAIT) for f in futures)
    assert a.event_id == b.event_id and a.position == b.position
    assert sorted([a.duplicate, b.duplicate]) == [False, True]
    assert [w["payload"].get("text") for w in app.wires(NID)].count("Keyed.") == 1


def test_a_reused_idempotency_key_with_another_body_is_refused_alone(app: Negotiations) -> None:
    one, other = note("Keyed.", idempotency_key="k-2"), note("Else.", idempotency_key="k-2")
    with grouped(app, note("First."), one, other, note("Plain.")) as futures:
        outcomes = [_outcome(f) for f in futures]
    assert isinstance(outcomes[0], Written) and isinstance(outcomes[2], Written)
    assert isinstance(outcomes[1], ConflictError) and outcomes[1].code == "idempotency_key_reused"


def test_each_write_keeps_its_expected_version(app: Negotiations) -> None:
    version = app.record(note("Before."), principal="p").version + 1  # after the blocker
    with ThreadPoolExecutor(3) as pool:
        saves = Saves(app)
        saves.hold_for = 2
        first = pool.submit(app.record, note("First."), principal="p")
        _until(lambda: saves.count == 1)
        pinned = [
            pool.submit(app.record, note(t), principal="p", expected_version=version)
            for t in ("A.", "B.")
        ]
        outcomes = [_outcome(f) for f in pinned]
        first.result(WAIT)
    assert saves.count == 2
    won = [o for o in outcomes if isinstance(o, Written)]
    lost = [o for o in outcomes if isinstance(o, ConflictError)]
    assert len(won) == 1 and won[0].version == version + 1
    assert len(lost) == 1 and lost[0].code == "version_conflict"


def _outcome(future: Future[Written]) -> Written | RecorderError:
    try:
        return future.result(WAIT)
    except RecorderError as e:
        return e


def test_the_queue_forms_one_group_behind_a_running_commit() -> None:
    release = threading.Event()
    groups: list[list[int]] = []

    def commit(slots: list[Slot[int, int]]) -> None:
        groups.append([s.ask for s in slots])
        if len(groups) == 1:
            release.wait(WAIT)
        for s in slots:
            if s.ask < 0:
                s.settle(error=ValueError(s.ask))
            else:
                s.settle(s.ask * 10)

    queue: GroupCommit[int, int] = GroupCommit(commit)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(queue.submit, 0)
        _until(lambda: len(groups) == 1)
        rest = [pool.submit(queue.submit, n) for n in (1, 2, -3, 4)]
        _until(lambda: queue.waiting == 4)
        release.set()
        assert first.result(WAIT) == 0
        assert [f.result(WAIT) for f in (rest[0], rest[1], rest[3])] == [10, 20, 40]
        with pytest.raises(ValueError, match="-3"):
            rest[2].result(WAIT)
    assert groups[0] == [0] and sorted(groups[1]) == [-3, 1, 2, 4] and len(groups) == 2


def test_a_group_never_exceeds_its_limit() -> None:
    release = threading.Event()
    sizes: list[int] = []

    def commit(slots: list[Slot[int, int]]) -> None:
        sizes.append(len(slots))
        if len(sizes) == 1:
            release.wait(WAIT)
        for s in slots:
            s.settle(s.ask)

    queue: GroupCommit[int, int] = GroupCommit(commit, limit=2)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(queue.submit, 0)
        _until(lambda: sizes == [1])
        rest = [pool.submit(queue.submit, n) for n in range(1, 6)]
        _until(lambda: queue.waiting == 5)
        release.set()
        assert sorted(f.result(WAIT) for f in [first, *rest]) == list(range(6))
    assert sizes[0] == 1 and max(sizes) == 2 and sum(sizes) == 6
