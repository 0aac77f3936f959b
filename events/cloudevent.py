"""CloudEvents (v1.0) in and out, through the ``cloudevents`` SDK's HTTP binding and JSON
format; docs/cloudevents.md is the mapping.

In: a CloudEvent in structured mode (``application/cloudevents+json``) or binary mode (``ce-*``
headers) becomes the published body of one event: ``type`` is the event type (with or without
the ``org.talkstream.`` prefix), ``data`` the event as published without ``type``, ``subject``
the negotiation (when the path names none), and ``source`` + ``id`` the idempotency key.

Out: a recorded event becomes a CloudEvent whose ``data`` is the event as published (without
``type`` and ``negotiation_id``), the server's stamp and the two clocks in attributes; a view
change becomes an ``org.talkstream.ViewChanged`` CloudEvent."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, from_http, to_structured_event
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from events.exceptions import InvalidEvent
from events.json_input import parse_json
from events.recorded import SERVER_FIELDS

TYPE_PREFIX = "org.talkstream."
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
CHANGED = TYPE_PREFIX + "ViewChanged"
SOURCE = "/talkstream"
MAX_KEY = 200  # the envelope's idempotency_key limit
# Envelope fields carried as extension attributes on the way out (name -> attribute).
CLOCKS = {"occurred_at": "occurredat", "occurred_until": "occurreduntil"}
STAMP = {
    "recorded_at": "recordedat",
    "recorded_by": "recordedby",
    "version": "negotiationversion",
    "position": "sequence",
    "hash": "hash",
    "prev_hash": "prevhash",
}
TRACE = {"correlation_id": "correlationid", "causation_id": "causationid"}


def is_cloudevent(headers: Mapping[str, str]) -> bool:
    """Whether an HTTP request carries a CloudEvent (structured or binary mode)."""
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    return media == STRUCTURED or "ce-specversion" in {k.lower() for k in headers}


def read_http(headers: Mapping[str, str], body: bytes) -> BaseCloudEvent:
    """The CloudEvent of an HTTP request; InvalidEvent naming the attribute when it is not
    one. JSON goes through the project's parser first, so hostile JSON is refused alike."""
    lowered = {k.lower(): v for k, v in headers.items()}
    media = lowered.get("content-type", "").split(";")[0].strip().lower()
    if media == STRUCTURED or "ce-specversion" not in lowered:
        document = parse_json(body, document="body")
        if not isinstance(document, dict):
            raise InvalidEvent("invalid_cloudevent", "expected a JSON object", field="body")
    elif body:
        parse_json(body, document="data")
    try:
        return from_http(HTTPMessage(headers=dict(lowered), body=body), JSONFormat())
    except BaseCloudEventException as e:
        raise InvalidEvent("invalid_cloudevent", str(e), field=_attribute_of(e)) from None
    except (ValueError, TypeError) as e:  # a time that is not a timestamp, a data type
        raise InvalidEvent("invalid_cloudevent", str(e), field="cloudevent") from None


def _attribute_of(error: BaseCloudEventException) -> str:
    errors = getattr(error, "errors", None)
    if isinstance(errors, dict) and errors:
        return f"cloudevent.{next(iter(errors))}"
    return f"cloudevent.{getattr(error, 'attribute_name', 'attributes')}"


def draft_body(event: BaseCloudEvent, negotiation_id: str | None) -> dict[str, Any]:
    """The published body a CloudEvent stands for (validated later as any body is)."""
    data = event.get_data()
    if isinstance(data, bytes | str):
        data = _json_object(data)
    if not isinstance(data, dict):
        raise InvalidEvent("invalid_cloudevent", "data: expected a JSON object", field="data")
    if "type" in data:
        raise InvalidEvent(
            "invalid_cloudevent", "the event type is the CloudEvent's type", field="data.type"
        )
    body = dict(data)
    body["type"] = event_type(event.get_type())
    _fill(body, "negotiation_id", negotiation_id or event.get_subject(), "subject")
    _fill(body, "occurred_at", event.get_extension("occurredat"), "occurredat")
    _fill(body, "idempotency_key", idempotency_key(event.get_source(), event.get_id()), "id")
    return body


def _json_object(data: str | bytes) -> Any:
    return parse_json(data if isinstance(data, bytes) else data.encode(), document="data")


def _fill(body: dict[str, Any], field: str, value: Any, attribute: str) -> None:
    if value is None:
        return
    if body.setdefault(field, value) != value:
        raise InvalidEvent(
            "conflicting_input",
            f"is {body[field]!r} in data but the CloudEvent's {attribute} says {value!r}",
            field=f"data.{field}",
        )


def event_type(ce_type: str) -> str:
    """``ContextNoted`` or ``org.talkstream.ContextNoted`` -> ``ContextNoted``."""
    return ce_type.removeprefix(TYPE_PREFIX)


def idempotency_key(source: str, event_id: str) -> str:
    """``source`` + ``id`` identify a CloudEvent: the same pair records once."""
    key = f"ce:{source}#{event_id}"
    if len(key) <= MAX_KEY:
        return key
    return "ce:sha256:" + hashlib.sha256(f"{source}#{event_id}".encode()).hexdigest()


def of_recorded(wire: Mapping[str, Any]) -> CloudEvent:
    """A recorded event (wire form, with its position) as a CloudEvent."""
    nid = wire["negotiation_id"]
    attributes: dict[str, Any] = {
        "id": wire["event_id"],
        "source": f"{SOURCE}/negotiations/{nid}",
        "type": TYPE_PREFIX + wire["type"],
        "subject": nid,
        "time": datetime.fromisoformat(wire["recorded_at"].replace("Z", "+00:00")),
        "datacontenttype": "application/json",
    }
    for fields in (CLOCKS, STAMP, TRACE):
        for field, attribute in fields.items():
            if wire.get(field) is not None:
                attributes[attribute] = str(wire[field])
    data = {
        k: v
        for k, v in wire.items()
        if k not in SERVER_FIELDS and k not in ("type", "negotiation_id") and v is not None
    }
    return CloudEvent(attributes, data)


def of_change(entry_id: str, change: Mapping[str, Any]) -> CloudEvent:
    """A view change (an entry of the changes stream) as a CloudEvent; its id is the entry's."""
    nid = str(change["negotiation_id"])
    projection = str(change["projection"])
    attributes = {
        "id": entry_id,
        "source": f"{SOURCE}/negotiations/{nid}/{projection}",
        "type": CHANGED,
        "subject": nid,
        "datacontenttype": "application/json",
        "sequence": str(change["position"]),
        "projection": projection,
    }
    data = {"negotiation_id": nid, "projection": projection, "position": int(change["position"])}
    return CloudEvent(attributes, data)


def structured(event: BaseCloudEvent) -> bytes:
    """The structured-mode JSON of a CloudEvent."""
    return to_structured_event(event).body


def structured_dict(event: BaseCloudEvent) -> dict[str, Any]:
    """The structured-mode JSON object of a CloudEvent (for a batch)."""
    return cast("dict[str, Any]", parse_json(structured(event), document="cloudevent"))


def wire_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded event's wire form back from its structured CloudEvent (``of_recorded``'s
    inverse): ``RecordedEvent.from_wire`` reads it, and its hash still holds."""
    wire: dict[str, Any] = dict(document.get("data") or {})
    wire["type"] = event_type(str(document["type"]))
    wire["negotiation_id"] = document["subject"]
    wire["event_id"] = document["id"]
    for field, attribute in STAMP.items():
        if attribute in document:
            wire[field] = document[attribute]
    for name in ("version", "position"):
        if name in wire:
            wire[name] = int(wire[name])
    return wire
