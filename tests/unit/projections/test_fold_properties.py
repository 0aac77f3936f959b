"""Properties of the negotiation reducer over random valid histories."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.negotiation import fold
from services.recorder.audit import verify
from tests import factories as f
from tests.unit.projections.support import CHOICES, random_history


def _same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=CHOICES, data=st.data())
def test_folding_in_two_halves_equals_folding_at_once_and_the_chain_verifies(
    choices: list[int], data: st.DataObject
) -> None:
    app, events = random_history(choices)
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
    app, events = random_history(choices)
    last = events[-1]
    if last.type in ("EventCorrected", "EventRetracted", "NegotiationOpened"):
        return
    without = fold(None, events[:-1])["view"]
    app.record(f.retraction(last.event_id), principal="p")
    after = fold(None, app.history(f.NID))["view"]
    for key in ("status", "meetings", "statements", "agreements", "milestones", "context"):
        assert _same(after[key], without[key]), key
