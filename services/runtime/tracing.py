"""Tracing set-up from settings: with ``TALKSTREAM_OTLP_ENDPOINT`` set, an SDK tracer
provider exporting spans over OTLP/HTTP (the ``otlp`` extra) and the hooks switched on;
nothing otherwise (no provider, no hook does any work)."""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from services.runtime.exceptions import RuntimeProblem
from services.settings import Settings
from services.wire import tracing

log = logging.getLogger("talkstream.tracing")


def configure(settings: Settings, service: str) -> TracerProvider | None:
    """The provider exporting to the settings' OTLP endpoint, installed globally; None when
    no endpoint is set."""
    if not settings.otlp_endpoint:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise RuntimeProblem(
            "otlp_missing",
            "TALKSTREAM_OTLP_ENDPOINT is set but the OTLP exporter is not installed: "
            "pip install 'talkstream[otlp]'",
        ) from None
    endpoint = settings.otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    tracing.enable(provider)
    log.info("tracing to %s", endpoint)
    return provider


def shutdown(provider: TracerProvider | None) -> None:
    """Flushes the spans still queued."""
    if provider is not None:
        provider.shutdown()
