"""The write path canonicalises each event once: the bytes hashed are the bytes stored (with
the hash member at its sorted place), and nothing parses them back to learn what was built."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson
import pytest

from events import canonical_json
from events.canonical import hashed_body, with_hash
from services.recorder.application import Negotiations
from services.recorder.exceptions import EventCorrupted
from tests.factories import note, scenario, started


def test_the_stored_state_is_the_events_canonical_json(memory_app: Negotiations) -> None:
    drafts = scenario()
    memory_app.record_many(drafts, principal="p")
    memory_app.record(note("Keyed.", "us-iraq-jscd", idempotency_key="k"), principal="p")
    notifications = list(memory_app.notifications())
    wires = {w["position"]: w for w in memory_app.wires("us-iraq-jscd")}
    assert len(notifications) == len(wires) == len(drafts) + 1
    for n in notifications:
        recorded = {k: v for k, v in wires[n.id].items() if k != "position"}
        assert n.state == canonical_json(recorded), n.id
        hashed = {k: v for k, v in recorded.items() if k != "hash"}
        assert memory_app.body_of(n) == (canonical_json(hashed).decode(), recorded["hash"])


def _counting(monkeypatch: pytest.MonkeyPatch, calls: Counter[str], module: Any, name: str) -> None:
    real: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[f"{module.__name__}.{name}"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)


def test_recording_canonicalises_each_event_once_and_parses_nothing_back(
    memory_app: Negotiations, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory_app.record_many(started("talks-a"), principal="p")
    calls: Counter[str] = Counter()
    for module, name in ((json, "dumps"), (json, "loads"), (orjson, "loads")):
        _counting(monkeypatch, calls, module, name)
    memory_app.record(note("One.", "talks-a", idempotency_key="k-1"), principal="p")
    memory_app.record_many(
        [note("Two.", "talks-a"), *started("talks-b"), note("Three.", "talks-b")],
        principal="p",
    )
    assert calls == Counter({"json.dumps": 6})


def test_the_relays_head_is_the_checked_body_with_its_type_and_negotiation(
    memory_app: Negotiations,
) -> None:
    memory_app.record_many(scenario(), principal="p")
    for n in memory_app.notifications():
        wire = memory_app.wire_of(n)
        assert memory_app.head_of(n) == (
            *memory_app.body_of(n),
            wire["type"],
            wire["negotiation_id"],
        )


@pytest.mark.parametrize(
    "recorded_at",
    ["2024-07-22T10:00:00Z", "2024-07-22T10:00:00.000000+00:00", "2024-13-22T10:00:00.000000Z"],
)
def test_a_row_whose_recorded_at_is_not_in_its_one_form_is_refused_by_every_read(
    memory_app: Negotiations, recorded_at: str
) -> None:
    memory_app.record_many(started("talks-a"), principal="p")
    stored = next(memory_app.notifications())
    wire = {**memory_app.wire_of(stored), "recorded_at": recorded_at}
    body = hashed_body(wire)
    digest = hashlib.sha256(body).hexdigest()
    altered = replace(stored, state=with_hash(body, wire["event_id"], digest))
    for read in (memory_app.wire_of, memory_app.body_of, memory_app.head_of):
        with pytest.raises(EventCorrupted):
            read(altered)
