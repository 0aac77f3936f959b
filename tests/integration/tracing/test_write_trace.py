"""One trace per write: with the SDK's in-memory exporter, a POST to the served API (uvicorn
with the relay and the projection workers, real Redis, SQLite file) yields the HTTP server
span, its ``record`` child, a ``relay.publish`` span and a ``projection.apply`` span per
stored state that keeps the event, all in the caller's trace and linked parent to child, with
the correlation and causation ids as attributes; with tracing off, no span and no kept
context."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from projections.views import PROJECTIONS
from services.wire import tracing
from tests.factories import NOTE, SOURCE, opening_body
from tests.integration.api.conftest import Served, served_api

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER}-01"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(provider)
    try:
        yield exporter
    finally:
        tracing.enable(None)
        provider.shutdown()


@pytest.fixture
def served(tmp_path: Path, redis_url: str) -> Iterator[Served]:
    with served_api(tmp_path / "home", redis_url) as served:
        yield served


def _spans_of(exporter: InMemorySpanExporter, position: int, wanted: int) -> list[ReadableSpan]:
    deadline = time.monotonic() + 20
    while True:
        spans = [
            s
            for s in exporter.get_finished_spans()
            if format(s.context.trace_id, "032x") == TRACE_ID
        ]
        applied = [
            s
            for s in spans
            if s.name == "projection.apply" and s.attributes.get("talkstream.position") == position
        ]
        if len(applied) >= wanted:
            return spans
        assert time.monotonic() < deadline, [s.name for s in spans]
        time.sleep(0.05)


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[int]:
    """The span ids above ``span`` in its trace, nearest first."""
    found = []
    while span.parent is not None and span.parent.span_id in by_id:
        found.append(span.parent.span_id)
        span = by_id[span.parent.span_id]
    return found


def test_a_write_is_one_trace_from_http_through_record_relay_and_projections(
    exporter: InMemorySpanExporter, served: Served
) -> None:
    nid = "traced-talks"
    with served.client("publisher") as client:
        assert (
            client.post(
                "/v1/negotiations", json={**opening_body(), "negotiation_id": nid}
            ).status_code
            == 201
        )
        event = {
            "type": "ContextNoted",
            "occurred_at": "2024-10",
            "sources": [SOURCE],
            "verification": "reported",
            "correlation_id": "corr-1",
            "causation_id": "cause-1",
            "payload": NOTE,
        }
        written = client.post(
            f"/v1/negotiations/{nid}/events", json=event, headers={"traceparent": TRACEPARENT}
        )
    assert written.status_code == 201, written.text
    position = written.json()["position"]
    # one span per stored state that keeps the type (timeline and audit are negotiation's)
    keeping = {p.store for p in PROJECTIONS.values() if p.keeps("ContextNoted")}
    spans = _spans_of(exporter, position, len(keeping))
    by_id = {s.context.span_id: s for s in spans}
    http = [s for s in spans if s.name == "POST /v1/negotiations/{negotiation_id}/events"]
    record = [s for s in spans if s.name == "record"]
    relay = [s for s in spans if s.name == "relay.publish"]
    applied = [s for s in spans if s.name == "projection.apply"]
    assert len(http) == 1 and len(record) == 1 and len(relay) == 1
    assert http[0].parent is not None and format(http[0].parent.span_id, "016x") == CALLER
    assert http[0].context.span_id in _ancestors(record[0], by_id)  # via FastAPI's own spans
    assert relay[0].parent is not None and relay[0].parent.span_id == record[0].context.span_id
    assert {s.attributes["talkstream.projection"] for s in applied} == keeping
    assert "negotiation" in keeping
    for span in applied:
        assert record[0].context.span_id in _ancestors(span, by_id)  # linked to the write
        assert span.attributes["talkstream.correlation_id"] == "corr-1"
        assert span.attributes["talkstream.causation_id"] == "cause-1"
    assert record[0].attributes["talkstream.correlation_id"] == "corr-1"
    assert record[0].attributes["talkstream.event_id"] == written.json()["event_id"]
    assert http[0].attributes["http.response.status_code"] == 201
    # the opening write was another trace: nothing of it is in this one
    assert all(
        s.attributes.get("talkstream.position", position) == position
        for s in spans
        if s.name != http[0].name
    )


def test_with_tracing_off_no_span_is_made_and_no_context_kept(served: Served) -> None:
    nid = "untraced-talks"
    with served.client("publisher") as client:
        answer = client.post(
            "/v1/negotiations",
            json={**opening_body(), "negotiation_id": nid},
            headers={"traceparent": TRACEPARENT},
        )
    assert answer.status_code == 201
    assert (
        served.ctx.redis.get(tracing.key(served.ctx.streams.events, answer.json()["position"]))
        is None
    )
