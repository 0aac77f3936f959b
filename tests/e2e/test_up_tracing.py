"""Tracing end to end: ``talkstream up`` with ``TALKSTREAM_OTLP_ENDPOINT`` naming a local OTLP/HTTP
collector exports, for one write, the HTTP span, the record, the relay and the projections'
spans in the caller's trace; without the setting it exports nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from projections.views import PROJECTIONS
from tests.e2e.helpers import Runner, bearer_client, ok, serving
from tests.factories import opening_body
from tests.ports import free_port

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


@contextmanager
def collector() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An OTLP/HTTP trace collector on a free port: every span it receives, decoded."""
    spans: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        spans.append(
                            {
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent": span.parent_span_id.hex(),
                            }
                        )
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", spans
    finally:
        server.shutdown()


def test_up_exports_one_linked_trace_per_write_to_the_otlp_endpoint(tmp_path: Path) -> None:
    cli = Runner(tmp_path)
    with collector() as (endpoint, spans):
        env = cli.environment(
            {"TALKSTREAM_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        )
        with serving(tmp_path, env) as up:
            key = ok(cli("keys", "create", "--role", "publisher", "--name", "p")).stdout
            with bearer_client(up.url, key) as client:
                written = client.post(
                    "/v1/negotiations",
                    json={**opening_body(), "negotiation_id": "otlp-talks"},
                    headers={"traceparent": TRACEPARENT},
                )
            assert written.status_code == 201, written.text
            # one span per stored state that keeps the type (timeline and audit are negotiation's)
            keeping = {p.store for p in PROJECTIONS.values() if p.keeps("NegotiationOpened")}
            deadline = time.monotonic() + 30
            while sum(
                s["name"] == "projection.apply" and s["trace_id"] == TRACE_ID for s in spans
            ) < len(keeping):
                assert time.monotonic() < deadline, spans
                time.sleep(0.1)
    mine = [s for s in spans if s["trace_id"] == TRACE_ID]
    names = {s["name"] for s in mine}
    assert {"POST /v1/negotiations", "record", "relay.publish", "projection.apply"} <= names
    ids = {s["span_id"] for s in mine}
    http = next(s for s in mine if s["name"] == "POST /v1/negotiations")
    assert http["parent"] == "b7ad6b7169203331"  # the caller's span
    assert all(s["parent"] in ids for s in mine if s is not http), mine


def test_up_without_an_endpoint_exports_nothing(tmp_path: Path) -> None:
    cli = Runner(tmp_path)
    with collector() as (endpoint, spans), serving(tmp_path, cli.environment()) as up:
        key = ok(cli("keys", "create", "--role", "publisher", "--name", "p")).stdout
        with bearer_client(up.url, key) as client:
            written = client.post(
                "/v1/negotiations",
                json={**opening_body(), "negotiation_id": "quiet-talks"},
                headers={"traceparent": TRACEPARENT},
            )
        assert written.status_code == 201
        time.sleep(1)
    assert spans == []
    assert endpoint  # the collector was up all along
