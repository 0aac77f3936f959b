"""Property: generated version 1 events of every type that changed in version 2 load (as
published and as stored, hash checked against the stored bytes) and fold exactly as the same
events written at the current version by the documented mapping: sources and every other
field as they were, a meeting's ``location`` as ``place: {name}`` (in a correction's patch
too), ContextNoted's bare ``quantity`` (version 1) as ``{value, approximate: false}``."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    EVENT_TYPES,
    SERVER_FIELDS,
    InvalidEvent,
    RecordedEvent,
    event_hash,
    parse_draft,
)
from events.upcasting import UPCASTERS
from projections.negotiation import fold
from projections.views import PROJECTIONS

NID = "talks-a"
IRAQ = {"name": "Iraq", "country": "IRQ", "sector": "GOV"}
V1_FORMS = ["joint_statement", "mou", "treaty", "exchange_of_notes", "other"]
V1_STATUSES = ["draft", "initialled", "signed", "ratified", "in_force", "suspended", "terminated"]
CHANGED = sorted(set(EVENT_TYPES) - {"MilestoneProgressed"})
TARGET = "00000000-0000-4000-8000-000000000000"
TODAY = date(2026, 1, 1)

text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60
).map(lambda s: s.strip() or "x")
DEFAULTS: dict[str, dict[str, Any]] = {
    "NegotiationOpened": {"issues": []},
    "PartyJoined": {"role": "party"},
    "PartyLeft": {"role": "party"},
    "DelegationAssigned": {"members": []},
    "MeetingScheduled": {"participants": [], "agenda": []},
    "MeetingHeld": {"participants": [], "agenda": []},
    "MeetingCancelled": {"participants": [], "agenda": []},
    "StatementIssued": {"stances": []},
    "AgreementReached": {"terms": []},
}
"""What a stored version 1 event always held: the defaults, dumped with the event."""
ident = st.sampled_from(["a1", "a2", "m1", "m2", "s1", "mt1", "mt2"])
source = st.fixed_dictionaries(
    {"outlet": text, "kind": st.sampled_from(["wire", "press", "official_readout"])},
    optional={"url": st.just("https://example.org/x"), "excerpt": text},
)
envelope = st.fixed_dictionaries(
    {
        "occurred_at": st.sampled_from(["2024", "2024-07", "2024-07-22", "2024-09-27"]),
        "sources": st.lists(source, min_size=1, max_size=3),
        "verification": st.sampled_from(["reported", "confirmed", "disputed", "denied"]),
    },
    optional={"confidence": st.floats(0, 1), "modality": st.sampled_from(["actual", "planned"])},
)


def payloads(kind: str) -> st.SearchStrategy[dict[str, Any]]:  # noqa: PLR0911
    if kind.startswith("Meeting") and kind.removeprefix("Meeting") in (
        "Scheduled",
        "Held",
        "Cancelled",
    ):
        return st.fixed_dictionaries(
            {"meeting_id": ident, "mode": st.sampled_from(["visit", "host", "phone"])},
            optional={"location": text, "level": text, "agenda": st.lists(ident, max_size=2)},
        )
    if kind == "StatementIssued":
        said = st.one_of(
            st.fixed_dictionaries({"quote": text}), st.fixed_dictionaries({"paraphrase": text})
        )
        base = st.fixed_dictionaries({"statement_id": ident, "speaker": st.just(IRAQ)})
        return st.tuples(base, said).map(lambda t: {**t[0], **t[1]})
    if kind == "AgreementReached":
        return st.fixed_dictionaries(
            {
                "agreement_id": ident,
                "title": text,
                "form": st.sampled_from(V1_FORMS),
                "parties": st.just([IRAQ]),
            }
        )
    if kind == "AgreementStatusChanged":
        return st.fixed_dictionaries(
            {"agreement_id": ident, "status": st.sampled_from(V1_STATUSES)}
        )
    if kind == "ContextNoted":
        return st.fixed_dictionaries(
            {"topic": text, "text": text},
            optional={"quantity": st.integers(0, 10**6) | st.floats(0, 1e6)},
        )
    if kind == "NegotiationOpened":
        return st.fixed_dictionaries(
            {"title": text, "format": st.sampled_from(["bilateral", "multilateral"])},
            optional={"framework_ref": text},
        )
    return st.just(_minimal(kind))


def _minimal(kind: str) -> dict[str, Any]:
    due = {"kind": "on", "date": "2026-01"}
    return {
        "PartyJoined": {"party": IRAQ},
        "PartyLeft": {"party": IRAQ},
        "DelegationAssigned": {"delegation_id": "d1", "party": IRAQ, "head": IRAQ},
        "StatementWithdrawn": {"statement_id": "s1", "by": IRAQ},
        "StatementDenied": {"statement_id": "s1", "by": IRAQ},
        "DemandMade": {"actor": IRAQ, "demand": "Leave."},
        "ProposalTabled": {
            "proposal_id": "p1",
            "by": IRAQ,
            "terms": [{"term_id": "t1", "issue_id": "i1", "text": "Do it."}],
        },
        "ProposalAccepted": {"proposal_id": "p1", "by": IRAQ},
        "ProposalRejected": {"proposal_id": "p1", "by": IRAQ},
        "PositionStated": {"party": IRAQ, "issue_id": "i1", "position": "support", "text": "Y"},
        "MilestoneScheduled": {
            "milestone_id": "m1",
            "agreement_id": "a1",
            "obligor": IRAQ,
            "description": "Step.",
            "due": due,
        },
        "MilestoneMet": {"milestone_id": "m1", "evidence": "Seen."},
        "MilestoneMissed": {"milestone_id": "m1"},
        "MilestoneRescheduled": {"milestone_id": "m1", "new_due": due},
        "TalksSuspended": {"reason": "Break."},
        "TalksResumed": {},
        "TalksConcluded": {"outcome": "agreement"},
        "EventRetracted": {"target_event_id": TARGET, "reason": "x"},
        "EventCorrected": {
            "target_event_id": TARGET,
            "patch": {"level": "senior"},
            "reason": "x",
        },
    }[kind]


@st.composite
def v1_events(draw: st.DrawFn) -> list[dict[str, Any]]:
    """An opening, then version 1 events of changed types; some corrections patch an earlier
    meeting's location."""
    kinds = draw(st.lists(st.sampled_from(CHANGED), min_size=1, max_size=12))
    events = [_v1("NegotiationOpened", draw(payloads("NegotiationOpened")), draw(envelope))]
    for kind in kinds:
        meetings = [e for e in events if "meeting_id" in e["payload"]]
        if kind == "EventCorrected" and meetings and draw(st.booleans()):
            target = draw(st.sampled_from(meetings))
            location = draw(st.none() | text)
            patch = {"location": location, **draw(st.just({}) | st.just({"level": "senior"}))}
            payload = {"target_event_id": target["event_id"], "patch": patch, "reason": "fix"}
        else:
            payload = draw(payloads(kind))
        events.append(_v1(kind, payload, draw(envelope)))
    for version, event in enumerate(events, start=1):
        event.update(version=version, event_id=f"{version:08x}-0000-4000-8000-{version:012x}")
    return events


