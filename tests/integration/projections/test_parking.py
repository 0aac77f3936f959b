"""A reducer that fails for one negotiation parks only that negotiation; a retry resumes it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis import Redis

from projections.live.apply import Applier
from projections.live.store import ViewStore
from projections.negotiation import Event, State, wire_of
from projections.views import PROJECTIONS, Projection
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from tests.factories import note, started
from tests.integration.projections.support import BatchApplier, canonical, stream_wires

NEGOTIATION = PROJECTIONS["negotiation"]


@dataclass(frozen=True)
class Poisoned(Projection):
    """The negotiation reducer, failing for any event of a negotiation in ``broken``, for the
    events in ``poison``, and for those in ``fail_once`` the first time each is seen."""

    broken: set[str] = field(default_factory=set)
    poison: set[str] = field(default_factory=set)
    fail_once: set[str] = field(default_factory=set)

    def apply_into(self, state: State, events: Iterable[Event]) -> State:
        wires = [wire_of(e) for e in events]
        for wire in wires:
            if wire["negotiation_id"] in self.broken:
                raise RuntimeError(f"poison in {wire['negotiation_id']}")
            if wire["event_id"] in self.poison:
                raise RuntimeError("a poison event")
            if wire["event_id"] in self.fail_once:
                self.fail_once.discard(wire["event_id"])
                raise RuntimeError("a passing failure")
        return super().apply_into(state, wires)


def poisoned(**options: set[str]) -> Poisoned:
    return Poisoned(NEGOTIATION.name, NEGOTIATION.render, NEGOTIATION.types, **options)


def interleaved(app: Negotiations, notes: int) -> None:
    app.record_many(started("talks-good") + started("talks-bad"), principal="p")
    for i in range(notes):
        app.record_many(
            [note(f"good {i}", "talks-good"), note(f"bad {i}", "talks-bad")], principal="p"
        )


@pytest.fixture
def projection(sqlite_app: Negotiations) -> Poisoned:
    """A reducer that fails for every event of talks-bad, once talks-good and talks-bad have
    three notes each."""
    interleaved(sqlite_app, 3)
    return poisoned(broken={"talks-bad"})


def folded(app: Negotiations, nid: str) -> bytes:
    return canonical(NEGOTIATION.apply(None, app.history(nid)))


def positions_in(store: ViewStore, nid: str) -> list[int]:
    """The positions of the events a stored state holds."""
    state = store.load(store.generation(), [nid])[nid] or {"registry": {}}
    return sorted(rec["position"] for rec in state["registry"].values())


def positions_of(app: Negotiations, nid: str) -> list[int]:
    return [e.position or 0 for e in app.history(nid)]


def test_a_poison_event_parks_only_its_negotiation_and_retry_resumes_it(
    sqlite_app: Negotiations, relay: Relay, client: Redis, prefix: str, stream: str
) -> None:
    interleaved(sqlite_app, 10)
    end = relay.catch_up()
    projection = poisoned(broken={"talks-bad"})
    store = ViewStore(client, prefix, "negotiation")
    applier = Applier(client, store, projection, stream)
    for last in (7, 15, end):  # several batches: the later ones find it parked already
        applier.apply_through(last)
    gen = store.generation()

    assert store.tracked(gen) == end
    assert canonical(store.load(gen, ["talks-good"])["talks-good"]) == folded(
        sqlite_app, "talks-good"
    )
    bad = sqlite_app.history("talks-bad")
    parked = store.parked(gen)
    assert list(parked) == ["talks-bad"]
    assert parked["talks-bad"]["reason"] == "RuntimeError: poison in talks-bad"
    assert parked["talks-bad"]["position"] == bad[0].position
    assert [w["position"] for w in store.waiting(gen, "talks-bad")] == [e.position for e in bad]
    assert store.load(gen, ["talks-bad"])["talks-bad"] is None

    projection.broken.clear()  # the fix
    before = client.xrevrange(f"{prefix}:changes", count=1)[0][0]
    [report] = applier.retry_parked()

    assert (report.negotiation_id, report.resumed, report.applied) == ("talks-bad", True, len(bad))
    assert canonical(store.load(gen, ["talks-bad"])["talks-bad"]) == folded(sqlite_app, "talks-bad")
    assert store.parked(gen) == {}
    assert store.waiting(gen, "talks-bad") == []
    announced = client.xrange(f"{prefix}:changes", min=f"({before.decode()}")
    assert [
        (f[b"negotiation_id"], f[b"position"], f[b"projection"]) for _, f in announced
    ] == [  # one announcement per view rendered from the resumed state
        (b"talks-bad", str(bad[-1].position).encode(), view.encode())
        for view in ("negotiation", "timeline", "audit")
    ]

    sqlite_app.record(note("after the fix", "talks-bad"), principal="p")
    assert applier.apply_through(relay.catch_up()) == store.tracked(gen)
    assert canonical(store.load(gen, ["talks-bad"])["talks-bad"]) == folded(sqlite_app, "talks-bad")


def test_a_failing_reducer_is_not_tried_again_and_its_negotiation_loses_no_event(
    sqlite_app: Negotiations, relay: Relay, client: Redis, prefix: str, stream: str
) -> None:
    """Reducers are pure: a failure parks its negotiation at once (a failure that would pass
    on another try, as this one does, passes on `dlq retry`), after earlier events of the same
    negotiation in the same batch."""
    interleaved(sqlite_app, 3)
    relay.catch_up()
    wires = stream_wires(client, stream)
    flaky = [w for w in wires if w["negotiation_id"] == "talks-bad"][-1]["event_id"]
    store = ViewStore(client, prefix, "negotiation")
    applier = BatchApplier(client, store, poisoned(fail_once={flaky}), stream)

    assert applier.apply_wires("0", 0, wires)  # one batch

    parked = store.parked("0")
    assert list(parked) == ["talks-bad"]
    assert parked["talks-bad"]["reason"] == "RuntimeError: a passing failure"
    [report] = applier.retry_parked()
    assert report.resumed
    assert positions_in(store, "talks-bad") == positions_of(sqlite_app, "talks-bad")
    for nid in ("talks-good", "talks-bad"):
        assert canonical(store.load("0", [nid])[nid]) == folded(sqlite_app, nid), nid


def test_a_parked_negotiation_keeps_the_events_it_applied_earlier_in_the_batch(
    sqlite_app: Negotiations, relay: Relay, client: Redis, prefix: str, stream: str
) -> None:
    interleaved(sqlite_app, 3)
    relay.catch_up()
    wires = stream_wires(client, stream)
    poison = [w for w in wires if w["negotiation_id"] == "talks-bad"][-1]["event_id"]
    projection = poisoned(poison={poison})
    store = ViewStore(client, prefix, "negotiation")
    applier = BatchApplier(client, store, projection, stream)
    assert applier.apply_wires("0", 0, wires)  # one batch: talks-bad's earlier events pass
    assert list(store.parked("0")) == ["talks-bad"]

    projection.poison.clear()  # the fix
    [report] = applier.retry_parked()

    assert report.resumed
    assert positions_in(store, "talks-bad") == positions_of(sqlite_app, "talks-bad")
    assert canonical(store.load("0", ["talks-bad"])["talks-bad"]) == folded(sqlite_app, "talks-bad")


def test_a_retry_from_another_process_is_kept_by_the_worker_that_parked(
    sqlite_app: Negotiations,
    relay: Relay,
    client: Redis,
    prefix: str,
    stream: str,
    projection: Poisoned,
) -> None:
    store = ViewStore(client, prefix, "negotiation")
    worker = Applier(client, store, projection, stream)
    worker.apply_through(relay.catch_up())
    assert list(store.parked("0")) == ["talks-bad"]

    projection.broken.clear()  # the fix; `talkstream dlq retry` runs its own applier
    [report] = Applier(
        client, ViewStore(client, prefix, "negotiation"), projection, stream
    ).retry_parked()
    assert report.resumed
    sqlite_app.record(note("after the retry", "talks-bad"), principal="p")
    worker.apply_through(relay.catch_up())

    assert positions_in(store, "talks-bad") == positions_of(sqlite_app, "talks-bad")


class RetriedMidBatch(ViewStore):
    """A store whose first ``parked`` reading is followed at once by ``then()``: another process
    acting between a worker's reading of the parked set and its commit."""

    def __init__(self, redis: Redis, prefix: str, name: str, then: Callable[[], object]) -> None:
        super().__init__(redis, prefix, name)
        self.then: Callable[[], object] | None = then

    def parked(self, gen: str) -> dict[str, dict[str, Any]]:
        result = super().parked(gen)
        if self.then is not None:
            then, self.then = self.then, None
            then()
        return result


