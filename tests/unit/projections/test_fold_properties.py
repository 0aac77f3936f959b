"""Properties of the negotiation reducer over random valid histories."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import Envelope, RecordedEvent
from projections.negotiation import fold
from services.recorder.application import Negotiations
from services.recorder.audit import verify
from services.recorder.exceptions import RecorderError
from services.recorder.store import MEMORY_ENV
from tests import factories as f

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


def _history(app: Negotiations, choices: list[int]) -> list[RecordedEvent]:
    app.record_many(f.started(), principal="p")
    for n, choice in enumerate(choices):
        options = _candidates(app.history(f.NID), n)
        # A refusal by an invariant stores nothing, so the history stays valid.
        with contextlib.suppress(RecorderError):
            app.record(options[choice % len(options)](), principal="p")
    return app.history(f.NID)


def _same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=st.lists(st.integers(min_value=0, max_value=50), max_size=40), data=st.data())
def test_folding_in_two_halves_equals_folding_at_once_and_the_chain_verifies(
    choices: list[int], data: st.DataObject
) -> None:
    app = Negotiations(env=MEMORY_ENV)
    events = _history(app, choices)
    cut = data.draw(st.integers(min_value=0, max_value=len(events)))
    whole = fold(None, events)
    first = fold(None, events[:cut])
    before = copy.deepcopy(first)
    assert _same(fold(first, events[cut:]), whole)
    assert _same(first, before), "fold mutated its input state"
    assert verify(app).ok


@settings(max_examples=30, deadline=None)
@given(choices=st.lists(st.integers(min_value=0, max_value=50), min_size=5, max_size=30))
def test_a_retracted_event_leaves_the_view_as_if_it_had_never_been_recorded(
    choices: list[int],
) -> None:
    app = Negotiations(env=MEMORY_ENV)
    events = _history(app, choices)
    last = events[-1]
    if last.type in ("EventCorrected", "EventRetracted", "NegotiationOpened"):
        return
    without = fold(None, events[:-1])["view"]
    app.record(f.retraction(last.event_id), principal="p")
    after = fold(None, app.history(f.NID))["view"]
    for key in ("status", "meetings", "statements", "agreements", "milestones", "context"):
        assert _same(after[key], without[key]), key
