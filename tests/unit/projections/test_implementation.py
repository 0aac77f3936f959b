"""The implementation score of an agreement over time: the mean degree (PAM: 0 to 3) of its
milestones at each date, answerable as of any date, from the series and by folding as of
that date, in the commitments view."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any, ClassVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import Envelope, PartialDate, RecordedEvent
from projections.asof import fold_at
from projections.implementation import agreement_scores, score_at
from projections.negotiation import fold
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.recorder.exceptions import RecorderError
from services.recorder.store import MEMORY_ENV
from tests import factories as f

TODAY = date(2026, 6, 1)
AGREEMENT = "ag-1"


def milestone(milestone_id: str, when: str, agreement_id: str = AGREEMENT) -> Envelope:
    payload = {
        "milestone_id": milestone_id,
        "agreement_id": agreement_id,
        "obligor": f.USA,
        "description": "A step.",
        "due": {"kind": "not_later_than", "date": "2026-09-30"},
    }
    return f.draft("MilestoneScheduled", payload, occurred_at=when)


def history(*drafts: Envelope) -> list[RecordedEvent]:
    app = Negotiations(env=MEMORY_ENV)
    app.record_many([*f.started(), f.agreement(AGREEMENT), *drafts], principal="p")
    return app.history(f.NID)


def commitments(events: list[RecordedEvent], as_of: str | None = None) -> Any:
    state = fold_at(events, as_of=PartialDate.parse(as_of) if as_of else None)
    return PROJECTIONS["commitments"].render(state, TODAY)


class TestAGivenAgreement:
    """Two milestones from 27 September 2024; one reaches degree 1 in January 2025 and 2 on
    15 March; the other is met on 1 June."""

    EVENTS: ClassVar[list[RecordedEvent]] = []

    @classmethod
    def events(cls) -> list[RecordedEvent]:
        if not cls.EVENTS:
            cls.EVENTS = history(
                milestone("m-1", "2024-09-27"),
                milestone("m-2", "2024-09-27"),
                f.progressed("m-1", degree=1, occurred_at="2025-01"),
                f.progressed("m-1", degree=2, occurred_at="2025-03-15"),
                f.draft("MilestoneMet", {"milestone_id": "m-2"}, occurred_at="2025-06-01"),
            )
        return cls.EVENTS

    def test_the_series_steps_at_each_date_a_degree_changed(self) -> None:
        score = commitments(self.events())["implementation"][AGREEMENT]
        assert score["series"] == [
            {"occurred_at": "2024-09-27", "score": 0.0, "milestones": 2},
            {"occurred_at": "2025-01", "score": 0.5, "milestones": 2},
            {"occurred_at": "2025-03-15", "score": 1.0, "milestones": 2},
            {"occurred_at": "2025-06-01", "score": 2.5, "milestones": 2},
        ]
        assert score["score"] == 2.5

    def test_as_of_several_dates_the_fold_and_the_series_agree(self) -> None:
        view = fold(None, self.events())["view"]
        milestones = [m for m in view["milestones"].values()]
        for as_of, expected in [
            ("2024-09-27", 0.0),
            ("2024-12-31", 0.0),
            ("2025-01-01", 0.5),  # "2025-01" counts from the start of January
            ("2025-03-14", 0.5),
            ("2025-03", 1.0),  # the whole of March includes the 15th
            ("2025-05-31", 1.0),
            ("2025-06-01", 2.5),
            ("2026", 2.5),
        ]:
            assert score_at(milestones, PartialDate.parse(as_of)) == (expected, 2), as_of
            folded = commitments(self.events(), as_of)["implementation"][AGREEMENT]
            assert folded["score"] == expected, as_of

    def test_before_any_milestone_there_is_no_score(self) -> None:
        view = fold(None, self.events())["view"]
        assert score_at(list(view["milestones"].values()), PartialDate.parse("2024-09")) == (
            0.0,
            2,
        )
        assert score_at(list(view["milestones"].values()), PartialDate.parse("2024-08")) is None

    def test_the_milestone_rows_carry_their_degree(self) -> None:
        rows = {r["milestone_id"]: r for r in commitments(self.events())["milestones"]}
        assert {m: (r["degree"], r["agreement_id"]) for m, r in rows.items()} == {
            "m-1": (2, AGREEMENT),
            "m-2": (3, AGREEMENT),
        }

    def test_the_negotiation_view_keeps_each_milestones_dated_degrees(self) -> None:
        m1 = fold(None, self.events())["view"]["milestones"]["m-1"]
        assert [(p["occurred_at"], p["degree"]) for p in m1["degrees"]] == [
            ("2024-09-27", 0),
            ("2025-01", 1),
            ("2025-03-15", 2),
        ]
        assert m1["degree"] == 2


def test_a_degree_recorded_late_for_an_earlier_date_does_not_override_a_later_one() -> None:
    events = history(
        milestone("m-1", "2024-09-27"),
        f.progressed("m-1", degree=2, occurred_at="2025-05-01"),
        f.progressed("m-1", degree=1, occurred_at="2025-02-01"),  # learnt later, happened earlier
    )
    m1 = fold(None, events)["view"]["milestones"]["m-1"]
    assert m1["degree"] == 2
    series = commitments(events)["implementation"][AGREEMENT]["series"]
    assert [(p["occurred_at"], p["score"]) for p in series] == [
        ("2024-09-27", 0.0),
        ("2025-02-01", 1.0),
        ("2025-05-01", 2.0),
    ]


def test_a_retracted_progress_leaves_the_score_as_if_never_recorded() -> None:
    events = history(milestone("m-1", "2024-09-27"), f.progressed("m-1", degree=3))
    app = Negotiations(env=MEMORY_ENV)
    app.record_many([*f.started(), f.agreement(AGREEMENT)], principal="p")
    app.record_many([milestone("m-1", "2024-09-27"), f.progressed("m-1", degree=3)], principal="p")
    app.record(f.retraction(app.history(f.NID)[-1].event_id), principal="p")
    assert commitments(events)["implementation"][AGREEMENT]["score"] == 3.0
    assert commitments(app.history(f.NID))["implementation"][AGREEMENT]["score"] == 0.0


def test_milestones_of_other_agreements_and_none_do_not_count() -> None:
    events = history(
        f.agreement("ag-2"),
        milestone("m-1", "2024-09-27"),
        milestone("m-2", "2024-09-27", agreement_id="ag-2"),
        f.milestone("m-3", occurred_at="2024-09-27"),
        f.progressed("m-2", degree=3),
        f.progressed("m-3", degree=3),
    )
    scores = agreement_scores(fold(None, events)["view"])
    assert (scores[AGREEMENT]["score"], scores["ag-2"]["score"]) == (0.0, 3.0)


# Property: on a generated agreement, the score as of any date is the mean, over milestones
# scheduled by then, of each one's latest degree by then (in world time; on a tie, the later
# recorded), computed here by brute force.

DAY0 = date(2024, 1, 1)
days = st.integers(min_value=0, max_value=700)
steps = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), days, st.booleans()), max_size=12)


def _date(offset: int, coarse: bool) -> str:
    day = DAY0 + timedelta(days=offset)
    return day.strftime("%Y-%m") if coarse else day.isoformat()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    starts=st.lists(days, min_size=1, max_size=4),
    progress=steps,
    probes=st.lists(days, min_size=3, max_size=6),
)
def test_the_score_as_of_any_date_is_the_mean_latest_degree(
    starts: list[int], progress: list[tuple[int, int, int, bool]], probes: list[int]
) -> None:
    app = Negotiations(env=MEMORY_ENV)
    reached = f.agreement(AGREEMENT, occurred_at=DAY0.isoformat())
    app.record_many([*f.started(), reached], principal="p")
    points: dict[str, list[tuple[tuple[Any, int], int]]] = {}
    for i, start in enumerate(starts):
        when = _date(start, False)
        app.record(milestone(f"m-{i}", when), principal="p")
        points[f"m-{i}"] = [(PartialDate.parse(when).sort_key(), 0)]
    for which, degree, offset, coarse in progress:
        mid, when = f"m-{which % len(starts)}", _date(offset, coarse)
        with contextlib.suppress(RecorderError):
            app.record(f.progressed(mid, degree=degree, occurred_at=when), principal="p")
            points[mid].append((PartialDate.parse(when).sort_key(), degree))
    events = app.history(f.NID)
    view = fold(None, events)["view"]
    for probe in probes:
        as_of = PartialDate.parse(_date(probe, False))
        expected = _brute_force(points, as_of)
        found = score_at(list(view["milestones"].values()), as_of)
        assert (found[0] if found else None) == expected
        folded = commitments(events, str(as_of))["implementation"][AGREEMENT]["score"]
        assert folded == expected


def _brute_force(
    points: dict[str, list[tuple[tuple[Any, int], int]]], as_of: PartialDate
) -> float | None:
    end = as_of.end
    degrees = []
    for series in points.values():
        counted = [(key, i, d) for i, (key, d) in enumerate(series) if key[0] < end]
        if series[0][0][0] < end:  # scheduled by then
            degrees.append(max(counted)[2])
    return round(sum(degrees) / len(degrees), 4) if degrees else None
