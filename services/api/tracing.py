"""HTTP spans: a server span per request (continuing a ``traceparent`` the caller sent) while
tracing is on (services/wire/tracing.py); nothing otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import propagate, trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events import Envelope
from services.recorder.application import Written
from services.wire import tracing


class TraceRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not tracing.enabled():
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        name = f"{scope['method']} {scope['path']}"
        with tracing.tracer().start_as_current_span(
            name, context=propagate.extract(headers), kind=trace.SpanKind.SERVER
        ) as span:

            async def send_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                await send(message)

            span.set_attribute("http.request.method", scope["method"])
            span.set_attribute("url.path", scope["path"])
            await self.app(scope, receive, send_status)
            route = getattr(scope.get("route"), "path", None)
            if route is not None:
                span.update_name(f"{scope['method']} {route}")
                span.set_attribute("http.route", route)


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
