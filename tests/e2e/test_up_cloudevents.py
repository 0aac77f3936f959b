"""CloudEvents end to end against a running ``talkstream up``: an event POSTed in structured
mode and one in binary mode are recorded once per ``source`` + ``id``; the negotiation's events
read back as a CloudEvents batch whose data is what was sent (round trip) and whose attributes
carry the two clocks; ``/v1/subscribe?format=cloudevents`` streams view changes as CloudEvents;
a malformed CloudEvent is a 4xx naming the attribute, and nothing is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings.http import to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent

from tests.e2e.helpers import Runner, Served, bearer_client, ok, serving
from tests.factories import NOTE, SOURCE, opening_body

NID = "ce-talks"
DATA = {
    "occurred_at": "2024-10",
    "sources": [SOURCE],
    "verification": "reported",
    "payload": NOTE,
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    return Runner(tmp_path_factory.mktemp("cloudevents"))


@pytest.fixture(scope="module")
def up(store: Runner) -> Iterator[Served]:
    with serving(store.base, store.environment()) as served:
        yield served


@pytest.fixture(scope="module")
def keys(store: Runner, up: Served) -> dict[str, str]:
    return {
        role: ok(store("keys", "create", "--role", role, "--name", f"ce-{role}")).stdout
        for role in ("publisher", "reader")
    }


@pytest.fixture(scope="module")
def opened(up: Served, keys: dict[str, str]) -> None:
    with bearer_client(up.url, keys["publisher"]) as client:
        answer = client.post("/v1/negotiations", json={**opening_body(), "negotiation_id": NID})
    assert answer.status_code == 201, answer.text


def _send(up: Served, key: str, message: Any) -> httpx.Response:
    with bearer_client(up.url, key) as client:
        return client.post(
            f"/v1/negotiations/{NID}/events", content=message.body, headers=message.headers
        )


def _note(ce_id: str, ce_type: str = "org.talkstream.ContextNoted", **data: Any) -> CloudEvent:
    attributes = {"id": ce_id, "source": "urn:example:newsroom", "type": ce_type}
    return CloudEvent(attributes, {**DATA, **data})


def _batch(up: Served, key: str) -> list[dict[str, Any]]:
    with bearer_client(up.url, key) as client:
        answer = client.get(f"/v1/negotiations/{NID}/cloudevents")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/cloudevents-batch+json")
    return list(answer.json())


def test_structured_and_binary_cloudevents_record_once_per_source_and_id(
    up: Served, keys: dict[str, str], opened: None
) -> None:
    structured = to_structured_event(_note("note-1"))
    assert structured.headers["content-type"] == "application/cloudevents+json"
    first = _send(up, keys["publisher"], structured)
    again = _send(up, keys["publisher"], structured)
    binary = to_binary_event(_note("note-2", "ContextNoted", payload={**NOTE, "text": "Binary."}))
    assert "ce-id" in binary.headers
    second = _send(up, keys["publisher"], binary)
    assert (first.status_code, again.status_code, second.status_code) == (201, 200, 201), [
        first.text,
        again.text,
        second.text,
    ]
    assert again.json()["event_id"] == first.json()["event_id"]
    batch = _batch(up, keys["reader"])
    keys_seen = [e["data"].get("idempotency_key") for e in batch]
    assert keys_seen.count("ce:urn:example:newsroom#note-1") == 1
    assert keys_seen.count("ce:urn:example:newsroom#note-2") == 1


def test_a_recorded_cloudevent_reads_back_with_the_same_data_and_both_clocks(
    up: Served, keys: dict[str, str], opened: None
) -> None:
    sent = _note("note-3", payload={**NOTE, "text": "Round trip."})
    written = _send(up, keys["publisher"], to_structured_event(sent)).json()
    out = next(e for e in _batch(up, keys["reader"]) if e["id"] == written["event_id"])
    assert out["type"] == "org.talkstream.ContextNoted"
    assert out["subject"] == NID
    assert out["specversion"] == "1.0"
    assert out["occurredat"] == "2024-10"
    recorded = datetime.fromisoformat(out["recordedat"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(out["time"].replace("Z", "+00:00")) == recorded
    assert out["sequence"] == str(written["position"])
    received = dict(out["data"])
    assert received.pop("idempotency_key") == "ce:urn:example:newsroom#note-3"
    assert received.pop("modality") == "actual"  # defaults the server filled in
    assert isinstance(received.pop("schema_version"), int)
    assert received == sent.get_data()


def test_subscribe_as_cloudevents_streams_view_changes(
    up: Served, keys: dict[str, str], opened: None
) -> None:
    written = _send(up, keys["publisher"], to_structured_event(_note("note-4"))).json()
    headers = {"Authorization": f"Bearer {keys['reader'].strip()}", "Last-Event-ID": "0-0"}
    params = {"negotiation": NID, "projection": "negotiation", "format": "cloudevents"}
    found: dict[str, Any] | None = None
    timeout = httpx.Timeout(10, read=30)
    with (
        httpx.Client(base_url=up.url, timeout=timeout) as client,
        client.stream("GET", "/v1/subscribe", params=params, headers=headers) as answer,
    ):
        assert answer.status_code == 200
        for line in answer.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                assert event["type"] == "org.talkstream.ViewChanged"
                if event["data"]["position"] >= written["position"]:
                    found = event
                    break
    assert found is not None
    assert found["subject"] == NID
    assert found["projection"] == "negotiation"
    assert found["sequence"] == str(found["data"]["position"])


@pytest.mark.parametrize(
    ("headers", "body", "field"),
    [
        (
            {"content-type": "application/cloudevents+json"},
            {"id": "x", "type": "ContextNoted"},
            "source",
        ),
        (
            {"content-type": "application/cloudevents+json"},
            {"specversion": "1.0", "id": "x", "source": "s", "type": "NoSuchType", "data": DATA},
            "type",
        ),
        (
            {"content-type": "application/cloudevents+json"},
            {"specversion": "1.0", "id": "x", "source": "s", "type": "ContextNoted", "data": [1]},
            "data",
        ),
        (
            {
                "content-type": "application/json",
                "ce-specversion": "1.0",
                "ce-id": "y",
                "ce-source": "s",
                "ce-type": "ContextNoted",
                "ce-subject": "other-talks",
            },
            {**DATA, "negotiation_id": "other-talks"},
            "negotiation_id",
        ),
    ],
)
def test_a_malformed_cloudevent_is_refused_naming_the_attribute(
    up: Served,
    keys: dict[str, str],
    opened: None,
    headers: dict[str, str],
    body: Any,
    field: str,
) -> None:
    before = len(_batch(up, keys["reader"]))
    with bearer_client(up.url, keys["publisher"]) as client:
        answer = client.post(
            f"/v1/negotiations/{NID}/events", content=json.dumps(body), headers=headers
        )
    assert 400 <= answer.status_code < 500, answer.text
    error = answer.json()["error"]
    assert field in json.dumps(error), error
    assert len(_batch(up, keys["reader"])) == before


def test_the_mapping_is_documented() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "cloudevents.md").read_text()
    for attribute in ("occurredat", "recordedat", "sequence", "ViewChanged", "idempotency_key"):
        assert attribute in page
