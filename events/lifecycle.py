"""The lifecycle of a negotiation and of an agreement, shared by the write and read sides.

Negotiation: ``pre_negotiation`` -> ``active`` <-> ``suspended`` -> ``agreement_reached`` ->
``implementation`` -> ``completed``; ``collapsed`` from any open state.

- NegotiationOpened starts at ``pre_negotiation``; the first MeetingHeld, StatementIssued,
  PositionStated or ProposalTabled makes the talks ``active``.
- TalksSuspended -> ``suspended``; TalksResumed -> ``active``.
- AgreementReached -> ``agreement_reached`` (unless already in implementation).
- An agreement entering into force, or a milestone met, -> ``implementation``.
- TalksConcluded with outcome ``agreement``/``superseded`` -> ``completed``; ``no_agreement``
  -> ``collapsed``.

Agreement, by form (the table is in docs/invariants.md):
- a treaty or an exchange of notes: ``draft < initialled < signed < ratified < in_force``,
  forward only (steps may be skipped, but ratified/in_force need a signature first);
- a joint statement, MoU, political commitment or other form may take the treaty path, or be
  ``adopted`` (announced, issued) and then ``in_force`` without any signature;
- ``suspended``/``terminated`` only once signed (or adopted, where the form allows it), so they
  stay reachable from in force; a suspended agreement may come back into force; a terminated
  one is final;
- ``AgreementReached`` may give the initial status (draft, initialled, signed or adopted);
  none given is ``draft``.
"""

from __future__ import annotations

from typing import Any

CLOSED = frozenset({"completed", "collapsed"})
OPEN = frozenset({"pre_negotiation", "active", "suspended", "agreement_reached", "implementation"})
ENGAGING = frozenset({"MeetingHeld", "StatementIssued", "PositionStated", "ProposalTabled"})
RANK = {"draft": 0, "initialled": 1, "signed": 2, "adopted": 2, "ratified": 3, "in_force": 4}
"""Order of the forward statuses: signed and adopted rank alike (neither follows the other)."""
SIGNED = frozenset({"signed", "ratified", "in_force", "suspended"})
TREATY_FORMS = frozenset({"treaty", "exchange_of_notes"})
"""Forms that bind only once signed; the other forms may instead be adopted."""
ADOPTED = SIGNED | {"adopted"}
INITIAL = frozenset({"draft", "initialled", "signed", "adopted"})
IMPLEMENTING = frozenset({"MilestoneMet", "MilestoneProgressed"})


def next_status(status: str | None, event_type: str, payload: dict[str, Any]) -> str:  # noqa: PLR0911
    """The negotiation's status after an event of ``event_type`` (no guard: see the recorder)."""
    if event_type == "NegotiationOpened" or status is None:
        return "pre_negotiation"
    if event_type in ENGAGING and status == "pre_negotiation":
        return "active"
    if event_type == "TalksSuspended":
        return "suspended"
    if event_type == "TalksResumed":
        return "active"
    if event_type == "AgreementReached" and status != "implementation":
        return "agreement_reached"
    if status == "agreement_reached" and (
        (event_type in IMPLEMENTING and payload.get("degree", 3) > 0)
        or (event_type == "AgreementStatusChanged" and payload.get("status") == "in_force")
    ):
        return "implementation"
    if event_type == "TalksConcluded":
        return "collapsed" if payload.get("outcome") == "no_agreement" else "completed"
    return status


def paths_of(form: str) -> str:
    """The status paths a form may take, in words (for messages)."""
    if form in TREATY_FORMS:
        return "draft, initialled, signed, ratified, in_force"
    return "draft, initialled, signed, ratified, in_force, or adopted then in_force"


def agreement_move_error(form: str, current: str, new: str) -> tuple[str, str] | None:  # noqa: PLR0911
    """Why an agreement of ``form`` may not move from ``current`` to ``new`` (code, message),
    or None."""
    if current == "terminated":
        return "agreement_terminated", "the agreement was terminated; its status is final"
    if new == "adopted" and form in TREATY_FORMS:
        return (
            "agreement_status_not_for_form",
            f"a {form} is not adopted: it binds once signed ({paths_of(form)})",
        )
    bound = SIGNED if form in TREATY_FORMS or new == "ratified" else ADOPTED
    if new in ("ratified", "in_force", "suspended", "terminated") and current not in bound:
        how = "signed" if bound is SIGNED else "signed or adopted"
        return "agreement_not_signed", f"a {form} must be {how} before it is {new}"
    if current == "suspended":
        if new in ("in_force", "terminated"):
            return None
        return "agreement_status_backward", f"a suspended agreement cannot become {new}"
    if new in RANK and current in RANK and RANK[new] <= RANK[current]:
        return "agreement_status_backward", f"agreement status cannot move from {current} to {new}"
    return None


def initial_status_error(form: str, status: str) -> tuple[str, str] | None:
    """Why an agreement of ``form`` may not be reached at ``status`` (code, message), or None."""
    if status not in INITIAL:
        return (
            "agreement_initial_status_invalid",
            f"an agreement is reached as draft, initialled, signed or adopted, not {status}; "
            "record the later status with AgreementStatusChanged",
        )
    if status == "draft":
        return None
    return agreement_move_error(form, "draft", status)
