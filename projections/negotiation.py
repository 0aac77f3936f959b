"""The ``negotiation`` reducer: a negotiation's current state, as plain JSON-able data.

``fold(state, events)`` returns a new state and never mutates its input; ``apply(state,
event)`` is a fold of one. Events are recorded events in their wire form (dicts with
``position``, as read from the store or the Redis stream) or ``RecordedEvent`` objects; wire
forms are upcast first, never re-validated (they were validated when recorded); their payloads
are shared with the state, never changed in place.

The state keeps a registry of every visible event's effective payload: a correction patches its
target there and a retraction marks it, and the view is then re-derived from the registry, so a
corrected event reads as if it had been right all along.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from events import CORRECTIONS, PartialDate, RecordedEvent
from events.lifecycle import next_status
from events.upcasting import upcast

State = dict[str, Any]
View = dict[str, Any]


def empty() -> State:
    return {"registry": {}, "view": _blank_view()}


Event = RecordedEvent | dict[str, Any]


def apply(state: State | None, event: Event) -> State:
    return fold(state, [event])


def fold(
    state: State | None, events: Iterable[Event], *, types: frozenset[str] = frozenset()
) -> State:
    """``types``, when given, keeps only those event types (and corrections of them)."""
    return fold_into(copy.deepcopy(state) if state is not None else empty(), events, types=types)


def fold_into(
    state: State, events: Iterable[Event], *, types: frozenset[str] = frozenset()
) -> State:
    """``fold`` into a state the caller owns and no longer shares (no copy is made)."""
    for event in events:
        wire = wire_of(event)
        if not types or wire["type"] in types or wire["type"] in CORRECTIONS:
            _step(state, wire)
    return state


def wire_of(event: Event) -> dict[str, Any]:
    return upcast(event.wire if isinstance(event, RecordedEvent) else event)


def view(state: State) -> View:
    result: View = state["view"]
    return result


def record_of(wire: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": wire["type"],
        "payload": wire["payload"],  # shared, never changed in place (patches replace it)
        "occurred_at": wire["occurred_at"],
        "occurred_until": wire.get("occurred_until"),
        "position": wire.get("position"),
        "version": wire["version"],
        "recorded_at": wire["recorded_at"],
        "recorded_by": wire["recorded_by"],
        "hash": wire["hash"],
        "verification": wire["verification"],
        "modality": wire.get("modality", "actual"),
        "sources": wire["sources"],
        "corrected_by": [],
        "retracted_by": None,
    }


def _step(state: State, wire: dict[str, Any]) -> None:
    registry: dict[str, Any] = state["registry"]
    rec = record_of(wire)
    event_id: str = wire["event_id"]
    view_ = state["view"]
    view_["negotiation_id"] = wire["negotiation_id"]
    view_["version"] = wire["version"]
    view_["position"] = wire.get("position")
    if rec["type"] not in CORRECTIONS:
        registry[event_id] = rec
        _derive(view_, event_id, rec)
        return
    target = registry.get(rec["payload"]["target_event_id"])
    if target is None:
        return  # its target is outside this fold (as_of, or a type filter): nothing to correct
    registry[event_id] = rec
    if rec["type"] == "EventCorrected":
        target["payload"] = {**target["payload"], **rec["payload"]["patch"]}
        target["corrected_by"].append(event_id)
    else:
        target["retracted_by"] = event_id
    state["view"] = _rederive(registry, view_)


def _rederive(registry: dict[str, Any], old: View) -> View:
    fresh = _blank_view()
    for key in ("negotiation_id", "version", "position"):
        fresh[key] = old[key]
    for event_id, rec in registry.items():
        if rec["type"] in CORRECTIONS:
            fresh["corrections"].append(_correction_entry(event_id, rec))
        elif rec["retracted_by"] is None:
            _derive(fresh, event_id, rec)
        else:
            fresh["retracted"].append(event_id)
    return fresh


def _correction_entry(event_id: str, rec: dict[str, Any]) -> dict[str, Any]:
    p = rec["payload"]
    return {
        "event_id": event_id,
        "type": rec["type"],
        "target_event_id": p["target_event_id"],
        "fields": sorted(p.get("patch", {})),
        "reason": p["reason"],
        "recorded_at": rec["recorded_at"],
    }


def _blank_view() -> View:
    return {
        "negotiation_id": None,
        "title": None,
        "format": None,
        "framework_ref": None,
        "status": None,
        "opened_at": None,
        "version": 0,
        "position": None,
        "issues": {},
        "parties": {},
        "delegations": {},
        "meetings": {},
        "statements": {},
        "demands": {},
        "proposals": {},
        "agreements": {},
        "milestones": {},
        "context": {},
        "corrections": [],
        "retracted": [],
    }


def _derive(v: View, event_id: str, rec: dict[str, Any]) -> None:
    kind, p = rec["type"], rec["payload"]
    v["status"] = next_status(v["status"], kind, p)
    handler = _HANDLERS.get(kind)
    if handler is not None:
        handler(v, p, _origin(event_id, rec))


def _origin(event_id: str, rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "occurred_at": rec["occurred_at"],
        "occurred_until": rec["occurred_until"],
        "verification": rec["verification"],
        "corrected": bool(rec["corrected_by"]),
    }


Handler = Callable[[View, dict[str, Any], dict[str, Any]], None]


def _opened(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
    v.update(title=p["title"], format=p["format"], framework_ref=p.get("framework_ref"))
    v["opened_at"] = o["occurred_at"]
    for issue in p.get("issues", []):
        v["issues"][issue["issue_id"]] = {"title": issue["title"], "positions": {}}


def _joined(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
    v["parties"][p["party"]["name"]] = {
        "actor": p["party"],
        "role": p["role"],
        "active": True,
        "joined": o,
        "delegation": None,
    }


def _left(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
    party = v["parties"].get(p["party"]["name"])
    if party is not None:
        party.update(active=False, left=o)


def _delegation(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
    v["delegations"][p["delegation_id"]] = {
        "party": p["party"]["name"],
        "head": p["head"],
        "members": p.get("members", []),
        **o,
    }
    party = v["parties"].get(p["party"]["name"])
    if party is not None:
        party["delegation"] = p["delegation_id"]


def _meeting(status: str) -> Handler:
    def handle(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
        meeting = v["meetings"].setdefault(p["meeting_id"], {"history": []})
        meeting.update({k: val for k, val in p.items() if k != "meeting_id"})
        meeting.update(
            status=status, occurred_at=o["occurred_at"], occurred_until=o["occurred_until"]
        )
        meeting["history"].append({"status": status, **o})

    return handle


def _statement(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
    v["statements"][p["statement_id"]] = {
        **{k: val for k, val in p.items() if k != "statement_id"},
        "withdrawn": False,
        "denied": False,
        **o,
    }


def _statement_flag(flag: str) -> Handler:
    def handle(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
        statement = v["statements"].get(p["statement_id"])
        if statement is not None:
            statement[flag] = True
            statement[f"{flag}_by"] = p["by"]

    return handle


def _demand(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
    v["demands"][o["event_id"]] = {**p, **o}


def _proposal(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
    v["proposals"][p["proposal_id"]] = {
        "by": p["by"],
        "terms": p["terms"],
        "supersedes": p.get("supersedes"),
        "fate": "tabled",
        "accepted_by": [],
        "rejected_by": [],
        **o,
    }
    old = v["proposals"].get(p.get("supersedes") or "")
    if old is not None:
        old["fate"] = "superseded"


def _answer(fate: str) -> Handler:
    def handle(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
        proposal = v["proposals"].get(p["proposal_id"])
        if proposal is not None:
            proposal[f"{fate}_by"].append(p["by"]["name"])
            proposal["fate"] = fate

    return handle


def _position(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
    """A party's latest position is the latest in world time (on a tie, the later recorded)."""
    issue = v["issues"].get(p["issue_id"])
    if issue is None:
        return
    party = p["party"]["name"]
    current = issue["positions"].get(party)
    if current is None or _when(o) >= _when(current):
        issue["positions"][party] = {"position": p["position"], "text": p["text"], **o}


