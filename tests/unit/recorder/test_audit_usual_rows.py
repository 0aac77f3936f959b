"""The store pass's quick path for the usual row takes only rows that pass every check: an
untouched history goes through it whole, and each single change to a stored row (each column,
bytes re-encoded with a recomputed hash) is still found and named."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from hashlib import sha256
from uuid import uuid4

import pytest
from eventsourcing.persistence import Notification

from events import split_hash, with_hash
from services.recorder.application import Negotiations
from services.recorder.audit import _Chain, _sound, verify_notifications
from tests.factories import scenario

AT = 4  # a recorded event in the middle of its negotiation


@pytest.fixture
def rows(memory_app: Negotiations) -> list[Notification]:
    memory_app.record_many(scenario()[:8], principal="tester")
    return list(memory_app.notifications())


def resealed(n: Notification, change: Callable[[dict[str, object]], bytes]) -> Notification:
    """The row with its event changed and encoded by ``change``, hash recomputed (a forger's
    row: the hash matches its bytes)."""
    split = split_hash(n.state)
    assert split is not None
    event = json.loads(split[0])
    body = change(event)
    return replace(n, state=with_hash(body, str(event["event_id"]), sha256(body).hexdigest()))


def canonical(event: object) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def edited(key: str, value: object) -> Callable[[dict[str, object]], bytes]:
    return lambda event: canonical({**event, key: value})


CHANGES: dict[str, Callable[[Notification], Notification]] = {
    "topic": lambda n: replace(n, topic="other.topic"),
    "originator_id": lambda n: replace(n, originator_id=uuid4()),
    "originator_version": lambda n: replace(n, originator_version=n.originator_version + 1),
    "flipped byte": lambda n: replace(n, state=n.state.replace(b'"version":', b'"versiom":')),
    "hash member removed": lambda n: replace(n, state=n.state.replace(b',"hash":"', b',"hash":')),
    "spaces": lambda n: resealed(
        n, lambda e: json.dumps(e, sort_keys=True, separators=(", ", ":")).encode()
    ),
    "unsorted keys": lambda n: resealed(
        n, lambda e: json.dumps(dict(reversed(e.items())), separators=(",", ":")).encode()
    ),
    "ascii escapes": lambda n: resealed(n, edited("recorded_by", "tést")),
    "prev_hash": lambda n: resealed(n, edited("prev_hash", "0" * 64)),
    "body version": lambda n: resealed(n, edited("version", 99)),
    "negotiation": lambda n: resealed(n, edited("negotiation_id", "another")),
    "not an object": lambda n: resealed(n, lambda e: canonical([{"event_id": e["event_id"]}])),
}


def test_an_untouched_history_takes_the_quick_path_whole(rows: list[Notification]) -> None:
    chains: dict[str, _Chain] = {}
    seen = [_sound(n, chains) for n in rows]
    assert all(s is not None for s in seen)
    assert [s.body_digest.hex() for s in seen if s] == [s.hash for s in seen if s]


@pytest.mark.parametrize("change", CHANGES)
def test_each_change_to_a_row_is_found_at_its_position(
    memory_app: Negotiations, rows: list[Notification], change: str
) -> None:
    rows[AT] = CHANGES[change](rows[AT])
    report = verify_notifications(memory_app, rows)
    assert not report.ok
    assert report.first is not None and report.first.position == rows[AT].id
