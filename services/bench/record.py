"""``talkstream bench record``: events/s through the application vs raw eventsourcing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from events import Envelope, parse_draft
from services.bench.target import bench_store
from services.recorder.store import eventsourcing_env
from services.runtime.bootstrap import build_application
from services.settings import Settings

NEGOTIATIONS = 10


class PlainNote(Aggregate):
    """The raw baseline: an eventsourcing aggregate recording the same data, no rules."""

    @event("Opened")
    def __init__(self, wire: dict[str, Any]) -> None:
        self.notes = 1

    @event("Noted")
    def note(self, wire: dict[str, Any]) -> None:
        self.notes += 1


class PlainApp(Application[Any]):
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "256"}


def opening_body(i: int) -> dict[str, Any]:
    """A published NegotiationOpened for negotiation ``bench-<i>``."""
    return {
        "type": "NegotiationOpened",
        "negotiation_id": f"bench-{i}",
        "occurred_at": "2024",
        "sources": [{"outlet": "bench", "kind": "other"}],
        "verification": "reported",
        "payload": {
            "title": f"Bench {i}",
            "format": "bilateral",
            "issues": [{"issue_id": "i1", "title": "Issue"}],
        },
    }


def note_body(i: int, n: int) -> dict[str, Any]:
    """A published ContextNoted (the ``n``th) for negotiation ``bench-<i>``."""
    return {
        "type": "ContextNoted",
        "negotiation_id": f"bench-{i}",
        "occurred_at": "2024-09-27",
        "sources": [{"outlet": "Wire service", "kind": "wire", "published_at": "2024-09-27"}],
        "verification": "reported",
        "payload": {
            "topic": "Troop presence",
            "text": f"About 2,500 troops (note {n}).",
            "quantity": {"value": 2500, "unit": "troops", "approximate": True},
        },
    }


def _opening(i: int) -> Envelope:
    return parse_draft(opening_body(i))


def _note(i: int, n: int) -> Envelope:
    return parse_draft(note_body(i, n))


def _rate(count: int, fn: Callable[[], None]) -> float:
    started = time.perf_counter()
    fn()
    return count / (time.perf_counter() - started)


def bench_record(
    events: int, batch: int, directory: Path, store: str = "sqlite"
) -> dict[str, float]:
    """On a fresh store of the kind asked (``bench_store``), the raw baseline on the same."""
    with bench_store(directory / "app", store) as settings:
        return _bench_record(events, batch, directory, settings)


def _raw_env(settings: Settings, directory: Path) -> dict[str, str]:
    """eventsourcing's own recorder on the same kind of store (its own table or file)."""
    if settings.store == "sqlite":
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(directory)}
    env = eventsourcing_env(settings)
    del env["APPLICATION_RECORDER_TOPIC"]
    return env


def _bench_record(events: int, batch: int, directory: Path, settings: Settings) -> dict[str, float]:
    app = build_application(settings)
    app.record_many([_opening(i) for i in range(NEGOTIATIONS)], principal="bench")
    drafts = [_note(n % NEGOTIATIONS, n) for n in range(events)]
    wires = [d.model_dump(mode="json", exclude_none=True) for d in drafts]

    raw = PlainApp(env=_raw_env(settings, directory / "raw.db"))
    plains = [PlainNote(wires[i]) for i in range(NEGOTIATIONS)]
    raw.save(*plains)
    ids = [p.id for p in plains]

    def app_single() -> None:
        for d in drafts:
            app.record(d, principal="bench")

    def app_batches() -> None:
        for start in range(0, events, batch):
            app.record_many(drafts[start : start + batch], principal="bench")

    def raw_single() -> None:
        for n, w in enumerate(wires):
            agg: PlainNote = raw.repository.get(ids[n % NEGOTIATIONS])
            agg.note(w)
            raw.save(agg)

    def raw_batches() -> None:
        for start in range(0, events, batch):
            touched: dict[Any, PlainNote] = {}
            for n in range(start, min(start + batch, events)):
                key = ids[n % NEGOTIATIONS]
                agg = touched.get(key) or raw.repository.get(key)
                agg.note(wires[n])
                touched[key] = agg
            raw.save(*touched.values())

    try:
        return {
            "app_single": _rate(events, app_single),
            "raw_single": _rate(events, raw_single),
            "app_batch": _rate(events, app_batches),
            "raw_batch": _rate(events, raw_batches),
        }
    finally:
        app.close()
        raw.close()
