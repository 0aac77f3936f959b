"""``talkstream bench``: each benchmark prints its rate and the ratio to a raw baseline run in
the same process (never a timing assertion). The benchmarks themselves (services/bench) are
imported only when one runs, so no other command loads them."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.cli import render
from services.cli.commands import clean_errors


class Store(StrEnum):
    sqlite = "sqlite"
    postgres = "postgres"


StoreOption = Annotated[
    Store,
    typer.Option(
        help="The event store: a fresh SQLite file, or a fresh schema in the PostgreSQL "
        "database TALKSTREAM_POSTGRES_* name (dropped afterwards)."
    ),
]


def register(bench_app: typer.Typer) -> None:
    bench_app.command("record")(record)
    bench_app.command("verify")(verify)
    bench_app.command("relay")(relay)
    bench_app.command("intake")(intake)
    bench_app.command("project")(project)
    bench_app.command("rebuild")(rebuild)
    bench_app.command("latency")(latency)
    bench_app.command("asof")(asof)
    bench_app.command("http")(http)
    bench_app.command("sse")(sse)
    bench_app.command("page")(page)
    bench_app.command("growth")(growth)
    from services.cli.suite import all_cmd, scale_cmd

    bench_app.command("all")(all_cmd)
    bench_app.command("scale")(scale_cmd)


def record(
    events: Annotated[int, typer.Option(min=10, help="Events per measurement.")] = 2000,
    batch: Annotated[int, typer.Option(min=1, help="Events per save in batch mode.")] = 10,
    store: StoreOption = Store.sqlite,
    with_log: Annotated[
        bool,
        typer.Option(
            "--with-log",
            help="Instead: events/s recorded in batches with the log writer running beside "
            "(checkpoints every TALKSTREAM_CHECKPOINT_EVERY) vs without it.",
        ),
    ] = False,
) -> None:
    """Events/s recorded through the application vs raw eventsourcing saves on the same
    store."""
    if with_log:
        _record_with_log(events, batch)
        return
    from services.bench.record import bench_record

    console = render.console()
    console.print(f"recording {events} events 4 ways on a fresh {store.value} store…")
    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        r = bench_record(events, batch, Path(tmp), store.value)
    console.print(
        f"one event per save: app {r['app_single']:.0f}/s, raw "
        f"{r['raw_single']:.0f}/s, ratio {r['app_single'] / r['raw_single']:.2f}"
    )
    console.print(
        f"batches of {batch}:   app {r['app_batch']:.0f}/s, raw "
        f"{r['raw_batch']:.0f}/s, ratio {r['app_batch'] / r['raw_batch']:.2f}"
    )


def _record_with_log(events: int, batch: int) -> None:
    from services.bench.ledger import bench_record_with_log

    console = render.console()
    console.print(f"recording {events} events in batches of {batch}, without and with the log…")
    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        r = bench_record_with_log(events, batch, Path(tmp))
    console.print(
        _against_raw("with the log writer", r["with"], "events/s", "without", r["without"])
    )
    console.print(
        f"the writer signed {r['checkpoints']:.0f} checkpoints and logged the rest "
        f"{r['catch_up_seconds']:.2f} s after the last save"
    )


@clean_errors
def verify(
    events: Annotated[
        int, typer.Option(min=2, help="Tree size (leaves) for the proof timings.")
    ] = 1_000_000,
    samples: Annotated[int, typer.Option(min=10, help="Proofs of each kind timed.")] = 1000,
    proofs_only: Annotated[
        bool, typer.Option("--proofs-only", help="Only the proofs (no store of EVENTS events).")
    ] = False,
) -> None:
    """The verifiable log's figures on EVENTS events: verification events/s against reading
    and hashing the same stored rows with hashlib.sha256; export and offline-verify time;
    inclusion and consistency proof time p50/p99 (each made from the store and verified)
    against one stored-hash read."""
    from services.bench.ledger import bench_proofs

    console = render.console()
    if not proofs_only:
        _verification(events, console)
    console.print(f"proofs: filling a tree of {events} leaves in a fresh SQLite store…")
    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        r = bench_proofs(Path(tmp), events, samples, progress=console.print)
    one = r["one_read"]["p50"]
    for kind in ("inclusion", "consistency"):
        p = r[kind]
        console.print(
            f"{kind} proof over {events} leaves: p50 {p['p50']:.2f} ms, p99 {p['p99']:.2f} ms "
            f"(one stored-hash read p50 {one:.3f} ms, ratio {p['p50'] / one:.1f})"
        )


def _verification(events: int, console: Console) -> None:
    from services.bench.audit import bench_audit

    console.print(f"verification: recording {events} events in a fresh SQLite store…")
    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        r = bench_audit(Path(tmp), events, progress=console.print)
    console.print(
        f"verify {r['events']:.0f} events (hashes, chains, tree vs checkpoints): "
        f"{r['verify']:.0f} events/s; raw read + hashlib.sha256 of the same rows "
        f"{r['raw_read_and_hash']:.0f}/s, ratio {r['verify'] / r['raw_read_and_hash']:.2f} "
        f"(hashlib.sha256 alone {r['raw_hash_only']:.0f}/s, ratio "
        f"{r['verify'] / r['raw_hash_only']:.3f})"
    )
    console.print(
        f"export: {r['export_seconds']:.1f} s ({r['bundle_bytes'] / 1e6:.1f} MB); offline "
        f"verify of the bundle: {r['offline_seconds']:.1f} s "
        f"({r['events'] / r['offline_seconds']:.0f} events/s)"
    )


def relay(
    events: Annotated[int, typer.Option(min=100, help="Events to publish.")] = 20_000,
    store: StoreOption = Store.sqlite,
) -> None:
    """Relay events/s (store -> stream) vs raw pipelined XADD of the same entries."""
    from services.bench.stream import bench_relay

    console = render.console()
    console.print(f"storing {events} events in a fresh {store.value} store, then relaying them…")
    r = bench_relay(events, progress=console.print, store=store.value)
    console.print(_against_raw("relay", r["relay"], "events/s", "raw pipelined XADD", r["raw"]))


def intake(
    events: Annotated[int, typer.Option(min=100, help="Events in all.")] = 4000,
    publishers: Annotated[int, typer.Option(min=1, help="Publishing processes.")] = 4,
) -> None:
    """Events/s recorded through the intake stream from several publishing processes vs the
    application recording the same events in process."""
    from services.bench.stream import bench_intake

    console = render.console()
    console.print(f"{publishers} processes publishing {events} events through the intake…")
    r = bench_intake(events, publishers, progress=console.print)
    console.print(
        _against_raw("intake", r["intake"], "events/s recorded", "in-process record", r["direct"])
    )


def project(
    events: Annotated[int, typer.Option(min=100, help="Events on the stream.")] = 20_000,
) -> None:
    """Events/s through all five projections (their appliers following the stream together,
    as one process's workers do) vs a raw XREADGROUP + XACK consumer and FastStream's
    single-message subscriber."""
    from services.bench.projections import bench_project

    console = render.console()
    r = bench_project(events, progress=console.print)
    console.print(
        f"projections, all five views ({r['stored']:.0f} stored states, one shared reader): "
        f"{r['projections']:.0f} events/s"
    )
    console.print(
        f"raw XREADGROUP COUNT 500 + XACK: {r['raw']:.0f}/s, "
        f"ratio {r['projections'] / r['raw']:.2f} (target >= 0.5)"
    )
    console.print(
        f"raw, one group per stored state, one after another: {r['raw_per_view']:.0f}/s, "
        f"ratio {r['projections'] / r['raw_per_view']:.2f} (the same reading as the views)"
    )
    console.print(
        f"FastStream single-message subscriber: {r['faststream']:.0f}/s, "
        f"ratio {r['projections'] / r['faststream']:.2f} (target >= 5)"
    )
    console.print(
        f"decode + fold alone (in memory, no Redis): {r['fold_alone']:.0f}/s, ratio "
        f"{r['fold_alone'] / r['raw']:.2f} to the raw group (this design's ceiling in one "
        f"process); the views ran at {r['projections'] / r['fold_alone']:.2f} of it"
    )
    console.print(
        f"Redis server CPU while the views applied: {r['redis_cpu_us']:.1f} µs/event "
        f"(the raw group's whole budget at the target ratio: {2e6 / r['raw']:.1f} µs/event)"
    )


def rebuild(
    events: Annotated[
        int,
        typer.Option(min=100, help="Entries to generate; the issue's size is 1000000."),
    ] = 200_000,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="Processes that fold (default: as `talkstream replay`)."
        ),
    ] = None,
) -> None:
    """Events/s rebuilding the negotiation projection vs a raw XRANGE scan of the same
    stream (``--events 1000000`` is the issue's size)."""
    from services.bench.projections import bench_rebuild

    console = render.console()
    r = bench_rebuild(events, progress=console.print, workers=workers)
    console.print(_against_raw("rebuild", r["rebuild"], "events/s", "raw XRANGE scan", r["raw"]))
    console.print(
        f"decode + fold alone (one process, in memory, no Redis): {r['fold_alone']:.0f}/s, "
        f"ratio {r['fold_alone'] / r['raw']:.2f} to the raw scan"
    )
    console.print(
        f"rebuild: {r['workers']:.0f} worker(s), {r['passes']:.0f} pass(es) each; memory: this "
        f"process peaked at {r['peak_rss_mb']:.0f} MiB (+{r['rss_growth_mb']:.0f} MiB during "
        f"the rebuild), its workers at {r['workers_peak_rss_mb']:.0f} MiB"
    )
    stream, views = r["stream_bytes_per_event"], r["views_bytes_per_event"]
    console.print(
        f"Redis per event: stream {stream:.0f} B, views {views:.0f} B, stream + views "
        f"{(stream + views) / stream:.2f}x the stream alone (target <= 2)"
    )


def latency(
    rate: Annotated[float, typer.Option(min=1, help="Events recorded per second.")] = 500,
    seconds: Annotated[float, typer.Option(min=0.1, help="How long to record.")] = 10,
    writers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Threads saving in turn, as concurrent clients (one save each: a lone writer "
            "cannot keep up with 1,000/s where a commit's fsync takes longer than 1 ms).",
        ),
    ] = 1,
) -> None:
    """Milliseconds from a save's return until the negotiation view has applied it, with the
    relay and the projection worker running in this process."""
    from services.bench.projections import bench_latency

    console = render.console()
    r = bench_latency(rate, seconds, progress=console.print, writers=writers)
    console.print(f"save -> view: {_percentiles(r)} (target < 50 ms), max {r['max_ms']:.1f} ms")
    console.print(f"achieved {r['rate']:.0f} events/s of {rate:g} asked ({writers} writers)")


def asof(
    events: Annotated[int, typer.Option(min=100, help="Events in one negotiation.")] = 10_000,
) -> None:
    """Point-in-time answers on one large negotiation: cold, new question, repeated question,
    against loading and folding everything for each question (the raw baseline)."""
    from services.bench.asof import bench_asof

    console = render.console()
    r = bench_asof(events, progress=console.print)
    console.print(
        f"raw load+fold {r['raw']:.1f} ms; cached service: first {r['first']:.1f} ms, "
        f"new question {r['new']:.1f} ms, repeated {r['repeated']:.2f} ms "
        f"(new/raw {r['new'] / r['raw']:.2f})"
    )


@clean_errors
def http(  # noqa: PLR0917 (typer passes each command-line option as a parameter)
    events: Annotated[int, typer.Option(min=16, help="Single-event POSTs.")] = 2000,
    batches: Annotated[int, typer.Option(min=1, help="Batch POSTs of 100 events.")] = 40,
    reads: Annotated[int, typer.Option(min=100, help="GETs of a negotiation.")] = 2000,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent HTTP clients.")] = 16,
    split: Annotated[
        bool,
        typer.Option(help="Serve with `api`, `relay` and `project` processes, not one `up`."),
    ] = False,
    store: StoreOption = Store.sqlite,
) -> None:
    """HTTP writes/s (single and batches of 100) against the in-process record rate in the
    same run, and GET /v1/negotiations/{id} latency, on a real `talkstream up`."""
    from services.bench.http import bench_http

    console = render.console()
    r = bench_http(
        events=events,
        batches=batches,
        reads=reads,
        clients=clients,
        progress=console.print,
        split=split,
        store=store.value,
    )
    console.print(
        f"single-event POSTs ({clients} clients): {r['http_single']:.0f} events/s; in process "
        f"{r['direct_single']:.0f}/s; ratio {r['http_single'] / r['direct_single']:.2f}"
    )
    console.print(
        f"batch POSTs of 100: {r['http_batches']:.1f} batches/s = {r['http_batch_events']:.0f} "
        f"events/s; in process {r['direct_batch']:.0f}/s; ratio "
        f"{r['http_batch_events'] / r['direct_batch']:.2f}"
    )
    console.print(
        f"GET /v1/negotiations/{{id}} ({clients} clients, after one read of each): "
        f"{_percentiles(r, 'get_')}; the first reads (each rendering its view) up to "
        f"{r['get_first_max_ms']:.1f} ms, p99 with them {r['get_with_first_p99_ms']:.1f} ms"
    )
    console.print(
        f"bare Starlette route, same bytes ({clients} clients): {_percentiles(r, 'bare_get_')}; "
        f"ratio p50 {r['get_p50_ms'] / r['bare_get_p50_ms']:.2f}, "
        f"p99 {r['get_p99_ms'] / r['bare_get_p99_ms']:.2f} (target p99 <= 2), "
        f"p99 with the first reads {r['get_with_first_p99_ms'] / r['bare_get_p99_ms']:.2f}"
    )


@clean_errors
def sse(
    subscribers: Annotated[int, typer.Option(min=1, help="Concurrent SSE subscribers.")] = 2000,
    events: Annotated[int, typer.Option(min=2, help="Writes, one after another.")] = 200,
) -> None:
    """Milliseconds from a write's 201 until its change has reached every one of many
    /v1/subscribe streams on a real `talkstream up`, against a plain Redis XREAD reader of
    the changes stream and a lone subscriber in the same run."""
    from services.bench.sse import bench_sse

    console = render.console()
    r = bench_sse(subscribers=subscribers, events=events, progress=console.print)
    console.print(f"201 -> change at all {subscribers} subscribers: {_percentiles(r, 'all_')}")
    for baseline, label in (
        ("raw", "read by one raw XREAD (same writes)"),
        ("lone", "at a lone subscriber"),
    ):
        console.print(
            f"201 -> change {label}: {_percentiles(r, f'{baseline}_')}; "
            f"ratio {_percentile_ratios(r, 'all_', f'{baseline}_')}"
        )


@clean_errors
def page(
    loads: Annotated[int, typer.Option(min=10, help="Loads of the page and of the API GET.")] = 200,
) -> None:
    """Time to first byte and to the whole answer of the scenario's page (/n/us-iraq-jscd)
    against GET /v1/negotiations/us-iraq-jscd in the same run, its complete render in
    headless Chromium, and its weight, on a real `talkstream up`."""
    from services.bench.page import bench_page

    console = render.console()
    r = bench_page(loads=loads, progress=console.print)
    api, page = "GET /v1/negotiations/us-iraq-jscd", "GET /n/us-iraq-jscd (the page)"
    console.print(
        f"{api} ({loads} loads): first byte {_percentiles(r, 'api_ttfb_')}; "
        f"whole answer {_percentiles(r, 'api_full_')}"
    )
    console.print(
        f"{page} ({loads} loads): first byte {_percentiles(r, 'page_ttfb_')} "
        f"(ratio {_percentile_ratios(r, 'page_ttfb_', 'api_ttfb_')}); whole answer "
        f"{_percentiles(r, 'page_full_')} "
        f"(ratio {_percentile_ratios(r, 'page_full_', 'api_full_')})"
    )
    console.print(
        f"rendered in headless Chromium ({loads} loads): first byte "
        f"{_percentiles(r, 'render_ttfb_')}; complete (load event) {_percentiles(r, 'render_')} "
        f"(ratio to the API's whole answer {_percentile_ratios(r, 'render_', 'api_full_')})"
    )
    console.print(
        f"page weight: {r['weight_kb']:.1f} KB (HTML {r['html_kb']:.1f} KB, "
        f"{r['assets']:.0f} assets {r['assets_kb']:.1f} KB), nothing loaded from elsewhere"
    )


def _percentiles(r: Mapping[str, float], prefix: str = "") -> str:
    """``p50 1.2 ms, p99 3.4 ms`` from the result's ``<prefix>p50_ms`` and ``<prefix>p99_ms``."""
    return f"p50 {r[f'{prefix}p50_ms']:.1f} ms, p99 {r[f'{prefix}p99_ms']:.1f} ms"


def _percentile_ratios(r: Mapping[str, float], prefix: str, baseline: str) -> str:
    """``p50 1.10, p99 1.30``: each percentile against the baseline's."""
    return ", ".join(
        f"{p} {_ratio(r[f'{prefix}{p}_ms'], r[f'{baseline}{p}_ms'])}" for p in ("p50", "p99")
    )


def _ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}" if baseline > 0 else "n/a (baseline <= 0)"


