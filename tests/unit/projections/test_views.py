"""The rendered projections (negotiation, timeline, positions, commitments, audit) of the
U.S.–Iraq scenario, ``due_next``, and the type filters' handling of corrections."""

from __future__ import annotations

from datetime import date
from typing import Any

from events import RecordedEvent
from projections.views import PROJECTIONS, due_next
from services.recorder.application import Negotiations
from tests import factories as f
from tests.unit.projections.support import (
    AGREEMENT,
    IRAQ_DELEGATION,
    KURDISTAN,
    MISSION,
    NEW_HEAD,
    NID,
    PRINCIPAL,
    TIMELINE_POSITIONS,
    correct,
    correct_iraqi_head,
    iraqi_delegation,
    record,
    retract,
    the,
    write,
)

TODAY = date(2025, 1, 1)


def render(name: str, events: list[RecordedEvent], today: date = TODAY) -> Any:
    projection = PROJECTIONS[name]
    return projection.render(projection.apply(None, events), today)


def commitment_list(events: list[RecordedEvent], today: date = TODAY) -> Any:
    """The milestone rows of the commitments view."""
    return render("commitments", events, today)["milestones"]


def record_earlier_position(app: Negotiations) -> RecordedEvent:
    payload = {"party": f.IRAQ, "issue_id": "withdrawal-timeline", "position": "oppose"}
    return record(app, "PositionStated", {**payload, "text": "Not yet."}, occurred_at="2024-03")


