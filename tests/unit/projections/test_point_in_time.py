"""Point-in-time folds of the U.S.–Iraq scenario: ``as_of`` (world time) and ``known_at``
(record time), independently and together (docs/dates.md; docs/architecture.md, two clocks)."""

from __future__ import annotations

from events import PartialDate, RecordedEvent
from projections.asof import too_early
from services.recorder.application import Negotiations
from tests.unit.projections.support import (
    AGREEMENT,
    IRAQ_DELEGATION,
    KURDISTAN,
    MISSION,
    NEW_HEAD,
    NID,
    OLD_HEAD,
    correct_iraqi_head,
    just_before,
    known_through,
    record,
    retract,
    the,
    view_at,
)


class TestAsOf:
    def test_before_the_joint_statement_there_is_no_agreement_and_talks_are_active(
        self, scenario: list[RecordedEvent]
    ) -> None:
        state = view_at(scenario, as_of="2024-08-01")
        assert state["agreements"] == {}
        assert state["milestones"] == {}
        assert state["status"] == "active"
        assert set(state["meetings"]) == {"biden-sudani-2024-04", "jscd-2"}

    def test_after_the_joint_statement_it_is_in_force_unsigned_with_both_milestones_due(
        self, scenario: list[RecordedEvent]
    ) -> None:
        state = view_at(scenario, as_of="2024-10-01")
        assert list(state["agreements"]) == [AGREEMENT]
        agreement = state["agreements"][AGREEMENT]
        assert agreement["status"] == "in_force"
        assert [step["status"] for step in agreement["history"]] == ["adopted", "in_force"]
        assert agreement["stage"] == "framework_partial"
        assert state["status"] == "implementation"
        milestones = state["milestones"]
        assert milestones[MISSION]["due"] == {"kind": "not_later_than", "date": "2025-09-30"}
        assert milestones[KURDISTAN]["due"] == {"kind": "not_later_than", "date": "2026-09"}
        assert {m["status"] for m in milestones.values()} == {"scheduled"}

    def test_in_december_2023_only_the_opening_and_the_parties_count(
        self, scenario: list[RecordedEvent]
    ) -> None:
        state = view_at(scenario, as_of="2023-12")
        assert state["title"] is not None
        assert state["status"] == "pre_negotiation"
        assert set(state["parties"]) == {"Iraq", "United States"}
        assert len(state["issues"]) == 4
        assert state["version"] == 3
        for section in ("delegations", "meetings", "statements", "demands", "context"):
            assert state[section] == {}, section

    def test_a_month_precision_event_counts_as_of_a_day_inside_that_month(
        self, scenario: list[RecordedEvent]
    ) -> None:
        mid_july = view_at(scenario, as_of="2024-07-15")
        assert set(mid_july["delegations"]) == {IRAQ_DELEGATION, "us-jscd-delegation"}
        assert mid_july["issues"]["withdrawal-timeline"]["positions"]["Iraq"]["occurred_at"] == (
            "2024-07"
        )
        assert "jscd-2" not in mid_july["meetings"]  # dated 2024-07-22
        assert view_at(scenario, as_of="2024-06-30")["delegations"] == {}

    def test_a_year_precision_event_counts_from_the_first_day_of_that_year(
        self, scenario: list[RecordedEvent]
    ) -> None:
        assert len(view_at(scenario, as_of="2024-01-01")["demands"]) == 1
        assert view_at(scenario, as_of="2023-12-31")["demands"] == {}


