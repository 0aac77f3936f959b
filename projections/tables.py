"""The tables of a negotiation's data package: events (one row per event, the envelope
flattened into columns as event datasets do), actors, sources, milestones and the milestones'
status history. Each table has a Frictionless table schema (``SCHEMAS``) and rows built from the
events visible at a point in time and their fold. Pure: no I/O; ``csv_text`` encodes rows in
memory for whoever writes or streams them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from events.dates import PartialDate
from events.wire import ActorWire, Wire
from projections.asof import fold_at, visible
from projections.negotiation import Event, State, wire_of

Row = dict[str, Any]
Field = dict[str, Any]


def _field(name: str, kind: str, description: str, **extra: Any) -> Field:
    return {"name": name, "type": kind, "description": description, **extra}


_ACTOR_FIELDS = ("country", "sector", "office", "wikidata")
ACTOR_KEYS = frozenset(
    {"party", "head", "members", "participants", "speaker", "by", "actor", "target", "parties"}
    | {"obligor"}
)
"""Payload fields that hold actors (one or a list) in some event type."""

SCHEMAS: dict[str, dict[str, Any]] = {
    "events": {
        "fields": [
            _field(
                "position",
                "integer",
                "Global position in the store.",
                constraints={"required": True},
            ),
            _field("event_id", "string", "The event's id.", constraints={"required": True}),
            _field("negotiation_id", "string", "The negotiation."),
            _field("type", "string", "Event type (docs/events.md)."),
            _field("version", "integer", "Version within the negotiation."),
            _field("schema_version", "integer", "Schema version of the payload."),
            _field("occurred_at", "string", "World time: a partial date or timestamp."),
            _field("occurred_until", "string", "World time: end of a span, if any."),
            _field("recorded_at", "datetime", "Record time: when the store accepted it (UTC)."),
            _field("recorded_by", "string", "Who recorded it."),
            _field("verification", "string", "reported, confirmed, disputed, ..."),
            _field("confidence", "number", "Publisher's confidence, 0 to 1."),
            _field("modality", "string", "actual, hypothetical, ..."),
            _field("cameo", "string", "CAMEO code."),
            _field("plover", "string", "PLOVER code."),
            _field("correlation_id", "string", "Correlation id."),
            _field("causation_id", "string", "Causation id."),
            _field("idempotency_key", "string", "Publisher's idempotency key."),
            _field("source_count", "integer", "How many sources it cites (sources.csv)."),
            _field("corrected_by", "string", "Space-separated ids of correcting events."),
            _field("retracted_by", "string", "Id of the retracting event, if retracted."),
            _field("prev_hash", "string", "Hash of the negotiation's previous event."),
            _field("hash", "string", "sha256 of the event's canonical JSON."),
            _field("payload", "object", "The payload as recorded (JSON)."),
        ],
        "primaryKey": ["position"],
    },
    "actors": {
        "fields": [
            _field("negotiation_id", "string", "The negotiation.", constraints={"required": True}),
            _field("name", "string", "The actor's name.", constraints={"required": True}),
            _field("country", "string", "ISO 3166 country code."),
            _field("sector", "string", "Sector."),
            _field("office", "string", "Office held."),
            _field("wikidata", "string", "Wikidata id."),
            _field("role", "string", "Role as a party, if a party."),
            _field("mentions", "integer", "Events that name the actor."),
            _field("first_event_id", "string", "First event that names the actor."),
        ],
        "primaryKey": ["negotiation_id", "name"],
    },
    "sources": {
        "fields": [
            _field("event_id", "string", "The citing event.", constraints={"required": True}),
            _field(
                "index",
                "integer",
                "Order among the event's sources.",
                constraints={"required": True},
            ),
            _field("negotiation_id", "string", "The negotiation."),
            _field("outlet", "string", "Outlet."),
            _field("kind", "string", "Kind of source."),
            _field("url", "string", "Address.", format="uri"),
            _field("published_at", "string", "When it was published."),
            _field("excerpt", "string", "Excerpt."),
        ],
        "primaryKey": ["event_id", "index"],
    },
    "milestones": {
        "fields": [
            _field("negotiation_id", "string", "The negotiation.", constraints={"required": True}),
            _field("milestone_id", "string", "The milestone.", constraints={"required": True}),
            _field("agreement_id", "string", "Agreement it belongs to."),
            _field("term_id", "string", "Term it implements."),
            _field("obligor", "string", "Who owes it."),
            _field("description", "string", "What is due."),
            _field("due_kind", "string", "date, relative or conditional."),
            _field("due_date", "string", "Due date, if dated."),
            _field("status", "string", "scheduled, met or missed."),
            _field("event_id", "string", "The scheduling event."),
        ],
        "primaryKey": ["negotiation_id", "milestone_id"],
    },
    "milestone_history": {
        "fields": [
            _field("negotiation_id", "string", "The negotiation.", constraints={"required": True}),
            _field("milestone_id", "string", "The milestone.", constraints={"required": True}),
            _field("step", "integer", "Order of the step.", constraints={"required": True}),
            _field("status", "string", "Status after the step."),
            _field("event_id", "string", "The event of the step."),
            _field("occurred_at", "string", "World time of the step."),
            _field("verification", "string", "Verification of the step's event."),
        ],
        "primaryKey": ["negotiation_id", "milestone_id", "step"],
        "foreignKeys": [
            {
                "fields": ["negotiation_id", "milestone_id"],
                "reference": {
                    "resource": "milestones",
                    "fields": ["negotiation_id", "milestone_id"],
                },
            }
        ],
    },
}
"""Each table's Frictionless table schema."""