def growth(
    sizes: Annotated[
        str, typer.Option(help="Record sizes in events, comma-separated (each >= 4,000).")
    ] = "10000,100000",
) -> None:
    """Per record size: import time and peak RSS, cold catch-up, Redis bytes per event by key
    family, live and as-of GET p50/p99, `up` RSS after one as-of question per negotiation,
    rebuild time and peak RSS, verify time; then the ratio of each per-event cost from the
    smallest size to the largest (the bound: 1.5)."""
    from services.bench.growth import Size, bench_growth, rows

    try:
        counts = [int(part.replace("_", "")) for part in sizes.split(",")]
    except ValueError:
        raise typer.BadParameter("sizes must be whole numbers, e.g. 10000,100000") from None
    if not counts or min(counts) < 4000:
        raise typer.BadParameter("each size must be at least 4000 events (1,000 negotiations)")
    console = render.console()

    def table(measured: list[Size]) -> None:
        rows_ = rows(measured)
        width = max(len(name) for name, _ in rows_)
        for name, cells in rows_:
            line = f"{name:<{width}}  " + "  ".join(f"{c:>13}" for c in cells)
            console.print(line, markup=False, soft_wrap=True)
        first, last = measured[0], measured[-1]
        for name, cells in rows_:
            if len(measured) > 1 and (name.endswith("/event") or name == "Redis B/event, all"):
                low, high = float(cells[0]), float(cells[-1])
                if low > 0:
                    console.print(
                        f"{name}: {last.events:,} vs {first.events:,} events, "
                        f"ratio {high / low:.2f}",
                        markup=False,
                        soft_wrap=True,
                    )

    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        bench_growth(sorted(counts), Path(tmp), progress=console.print, measured=table)


def _against_raw(name: str, rate: float, unit: str, raw_name: str, raw: float) -> str:
    """A rate beside its raw baseline's and their ratio: ``relay 9 events/s, raw 10/s, ratio
    0.90``."""
    return f"{name} {rate:.0f} {unit}, {raw_name} {raw:.0f}/s, ratio {rate / raw:.2f}"
