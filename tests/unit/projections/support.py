"""The bundled U.S.–Iraq scenario on an in-memory store, and point-in-time helpers, shared by
the projection unit tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from events import PartialDate, RecordedEvent
from events.dates import format_utc
from projections.asof import fold_at
from projections.negotiation import State, view
from services.recorder.application import Negotiations, Written
from services.recorder.jsonl import parse_lines, scenario_lines
from tests import factories as f

NID = "us-iraq-jscd"
PRINCIPAL = "analyst@example.org"
AGREEMENT = "joint-statement-2024-09-27"
MISSION = "coalition-mission-iraq-ends"
KURDISTAN = "kurdistan-syria-support-ends"
IRAQ_DELEGATION = "iraq-jscd-delegation"
OLD_HEAD = "Thabit al-Abbasi"
NEW_HEAD = "Thabet Muhammad al-Abbasi"
# Positions of the scenario's events in timeline order: the year-precision demand (9, "2024")
# sorts before the April meeting (4); month-precision July events (5-8) before 22 July (10, 11).
TIMELINE_POSITIONS = [1, 2, 3, 9, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15]


def record_scenario(app: Negotiations) -> list[RecordedEvent]:
    drafts, _ = parse_lines(scenario_lines())
    app.record_many(drafts, principal=PRINCIPAL)
    return app.history(NID)


def the(events: list[RecordedEvent], kind: str, index: int = 0) -> RecordedEvent:
    """The ``index``-th event of type ``kind``, in record order."""
    return [e for e in events if e.type == kind][index]


def iraqi_delegation(events: list[RecordedEvent]) -> RecordedEvent:
    return next(
        e
        for e in events
        if e.type == "DelegationAssigned" and e.wire["payload"]["delegation_id"] == IRAQ_DELEGATION
    )


def date(text: str | None) -> PartialDate | None:
    return None if text is None else PartialDate.parse(text)


def state_at(
    events: list[RecordedEvent],
    as_of: str | PartialDate | None = None,
    known_at: str | PartialDate | None = None,
) -> State:
    def bound(value: str | PartialDate | None) -> PartialDate | None:
        return date(value) if isinstance(value, str) or value is None else value

    return fold_at(events, as_of=bound(as_of), known_at=bound(known_at))


def view_at(
    events: list[RecordedEvent],
    as_of: str | PartialDate | None = None,
    known_at: str | PartialDate | None = None,
) -> dict[str, Any]:
    return view(state_at(events, as_of, known_at))


def recorded_at(event: RecordedEvent) -> datetime:
    return datetime.fromisoformat(event.wire["recorded_at"])


def known_through(event: RecordedEvent) -> PartialDate:
    """``known_at`` at the instant ``event`` was recorded (inclusive: it is known)."""
    return PartialDate.parse(event.wire["recorded_at"])


def just_before(event: RecordedEvent) -> PartialDate:
    """``known_at`` one microsecond before ``event`` was recorded."""
    return PartialDate.parse(format_utc(recorded_at(event) - timedelta(microseconds=1)))


def correct_iraqi_head(app: Negotiations) -> RecordedEvent:
    """Records a correction of the Iraqi delegation head's name; returns the correction."""
    target = iraqi_delegation(app.history(NID))
    head = {**target.wire["payload"]["head"], "name": NEW_HEAD}
    return _recorded(
        app, app.record(f.correction(target.event_id, {"head": head}, NID), principal=PRINCIPAL)
    )


def retract(app: Negotiations, target: RecordedEvent) -> RecordedEvent:
    return _recorded(app, app.record(f.retraction(target.event_id, NID), principal=PRINCIPAL))


def record(app: Negotiations, kind: str, payload: dict[str, Any], **envelope: Any) -> RecordedEvent:
    return _recorded(app, app.record(f.draft(kind, payload, NID, **envelope), principal=PRINCIPAL))


def _recorded(app: Negotiations, written: Written) -> RecordedEvent:
    return next(e for e in app.history(NID) if e.event_id == written.event_id)
