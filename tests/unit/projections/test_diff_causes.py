"""Every change a diff lists names the events that caused it, derived changes included (the
negotiation's status, a proposal's fate, a party's delegation, issues from the opening)."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import PartialDate, RecordedEvent
from projections.asof import visible
from projections.diff import diff
from services.recorder.application import Negotiations
from services.recorder.exceptions import RecorderError
from services.recorder.store import MEMORY_ENV
from tests import factories as f
from tests.unit.projections.support import just_before, state_at

TODAY = date(2026, 1, 1)
USA, IRAQ, UK = f.USA, f.IRAQ, f.UK
Point = str | PartialDate | None


def changes(
    events: list[RecordedEvent], clock: str, start: Point, end: Point
) -> list[dict[str, Any]]:
    option = "as_of" if clock == "world" else "known_at"
    return diff(state_at(events, **{option: start}), state_at(events, **{option: end}), today=TODAY)


def causes(found: list[dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    return {(c["section"], c["id"]): c["events"] for c in found}


def record(app: Negotiations, *drafts: Any) -> list[RecordedEvent]:
    written = [app.record(d, principal="p") for d in drafts]
    by_id = {e.event_id: e for e in app.history(f.NID)}
    return [by_id[w.event_id] for w in written]


def answer(kind: str, proposal_id: str) -> Any:
    return f.draft(kind, {"proposal_id": proposal_id, "by": IRAQ})


def test_a_status_change_names_the_event_that_moved_it(scenario: list[RecordedEvent]) -> None:
    found = causes(changes(scenario, "world", "2024-08-01", "2024-10-01"))
    reached = next(e for e in scenario if e.type == "AgreementReached")
    in_force = next(e for e in scenario if e.type == "AgreementStatusChanged")
    assert sorted(found["negotiation", "status"]) == sorted([reached.event_id, in_force.event_id])


def test_from_before_anything_was_recorded_the_opening_names_its_headline_and_issues(
    scenario: list[RecordedEvent],
) -> None:
    found = changes(scenario, "record", "2000", None)
    opening = scenario[0].event_id
    named = causes(found)
    for field in ("title", "format"):  # the scenario has no framework_ref
        assert named["negotiation", field] == [opening], field
    issue_changes = [c for c in found if c["section"] == "issues"]
    assert issue_changes
    assert all(opening in c["events"] for c in issue_changes)
    assert all(c["events"] for c in found)


def test_an_accepted_proposal_names_the_acceptance(memory_app: Negotiations) -> None:
    record(memory_app, *f.started(), f.proposal("p-1"))
    (accepted,) = record(memory_app, answer("ProposalAccepted", "p-1"))
    events = memory_app.history(f.NID)
    found = causes(changes(events, "record", just_before(accepted), None))
    assert found == {("proposals", "p-1"): [accepted.event_id]}


def test_a_superseded_proposal_names_the_proposal_that_superseded_it(
    memory_app: Negotiations,
) -> None:
    record(memory_app, *f.started(), f.proposal("p-1"))
    (newer,) = record(memory_app, f.proposal("p-2", supersedes="p-1"))
    events = memory_app.history(f.NID)
    found = causes(changes(events, "record", just_before(newer), None))
    assert found == {("proposals", "p-1"): [newer.event_id], ("proposals", "p-2"): [newer.event_id]}


def test_a_withdrawn_statement_names_the_withdrawal(memory_app: Negotiations) -> None:
    record(memory_app, *f.started(), f.statement("s-1"))
    (withdrawn,) = record(
        memory_app, f.draft("StatementWithdrawn", {"statement_id": "s-1", "by": USA})
    )
    events = memory_app.history(f.NID)
    found = causes(changes(events, "record", just_before(withdrawn), None))
    assert found == {("statements", "s-1"): [withdrawn.event_id]}


def test_a_party_s_new_delegation_names_the_assignment(memory_app: Negotiations) -> None:
    record(memory_app, *f.started())
    head = {"name": "Thabit al-Abbasi", "office": "Minister of Defense"}
    (assigned,) = record(
        memory_app,
        f.draft("DelegationAssigned", {"delegation_id": "d-1", "party": IRAQ, "head": head}),
    )
    events = memory_app.history(f.NID)
    found = causes(changes(events, "record", just_before(assigned), None))
    assert found == {
        ("parties", "Iraq"): [assigned.event_id],
        ("delegations", "d-1"): [assigned.event_id],
    }


def test_a_retracted_acceptance_names_the_retraction(memory_app: Negotiations) -> None:
    record(memory_app, *f.started(), f.proposal("p-1"))
    (accepted,) = record(memory_app, answer("ProposalAccepted", "p-1"))
    (retracted,) = record(memory_app, f.retraction(accepted.event_id))
    events = memory_app.history(f.NID)
    found = causes(changes(events, "record", just_before(retracted), None))
    assert found == {("proposals", "p-1"): [retracted.event_id]}


def test_a_status_restored_by_a_retraction_names_the_retraction(
    memory_app: Negotiations,
) -> None:
    record(memory_app, *f.started(), f.meeting("jscd-1"))
    (suspended,) = record(memory_app, f.talks("TalksSuspended"))
    (retracted,) = record(memory_app, f.retraction(suspended.event_id))
    events = memory_app.history(f.NID)
    found = causes(changes(events, "record", just_before(retracted), None))
    assert found == {("negotiation", "status"): [retracted.event_id]}


def test_a_corrected_title_names_the_correction(memory_app: Negotiations) -> None:
    (opening, *_) = record(memory_app, *f.started())
    (fixed,) = record(memory_app, f.correction(opening.event_id, {"title": "The talks"}))
    events = memory_app.history(f.NID)
    found = causes(changes(events, "record", just_before(fixed), None))
    assert found == {("negotiation", "title"): [fixed.event_id]}


def test_a_diff_backwards_in_time_names_what_had_not_happened_yet(
    scenario: list[RecordedEvent],
) -> None:
    found = causes(changes(scenario, "world", "2024-10-01", "2024-08-01"))
    reached = next(e for e in scenario if e.type == "AgreementReached")
    in_force = next(e for e in scenario if e.type == "AgreementStatusChanged")
    assert sorted(found["negotiation", "status"]) == sorted([reached.event_id, in_force.event_id])
    assert all(found.values())


# Property: over random histories, every change names at least one event, and only events that
# count at exactly one of the two points (the window).

DATES = ["2023-08", "2023-09-01", "2024", "2024-03", "2024-07-22", "2024-10", "2025-01-15"]
STATUSES = ["initialled", "signed", "ratified", "in_force", "suspended", "terminated"]


def _candidate(n: int, when: str, choice: int, events: list[RecordedEvent]) -> Any:
    head = {"name": f"Head {n}", "office": "Minister"}
    party = [IRAQ, USA, UK][n % 3]
    makers = [
        lambda: f.note(f"note {n}", occurred_at=when),
        lambda: f.meeting(f"m{n % 5}", "MeetingScheduled", occurred_at=when),
        lambda: f.meeting(f"m{n % 5}", occurred_at=when),
        lambda: f.meeting(f"m{n % 5}", "MeetingCancelled", occurred_at=when),
        lambda: f.statement(f"s{n % 4}", occurred_at=when),
        lambda: f.draft("StatementWithdrawn", {"statement_id": f"s{n % 4}", "by": USA}),
        lambda: f.draft(
            "PositionStated",
            {"party": party, "issue_id": "timeline", "position": "support", "text": f"p{n}"},
            occurred_at=when,
        ),
        lambda: f.proposal(f"p{n % 4}", **({"supersedes": f"p{(n - 1) % 4}"} if n % 2 else {})),
        lambda: answer(["ProposalAccepted", "ProposalRejected"][n % 2], f"p{n % 4}"),
        lambda: f.draft("PartyJoined", {"party": UK, "role": "observer"}, occurred_at=when),
        lambda: f.draft("PartyLeft", {"party": party}, occurred_at=when),
        lambda: f.draft(
            "DelegationAssigned",
            {"delegation_id": f"d{n % 2}", "party": party, "head": head},
            occurred_at=when,
        ),
        lambda: f.draft("DemandMade", {"actor": UK, "demand": f"d{n}"}, occurred_at=when),
        lambda: f.agreement(f"ag{n % 2}", occurred_at=when),
        lambda: f.status(STATUSES[n % len(STATUSES)], f"ag{n % 2}"),
        lambda: f.milestone(f"ms{n % 3}", occurred_at=when),
        lambda: f.settled(f"ms{n % 3}", ["MilestoneMet", "MilestoneMissed"][n % 2]),
        lambda: f.talks(["TalksSuspended", "TalksResumed"][n % 2]),
        lambda: f.talks("TalksConcluded", outcome=["agreement", "no_agreement"][n % 2]),
    ]
    targets = [e for e in events if e.type not in ("EventCorrected", "EventRetracted")]
    if targets:
        target = targets[n % len(targets)]
        makers.append(lambda: f.retraction(target.event_id))
        makers.append(lambda: _correction_of(target, n))
    return makers[choice % len(makers)]()


def _correction_of(target: RecordedEvent, n: int) -> Any:
    patches = {
        "NegotiationOpened": {"title": f"Talks {n}"},
        "ContextNoted": {"text": f"corrected {n}"},
        "PartyJoined": {"role": "mediator"},
        "AgreementReached": {"title": f"Agreement {n}"},
        "MeetingHeld": {"location": f"City {n}"},
        "DemandMade": {"demand": f"corrected {n}"},
    }
    patch = patches.get(target.type, {"title": "not a field of this type"})
    return f.correction(target.event_id, patch)


def _history(choices: list[tuple[int, int]]) -> list[RecordedEvent]:
    app = Negotiations(env=MEMORY_ENV)
    try:
        app.record_many(f.started(), principal="p")
        for n, (choice, day) in enumerate(choices):
            draft = _candidate(n, DATES[day % len(DATES)], choice, app.history(f.NID))
            # A refusal (a rule, or a patch the contract refuses) stores nothing.
            with contextlib.suppress(RecorderError, ValueError):
                app.record(draft, principal="p")
        return app.history(f.NID)
    finally:
        app.close()


def _window(events: list[RecordedEvent], option: str, start: Point, end: Point) -> set[str]:
    def seen(point: Point) -> set[str]:
        bound = PartialDate.parse(point) if isinstance(point, str) else point
        kwargs = {"as_of": None, "known_at": None, option: bound}
        return {e.event_id for e in events if visible(e, **kwargs)}

    return seen(start) ^ seen(end)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    choices=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=35),
    data=st.data(),
)
def test_every_change_names_at_least_one_event_of_the_window(
    choices: list[tuple[int, int]], data: st.DataObject
) -> None:
    events = _history(choices)
    clock = data.draw(st.sampled_from(["world", "record"]))
    if clock == "world":
        points: list[Point] = [None, "2023-07", *DATES]
    else:
        points = [None, "2000", *(PartialDate.parse(e.wire["recorded_at"]) for e in events)]
    start, end = data.draw(st.sampled_from(points)), data.draw(st.sampled_from(points))
    window = _window(events, "as_of" if clock == "world" else "known_at", start, end)
    for change in changes(events, clock, start, end):
        assert change["events"], change
        assert set(change["events"]) <= window, change