class TestKnownAt:
    def test_a_later_correction_changes_what_is_known_now_but_not_before_it(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        fix = correct_iraqi_head(memory_app)
        events = memory_app.history(NID)
        now = view_at(events)
        assert now["delegations"][IRAQ_DELEGATION]["head"]["name"] == NEW_HEAD
        assert now["delegations"][IRAQ_DELEGATION]["corrected"] is True
        assert [c["event_id"] for c in now["corrections"]] == [fix.event_id]
        for known_at in (just_before(fix), known_through(scenario[-1])):
            then = view_at(events, known_at=known_at)
            assert then["delegations"][IRAQ_DELEGATION]["head"]["name"] == OLD_HEAD
            assert then["delegations"][IRAQ_DELEGATION]["corrected"] is False
            assert then["corrections"] == []
            assert then["version"] == 15
        assert view_at(events, known_at=known_through(fix)) == now

    def test_known_at_a_day_includes_everything_recorded_that_day(
        self, scenario: list[RecordedEvent]
    ) -> None:
        day = scenario[-1].wire["recorded_at"][:10]
        assert view_at(scenario, known_at=day) == view_at(scenario)
        assert view_at(scenario, known_at="2000-01-01")["version"] == 0

    def test_a_later_retraction_hides_the_event_only_when_known_after_it(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        note = the(scenario, "ContextNoted")
        withdrawn = retract(memory_app, note)
        events = memory_app.history(NID)
        now = view_at(events)
        assert now["context"] == {}
        assert now["retracted"] == [note.event_id]
        before = view_at(events, known_at=just_before(withdrawn))
        assert list(before["context"]) == [note.event_id]
        assert before["retracted"] == []


class TestBothClocks:
    def test_a_correction_applies_to_any_as_of_because_it_changes_knowledge_not_history(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        correct_iraqi_head(memory_app)  # its own occurred_at is 2024-10-01
        state = view_at(memory_app.history(NID), as_of="2024-08-01")
        assert state["delegations"][IRAQ_DELEGATION]["head"]["name"] == NEW_HEAD

    def test_a_correction_of_an_event_outside_the_as_of_is_left_out(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        correct_iraqi_head(memory_app)
        state = view_at(memory_app.history(NID), as_of="2024-06")
        assert state["delegations"] == {}
        assert state["corrections"] == []

    def test_as_of_with_known_at_answers_what_was_known_on_day_k_about_day_d(
        self, memory_app: Negotiations, scenario: list[RecordedEvent]
    ) -> None:
        late = record(
            memory_app,
            "MeetingHeld",
            {"meeting_id": "jscd-1", "mode": "virtual", "agenda": ["withdrawal-timeline"]},
            occurred_at="2024-06-10",
        )
        events = memory_app.history(NID)
        then = known_through(scenario[-1])

        def meetings(as_of: str, known_at: PartialDate) -> set[str]:
            return set(view_at(events, as_of=as_of, known_at=known_at)["meetings"])

        assert meetings("2024-06-30", then) == {"biden-sudani-2024-04"}
        assert meetings("2024-06-30", known_through(late)) == {"biden-sudani-2024-04", "jscd-1"}
        assert meetings("2024-06-09", known_through(late)) == {"biden-sudani-2024-04"}
        assert meetings("2024-06-30", just_before(late)) == {"biden-sudani-2024-04"}


class TestTooEarly:
    """``too_early``: whether a point in time comes before the negotiation was known or had
    opened (readers answer that rather than an empty state)."""

    def test_known_at_before_the_first_record_is_not_known_yet(
        self, scenario: list[RecordedEvent]
    ) -> None:
        opening = scenario[0]
        problem = too_early(opening, as_of=None, known_at=just_before(opening))
        assert problem is not None
        assert problem.code == "not_known_yet"
        assert problem.details["first_recorded_at"] == opening.wire["recorded_at"]

    def test_known_at_the_first_record_is_known(self, scenario: list[RecordedEvent]) -> None:
        opening = scenario[0]
        assert too_early(opening, as_of=None, known_at=known_through(opening)) is None

    def test_as_of_before_the_opening_month_is_not_opened_yet(
        self, scenario: list[RecordedEvent]
    ) -> None:
        problem = too_early(scenario[0], as_of=PartialDate.parse("2023-07-31"), known_at=None)
        assert problem is not None
        assert (problem.code, problem.details["opened_at"]) == ("not_opened_yet", "2023-08")

    def test_as_of_within_the_opening_month_is_opened(self, scenario: list[RecordedEvent]) -> None:
        assert too_early(scenario[0], as_of=PartialDate.parse("2023-08-01"), known_at=None) is None

    def test_known_at_is_answered_before_as_of(self, scenario: list[RecordedEvent]) -> None:
        opening = scenario[0]
        problem = too_early(opening, as_of=PartialDate.parse("2020"), known_at=just_before(opening))
        assert problem is not None
        assert problem.code == "not_known_yet"
