"""Prometheus metrics: request counts and latencies measured here, and the system's levels
(events recorded, relay lag, projection lag per view, dead letters) read at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from projections.pointintime import CacheStats
from services.wire.divergence import Divergence


@dataclass
class Levels:
    """What the system holds right now (read from the store and Redis)."""

    store_position: int
    stream_position: int
    tracked: dict[str, int]  # projection -> applied position
    intake_dead_letters: int
    parked: dict[str, int]  # projection -> parked negotiations
    divergence: Divergence | None = None  # recorded by a relay: the stream left the store
    lease_held: bool | None = None  # whether this process's relay publishes; None: no relay


class _LevelsCollector(Collector):
    def __init__(self, read: Callable[[], Levels | None]) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        levels = self.read()
        yield GaugeMetricFamily(
            "talkstream_levels_readable",
            "1 when the store and Redis could be read for the gauges below.",
            value=0 if levels is None else 1,
        )
        if levels is None:
            return
        yield GaugeMetricFamily(
            "talkstream_events_recorded", "Events in the store.", value=levels.store_position
        )
        yield GaugeMetricFamily(
            "talkstream_relay_lag_events",
            "Stored events not yet on the event stream.",
            value=max(0, levels.store_position - levels.stream_position),
        )
        yield GaugeMetricFamily(
            "talkstream_stream_diverged_position",
            "The first position where the event stream and the store differ (0: they agree).",
            value=levels.divergence.position if levels.divergence else 0,
        )
        if levels.lease_held is not None:
            yield GaugeMetricFamily(
                "talkstream_relay_lease_held",
                "1 when this process's relay holds the relay lease (publishes), 0 on standby.",
                value=1 if levels.lease_held else 0,
            )
        lag = GaugeMetricFamily(
            "talkstream_projection_lag_events",
            "Stream entries a projection has not applied yet.",
            labels=["projection"],
        )
        for name, tracked in levels.tracked.items():
            lag.add_metric([name], max(0, levels.stream_position - tracked))
        yield lag
        dead = GaugeMetricFamily(
            "talkstream_dead_letters",
            "Refused intake entries, and negotiations parked per projection.",
            labels=["where"],
        )
        dead.add_metric(["intake"], levels.intake_dead_letters)
        for name, count in levels.parked.items():
            dead.add_metric([f"projection:{name}"], count)
        yield dead


class _AsOfCacheCollector(Collector):
    def __init__(self, read: Callable[[], CacheStats]) -> None:
        self.read = read

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        stats = self.read()
        yield CounterMetricFamily(
            "talkstream_asof_cache_hits",
            "Point-in-time questions answered from the cache's folds.",
            value=stats.hits,
        )
        yield CounterMetricFamily(
            "talkstream_asof_cache_misses",
            "Point-in-time questions folded anew.",
            value=stats.misses,
        )
        yield CounterMetricFamily(
            "talkstream_asof_cache_evictions",
            "Cached events or folds dropped to keep the cache within its bytes.",
            value=stats.evictions,
        )
        yield GaugeMetricFamily(
            "talkstream_asof_cache_bytes", "Bytes the point-in-time cache holds.", value=stats.bytes
        )
        yield GaugeMetricFamily(
            "talkstream_asof_cache_limit_bytes",
            "The point-in-time cache's bound (TALKSTREAM_ASOF_CACHE_MB).",
            value=stats.limit_bytes,
        )


class Metrics:
    def __init__(self, read_levels: Callable[[], Levels | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "talkstream_http_requests",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "talkstream_http_request_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            registry=self.registry,
        )
        self.written = Counter(
            "talkstream_http_events_written",
            "Events recorded through the HTTP API (duplicates excluded).",
            registry=self.registry,
        )
        self.registry.register(_LevelsCollector(read_levels))

    def count_subscribers(self, count: Callable[[], int]) -> None:
        """Exposes the open SSE subscriptions, counted at scrape time."""
        gauge = Gauge(
            "talkstream_sse_subscribers", "Open /v1/subscribe streams.", registry=self.registry
        )
        gauge.set_function(count)

    def count_asof_cache(self, stats: Callable[[], CacheStats]) -> None:
        """Exposes the point-in-time cache's hits, misses, evictions and bytes at scrape time."""
        self.registry.register(_AsOfCacheCollector(stats))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
