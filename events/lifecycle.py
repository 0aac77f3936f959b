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

Agreement: ``draft < initialled < signed < ratified < in_force``, forward only (steps may be
skipped, but ratified/in_force need a signature first); ``suspended``/``terminated`` only once
signed; a suspended agreement may come back into force; a terminated one is final.
"""

from __future__ import annotations

from typing import Any

CLOSED = frozenset({"completed", "collapsed"})
OPEN = frozenset({"pre_negotiation", "active", "suspended", "agreement_reached", "implementation"})
ENGAGING = frozenset({"MeetingHeld", "StatementIssued", "PositionStated", "ProposalTabled"})
AGREEMENT_CHAIN = ("draft", "initialled", "signed", "ratified", "in_force")
SIGNED = frozenset({"signed", "ratified", "in_force", "suspended"})


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
        event_type == "MilestoneMet"
        or (event_type == "AgreementStatusChanged" and payload.get("status") == "in_force")
    ):
        return "implementation"
    if event_type == "TalksConcluded":
        return "collapsed" if payload.get("outcome") == "no_agreement" else "completed"
    return status


def agreement_move_error(current: str, new: str) -> tuple[str, str] | None:
    """Why an agreement may not move from ``current`` to ``new`` (code, message), or None."""
    if current == "terminated":
        return "agreement_terminated", "the agreement was terminated; its status is final"
    if new in ("ratified", "in_force", "suspended", "terminated") and current not in SIGNED:
        return "agreement_not_signed", f"an agreement must be signed before it is {new}"
    if current == "suspended":
        if new in ("in_force", "terminated"):
            return None
        return "agreement_status_backward", f"a suspended agreement cannot become {new}"
    if new in AGREEMENT_CHAIN and AGREEMENT_CHAIN.index(new) <= AGREEMENT_CHAIN.index(current):
        return "agreement_status_backward", f"agreement status cannot move from {current} to {new}"
    return None
