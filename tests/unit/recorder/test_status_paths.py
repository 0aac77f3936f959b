"""Status paths by form (docs/invariants.md): a treaty binds once signed; a joint statement,
MoU, political commitment or other form may instead be adopted and then in force without
signature; AgreementReached may give the initial status; suspended and terminated stay
reachable from in force. And MilestoneProgressed's guard."""

from __future__ import annotations

from typing import Any

import pytest

from events import Envelope
from services.recorder.application import Negotiations
from tests import factories as f
from tests.unit.recorder.support import given, negotiation, record, refused

TREATY_FORMS = ["treaty", "exchange_of_notes"]
ADOPTABLE_FORMS = ["joint_statement", "mou", "political_commitment", "other"]


def reached(form: str, status: str | None = None, agreement_id: str = "ag-1") -> Envelope:
    payload: dict[str, Any] = {
        "agreement_id": agreement_id,
        "title": "Agreement",
        "form": form,
        "parties": [f.IRAQ, f.USA],
    }
    if status is not None:
        payload["status"] = status
    return f.draft("AgreementReached", payload, occurred_at="2024-09-27")


def path(app: Negotiations, form: str, *statuses: str) -> None:
    given(app, reached(form))
    record(app, *(f.status(s) for s in statuses))


def status_of(app: Negotiations) -> str:
    return negotiation(app).facts.agreements["ag-1"]


@pytest.mark.parametrize("form", ADOPTABLE_FORMS)
def test_an_adoptable_form_goes_adopted_then_in_force_without_signature(
    app: Negotiations, form: str
) -> None:
    path(app, form, "adopted", "in_force")
    assert status_of(app) == "in_force"
    assert negotiation(app).facts.status == "implementation"


@pytest.mark.parametrize("form", ADOPTABLE_FORMS)
def test_an_adoptable_form_may_still_take_the_treaty_path(app: Negotiations, form: str) -> None:
    path(app, form, "initialled", "signed", "ratified", "in_force")
    assert status_of(app) == "in_force"


@pytest.mark.parametrize("form", ADOPTABLE_FORMS)
@pytest.mark.parametrize("end", ["suspended", "terminated"])
def test_suspended_and_terminated_stay_reachable_from_in_force_after_adoption(
    app: Negotiations, form: str, end: str
) -> None:
    path(app, form, "adopted", "in_force", end)
    assert status_of(app) == end


def test_a_suspended_adopted_agreement_may_come_back_into_force(app: Negotiations) -> None:
    path(app, "joint_statement", "adopted", "in_force", "suspended", "in_force")
    assert status_of(app) == "in_force"


@pytest.mark.parametrize("form", TREATY_FORMS)
def test_a_treaty_form_is_never_adopted(app: Negotiations, form: str) -> None:
    given(app, reached(form))
    error = refused(app, f.status("adopted"), "agreement_status_not_for_form")
    assert "binds once signed" in error.message


@pytest.mark.parametrize("form", TREATY_FORMS)
def test_a_treaty_form_needs_a_signature_before_it_is_in_force(
    app: Negotiations, form: str
) -> None:
    given(app, reached(form))
    refused(app, f.status("in_force"), "agreement_not_signed")


@pytest.mark.parametrize("form", ADOPTABLE_FORMS)
def test_an_adoptable_form_needs_signature_or_adoption_before_it_is_in_force(
    app: Negotiations, form: str
) -> None:
    given(app, reached(form))
    error = refused(app, f.status("in_force"), "agreement_not_signed")
    assert "signed or adopted" in error.message


def test_an_adopted_agreement_is_not_ratified_without_a_signature(app: Negotiations) -> None:
    path(app, "mou", "adopted")
    refused(app, f.status("ratified"), "agreement_not_signed")


def test_an_adopted_agreement_is_not_signed_afterwards(app: Negotiations) -> None:
    path(app, "joint_statement", "adopted")
    refused(app, f.status("signed"), "agreement_status_backward")


def test_an_adopted_agreement_is_not_adopted_again(app: Negotiations) -> None:
    path(app, "joint_statement", "adopted")
    refused(app, f.status("adopted"), "agreement_status_backward")


@pytest.mark.parametrize(
    ("form", "status"),
    [("joint_statement", "adopted"), ("treaty", "signed"), ("mou", "initialled")],
)
def test_agreement_reached_may_give_the_initial_status(
    app: Negotiations, form: str, status: str
) -> None:
    given(app, reached(form, status))
    assert status_of(app) == status


def test_without_an_initial_status_an_agreement_starts_as_draft(app: Negotiations) -> None:
    given(app, reached("treaty"))
    assert status_of(app) == "draft"


def test_a_joint_statement_reached_adopted_goes_straight_into_force(app: Negotiations) -> None:
    given(app, reached("joint_statement", "adopted"))
    record(app, f.status("in_force"))
    assert status_of(app) == "in_force"


@pytest.mark.parametrize("status", ["in_force", "ratified", "suspended", "terminated"])
def test_an_initial_status_beyond_adoption_or_signature_is_refused(
    app: Negotiations, status: str
) -> None:
    refused(app, reached("joint_statement", status), "agreement_initial_status_invalid")


def test_a_treaty_cannot_be_reached_adopted(app: Negotiations) -> None:
    refused(app, reached("treaty", "adopted"), "agreement_status_not_for_form")


def test_correcting_an_adopted_agreement_into_a_treaty_is_refused(app: Negotiations) -> None:
    (written,) = given(app, reached("joint_statement", "adopted"))
    refused(
        app, f.correction(written.event_id, {"form": "treaty"}), "agreement_status_not_for_form"
    )


class TestMilestoneProgressed:
    def test_is_refused_for_a_milestone_never_scheduled(self, app: Negotiations) -> None:
        refused(app, f.progressed("m-9"), "milestone_not_scheduled")

    def test_keeps_the_latest_degree_in_the_facts(self, app: Negotiations) -> None:
        given(app, f.milestone())
        record(app, f.progressed(degree=1), f.progressed(degree=2, occurred_at="2025-03"))
        assert negotiation(app).facts.milestone_degrees["m-1"] == 2

    def test_is_refused_once_the_milestone_was_met(self, app: Negotiations) -> None:
        given(app, f.milestone())
        record(app, f.settled())
        refused(app, f.progressed(degree=2), "milestone_already_met")
        assert negotiation(app).facts.milestone_degrees["m-1"] == 3

    def test_is_accepted_after_a_miss_and_after_a_rescheduled_met(self, app: Negotiations) -> None:
        given(app, f.milestone(), f.milestone("m-2"))
        record(app, f.settled(kind="MilestoneMissed"), f.progressed(degree=1))
        record(app, f.settled("m-2"))
        new_due = {"kind": "on", "date": "2026-01"}
        record(app, f.draft("MilestoneRescheduled", {"milestone_id": "m-2", "new_due": new_due}))
        record(app, f.progressed("m-2", degree=2))
        assert negotiation(app).facts.milestone_degrees == {"m-1": 1, "m-2": 2}

    def test_moves_reached_talks_into_implementation_once_begun(self, app: Negotiations) -> None:
        given(app, f.agreement(), f.milestone())
        record(app, f.progressed(degree=0))
        assert negotiation(app).facts.status == "agreement_reached"
        record(app, f.progressed(degree=1))
        assert negotiation(app).facts.status == "implementation"
