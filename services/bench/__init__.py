"""``talkstream bench``: each benchmark prints its rate and the ratio to a raw baseline run in
the same process (never a timing assertion)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from services import render


def register(bench_app: typer.Typer) -> None:
    bench_app.command("record")(record)
    bench_app.command("relay")(relay)
    bench_app.command("intake")(intake)


def record(
    events: Annotated[int, typer.Option(min=10, help="Events per measurement.")] = 2000,
    batch: Annotated[int, typer.Option(min=1, help="Events per save in batch mode.")] = 10,
) -> None:
    """Events/s recorded through the application vs raw eventsourcing saves (SQLite)."""
    from services.bench.record import bench_record

    console = render.console()
    console.print(f"recording {events} events 4 ways on fresh SQLite files…")
    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        r = bench_record(events, batch, Path(tmp))
    console.print(
        f"one event per save: app {r['app_single']:.0f}/s, raw "
        f"{r['raw_single']:.0f}/s, ratio {r['app_single'] / r['raw_single']:.2f}"
    )
    console.print(
        f"batches of {batch}:   app {r['app_batch']:.0f}/s, raw "
        f"{r['raw_batch']:.0f}/s, ratio {r['app_batch'] / r['raw_batch']:.2f}"
    )


def relay(
    events: Annotated[int, typer.Option(min=100, help="Events to publish.")] = 20_000,
) -> None:
    """Relay events/s (store -> stream) vs raw pipelined XADD of the same entries."""
    from services.bench.stream import bench_relay

    console = render.console()
    console.print(f"storing {events} events, then relaying them…")
    r = bench_relay(events, progress=console.print)
    console.print(
        f"relay {r['relay']:.0f} events/s, raw pipelined XADD {r['raw']:.0f}/s, "
        f"ratio {r['relay'] / r['raw']:.2f}"
    )


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
        f"intake {r['intake']:.0f} events/s recorded, in-process record {r['direct']:.0f}/s, "
        f"ratio {r['intake'] / r['direct']:.2f}"
    )
