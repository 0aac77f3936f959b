"""Bad input over HTTP: each case answers its documented 4xx with the error body naming the
field and the reason, and the store's last position is unchanged afterwards."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from events import parse_draft
from services.api.context import ApiContext
from tests.factories import MEETING, NID, NOTE, SETUP, body, quote, without
from tests.integration.api.conftest import bearer

EVENTS = f"/v1/negotiations/{NID}/events"
JSON = {"Content-Type": "application/json"}


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


HUGE = "9" * 5000


def raw_event(kind: str, payload: str, **envelope: str) -> bytes:
    """A published event as raw JSON text, for what ``json.dumps`` will not write."""
    fields = ", ".join(f'"{k}": {v}' for k, v in envelope.items())
    head = f'"type": "{kind}", "occurred_at": "2024-07-22", "verification": "confirmed"'
    return (
        "{" + head + (", " + fields if fields else "") + f', "payload": {payload}' + "}"
    ).encode()


NOTE_TEXT = '{"topic": "Troops", "text": "About 2,500 troops."}'


# (id, path, raw body or JSON-able object, extra headers, status, words the message must hold)
CASES: list[tuple[str, str, Any, dict[str, str], int, list[str]]] = [
    ("unknown type", EVENTS, body("Teleported", MEETING), {}, 422, ["unknown_type", "Teleported"]),
    (
        "missing field",
        EVENTS,
        without(body("MeetingHeld", MEETING), "verification"),
        {},
        422,
        ["verification", "required"],
    ),
    (
        "extra field",
        EVENTS,
        body("MeetingHeld", {**MEETING, "colour": "red"}),
        {},
        422,
        ["payload.colour"],
    ),
    (
        "wrong type",
        EVENTS,
        body("MeetingHeld", {**MEETING, "agenda": "x"}),
        {},
        422,
        ["payload.agenda"],
    ),
    (
        "month 13",
        EVENTS,
        body("MeetingHeld", MEETING, occurred_at="2024-13"),
        {},
        422,
        ["occurred_at"],
    ),
    (
        "february 30",
        EVENTS,
        body("MeetingHeld", MEETING, occurred_at="2024-02-30"),
        {},
        422,
        ["occurred_at"],
    ),
    (
        "over-long quote",
        EVENTS,
        body("StatementIssued", quote("x" * 5000)),
        {},
        422,
        ["payload.quote"],
    ),
    ("server-set hash", EVENTS, body("MeetingHeld", MEETING, hash="0" * 64), {}, 422, ["hash"]),
    (
        "server-set position",
        EVENTS,
        body("MeetingHeld", MEETING, position=3),
        {},
        422,
        ["position"],
    ),
    ("not JSON", EVENTS, b'{"type": oops}', JSON, 422, ["invalid_json", "not JSON"]),
    ("JSON but not an object", EVENTS, b"[1, 2]", JSON, 422, ["object"]),
    ("invalid UTF-8", EVENTS, b'{"type": "\xff\xfe"}', JSON, 422, ["UTF-8"]),
    ("deeply nested JSON", EVENTS, nested(100_000), JSON, 422, ["nested"]),
    ("NaN", EVENTS, b'{"type": "ContextNoted", "confidence": NaN}', JSON, 422, ["NaN"]),
    (
        "wrong content type",
        EVENTS,
        b"type=MeetingHeld",
        {"Content-Type": "text/plain"},
        415,
        ["application/json"],
    ),
    ("no content type", EVENTS, b"{}", {"Content-Type": ""}, 415, ["application/json"]),
    ("10 MB body", EVENTS, b"{" + b" " * 10_000_000 + b"}", JSON, 413, ["larger than"]),
    (
        "negotiation conflicts with the path",
        EVENTS,
        body("MeetingHeld", MEETING, nid="other-talks"),
        {},
        422,
        ["conflicting_input", "negotiation_id"],
    ),
    (
        "bad negotiation id in the path",
        "/v1/negotiations/Bad_Id!/events",
        body("MeetingHeld", MEETING),
        {},
        422,
        ["negotiation_id"],
    ),
    (
        "never opened",
        "/v1/negotiations/never-opened/events",
        body("MeetingHeld", MEETING, nid="never-opened"),
        {},
        404,
        ["never-opened"],
    ),
    (
        "ratified before signed",
        EVENTS,
        body(
            "AgreementStatusChanged",
            {"agreement_id": "ag-1", "status": "ratified"},
            occurred_at="2024-09-28",
        ),
        {},
        409,
        ["agreement_not_signed"],
    ),
    (
        "resumed though not suspended",
        EVENTS,
        body("TalksResumed", {}, occurred_at="2024-10"),
        {},
        409,
        ["talks_not_suspended"],
    ),
    (
        "milestone met twice",
        EVENTS,
        body("MilestoneMet", {"milestone_id": "m-1"}, occurred_at="2024-10-02"),
        {},
        409,
        ["milestone_already_settled"],
    ),
    (
        "idempotency key reused for another body",
        EVENTS,
        body("ContextNoted", {**NOTE, "text": "About 3,000."}, idempotency_key="note-1"),
        {},
        409,
        ["idempotency_key_reused"],
    ),
    (
        "stale expected version",
        EVENTS + "?expected_version=3",
        body("ContextNoted", NOTE),
        {},
        409,
        ["version_conflict"],
    ),
    (
        "negative expected version",
        EVENTS + "?expected_version=-1",
        body("ContextNoted", NOTE),
        {},
        422,
        ["expected_version"],
    ),
    (
        "occurred in the future",
        EVENTS,
        body("MeetingHeld", MEETING, occurred_at="2999"),
        {},
        409,
        ["occurred_after_recorded"],
    ),
    (
        "unknown issue",
        EVENTS,
        body("MeetingHeld", {**MEETING, "agenda": ["nope"]}),
        {},
        409,
        ["unknown_issue"],
    ),
    (
        "unknown query parameter",
        EVENTS + "?expected_verison=3",
        body("ContextNoted", NOTE),
        {},
        422,
        ["expected_verison"],
    ),
    ("opening of another type", "/v1/negotiations", body("ContextNoted", NOTE), {}, 422, ["type"]),
    ("empty batch", "/v1/events:batch", {"events": []}, {}, 422, ["events"]),
    ("batch without events", "/v1/events:batch", {"evnts": []}, {}, 422, ["events"]),
    (
        "batch over the limit",
        "/v1/events:batch",
        {"events": [body("ContextNoted", NOTE)] * 501},
        {},
        422,
        ["batch_too_large", "500"],
    ),
    (
        "5,000-digit integer",
        EVENTS,
        raw_event("ContextNoted", NOTE_TEXT, confidence=HUGE),
        JSON,
        422,
        ["number_out_of_range", "confidence"],
    ),
    (
        "5,000-digit integer in the payload",
        EVENTS,
        raw_event(
            "ContextNoted", '{"topic": "Troops", "text": "x", "quantity": {"value": -' + HUGE + "}}"
        ),
        JSON,
        422,
        ["number_out_of_range", "payload.quantity.value"],
    ),
    (
        "integer beyond 2**53",
        EVENTS,
        raw_event("ContextNoted", NOTE_TEXT, schema_version=str(2**53)),
        JSON,
        422,
        ["number_out_of_range", "schema_version"],
    ),
    (
        "5,000-digit integer in a batch",
        "/v1/events:batch",
        b'{"events": [' + raw_event("ContextNoted", NOTE_TEXT, confidence=HUGE) + b"]}",
        JSON,
        422,
        ["number_out_of_range", "events.0.confidence"],
    ),
    (
        "duplicated type",
        EVENTS,
        raw_event("ContextNoted", NOTE_TEXT, type='"MeetingHeld"'),
        JSON,
        422,
        ["duplicate_key", "'type'", "top level"],
    ),
    (
        "duplicated key in the payload",
        EVENTS,
        raw_event("ContextNoted", '{"topic": "Troops", "text": "a", "text": "b"}'),
        JSON,
        422,
        ["duplicate_key", "'text'", "payload"],
    ),
    (
        "duplicated key in a batch",
        "/v1/events:batch",
        b'{"events": [{}, '
        + raw_event("ContextNoted", NOTE_TEXT, verification='"reported"')
        + b"]}",
        JSON,
        422,
        ["duplicate_key", "'verification'", "events.1"],
    ),
    (
        "duplicated events of a batch",
        "/v1/events:batch",
        b'{"events": [], "events": [' + raw_event("ContextNoted", NOTE_TEXT) + b"]}",
        JSON,
        422,
        ["duplicate_key", "'events'"],
    ),
    (
        "old schema version with a text payload",
        EVENTS,
        {**body("ContextNoted", NOTE, schema_version=1), "payload": "troops"},
        {},
        422,
        ["invalid_event", "payload"],
    ),
    ("wrong method", "/v1/audit/verify", {}, {}, 405, ["method_not_allowed"]),
    ("no such path", "/v1/nothing-here", {}, {}, 404, ["/v1/nothing-here"]),
]


@pytest.fixture
def seeded(ctx: ApiContext) -> ApiContext:
    ctx.app.record_many([parse_draft(b) for b in SETUP], principal="seed")
    return ctx


@pytest.mark.parametrize(
    ("path", "content", "headers", "status", "words"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_bad_input_answers_its_4xx_and_stores_nothing(
    seeded: ApiContext,
    http: TestClient,
    keys: dict[str, str],
    path: str,
    content: Any,
    headers: dict[str, str],
    status: int,
    words: list[str],
) -> None:
    before = seeded.app.max_position()
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    sent = {**JSON, **bearer(keys["admin"]), **headers}
    if sent.get("Content-Type") == "":
        del sent["Content-Type"]
    response = http.post(path, content=raw, headers=sent)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "details"} and error["code"] and error["message"]
    text = json.dumps(error)
    for word in words:
        assert word in text, f"{word!r} not in {text}"
    assert seeded.app.max_position() == before


def test_a_batch_refuses_only_the_negotiation_with_a_bad_event(
    seeded: ApiContext, http: TestClient, keys: dict[str, str]
) -> None:
    other = {
        **body(
            "NegotiationOpened", {"title": "B", "format": "bilateral", "issues": []}, nid="talks-b"
        ),
        "occurred_at": "2023",
    }
    events = [
        body("ContextNoted", NOTE),
        other,
        body("MeetingHeld", MEETING, occurred_at="2024-13"),
        body("ContextNoted", NOTE, nid="talks-b"),
    ]
    before = seeded.app.max_position()
    answer = http.post(
        "/v1/events:batch", json={"events": events}, headers=bearer(keys["publisher"])
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert [r["status"] for r in result["results"]] == [409, 201, 422, 201]
    assert result["results"][0]["error"]["code"] == "batch_rejected"
    assert "event 2" in result["results"][0]["error"]["message"]
    assert "occurred_at" in result["results"][2]["error"]["message"]
    assert (result["recorded"], result["refused"]) == (2, 2)
    assert seeded.app.max_position() == before + 2
    assert [w["negotiation_id"] for w in seeded.app.wires("talks-b")] == ["talks-b"] * 2


@pytest.mark.parametrize("odd", [["talks-a"], {"id": "talks-a"}, 7, None, True])
def test_a_batch_event_with_an_odd_negotiation_id_is_refused_alone(
    seeded: ApiContext, http: TestClient, keys: dict[str, str], odd: Any
) -> None:
    events = [body("ContextNoted", NOTE), {**body("ContextNoted", NOTE), "negotiation_id": odd}]
    before = seeded.app.max_position()
    answer = http.post(
        "/v1/events:batch", json={"events": events}, headers=bearer(keys["publisher"])
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == [201, 422]
    assert "negotiation_id" in results[1]["error"]["message"]
    assert seeded.app.max_position() == before + 1
