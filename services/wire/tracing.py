"""Trace context beside the event stream: OpenTelemetry spans follow a write from the HTTP
request through the record, the relay and each projection that applies it. The W3C trace
context of a write is kept under ``<events stream>:trace:<position>`` (an hour), keyed by the
stream entry's ID, so the relay and the workers, in any process, continue the same trace.

Off unless the composition ``enable``s it (an OTLP endpoint is set, or a test's in-memory
exporter): every hook then returns at once, with no Redis call."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from redis import Redis

TRACER = "talkstream"
KEEP_SECONDS = 3600
_provider: trace.TracerProvider | None = None


def enable(provider: trace.TracerProvider | None) -> None:
    """Spans from now on go to ``provider``; None switches tracing off again."""
    global _provider  # noqa: PLW0603 (one switch for the process, set by the composition)
    _provider = provider


def provider() -> trace.TracerProvider | None:
    return _provider


def enabled() -> bool:
    return _provider is not None


def tracer() -> trace.Tracer:
    return (_provider or trace.get_tracer_provider()).get_tracer(TRACER)


def key(stream: str, position: int) -> str:
    return f"{stream}:trace:{position}"


def current_carrier() -> dict[str, str]:
    """The current span's W3C trace context (``traceparent``), empty when there is none."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def remember(redis: Redis, stream: str, positions: Iterable[int]) -> None:
    """Keeps the current span's context for the entries at ``positions``."""
    if _provider is None:
        return
    carrier = current_carrier().get("traceparent")
    if carrier is None:
        return
    with redis.pipeline(transaction=False) as pipe:
        for position in positions:
            pipe.set(key(stream, position), carrier, ex=KEEP_SECONDS)
        pipe.execute()


def contexts(redis: Redis, stream: str, positions: list[int]) -> dict[int, Context]:
    """The kept context of each of ``positions`` that has one."""
    if _provider is None or not positions:
        return {}
    with redis.pipeline(transaction=False) as pipe:  # one GET a key: keys span Cluster slots
        for position in positions:
            pipe.get(key(stream, position))
        found: Any = pipe.execute()
    return {
        p: propagate.extract({"traceparent": raw.decode() if isinstance(raw, bytes) else raw})
        for p, raw in zip(positions, found, strict=True)
        if raw is not None
    }


@contextmanager
def continued(
    name: str, parent: Context, attributes: Mapping[str, str | int]
) -> Iterator[trace.Span]:
    """A span continuing a write's trace."""
    with tracer().start_as_current_span(name, context=parent, attributes=dict(attributes)) as span:
        yield span
