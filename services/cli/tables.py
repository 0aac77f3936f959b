"""The benchmark tables as Markdown, so a run's output can go into docs/benchmarks.md as it
is."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from services.bench.figures import Figure, number
from services.bench.scale import Run
from services.bench.suite import Outcome

HEADER = ("bench", "figure", "value", "raw baseline (same run)", "ratio", "target")


def markdown(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)])


def outcome_table(outcomes: Iterable[Outcome]) -> str:
    rows: list[tuple[str, ...]] = []
    for o in outcomes:
        if o.error:
            rows.append((o.bench, "FAILED", o.error, "–", "–", "–"))
        rows.extend(_row(o.bench, f) for f in o.figures)
    return markdown(HEADER, rows)


def _row(bench: str, f: Figure) -> tuple[str, ...]:
    baseline = "–"
    if f.baseline_value is not None:
        baseline = f"{f.baseline}: {number(f.baseline_value)} {f.unit}"
    return (bench, f.figure, f"{number(f.value)} {f.unit}", baseline, number(f.ratio), f.target)


def scale_table(runs: Iterable[Run]) -> str:
    header = (
        "P",
        "processes",
        "each process follows",
        "events",
        "seconds",
        "relay done at s",
        "events/s",
        "raw XREADGROUP + XACK events/s",
        "ratio",
        "views = rebuild",
    )
    rows = [
        (
            str(r.partitions),
            str(r.processes),
            r.layout,
            f"{r.events:,}",
            f"{r.seconds:.2f}",
            f"{r.published_seconds:.2f}",
            number(r.rate),
            number(r.raw_rate),
            number(r.ratio),
            "yes" if r.views_equal_rebuild else "NO",
        )
        for r in runs
    ]
    return markdown(header, rows)
