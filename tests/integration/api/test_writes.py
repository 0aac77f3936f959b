"""Writes over HTTP: a re-send with the same Idempotency-Key records once and answers the first
result; expected_version pins the version; the answer says where the event stands."""

from __future__ import annotations

from fastapi.testclient import TestClient

from events import parse_draft
from services.api.context import ApiContext
from tests.factories import NID, NOTE, SETUP, body
from tests.integration.api.conftest import bearer

EVENTS = f"/v1/negotiations/{NID}/events"


def test_a_resend_with_the_same_idempotency_key_records_once(
    ctx: ApiContext, http: TestClient, keys: dict[str, str]
) -> None:
    ctx.app.record_many([parse_draft(b) for b in SETUP], principal="seed")
    headers = {**bearer(keys["publisher"]), "Idempotency-Key": "wire-42"}
    first = http.post(EVENTS, json=body("ContextNoted", NOTE), headers=headers)
    again = http.post(EVENTS, json=body("ContextNoted", NOTE), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    assert first.headers["Location"] == f"/v1/negotiations/{NID}"
    assert ctx.app.max_position() == len(SETUP) + 1
    assert ctx.app.history(NID)[-1].draft.idempotency_key == "wire-42"


def test_expected_version_records_at_that_version_only(
    ctx: ApiContext, http: TestClient, keys: dict[str, str]
) -> None:
    ctx.app.record_many([parse_draft(b) for b in SETUP], principal="seed")
    version = len(SETUP)
    answer = http.post(
        f"{EVENTS}?expected_version={version}",
        json=body("ContextNoted", NOTE),
        headers=bearer(keys["publisher"]),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == version + 1
    stale = http.post(
        f"{EVENTS}?expected_version={version}",
        json=body("ContextNoted", NOTE),
        headers=bearer(keys["publisher"]),
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "version_conflict"