def _when(entry: dict[str, Any]) -> tuple[Any, int]:
    return PartialDate.parse(entry["occurred_at"]).sort_key()


def _agreement(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
    v["agreements"][p["agreement_id"]] = {
        "title": p["title"],
        "form": p["form"],
        "parties": [a["name"] for a in p["parties"]],
        "terms": p.get("terms", []),
        "status": "draft",
        "history": [{"status": "draft", **o}],
        **o,
    }


def _agreement_status(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
    agreement = v["agreements"].get(p["agreement_id"])
    if agreement is not None:
        agreement["status"] = p["status"]
        agreement["history"].append({"status": p["status"], **o})


def _milestone(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
    v["milestones"][p["milestone_id"]] = {
        **{k: val for k, val in p.items() if k != "milestone_id"},
        "status": "scheduled",
        "history": [{"status": "scheduled", **o}],
        **o,
    }


def _milestone_status(status: str) -> Handler:
    def handle(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
        milestone = v["milestones"].get(p["milestone_id"])
        if milestone is None:
            return
        milestone["status"] = status
        if p.get("new_due"):
            milestone["due"] = p["new_due"]
        entry = {"status": status, **o}
        if p.get("evidence"):
            entry["evidence"] = p["evidence"]
        milestone["history"].append(entry)

    return handle


def _context(v: View, p: dict[str, Any], o: dict[str, Any]) -> None:
    v["context"][o["event_id"]] = {**p, **o}


_HANDLERS: dict[str, Handler] = {
    "NegotiationOpened": _opened,
    "PartyJoined": _joined,
    "PartyLeft": _left,
    "DelegationAssigned": _delegation,
    "MeetingScheduled": _meeting("scheduled"),
    "MeetingHeld": _meeting("held"),
    "MeetingCancelled": _meeting("cancelled"),
    "StatementIssued": _statement,
    "StatementWithdrawn": _statement_flag("withdrawn"),
    "StatementDenied": _statement_flag("denied"),
    "DemandMade": _demand,
    "ProposalTabled": _proposal,
    "ProposalAccepted": _answer("accepted"),
    "ProposalRejected": _answer("rejected"),
    "PositionStated": _position,
    "AgreementReached": _agreement,
    "AgreementStatusChanged": _agreement_status,
    "MilestoneScheduled": _milestone,
    "MilestoneMet": _milestone_status("met"),
    "MilestoneMissed": _milestone_status("missed"),
    "MilestoneRescheduled": _milestone_status("scheduled"),
    "ContextNoted": _context,
}


Touch = tuple[str, str]


def _own(section: str, field: str) -> Callable[[dict[str, Any], str], list[Touch]]:
    return lambda p, event_id: [(section, p[field])]


def _party_touch(p: dict[str, Any], event_id: str) -> list[Touch]:
    return [("parties", p["party"]["name"])]


_TOUCHES: dict[str, Callable[[dict[str, Any], str], list[Touch]]] = {
    "NegotiationOpened": lambda p, e: [("issues", i["issue_id"]) for i in p.get("issues", [])],
    "PartyJoined": _party_touch,
    "PartyLeft": _party_touch,
    "DelegationAssigned": lambda p, e: [
        ("delegations", p["delegation_id"]),
        ("parties", p["party"]["name"]),
    ],
    "MeetingScheduled": _own("meetings", "meeting_id"),
    "MeetingHeld": _own("meetings", "meeting_id"),
    "MeetingCancelled": _own("meetings", "meeting_id"),
    "StatementIssued": _own("statements", "statement_id"),
    "StatementWithdrawn": _own("statements", "statement_id"),
    "StatementDenied": _own("statements", "statement_id"),
    "DemandMade": lambda p, e: [("demands", e)],
    "ProposalTabled": lambda p, e: (
        [("proposals", p["proposal_id"])]
        + ([("proposals", p["supersedes"])] if p.get("supersedes") else [])
    ),
    "ProposalAccepted": _own("proposals", "proposal_id"),
    "ProposalRejected": _own("proposals", "proposal_id"),
    "PositionStated": _own("issues", "issue_id"),
    "AgreementReached": _own("agreements", "agreement_id"),
    "AgreementStatusChanged": _own("agreements", "agreement_id"),
    "MilestoneScheduled": _own("milestones", "milestone_id"),
    "MilestoneMet": _own("milestones", "milestone_id"),
    "MilestoneMissed": _own("milestones", "milestone_id"),
    "MilestoneRescheduled": _own("milestones", "milestone_id"),
    "ContextNoted": lambda p, e: [("context", e)],
}
SECTIONS = (
    "issues",
    "parties",
    "delegations",
    "meetings",
    "statements",
    "demands",
    "proposals",
    "agreements",
    "milestones",
    "context",
)


def touches(wire: dict[str, Any]) -> list[Touch] | None:
    """The view entries (section, key) an event changes besides the headline fields; None
    when it may change any of them (corrections and retractions re-derive the view). Kept
    beside the handlers above, which it mirrors, so storage can write only what changed."""
    if wire["type"] in CORRECTIONS:
        return None
    touch = _TOUCHES.get(wire["type"])
    return touch(wire["payload"], wire["event_id"]) if touch else []
