"""Writing a Frictionless Data Package: the tables of ``projections.tables`` as CSV files and
``datapackage.json`` describing them, built with the ``frictionless`` library."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path

from frictionless import Package, Resource, Schema

from projections.tables import SCHEMAS, TABLES, Row, csv_text

DESCRIPTOR = "datapackage.json"


def write_package(
    out: Path, shares: Iterable[dict[str, list[Row]]], *, name: str, description: str
) -> Path:
    """Writes every table (the shares of each negotiation one after another) under ``out`` and
    the descriptor beside them; returns the descriptor's path."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        table: (out / f"{table}.csv").open("w", encoding="utf-8", newline="") for table in TABLES
    }
    try:
        for table, f in files.items():
            f.write(csv_text(table, []))
        for share in shares:
            for table, f in files.items():
                f.write(csv_text(table, share[table], header=False))
    finally:
        for f in files.values():
            f.close()
    package = Package(
        name=name,
        title=f"talkstream export: {name}",
        description=description,
        version=version("talkstream"),
        resources=[_resource(table) for table in TABLES],
        basepath=str(out),
    )
    path = out / DESCRIPTOR
    package.to_json(str(path))
    return path


def _resource(table: str) -> Resource:
    return Resource(
        name=table.replace("_", "-"),
        path=f"{table}.csv",
        format="csv",
        mediatype="text/csv",
        encoding="utf-8",
        schema=Schema.from_descriptor(SCHEMAS[table]),
    )
