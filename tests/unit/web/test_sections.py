"""The page's sections derived from a negotiation's state: filters, party matching, marks of
corrections, retractions and withdrawals, positions and milestones."""

from __future__ import annotations

from datetime import date

import pytest

from events.types import EVENT_TYPES
from projections.negotiation import fold
from projections.shapes import State
from services.recorder.application import Negotiations
from services.web import sections
from services.web.exceptions import InvalidFilter
from services.web.marks import KIND_OF, KINDS
from tests.factories import (
    IRAQ,
    NID,
    USA,
    correction,
    draft,
    joined,
    note,
    opened,
    retraction,
    statement,
)


def state_of(app: Negotiations) -> State:
    return fold(None, app.wires(NID, after_version=0))


@pytest.fixture
def talks(memory_app: Negotiations) -> Negotiations:
    memory_app.record_many([opened(), joined(IRAQ), joined(USA)], principal="t")
    return memory_app


def test_every_event_type_has_a_kind_and_every_kind_a_filter() -> None:
    assert {k.name for k in KIND_OF.values()} == set(KINDS)
    assert KIND_OF.keys() == EVENT_TYPES.keys()


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (sections.Filters(kind="treaty"), "kind: unknown kind 'treaty'"),
        (sections.Filters(verification="rumour"), "verification: unknown level 'rumour'"),
        (sections.Filters(party="Atlantis"), "party: no party named 'Atlantis'"),
    ],
)
def test_unknown_filters_are_refused_naming_the_field(
    filters: sections.Filters, message: str
) -> None:
    with pytest.raises(InvalidFilter) as refused:
        filters.check(["Iraq"])
    assert refused.value.message == message


def test_a_correction_and_a_retraction_mark_their_targets(talks: Negotiations) -> None:
    first = talks.record(note("About 2,500 troops."), principal="t")
    second = talks.record(note("Another note."), principal="t")
    talks.record(correction(first.event_id, {"text": "About 2,600 troops."}), principal="t")
    talks.record(retraction(second.event_id), principal="t")
    months = sections.timeline(state_of(talks), sections.Filters())
    by_id = {r.event_id: r for m in months for r in m.rows}
    [fixed] = by_id[first.event_id].marks
    assert (fixed.label, fixed.event_type) == ("corrected", "EventCorrected")
    assert fixed.text.startswith("text: ") and fixed.anchor.startswith("audit-")
    assert by_id[first.event_id].summary.endswith("About 2,600 troops.")
    [gone] = by_id[second.event_id].marks
    assert gone.label == "retracted" and "Wrong report" in gone.text


def test_a_withdrawn_statement_is_marked_and_links_to_the_withdrawal(
    talks: Negotiations,
) -> None:
    said = talks.record(statement("s-1"), principal="t")
    withdrawn = talks.record(
        draft("StatementWithdrawn", {"statement_id": "s-1", "by": USA}), principal="t"
    )
    rows = {
        r.event_id: r
        for m in sections.timeline(state_of(talks), sections.Filters())
        for r in m.rows
    }
    [mark] = rows[said.event_id].marks
    assert mark.label == "withdrawn" and mark.anchor == f"ev-{withdrawn.event_id}"


def test_party_filter_keeps_the_events_naming_the_party(talks: Negotiations) -> None:
    months = sections.timeline(
        state_of(talks), sections.Filters(party="Iraq").check(["Iraq", "United States"])
    )
    kept = [r.summary for m in months for r in m.rows]
    assert kept == ["Iraq joined as party"]


def test_positions_grid_has_every_party_and_issue(talks: Negotiations) -> None:
    grid = sections.positions(state_of(talks))
    assert grid["parties"] == ["Iraq", "United States"]
    assert [i["id"] for i in grid["issues"]] == ["timeline", "transition"]
    assert all(c["latest"] is None for i in grid["issues"] for c in i["cells"])


def test_an_overdue_milestone_is_named_so(memory_app: Negotiations) -> None:
    from tests.factories import agreement, milestone, started

    memory_app.record_many([*started(), agreement(), milestone()], principal="t")
    [m] = sections.milestones(state_of(memory_app), date(2100, 1, 1))
    assert m["state"] == "overdue" and m["due_text"].startswith(("by ", "on "))
    [m] = sections.milestones(state_of(memory_app), date(2000, 1, 1))
    assert m["state"] == "scheduled"
