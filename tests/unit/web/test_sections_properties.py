"""Properties of the page's sections over random valid histories (corrections, retractions,
withdrawals, milestones in any order): every development shows once, in world-time order,
under its own month; each mark names an event of the history; every filter keeps exactly the
rows that match it; the chart has one track per milestone."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings

from events import CORRECTIONS, PartialDate
from projections.negotiation import fold
from services.web import sections
from services.web.chart import milestone_chart
from services.web.dates import month_of
from services.web.marks import KINDS
from tests.unit.projections.support import CHOICES, random_history


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=CHOICES)
def test_the_timeline_shows_each_development_once_in_order_under_its_month(
    choices: list[int],
) -> None:
    _, events = random_history(choices)
    state = fold(None, events)
    registry = state["registry"]
    months = sections.timeline(state, sections.Filters())
    rows = [r for m in months for r in m.rows]
    developments = {i for i, r in registry.items() if r["type"] not in CORRECTIONS}
    assert sorted(r.event_id for r in rows) == sorted(developments)
    keys = [PartialDate.parse(registry[r.event_id]["occurred_at"]).sort_key() for r in rows]
    assert keys == sorted(keys)
    for month in months:
        assert {month_of(registry[r.event_id]["occurred_at"]) for r in month.rows} == {month.label}
    assert len({m.label for m in months}) == len(months)  # a month is one group
    for row in rows:
        for mark in row.marks:
            assert mark.event_id in registry
            assert (mark.label == "retracted") == (
                registry[row.event_id]["retracted_by"] == mark.event_id
            )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=CHOICES)
def test_each_filter_keeps_exactly_the_matching_rows(choices: list[int]) -> None:
    _, events = random_history(choices)
    state = fold(None, events)
    everything = [r for m in sections.timeline(state, sections.Filters()) for r in m.rows]
    for kind in KINDS:
        kept = [r for m in sections.timeline(state, sections.Filters(kind=kind)) for r in m.rows]
        assert [r.event_id for r in kept] == [r.event_id for r in everything if r.kind == kind]
    for level in sections.VERIFICATIONS:
        only = sections.Filters(verification=level)
        kept = [r for m in sections.timeline(state, only) for r in m.rows]
        assert [r.event_id for r in kept] == [
            r.event_id for r in everything if r.verification == level
        ]
    for party in sections.party_names(state):
        only = sections.Filters(party=party).check(sections.party_names(state))
        kept = [r for m in sections.timeline(state, only) for r in m.rows]
        assert [r.event_id for r in kept] == [r.event_id for r in everything if party in r.parties]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=CHOICES)
def test_the_chart_draws_one_track_per_milestone(choices: list[int]) -> None:
    _, events = random_history(choices)
    state = fold(None, events)
    rows = sections.milestones(state, date(2025, 6, 1))
    svg = str(milestone_chart(rows, date(2025, 6, 1), "t"))
    assert svg.count('<g class="track') == len(state["view"]["milestones"])
    assert {r["state"] for r in rows} <= {"scheduled", "rescheduled", "overdue", "met", "missed"}
