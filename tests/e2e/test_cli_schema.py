"""``talkstream schema export DIR``: one JSON Schema per event type, plus the union and the
server stamp."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.helpers import Runner, ok

EVENT_TYPES = {
    "NegotiationOpened", "PartyJoined", "PartyLeft", "DelegationAssigned", "MeetingScheduled",
    "MeetingHeld", "MeetingCancelled", "StatementIssued", "StatementWithdrawn", "StatementDenied",
    "DemandMade", "ProposalTabled", "ProposalAccepted", "ProposalRejected", "PositionStated",
    "AgreementReached", "AgreementStatusChanged", "MilestoneScheduled", "MilestoneMet",
    "MilestoneMissed", "MilestoneProgressed", "MilestoneRescheduled", "ContextNoted",
    "TalksSuspended", "TalksResumed", "TalksConcluded", "EventCorrected", "EventRetracted",
}  # fmt: skip


def test_export_writes_one_schema_per_type_plus_event_and_stamp(
    cli: Runner, tmp_path: Path
) -> None:
    assert len(EVENT_TYPES) == 28
    out = tmp_path / "out" / "schemas"  # parents are created
    result = ok(cli("schema", "export", out))
    assert "wrote 30 schema files" in result.stderr

    files = {p.name: json.loads(p.read_text("utf-8")) for p in out.iterdir()}
    assert set(files) == {f"{t}.json" for t in EVENT_TYPES} | {"Event.json", "Stamp.json"}

    for kind in EVENT_TYPES:
        schema = files[f"{kind}.json"]
        assert schema["properties"]["type"]["const"] == kind
        assert schema["additionalProperties"] is False
        assert {"type", "negotiation_id", "occurred_at", "payload"} <= set(schema["required"])
    assert len(files["Event.json"]["oneOf"]) == 28
    assert files["Event.json"]["discriminator"]["propertyName"] == "type"
    assert {"event_id", "hash", "recorded_at", "version"} <= set(files["Stamp.json"]["properties"])
