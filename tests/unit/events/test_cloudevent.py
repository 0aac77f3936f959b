"""The CloudEvents mapping: a CloudEvent in either HTTP mode becomes the published body it
stands for (type with or without the prefix, subject, source + id as the idempotency key); a
recorded event goes out with its data unchanged and the two clocks in extension attributes; a
view change goes out with the change entry's ID; malformed CloudEvents name the attribute."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cloudevents.core.bindings.http import to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent
from hypothesis import given, settings

from events import ContractError, RecordedEvent, cloudevent, parse_draft
from projections.tables import event_row
from services.recorder.application import Negotiations
from tests.factories import NID
from tests.unit.projections.support import CHOICES, random_history

DATA: dict[str, Any] = {
    "occurred_at": "2024-09",
    "sources": [{"outlet": "Wire", "kind": "wire"}],
    "verification": "confirmed",
    "payload": {"topic": "Troops", "text": "About 2,500."},
}
ATTRS = {"id": "n-1", "source": "urn:example:desk", "type": "org.talkstream.ContextNoted"}


def _read(message: Any) -> dict[str, Any]:
    return cloudevent.draft_body(cloudevent.read_http(message.headers, message.body), "talks-a")


@pytest.mark.parametrize("mode", [to_structured_event, to_binary_event])
def test_either_http_mode_gives_the_same_published_body(mode: Any) -> None:
    body = _read(mode(CloudEvent(dict(ATTRS), dict(DATA))))
    assert body == {
        **DATA,
        "type": "ContextNoted",
        "negotiation_id": "talks-a",
        "idempotency_key": "ce:urn:example:desk#n-1",
    }
    assert parse_draft(body).type == "ContextNoted"


def test_the_type_prefix_is_optional_and_the_subject_names_the_negotiation() -> None:
    event = CloudEvent({**ATTRS, "type": "ContextNoted", "subject": "talks-b"}, dict(DATA))
    body = cloudevent.draft_body(event, None)
    assert (body["type"], body["negotiation_id"]) == ("ContextNoted", "talks-b")


def test_a_long_source_and_id_still_make_a_valid_key() -> None:
    key = cloudevent.idempotency_key("urn:" + "x" * 300, "1")
    assert key.startswith("ce:sha256:") and len(key) <= cloudevent.MAX_KEY
    assert key == cloudevent.idempotency_key("urn:" + "x" * 300, "1")
    assert key != cloudevent.idempotency_key("urn:" + "x" * 300, "2")


def test_recorded_events_round_trip_with_both_clocks(memory_app: Negotiations) -> None:
    from tests import factories as f

    sent = CloudEvent(dict(ATTRS), {**DATA, "negotiation_id": f.NID})
    memory_app.record_many(f.started(), principal="desk")
    written = memory_app.record(parse_draft(cloudevent.draft_body(sent, None)), principal="desk")
    wire = memory_app.wires(f.NID)[-1]
    out = cloudevent.structured_dict(cloudevent.of_recorded(wire))
    assert out["id"] == written.event_id
    assert out["type"] == ATTRS["type"]
    assert out["subject"] == f.NID
    assert out["occurredat"] == "2024-09"
    assert out["recordedat"] == wire["recorded_at"]
    assert out["sequence"] == str(written.position)
    data = dict(out["data"])
    assert data.pop("idempotency_key") == "ce:urn:example:desk#n-1"
    assert {k: v for k, v in data.items() if k not in ("modality", "schema_version")} == DATA
    out["data"] = data  # without the key: sent again, source + id make a new one
    again = cloudevent.draft_body(cloudevent.read_http(*_http(out)), None)
    assert parse_draft(again).model_dump(exclude_none=True)["payload"] == DATA["payload"]
    assert again["idempotency_key"] == f"ce:{out['source']}#{written.event_id}"


def _http(document: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    return {"content-type": cloudevent.STRUCTURED}, json.dumps(document).encode()


def test_a_view_change_goes_out_with_its_entry_id() -> None:
    change = {"negotiation_id": "talks-a", "projection": "timeline", "position": 7}
    out = json.loads(cloudevent.structured(cloudevent.of_change("17-0", change)))
    assert (out["id"], out["type"], out["sequence"]) == ("17-0", cloudevent.CHANGED, "7")
    assert out["data"] == change


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"specversion": "1.0", "id": "1", "type": "ContextNoted", "data": DATA}, "source"),
        ({"specversion": "1.0", "source": "s", "type": "T", "id": "1", "data": "x"}, "data"),
        (
            {
                "specversion": "1.0",
                "source": "s",
                "type": "ContextNoted",
                "id": "1",
                "data": {**DATA, "type": "ContextNoted"},
            },
            "data.type",
        ),
        (
            {
                "specversion": "1.0",
                "source": "s",
                "type": "ContextNoted",
                "id": "1",
                "occurredat": "2020",
                "data": DATA,
            },
            "data.occurred_at",
        ),
        (
            {"specversion": "1.0", "source": "s", "type": "X", "id": "1", "time": "noon"},
            "cloudevent",
        ),
    ],
)
def test_malformed_cloudevents_name_the_attribute(document: dict[str, Any], field: str) -> None:
    with pytest.raises(ContractError) as caught:
        cloudevent.draft_body(cloudevent.read_http(*_http(document)), "talks-a")
    assert field in str(caught.value)


@settings(max_examples=25, deadline=None)
@given(CHOICES)
def test_any_history_survives_the_cloudevents_round_trip_with_its_hashes(
    choices: list[int],
) -> None:
    """Every recorded event of a random valid history, sent out as a CloudEvent and read
    back, is the same event: its hash still holds and its table row is unchanged."""
    app, _ = random_history(choices)
    try:
        wires = app.wires(NID)
        for wire in wires:
            document = cloudevent.structured_dict(cloudevent.of_recorded(wire))
            back = RecordedEvent.from_wire(cloudevent.wire_of(document))
            assert back.hash_ok()
            assert back.event_id == wire["event_id"] and back.position == wire["position"]
            assert event_row(back.wire) == event_row(wire)
    finally:
        app.close()
