"""``diff(before_state, after_state, today=...)`` on the U.S.–Iraq scenario: what changed
between two points in world time or record time, and which events caused it."""

from __future__ import annotations

from datetime import date
from typing import Any

from events import RecordedEvent
from projections.diff import diff
from services.recorder.application import Negotiations
from tests import factories as f
from tests.unit.projections.support import (
    AGREEMENT,
    IRAQ_DELEGATION,
    KURDISTAN,
    MISSION,
    NEW_HEAD,
    NID,
    OLD_HEAD,
    correct,
    correct_iraqi_head,
    just_before,
    known_through,
    retract,
    state_at,
    the,
    write,
)

TODAY = date(2026, 1, 1)


def by_key(changes: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["section"], c["id"]): c for c in changes}


def test_the_joint_statement_adds_the_agreement_and_both_milestones(
    scenario: list[RecordedEvent],
) -> None:
    changes = diff(
        state_at(scenario, as_of="2024-08-01"), state_at(scenario, as_of="2024-10-01"), today=TODAY
    )
    found = by_key(changes)
    assert list(found) == [
        ("negotiation", "status"),
        ("agreements", AGREEMENT),
        ("milestones", MISSION),
        ("milestones", KURDISTAN),
    ]
    status = found["negotiation", "status"]
    assert (status["change"], status["before"], status["after"]) == (
        "changed",
        "active",
        "implementation",
    )
    agreement = found["agreements", AGREEMENT]
    assert (agreement["change"], agreement["before"]) == ("added", None)
    assert agreement["after"]["status"] == "in_force"
    assert [step["status"] for step in agreement["after"]["history"]] == ["adopted", "in_force"]
    reached, in_force = the(scenario, "AgreementReached"), the(scenario, "AgreementStatusChanged")
    assert agreement["events"] == sorted([reached.event_id, in_force.event_id])
    for index, milestone in enumerate((MISSION, KURDISTAN)):
        change = found["milestones", milestone]
        assert change["change"] == "added"
        assert change["events"] == [the(scenario, "MilestoneScheduled", index).event_id]


def test_a_correction_between_two_known_at_times_changes_the_delegation(
    memory_app: Negotiations, scenario: list[RecordedEvent]
) -> None:
    fix = correct_iraqi_head(memory_app)
    events = memory_app.history(NID)
    changes = diff(state_at(events, known_at=just_before(fix)), state_at(events), today=TODAY)
    (change,) = changes
    assert (change["section"], change["id"], change["change"]) == (
        "delegations",
        IRAQ_DELEGATION,
        "changed",
    )
    assert change["before"]["head"]["name"] == OLD_HEAD
    assert change["after"]["head"]["name"] == NEW_HEAD
    assert fix.event_id in change["events"]


def test_a_retraction_shows_the_retracted_entry_as_removed(
    memory_app: Negotiations, scenario: list[RecordedEvent]
) -> None:
    note = the(scenario, "ContextNoted")
    withdrawn = retract(memory_app, note)
    events = memory_app.history(NID)
    (change,) = diff(
        state_at(events, known_at=just_before(withdrawn)), state_at(events), today=TODAY
    )
    assert (change["section"], change["id"], change["change"]) == (
        "context",
        note.event_id,
        "removed",
    )
    assert change["before"]["event_id"] == note.event_id
    assert change["after"] is None
    assert withdrawn.event_id in change["events"]


def test_identical_views_have_no_changes(scenario: list[RecordedEvent]) -> None:
    assert diff(state_at(scenario), state_at(scenario), today=TODAY) == []
    assert (
        diff(state_at(scenario, as_of="2024-10-01"), state_at(scenario, as_of="2025"), today=TODAY)
        == []
    )


def test_a_correction_known_at_both_times_is_not_a_cause_of_a_later_change(
    memory_app: Negotiations, scenario: list[RecordedEvent]
) -> None:
    """The agreement's title was corrected before ``--from``; between ``--from`` and ``--to``
    only its suspension happened, so only that event caused the change."""
    reached = the(scenario, "AgreementReached")
    correction = correct(memory_app, reached, {"title": "Joint statement"})
    ratified = write(memory_app, f.status("suspended", AGREEMENT, NID))
    events = memory_app.history(NID)
    (change,) = diff(
        state_at(events, known_at=known_through(correction)), state_at(events), today=TODAY
    )
    assert (change["section"], change["id"], change["change"]) == (
        "agreements",
        AGREEMENT,
        "changed",
    )
    assert change["events"] == [ratified.event_id]