TABLES: tuple[str, ...] = tuple(SCHEMAS)


def columns(table: str) -> list[str]:
    return [f["name"] for f in SCHEMAS[table]["fields"]]


def event_row(event: Event, state: State | None = None) -> Row:
    """One event, its envelope flattened; ``state`` (a fold that saw it) adds its fate."""
    wire = wire_of(event)
    codes = wire.get("codes") or {}
    record = (state or {}).get("registry", {}).get(wire["event_id"])  # type: ignore[call-overload]
    return {
        "position": wire.get("position"),
        "event_id": wire["event_id"],
        "negotiation_id": wire["negotiation_id"],
        "type": wire["type"],
        "version": wire["version"],
        "schema_version": wire["schema_version"],
        "occurred_at": wire["occurred_at"],
        "occurred_until": wire.get("occurred_until"),
        "recorded_at": wire["recorded_at"],
        "recorded_by": wire["recorded_by"],
        "verification": wire["verification"],
        "confidence": wire.get("confidence"),
        "modality": wire.get("modality"),
        "cameo": codes.get("cameo"),
        "plover": codes.get("plover"),
        "correlation_id": wire.get("correlation_id"),
        "causation_id": wire.get("causation_id"),
        "idempotency_key": wire.get("idempotency_key"),
        "source_count": len(wire["sources"]),
        "corrected_by": " ".join(record["corrected_by"]) if record else None,
        "retracted_by": record["retracted_by"] if record else None,
        "prev_hash": wire.get("prev_hash"),
        "hash": wire["hash"],
        "payload": wire["payload"],
    }


def source_rows(events: Iterable[Event]) -> Iterator[Row]:
    for event in events:
        wire = wire_of(event)
        for index, source in enumerate(wire["sources"]):
            yield {
                "event_id": wire["event_id"],
                "index": index,
                "negotiation_id": wire["negotiation_id"],
                "outlet": source["outlet"],
                "kind": source["kind"],
                "url": source.get("url"),
                "published_at": source.get("published_at"),
                "excerpt": source.get("excerpt"),
            }


def actor_rows(events: Iterable[Event], state: State) -> list[Row]:
    """Every actor named in the events' payloads, once per negotiation, with its role as a
    party in the fold (if it is one)."""
    roles = {p["actor"]["name"]: p["role"] for p in state["view"]["parties"].values()}
    found: dict[tuple[str, str], Row] = {}
    for event in events:
        wire = wire_of(event)
        for actor in _actors(wire):
            key = (wire["negotiation_id"], actor["name"])
            row = found.get(key)
            if row is None:
                row = found[key] = {
                    "negotiation_id": wire["negotiation_id"],
                    "name": actor["name"],
                    **{f: None for f in _ACTOR_FIELDS},
                    "role": roles.get(actor["name"]),
                    "mentions": 0,
                    "first_event_id": wire["event_id"],
                }
            row["mentions"] += 1
            for f in _ACTOR_FIELDS:
                row[f] = row[f] or actor.get(f)
    return list(found.values())


def _actors(wire: Wire) -> list[ActorWire]:
    """The distinct actors one event's payload names."""
    named: dict[str, ActorWire] = {}
    for key, value in wire["payload"].items():
        if key not in ACTOR_KEYS:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                named.setdefault(item["name"], item)  # type: ignore[arg-type]
    return list(named.values())


def milestone_rows(state: State) -> list[Row]:
    view = state["view"]
    return [
        {
            "negotiation_id": view["negotiation_id"],
            "milestone_id": mid,
            "agreement_id": m.get("agreement_id"),
            "term_id": m.get("term_id"),
            "obligor": m["obligor"]["name"],
            "description": m["description"],
            "due_kind": m["due"]["kind"],
            "due_date": m["due"].get("date"),
            "status": m["status"],
            "event_id": m["event_id"],
        }
        for mid, m in view["milestones"].items()
    ]


def milestone_history_rows(state: State) -> list[Row]:
    view = state["view"]
    return [
        {
            "negotiation_id": view["negotiation_id"],
            "milestone_id": mid,
            "step": step,
            "status": s["status"],
            "event_id": s["event_id"],
            "occurred_at": s["occurred_at"],
            "verification": s["verification"],
        }
        for mid, m in view["milestones"].items()
        for step, s in enumerate(m["history"], start=1)
    ]


def tables(events: Sequence[Event], state: State) -> dict[str, list[Row]]:
    """Every table of one negotiation: ``events`` are those visible at the point in time and
    ``state`` their fold."""
    return {
        "events": [event_row(e, state) for e in events],
        "actors": actor_rows(events, state),
        "sources": list(source_rows(events)),
        "milestones": milestone_rows(state),
        "milestone_history": milestone_history_rows(state),
    }


def tables_at(
    events: Sequence[Event], *, as_of: PartialDate | None, known_at: PartialDate | None
) -> dict[str, list[Row]]:
    """One negotiation's tables at a point in time (every event when both are None)."""
    seen = [e for e in events if visible(e, as_of=as_of, known_at=known_at)]
    return tables(seen, fold_at(seen))


def cell(value: Any) -> str:
    """A value as a CSV cell: empty for None, JSON for objects and lists, true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(value)


def csv_text(table: str, rows: Iterable[Mapping[str, Any]], *, header: bool = True) -> str:
    """Rows of ``table`` as CSV text (RFC 4180, CRLF line ends), the header first if asked."""
    out = io.StringIO()
    writer = csv.writer(out)
    names = columns(table)
    if header:
        writer.writerow(names)
    writer.writerows([cell(row.get(n)) for n in names] for row in rows)
    return out.getvalue()
