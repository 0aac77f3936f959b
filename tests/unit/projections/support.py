"""The bundled U.S.–Iraq scenario on an in-memory store, point-in-time helpers, and random
valid histories, shared by the projection unit tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from events import Envelope, PartialDate, RecordedEvent
from events.dates import format_utc
from projections.asof import fold_at
from projections.negotiation import State, view
from services.recorder.application import Negotiations
from services.recorder.exceptions import RecorderError
from services.recorder.store import MEMORY_ENV
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
    app.record_many(f.scenario(), principal=PRINCIPAL)
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
    return correct(app, target, {"head": {**target.wire["payload"]["head"], "name": NEW_HEAD}})


def correct(app: Negotiations, target: RecordedEvent, patch: dict[str, Any]) -> RecordedEvent:
    return write(app, f.correction(target.event_id, patch, NID))


def retract(app: Negotiations, target: RecordedEvent) -> RecordedEvent:
    return write(app, f.retraction(target.event_id, NID))


def record(app: Negotiations, kind: str, payload: dict[str, Any], **envelope: Any) -> RecordedEvent:
    return write(app, f.draft(kind, payload, NID, **envelope))


def write(app: Negotiations, draft: Envelope) -> RecordedEvent:
    """Records ``draft`` as the analyst; returns it as the store gives it back."""
    written = app.record(draft, principal=PRINCIPAL)
    return next(e for e in app.history(NID) if e.event_id == written.event_id)


# Hypothesis draws these; each steers one step of ``random_history``.
CHOICES = st.lists(st.integers(min_value=0, max_value=50), max_size=40)
STATUSES = ["initialled", "signed", "ratified", "in_force", "suspended", "terminated"]


def _candidates(events: list[RecordedEvent], n: int) -> list[Callable[[], Envelope]]:
    targets = [e.event_id for e in events if e.type not in ("EventCorrected", "EventRetracted")]
    notes = [e.event_id for e in events if e.type == "ContextNoted"]
    options: list[Callable[[], Envelope]] = [
        lambda: f.note(f"note {n}"),
        lambda: f.meeting(f"m{n}"),
        lambda: f.statement(f"s{n}"),
        lambda: f.draft(
            "PositionStated",
            {"party": f.IRAQ, "issue_id": "timeline", "position": "support", "text": f"p{n}"},
        ),
        lambda: f.agreement(f"ag{n % 3}"),
        lambda: f.status(STATUSES[n % len(STATUSES)], f"ag{n % 3}"),
        lambda: f.milestone(f"ms{n % 4}"),
        lambda: f.settled(f"ms{n % 4}"),
        lambda: f.talks("TalksSuspended"),
        lambda: f.talks("TalksResumed"),
    ]
    if targets:
        target = targets[n % len(targets)]
        options.append(lambda: f.retraction(target))
    if notes:
        options.append(lambda: f.correction(notes[n % len(notes)], {"text": f"corrected {n}"}))
    return options


def random_history(choices: list[int]) -> tuple[Negotiations, list[RecordedEvent]]:
    """An in-memory store holding a valid history of talks-a steered by ``choices``: each picks
    one of the events that could come next (an event refused is not stored)."""
    app = Negotiations(env=MEMORY_ENV)
    app.record_many(f.started(), principal="p")
    for n, choice in enumerate(choices):
        options = _candidates(app.history(f.NID), n)
        # A refusal by an invariant stores nothing, so the history stays valid.
        with contextlib.suppress(RecorderError):
            app.record(options[choice % len(options)](), principal="p")
    return app, app.history(f.NID)
