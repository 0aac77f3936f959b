"""The timeline: a negotiation's developments ordered by when they happened.

Ordered by ``occurred_at`` (partial-date order: coarser first on a tie) then by position.
Corrections are folded into the events they correct (``corrected_by``); retracted events stay,
marked ``retracted``; correction and retraction events themselves are not rows.
"""

from __future__ import annotations

from typing import TypedDict

from events import CORRECTIONS, PartialDate
from events.types import Modality, Verification
from events.wire import SourceWire
from projections.grades import source_grades
from projections.kinds import describe
from projections.shapes import Record, State


class TimelineRow(TypedDict):
    event_id: str
    position: int | None
    type: str
    occurred_at: str
    occurred_until: str | None
    precision: str
    summary: str
    verification: Verification
    modality: Modality
    sources: list[str]
    grades: list[str]  # the Admiralty grades of its graded sources, e.g. "B2"
    source_details: list[SourceWire]  # every source as recorded (grades, archived copy)
    recorded_at: str
    corrected_by: list[str]
    retracted: bool


def entries(state: State) -> list[TimelineRow]:
    rows = [
        _row(event_id, rec)
        for event_id, rec in state["registry"].items()
        if rec["type"] not in CORRECTIONS
    ]
    rows.sort(key=lambda r: (PartialDate.parse(r["occurred_at"]).sort_key(), r["position"] or 0))
    return rows


def _row(event_id: str, rec: Record) -> TimelineRow:
    precision = PartialDate.parse(rec["occurred_at"]).precision.name.lower()
    return {
        "event_id": event_id,
        "position": rec["position"],
        "type": rec["type"],
        "occurred_at": rec["occurred_at"],
        "occurred_until": rec["occurred_until"],
        "precision": precision,
        "summary": describe(rec["type"], rec["payload"]),
        "verification": rec["verification"],
        "modality": rec["modality"],
        "sources": [s["outlet"] for s in rec["sources"]],
        "grades": source_grades(rec["sources"]),
        "source_details": rec["sources"],
        "recorded_at": rec["recorded_at"],
        "corrected_by": list(rec["corrected_by"]),
        "retracted": rec["retracted_by"] is not None,
    }