def _v1(kind: str, payload: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": kind,
        "negotiation_id": NID,
        "schema_version": 1,
        "modality": "actual",
        **env,
        "payload": {**DEFAULTS.get(kind, {}), **payload},
        "event_id": TARGET,
    }


def stored(event: dict[str, Any]) -> dict[str, Any]:
    """The event as the store held it then: stamped and hashed over its own bytes."""
    wire = {
        **event,
        "recorded_at": "2024-10-01T00:00:00.000000Z",
        "recorded_by": "importer",
        "position": event["version"],
    }
    wire["hash"] = event_hash(wire)
    return wire


def by_the_documented_mapping(event: dict[str, Any]) -> dict[str, Any]:
    """The same event written at the current version by hand, from the docs, not the code."""
    current = copy.deepcopy(event)
    current["schema_version"] = EVENT_TYPES[event["type"]].SCHEMA_VERSION
    payload = current["payload"]
    for fields in (payload, payload.get("patch")):
        if isinstance(fields, dict) and "location" in fields:
            where = fields.pop("location")
            fields["place"] = None if where is None else {"name": where}
    if event["type"] == "ContextNoted" and "quantity" in payload:
        payload["quantity"] = {"value": payload["quantity"], "approximate": False}
    return current


def published(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in SERVER_FIELDS}


@settings(max_examples=150, deadline=None)
@given(events=v1_events())
def test_version_1_events_load_and_fold_as_their_current_form(
    events: list[dict[str, Any]],
) -> None:
    old = [stored(e) for e in events]
    new = [stored(by_the_documented_mapping(e)) for e in events]
    for was, now, event in zip(old, new, events, strict=True):
        loaded = RecordedEvent.from_wire(was, was["position"])
        assert loaded.hash_ok()  # checked against the stored version 1 bytes
        assert json.loads(json.dumps(loaded.wire)) == was  # which are never rewritten
        expected = published(now)
        assert loaded.draft.model_dump(mode="json", exclude_none=True) == (
            parse_draft(published(expected)).model_dump(mode="json", exclude_none=True)
        )
        assert parse_draft(published(event)) == parse_draft(published(expected))
    for projection in PROJECTIONS.values():
        before = projection.render(projection.apply(None, old), TODAY)
        after = projection.render(projection.apply(None, new), TODAY)
        assert _without_hashes(before) == _without_hashes(after), projection.name
    assert fold(None, old)["view"] == fold(None, new)["view"]


def _without_hashes(rendered: Any) -> Any:
    """The audit view shows each event's hash, which differs with the bytes hashed."""
    if isinstance(rendered, list):
        return [_without_hashes(r) for r in rendered]
    if isinstance(rendered, dict):
        return {k: _without_hashes(v) for k, v in rendered.items() if k != "hash"}
    return rendered


def test_every_type_with_a_version_1_has_an_upcaster_to_version_2() -> None:
    for name, cls in EVENT_TYPES.items():
        if cls.SCHEMA_VERSION > 1:
            assert (name, 1) in UPCASTERS, name


def test_a_version_1_meeting_with_both_location_and_place_is_refused_naming_location() -> None:
    payload = {"meeting_id": "m", "mode": "visit", "location": "Rome", "place": {"name": "R"}}
    env = {"occurred_at": "2024", "sources": [{"outlet": "X", "kind": "wire"}]}
    event = published(_v1("MeetingHeld", payload, {**env, "verification": "confirmed"}))
    with pytest.raises(InvalidEvent) as info:
        parse_draft(event)
    assert info.value.field == "payload.location"


def test_a_version_1_correction_of_a_location_patches_the_place() -> None:
    payload = {"target_event_id": TARGET, "patch": {"location": "Erbil"}, "reason": "moved"}
    env = {"occurred_at": "2024", "sources": [{"outlet": "X", "kind": "wire"}]}
    event = published(_v1("EventCorrected", payload, {**env, "verification": "confirmed"}))
    assert parse_draft(event).payload.patch == {"place": {"name": "Erbil"}}
