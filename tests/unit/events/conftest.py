"""Minimal valid events of every type, as a publisher would send them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

IRAQ = {"name": "Iraq", "country": "IRQ", "sector": "GOV"}
USA = {"name": "United States", "country": "USA", "sector": "GOV"}
SUDANI = {"name": "Mohammed Shia al-Sudani", "country": "IRQ", "office": "Prime Minister"}
TERM = {"term_id": "t1", "issue_id": "coalition-mission", "text": "End the coalition mission."}
TARGET = "0b0e8f9e-4c1a-4d5e-9a2b-3c4d5e6f7a8b"

MINIMAL_PAYLOADS: dict[str, dict[str, Any]] = {
    "NegotiationOpened": {
        "title": "U.S.-Iraq Joint Security Cooperation Dialogue",
        "format": "bilateral",
    },
    "PartyJoined": {"party": IRAQ},
    "PartyLeft": {"party": IRAQ},
    "DelegationAssigned": {"delegation_id": "irq-1", "party": IRAQ, "head": SUDANI},
    "MeetingScheduled": {"meeting_id": "jscd-2", "mode": "visit"},
    "MeetingHeld": {"meeting_id": "jscd-2", "mode": "visit"},
    "MeetingCancelled": {"meeting_id": "jscd-2", "mode": "visit"},
    "StatementIssued": {"statement_id": "s1", "speaker": SUDANI, "quote": "al-Sudani – ✓"},
    "StatementWithdrawn": {"statement_id": "s1", "by": IRAQ},
    "StatementDenied": {"statement_id": "s1", "by": IRAQ},
    "DemandMade": {"actor": IRAQ, "demand": "Set a timetable for withdrawal."},
    "ProposalTabled": {"proposal_id": "p1", "by": USA, "terms": [TERM]},
    "ProposalAccepted": {"proposal_id": "p1", "by": IRAQ},
    "ProposalRejected": {"proposal_id": "p1", "by": IRAQ},
    "PositionStated": {
        "party": IRAQ,
        "issue_id": "coalition-mission",
        "position": "support",
        "text": "The mission should end.",
    },
    "AgreementReached": {
        "agreement_id": "a1",
        "title": "Joint statement",
        "form": "joint_statement",
        "parties": [IRAQ, USA],
    },
    "AgreementStatusChanged": {"agreement_id": "a1", "status": "signed"},
    "MilestoneScheduled": {
        "milestone_id": "m1",
        "obligor": USA,
        "description": "Transition.",
        "due": {"kind": "not_later_than", "date": "2025-09"},
    },
    "MilestoneMet": {"milestone_id": "m1"},
    "MilestoneMissed": {"milestone_id": "m1"},
    "MilestoneProgressed": {"milestone_id": "m1", "degree": 2},
    "MilestoneRescheduled": {"milestone_id": "m1", "new_due": {"kind": "on", "date": "2026-09"}},
    "ContextNoted": {"topic": "troops", "text": "About 2,500 U.S. troops are in Iraq."},
    "TalksSuspended": {},
    "TalksResumed": {},
    "TalksConcluded": {"outcome": "agreement"},
    "EventCorrected": {"target_event_id": TARGET, "patch": {"quote": "fixed"}, "reason": "typo"},
    "EventRetracted": {"target_event_id": TARGET, "reason": "duplicate"},
}


def minimal_event(event_type: str = "MeetingHeld", **envelope: Any) -> dict[str, Any]:
    """A valid published event of ``event_type``; keyword arguments override envelope fields."""
    event = {
        "type": event_type,
        "negotiation_id": "us-iraq-jscd",
        "occurred_at": "2024-07-22",
        "sources": [{"outlet": "Reuters", "kind": "wire"}],
        "verification": "confirmed",
        "payload": copy.deepcopy(MINIMAL_PAYLOADS[event_type]),
    }
    return {**event, **envelope}


@pytest.fixture
def make_event() -> Callable[..., dict[str, Any]]:
    return minimal_event


@pytest.fixture
def minimal_payloads() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(MINIMAL_PAYLOADS)
