"""HTTP tracing while tracing is on (services/wire/tracing.py): FastAPI's own server span per
request, and a ``record`` span around each recorded event; nothing otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace

from events import Envelope
from services.recorder.application import Written
from services.wire import tracing


def telemetry() -> TelemetryConfig:
    """FastAPI's own OpenTelemetry instrumentation (its server span per request, continuing a
    caller's ``traceparent``, and spans for dependencies and the endpoint): on the tracing
    provider while tracing is on, off otherwise."""
    provider = tracing.provider()
    if provider is None:
        return {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    return {"tracer_provider": provider, "metrics": False, "logs": False}


@contextmanager
def recording(draft: Envelope) -> Iterator[trace.Span | None]:
    """A ``record`` span around recording one event (None while tracing is off)."""
    if not tracing.enabled():
        yield None
        return
    attributes = {
        "talkstream.negotiation_id": draft.negotiation_id,
        "talkstream.type": draft.type,
        **{
            f"talkstream.{name}": str(getattr(draft, name))
            for name in ("correlation_id", "causation_id")
            if getattr(draft, name) is not None
        },
    }
    with tracing.tracer().start_as_current_span("record", attributes=attributes) as span:
        yield span


def recorded(span: trace.Span | None, written: Written) -> None:
    """Names the recorded event on the span (the composition's ``on_saved`` hook kept its
    context for the relay while the span was current)."""
    if span is None:
        return
    span.set_attribute("talkstream.event_id", written.event_id)
    span.set_attribute("talkstream.position", written.position)
    span.set_attribute("talkstream.duplicate", written.duplicate)
