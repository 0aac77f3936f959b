"""Every benchmark as `talkstream bench all` runs it: a name, small default sizes (scaled by
one factor) and the figures it yields, each against the raw baseline and the target that
docs/benchmarks.md gives it. The sizes keep the whole run to a few minutes on 2 cores; the
single `talkstream bench NAME` commands keep their larger defaults."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.bench.figures import Figure, against, alone

Progress = Callable[[str], object]


@dataclass(frozen=True)
class Options:
    """``scale`` multiplies every default size; ``store`` is the event store of the benches
    that take one (record, relay, http): ``sqlite`` or ``postgres``."""

    scale: float = 1.0
    store: str = "sqlite"


Run = Callable[[Options, Progress], list[Figure]]


@dataclass(frozen=True)
class Bench:
    name: str
    run: Run


def sized(default: float, minimum: float, scale: float) -> int:
    """``default`` scaled, never below the bench's ``minimum``."""
    return max(int(minimum), round(default * scale))


def _record(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.record import bench_record

    events = sized(500, 20, o.scale)
    progress(f"recording {events} events 4 ways on a fresh {o.store} store…")
    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        r = bench_record(events, 10, Path(tmp), o.store)
    raw = "raw eventsourcing saves"
    return [
        against("one event per save", r["app_single"], "events/s", raw, r["raw_single"]),
        against("batches of 10", r["app_batch"], "events/s", raw, r["raw_batch"]),
    ]


def _record_log(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.ledger import bench_record_with_log

    events = sized(400, 40, o.scale)
    progress(f"recording {events} events in batches of 20, without and with the log writer…")
    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        r = bench_record_with_log(events, 20, Path(tmp))
    return [
        against("batches with the log writer", r["with"], "events/s", "without", r["without"]),
        alone("log caught up after the last save", r["catch_up_seconds"], "s"),
    ]


def _verify(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.audit import bench_audit

    events = sized(2000, 200, o.scale)
    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        r = bench_audit(Path(tmp), events, progress=progress)
    raw = "raw read + hashlib.sha256 of the rows"
    return [
        against("audit verify", r["verify"], "events/s", raw, r["raw_read_and_hash"]),
        alone("offline verify of the export", r["events"] / r["offline_seconds"], "events/s"),
    ]


def _proofs(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.ledger import bench_proofs

    leaves, samples = sized(5000, 100, o.scale), sized(200, 10, o.scale)
    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        r = bench_proofs(Path(tmp), leaves, samples, progress=progress)
    one = r["one_read"]["p50"]
    return [
        against(f"{kind} proof p50, {leaves} leaves", r[kind]["p50"], "ms", "one hash read", one)
        for kind in ("inclusion", "consistency")
    ]


def _relay(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.stream import bench_relay

    r = bench_relay(sized(2000, 100, o.scale), progress=progress, store=o.store)
    return [
        against("relay", r["relay"], "events/s", "pipelined XADD", r["raw"], target="≥ 0.8"),
    ]


def _intake(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.stream import bench_intake

    r = bench_intake(sized(1000, 100, o.scale), 2, progress=progress)
    return [
        against("intake, 2 publishers", r["intake"], "events/s", "in process", r["direct"]),
    ]


def _project(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.projections import bench_project

    r = bench_project(sized(2000, 100, o.scale), progress=progress)
    views = "all five views"
    return [
        against(views, r["projections"], "events/s", "XREADGROUP + XACK", r["raw"], target="≥ 0.5"),
        against(views, r["projections"], "events/s", "FastStream", r["faststream"], target="≥ 5"),
        against(views, r["projections"], "events/s", "a raw group per state", r["raw_per_view"]),
        against("decode + fold alone", r["fold_alone"], "events/s", "XREADGROUP + XACK", r["raw"]),
        alone("Redis CPU while the views applied", r["redis_cpu_us"], "µs/event"),
    ]


def _rebuild(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.projections import bench_rebuild

    r = bench_rebuild(sized(10_000, 100, o.scale), progress=progress)
    stream = r["stream_bytes_per_event"]
    return [
        against("rebuild", r["rebuild"], "events/s", "XRANGE scan", r["raw"], target="≥ 0.3"),
        against("decode + fold alone", r["fold_alone"], "events/s", "XRANGE scan", r["raw"]),
        alone("rebuild RSS growth", r["rss_growth_mb"], "MiB"),
        against(
            "Redis stream + views", stream + r["views_bytes_per_event"], "B/event",
            "the stream entry", stream, target="≤ 2",
        ),
    ]  # fmt: skip


def _latency(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.projections import bench_latency

    r = bench_latency(200, max(1.0, 3 * o.scale), progress=progress)
    return [
        alone(f"save → view p99 at {r['rate']:.0f}/s", r["p99_ms"], "ms", target="< 50 ms"),
        alone("save → view p50", r["p50_ms"], "ms"),
    ]


def _asof(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.asof import bench_asof

    r = bench_asof(sized(1000, 100, o.scale), progress=progress)
    raw = "load + fold everything"
    return [
        against("as-of, new question", r["new"], "ms", raw, r["raw"]),
        against("as-of, repeated question", r["repeated"], "ms", raw, r["raw"]),
    ]


def _http(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.http import bench_http

    r = bench_http(
        events=sized(200, 16, o.scale),
        batches=sized(5, 1, o.scale),
        reads=sized(200, 100, o.scale),
        clients=8,
        progress=progress,
        store=o.store,
    )
    return [
        against(
            "single-event POSTs, 8 clients", r["http_single"], "events/s",
            "in process", r["direct_single"], target="≥ 1.0",
        ),
        against(
            "batch POSTs of 100", r["http_batch_events"], "events/s",
            "in process", r["direct_batch"], target="≥ 0.7",
        ),
        against("GET a negotiation p50", r["get_p50_ms"], "ms", "bare route", r["bare_get_p50_ms"]),
        against(
            "GET a negotiation p99", r["get_p99_ms"], "ms",
            "bare route", r["bare_get_p99_ms"], target="≤ 2",
        ),
        against(
            "GET p99 with the first reads", r["get_with_first_p99_ms"], "ms",
            "bare route", r["bare_get_p99_ms"],
        ),
        alone("GET a negotiation's first read, max", r["get_first_max_ms"], "ms"),
    ]  # fmt: skip


def _sse(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.sse import bench_sse

    subscribers = sized(100, 10, o.scale)
    r = bench_sse(subscribers=subscribers, events=sized(20, 4, o.scale), progress=progress)
    figure = f"201 → change at all {subscribers} subscribers p99"
    return [
        against(figure, r["all_p99_ms"], "ms", "one raw XREAD", r["raw_p99_ms"]),
        against(figure, r["all_p99_ms"], "ms", "a lone subscriber", r["lone_p99_ms"]),
    ]


def _page(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.page import bench_page

    r = bench_page(loads=sized(20, 10, o.scale), progress=progress)
    api = "the API's GET"
    return [
        against("page first byte p50", r["page_ttfb_p50_ms"], "ms", api, r["api_ttfb_p50_ms"]),
        against("page whole answer p50", r["page_full_p50_ms"], "ms", api, r["api_full_p50_ms"]),
        against("rendered in Chromium p50", r["render_p50_ms"], "ms", api, r["api_full_p50_ms"]),
        alone("page weight", r["weight_kb"], "KB"),
    ]


def _growth(o: Options, progress: Progress) -> list[Figure]:
    from services.bench.growth import bench_growth

    negotiations = sized(100, 10, o.scale)
    small, large = sized(1000, 5 * negotiations, o.scale), sized(4000, 20 * negotiations, o.scale)

    def say(line: str) -> None:
        progress(line)

    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        sizes = bench_growth([small, large], Path(tmp), say, negotiations=negotiations)
    low, high = sizes
    baseline = f"at {small:,} events"

    def per_event(name: str, cost: Callable[[int], float]) -> Figure:
        return against(
            f"{name} at {large:,} events", cost(1), "µs/event", baseline, cost(0), target="≤ 1.5"
        )

    def step_seconds(i: int, step: str) -> float:
        taken = getattr(sizes[i], step)
        return float(taken.seconds) if taken is not None else 0.0

    return [
        per_event("import", lambda i: step_seconds(i, "imported") / sizes[i].events * 1e6),
        per_event("catch-up", lambda i: sizes[i].catch_up_s / sizes[i].events * 1e6),
        per_event("verify", lambda i: step_seconds(i, "verified") / sizes[i].events * 1e6),
        against(
            f"Redis at {large:,} events", sum(high.redis_bytes.values()), "B/event",
            baseline, sum(low.redis_bytes.values()), target="≤ 1.5",
        ),
    ]  # fmt: skip


BENCHES: tuple[Bench, ...] = (
    Bench("record", _record),
    Bench("record-log", _record_log),
    Bench("verify", _verify),
    Bench("proofs", _proofs),
    Bench("relay", _relay),
    Bench("intake", _intake),
    Bench("project", _project),
    Bench("rebuild", _rebuild),
    Bench("latency", _latency),
    Bench("asof", _asof),
    Bench("http", _http),
    Bench("sse", _sse),
    Bench("page", _page),
    Bench("growth", _growth),
)
NAMES = tuple(b.name for b in BENCHES)


def bench_named(name: str) -> Bench:
    return next(b for b in BENCHES if b.name == name)