class TestNegotiation:
    def test_marks_milestones_overdue_against_the_given_today(
        self, scenario: list[RecordedEvent]
    ) -> None:
        def overdue(today: date) -> dict[str, bool]:
            milestones = render("negotiation", scenario, today)["milestones"]
            return {mid: m["overdue"] for mid, m in milestones.items()}

        assert overdue(date(2025, 9, 30)) == {MISSION: False, KURDISTAN: False}
        assert overdue(date(2025, 10, 1)) == {MISSION: True, KURDISTAN: False}
        assert overdue(date(2026, 10, 1)) == {MISSION: True, KURDISTAN: True}

    def test_rendering_leaves_the_state_unchanged(self, scenario: list[RecordedEvent]) -> None:
        state = PROJECTIONS["negotiation"].apply(None, scenario)
        PROJECTIONS["negotiation"].render(state, TODAY)
        assert all("overdue" not in m for m in state["view"]["milestones"].values())

    def test_a_partys_latest_position_is_the_latest_in_world_time(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        """A March 2024 position learned (recorded) after the scenario is older than the July
        one: the issue keeps showing July's as Iraq's latest (docs/projections.md)."""
        record_earlier_position(memory_app)
        issue = render("negotiation", memory_app.history(NID))["issues"]["withdrawal-timeline"]
        assert issue["positions"]["Iraq"]["occurred_at"] == "2024-07"


class TestTimeline:
    def test_orders_by_partial_date_then_position(self, scenario: list[RecordedEvent]) -> None:
        rows = render("timeline", scenario)
        assert [r["position"] for r in rows] == TIMELINE_POSITIONS
        assert [rows[0]["precision"], rows[3]["precision"], rows[4]["precision"]] == [
            "month",
            "year",
            "day",
        ]
        assert rows[0]["type"] == "NegotiationOpened"
        assert rows[-1]["sources"] == ["Governments of the United States and Iraq"]

    def test_marks_corrected_and_retracted_rows_and_lists_neither_event(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        fix = correct_iraqi_head(memory_app)
        note = the(scenario, "ContextNoted")
        retract(memory_app, note)
        rows = {r["event_id"]: r for r in render("timeline", memory_app.history(NID))}
        assert len(rows) == 15
        delegation = rows[iraqi_delegation(scenario).event_id]
        assert delegation["corrected_by"] == [fix.event_id]
        assert NEW_HEAD in delegation["summary"]
        assert rows[note.event_id]["retracted"] is True
        assert sum(r["retracted"] for r in rows.values()) == 1


class TestPositions:
    def test_is_a_series_per_party_and_issue(self, scenario: list[RecordedEvent]) -> None:
        stated = the(scenario, "PositionStated")
        view = render("positions", scenario)
        assert view["negotiation_id"] == NID
        assert list(view["positions"]) == ["Iraq"]
        (entry,) = view["positions"]["Iraq"]["withdrawal-timeline"]
        assert entry["position"] == "support"
        assert entry["occurred_at"] == "2024-07"
        assert entry["event_id"] == stated.event_id
        assert entry["corrected"] is False

    def test_shows_a_corrected_position_as_corrected(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        correct(memory_app, the(scenario, "PositionStated"), {"text": "By September 2025."})
        (entry,) = render("positions", memory_app.history(NID))["positions"]["Iraq"][
            "withdrawal-timeline"
        ]
        assert entry["text"] == "By September 2025."
        assert entry["corrected"] is True

    def test_the_series_is_in_world_time_order_when_an_older_position_is_recorded_late(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        record_earlier_position(memory_app)
        series = render("positions", memory_app.history(NID))["positions"]["Iraq"]
        dated = [(e["occurred_at"], e["position"]) for e in series["withdrawal-timeline"]]
        assert dated == [("2024-03", "oppose"), ("2024-07", "support")]

    def test_leaves_out_a_retracted_position(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        retract(memory_app, the(scenario, "PositionStated"))
        assert render("positions", memory_app.history(NID))["positions"] == {}


class TestCommitments:
    def test_lists_each_milestone_with_its_last_day_and_agreement(
        self, scenario: list[RecordedEvent]
    ) -> None:
        rows = {r["milestone_id"]: r for r in commitment_list(scenario)}
        assert set(rows) == {MISSION, KURDISTAN}
        mission = rows[MISSION]
        assert mission["due"] == {"kind": "not_later_than", "date": "2025-09-30"}
        assert mission["last_day"] == "2025-09-30"
        assert mission["obligor"] == "Global Coalition to Defeat ISIS"
        assert mission["status"] == "scheduled"
        assert mission["agreement"] == the(scenario, "AgreementReached").wire["payload"]["title"]
        assert mission["event_id"] == the(scenario, "MilestoneScheduled").event_id
        assert rows[KURDISTAN]["last_day"] == "2026-09-30"  # due "2026-09": the whole month

    def test_overdue_is_computed_against_the_given_today(
        self, scenario: list[RecordedEvent]
    ) -> None:
        def overdue(today: date) -> dict[str, bool]:
            return {r["milestone_id"]: r["overdue"] for r in commitment_list(scenario, today)}

        assert overdue(date(2025, 9, 30)) == {MISSION: False, KURDISTAN: False}
        assert overdue(date(2026, 9, 30)) == {MISSION: True, KURDISTAN: False}
        assert overdue(date(2026, 10, 1)) == {MISSION: True, KURDISTAN: True}

    def test_a_met_milestone_is_neither_overdue_nor_due_next(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        write(memory_app, f.settled(MISSION, nid=NID))
        rows = commitment_list(memory_app.history(NID), date(2026, 10, 1))
        mission = next(r for r in rows if r["milestone_id"] == MISSION)
        assert (mission["status"], mission["overdue"]) == ("met", False)
        assert [r["milestone_id"] for r in due_next(rows)] == [KURDISTAN]

    def test_due_next_puts_the_soonest_last_day_first_and_undated_last(
        self, scenario: list[RecordedEvent]
    ) -> None:
        rows = commitment_list(scenario)
        undated = {**rows[0], "milestone_id": "undated", "last_day": None}
        met = {**rows[0], "milestone_id": "met", "last_day": "2024-01-01", "status": "met"}
        elsewhere = {**rows[1], "milestone_id": "elsewhere", "last_day": "2026-01-15"}
        ordered = due_next([undated, rows[1], met, elsewhere, rows[0]])
        assert [r["milestone_id"] for r in ordered] == [MISSION, "elsewhere", KURDISTAN, "undated"]
        assert [r["milestone_id"] for r in due_next(ordered, limit=1)] == [MISSION]


class TestAudit:
    def test_lists_every_event_in_position_order_with_its_provenance(
        self, scenario: list[RecordedEvent]
    ) -> None:
        rows = render("audit", scenario)
        assert [r["position"] for r in rows] == list(range(1, 16))
        for row, event in zip(rows, scenario, strict=True):
            assert row["event_id"] == event.event_id
            assert row["hash"] == event.stamp.hash
            assert row["recorded_by"] == PRINCIPAL
            assert row["recorded_at"] == event.wire["recorded_at"]
            assert row["sources"] == [s["outlet"] for s in event.wire["sources"]]
            assert (row["corrected_by"], row["retracted_by"]) == ([], None)

    def test_names_the_correction_and_the_retraction_of_their_targets(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        fix = correct_iraqi_head(memory_app)
        note = the(scenario, "ContextNoted")
        withdrawn = retract(memory_app, note)
        rows = {r["event_id"]: r for r in render("audit", memory_app.history(NID))}
        assert len(rows) == 17
        assert rows[iraqi_delegation(scenario).event_id]["corrected_by"] == [fix.event_id]
        assert rows[note.event_id]["retracted_by"] == withdrawn.event_id
        assert rows[fix.event_id]["type"] == "EventCorrected"
        assert rows[withdrawn.event_id]["position"] == 17


class TestTypeFilters:
    def registry_types(self, name: str, events: list[RecordedEvent]) -> set[str]:
        state = PROJECTIONS[name].apply(None, events)
        return {rec["type"] for rec in state["registry"].values()}

    def test_positions_ignore_corrections_of_other_types(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        before = render("positions", scenario)
        correct_iraqi_head(memory_app)
        retract(memory_app, the(scenario, "ContextNoted"))
        events = memory_app.history(NID)
        assert render("positions", events) == before
        assert self.registry_types("positions", events) == {"PositionStated"}

    def test_positions_keep_corrections_of_positions(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        correct(memory_app, the(scenario, "PositionStated"), {"position": "conditional"})
        events = memory_app.history(NID)
        assert self.registry_types("positions", events) == {"PositionStated", "EventCorrected"}
        series = render("positions", events)["positions"]["Iraq"]["withdrawal-timeline"]
        assert [e["position"] for e in series] == ["conditional"]

    def test_commitments_keep_corrections_of_milestones_and_ignore_others(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        new_due = {"kind": "not_later_than", "date": "2025-12-31"}
        correct(memory_app, the(scenario, "MilestoneScheduled"), {"due": new_due})
        correct_iraqi_head(memory_app)
        events = memory_app.history(NID)
        rows = {r["milestone_id"]: r for r in commitment_list(events)}
        assert (rows[MISSION]["due"], rows[MISSION]["last_day"]) == (new_due, "2025-12-31")
        assert (
            rows[MISSION]["agreement"] == the(scenario, "AgreementReached").wire["payload"]["title"]
        )
        kept = self.registry_types("commitments", events)
        assert "EventCorrected" in kept
        assert "DelegationAssigned" not in kept
        state = PROJECTIONS["commitments"].apply(None, events)
        assert len(state["view"]["corrections"]) == 1  # the delegation's correction is ignored
        assert IRAQ_DELEGATION not in state["view"]["delegations"]

    def test_commitments_show_a_corrected_agreement_title(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        correct(memory_app, the(scenario, "AgreementReached"), {"title": "Joint statement"})
        rows = commitment_list(memory_app.history(NID))
        assert {r["agreement"] for r in rows} == {"Joint statement"}
        assert AGREEMENT in render("negotiation", memory_app.history(NID))["agreements"]