def accounted(store: ViewStore, nid: str) -> list[int]:
    """The positions a negotiation's state holds, plus those waiting if it is parked."""
    gen = store.generation()
    waiting = store.waiting(gen, nid) if nid in store.parked(gen) else []
    return sorted(positions_in(store, nid) + [w["position"] for w in waiting])


def test_an_event_that_arrives_while_a_retry_resumes_its_negotiation_is_not_lost(
    sqlite_app: Negotiations,
    relay: Relay,
    client: Redis,
    prefix: str,
    stream: str,
    projection: Poisoned,
) -> None:
    store = ViewStore(client, prefix, "negotiation")
    Applier(client, store, projection, stream).apply_through(relay.catch_up())
    projection.broken.clear()  # the fix
    sqlite_app.record(note("during the retry", "talks-bad"), principal="p")
    retry = Applier(client, store, projection, stream).retry_parked
    worker_store = RetriedMidBatch(client, prefix, "negotiation", then=retry)

    Applier(client, worker_store, projection, stream).apply_through(relay.catch_up())

    assert accounted(store, "talks-bad") == positions_of(sqlite_app, "talks-bad")


def test_a_rebuild_that_meets_a_poison_event_parks_it_like_the_live_path(
    client: Redis, stream: str, prefix: str, sqlite_app: Negotiations, projection: Poisoned
) -> None:
    from projections.live.rebuild import rebuild

    Relay(sqlite_app, client, stream=stream).catch_up()
    store = ViewStore(client, prefix, projection.name)
    notes: list[str] = []
    result = rebuild(client, store, projection, stream, progress=notes.append)
    gen = store.generation()
    assert gen == result.generation
    assert any("batch by batch" in n for n in notes)
    assert list(store.parked(gen)) == ["talks-bad"]
    assert canonical(store.load(gen, ["talks-good"])["talks-good"]) == folded(
        sqlite_app, "talks-good"
    )
    assert store.tracked(gen) == sqlite_app.max_position()
