"""The write path canonicalises each event once: the bytes hashed are the bytes stored (with
the hash member at its sorted place), and nothing parses them back to learn what was built."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from events import canonical_json
from services.recorder.application import Negotiations
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
