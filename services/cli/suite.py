"""``talkstream bench all``: every benchmark, one table (Markdown, to paste into the docs) or
one JSON document on stdout, progress on stderr, and a non-zero exit when any bench failed:
a failure is a row of the table, never a missing one."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

from services.cli import render
from services.cli.bench import Store
from services.cli.commands import clean_errors
from services.cli.exceptions import CliError
from services.cli.exits import REFUSED

AsJson = Annotated[bool, typer.Option("--json", help="One JSON document instead of the table.")]


def chosen(only: str | None, skip: str | None, names: tuple[str, ...]) -> list[str]:
    """The benches to run, in the catalog's order."""
    picked = _names(only, "--only", names) if only else list(names)
    dropped = _names(skip, "--skip", names) if skip else []
    left = [n for n in picked if n not in dropped]
    if not left:
        raise CliError("invalid_option", "leaves no bench to run", field="--skip")
    return left


def _names(value: str, field: str, names: tuple[str, ...]) -> list[str]:
    given = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [n for n in given if n not in names]
    if unknown or not given:
        raise CliError(
            "invalid_option",
            f"unknown bench {', '.join(unknown) or '(none)'}; the benches: {', '.join(names)}",
            field=field,
        )
    return given


@clean_errors
def all_cmd(  # noqa: PLR0917 (typer passes each command-line option as a parameter)
    as_json: AsJson = False,
    scale: Annotated[
        float,
        typer.Option(min=0.001, help="Multiplies every bench's default size (0.1 tiny, 10 big)."),
    ] = 1.0,
    only: Annotated[str | None, typer.Option(help="Only these benches, comma-separated.")] = None,
    skip: Annotated[str | None, typer.Option(help="Leave out these, comma-separated.")] = None,
    store: Annotated[
        Store,
        typer.Option(help="The event store of record, relay and http (as their own --store)."),
    ] = Store.sqlite,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds a bench may take before it is stopped.")
    ] = 900,
) -> None:
    """Every benchmark at small default sizes, each in a process of its own, then one table of
    its figures: value, raw baseline measured in the same run, their ratio and the target. A
    bench that fails (or outlasts --timeout) is a row with its error, and the command then
    exits 1."""
    from services.bench.catalog import NAMES, Options
    from services.bench.suite import run_all

    names = chosen(only, skip, NAMES)
    err = render.console(stderr=True)
    outcomes = run_all(
        names,
        Options(scale=scale, store=store.value),
        timeout,
        lambda line: err.print(line, markup=False, soft_wrap=True),
    )
    failed = [o.bench for o in outcomes if o.error]
    if as_json:
        document = {
            "scale": scale,
            "store": store.value,
            "benches": [o.as_json() for o in outcomes],
            "failed": failed,
        }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        from services.cli.tables import outcome_table

        sys.stdout.write(outcome_table(outcomes) + "\n")
        total = sum(o.seconds for o in outcomes)
        tail = f", failed: {', '.join(failed)}" if failed else ", none failed"
        sys.stdout.write(f"\n{len(outcomes)} benches in {total:.0f} s{tail}\n")
    if failed:
        raise typer.Exit(REFUSED)


def _counts(value: str, field: str) -> list[int]:
    try:
        counts = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise CliError("invalid_option", "whole numbers, e.g. 1,2,3", field=field) from None
    if not counts or min(counts) < 1:
        raise CliError("invalid_option", "each must be at least 1", field=field)
    return sorted(set(counts))


@clean_errors
def scale_cmd(
    as_json: AsJson = False,
    events: Annotated[int, typer.Option(min=100, help="Events in the recorded store.")] = 20_000,
    partitions: Annotated[
        str, typer.Option(help="Partition counts P (TALKSTREAM_PARTITIONS), comma-separated.")
    ] = "1,2,4",
    processes: Annotated[
        str, typer.Option(help="Projector process counts, comma-separated.")
    ] = "1,2,3",
) -> None:
    """Record-to-view throughput with P partitions and 1, 2, 3 `talkstream project`
    processes splitting them, following one relayed store on a private prefix: from the first
    entry on the streams until every view tracks the last position, against one raw
    XREADGROUP + XACK consumer of the same entries in the same run."""
    from services.bench.scale import bench_scale

    asked = _counts(partitions, "--partitions")
    counts = _counts(processes, "--processes")
    err = render.console(stderr=True)
    runs = bench_scale(
        events, asked, counts, lambda line: err.print(line, markup=False, soft_wrap=True)
    )
    if as_json:
        document = {"cpus": os.cpu_count(), "runs": [r.as_json() for r in runs]}
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return
    from services.cli.tables import scale_table

    sys.stdout.write(scale_table(runs) + f"\n\non {os.cpu_count()} CPUs\n")
