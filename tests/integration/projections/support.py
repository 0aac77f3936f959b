"""Helpers for the live projection tests: the event stream as wires, folds to compare with,
writers of notes, and the projection workers run in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from faststream import FastStream
from redis import Redis

from events import Envelope, RecordedEvent, canonical_json
from projections.live.apply import Applier, _Head
from projections.live.store import ViewStore
from projections.negotiation import State, empty
from projections.views import Projection
from services.recorder.application import Negotiations
from services.recorder.exceptions import RecorderError
from services.wire.entries import recorded_event
from tests import factories as f
from tests.factories import note, started
from tests.threads import Background


def stream_wires(client: Redis, stream: str, page: int = 2000) -> list[dict[str, Any]]:
    """Every entry of the event stream as a recorded wire (needs a bytes client)."""
    wires: list[dict[str, Any]] = []
    start = "-"
    while chunk := client.xrange(stream, min=start, count=page):
        wires += [recorded_event(i, f) for i, f in chunk]
        start = "(" + chunk[-1][0].decode()
    return wires


class BatchApplier(Applier):
    """An applier that is also handed batches directly, as a consumer's delivery would hand
    them: any slice of the stream, or one it applied already (a redelivery)."""

    def apply_wires(self, gen: str, tracked: int, wires: list[dict[str, Any]]) -> bool:
        """Applies wires that follow ``tracked`` directly and tracks the last one's position;
        False if the commit lost its compare-and-set (nothing was written)."""
        head = _Head(gen, tracked, self.store.parked(gen))
        return self._apply_batch(head, wires, wires[-1]["position"])


def canonical(state: State | None) -> bytes:
    return canonical_json(state)


def live_differences(
    store: ViewStore, projection: Projection, app: Negotiations, nids: list[str]
) -> list[str]:
    """The negotiations whose served state differs from the fold of their stored history (a
    negotiation without any event of the projection's types has no state and folds to empty)."""
    gen = store.generation()
    live = store.load(gen, nids)
    problems = []
    for nid in nids:
        expected = projection.apply(None, app.history(nid))
        if live[nid] is None and expected == empty():
            continue
        if canonical(live[nid]) != canonical(expected):
            problems.append(f"{projection.name}/{nid}")
    return problems


def write_notes(
    app: Negotiations,
    nids: list[str],
    total: int,
    batch: int,
    *,
    after_batch: Callable[[], object] = lambda: None,
    pause: float = 0.0,
) -> int:
    """Opens the negotiations, then records ``total`` notes in batches cycling over them."""
    for nid in nids:
        app.record_many(started(nid), principal="setup")
    written = 0
    for k in range(0, total, batch):
        nid = nids[(k // batch) % len(nids)]
        drafts = [note(f"note {i}", nid=nid) for i in range(k, min(k + batch, total))]
        written += len(app.record_many(drafts, principal="loader"))
        after_batch()
        if pause:
            time.sleep(pause)
    return written


@contextmanager
def running(app: FastStream, timeout: float = 30.0) -> Iterator[None]:
    """The FastStream app started (startup hooks, subscribers, catch-up) in a thread with its
    own event loop; stopped on exit."""
    ready, stop = threading.Event(), threading.Event()

    async def main() -> None:
        try:
            async with app:
                ready.set()
                while not stop.is_set():
                    await asyncio.sleep(0.02)
        finally:
            ready.set()

    thread = Background(asyncio.run, main())
    thread.start()
    assert ready.wait(timeout), "the projection workers did not start"
    try:
        assert thread.is_alive(), f"the projection workers stopped: {thread.error!r}"
        yield
    finally:
        stop.set()
        thread.outcome(30)


# Random histories of every kind of event (a choice picks negotiation, kind and variant).
STATUSES = ["initialled", "signed", "ratified", "in_force", "suspended", "terminated"]


def _candidates(
    events: list[RecordedEvent], n: int, k: int, nid: str
) -> list[Callable[[], Envelope]]:
    """What could come next in ``nid``; ``k`` picks which agreement, status and milestone."""
    targets = [e.event_id for e in events if e.type not in ("EventCorrected", "EventRetracted")]
    texts = [e.event_id for e in events if e.type in ("ContextNoted", "PositionStated")]
    party = (f.IRAQ, f.USA)[n % 2]
    options: list[Callable[[], Envelope]] = [
        lambda: f.note(f"note {n}", nid=nid),
        lambda: f.meeting(f"m{n}", nid=nid),
        lambda: f.statement(f"s{n}", nid=nid),
        lambda: f.draft(
            "PositionStated",
            {"party": party, "issue_id": "timeline", "position": "support", "text": f"p{n}"},
            nid,
        ),
        lambda: f.agreement(f"ag{k % 2}", nid=nid),
        lambda: f.status(STATUSES[k // 2 % len(STATUSES)], f"ag{k % 2}", nid=nid),
        lambda: f.milestone(f"ms{k % 3}", nid=nid),
        lambda: f.settled(f"ms{k % 3}", ("MilestoneMet", "MilestoneMissed")[k % 2], nid),
        lambda: f.talks("TalksSuspended", nid=nid),
        lambda: f.talks("TalksResumed", nid=nid),
    ]
    if targets:
        target = targets[n % len(targets)]
        options.append(lambda: f.retraction(target, nid=nid))
    if texts:
        text = texts[n % len(texts)]
        options.append(lambda: f.correction(text, {"text": f"corrected {n}"}, nid=nid))
    return options


Choice = tuple[int, int, int]  # which negotiation, which kind of event, which variant


def record_history(app: Negotiations, nids: list[str], choices: list[Choice]) -> None:
    """Records each negotiation's start, then one event per choice (refusals skipped)."""
    for nid in nids:
        app.record_many(f.started(nid), principal="p")
    for n, (which, kind, k) in enumerate(choices):
        nid = nids[which % len(nids)]
        options = _candidates(app.history(nid), n, k, nid)
        # A refusal by an invariant stores nothing, so the history stays valid.
        with contextlib.suppress(RecorderError):
            app.record(options[kind % len(options)](), principal="p")
