"""The projections: each a reducer (the registry fold, with the event types it keeps) and a
render that turns its state into the view served to readers. All are keyed by negotiation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from events import CORRECTIONS, PartialDate
from projections import timeline
from projections.milestones import is_overdue, last_day
from projections.negotiation import Event, State, fold, fold_into

Render = Callable[[State, date], Any]


def _negotiation(state: State, today: date) -> Any:
    view = dict(state["view"])
    view["milestones"] = {
        mid: {**m, "overdue": is_overdue(m, today)} for mid, m in view["milestones"].items()
    }
    return view


def _timeline(state: State, today: date) -> Any:
    return timeline.entries(state)


def _positions(state: State, today: date) -> Any:
    series: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for event_id, rec in state["registry"].items():
        if rec["type"] != "PositionStated" or rec["retracted_by"]:
            continue
        p = rec["payload"]
        entry = {
            "position": p["position"],
            "text": p["text"],
            "occurred_at": rec["occurred_at"],
            "event_id": event_id,
            "corrected": bool(rec["corrected_by"]),
        }
        series.setdefault(p["party"]["name"], {}).setdefault(p["issue_id"], []).append(entry)
    for issues in series.values():
        for entries in issues.values():
            entries.sort(key=lambda e: PartialDate.parse(e["occurred_at"]).sort_key())
    return {"negotiation_id": state["view"]["negotiation_id"], "positions": series}


def _commitments(state: State, today: date) -> Any:
    view = state["view"]
    rows = []
    for mid, m in view["milestones"].items():
        day = last_day(m)
        agreement = view["agreements"].get(m.get("agreement_id") or "", {})
        rows.append(
            {
                "negotiation_id": view["negotiation_id"],
                "milestone_id": mid,
                "description": m["description"],
                "obligor": m["obligor"]["name"],
                "due": m["due"],
                "last_day": day.isoformat() if day else None,
                "status": m["status"],
                "overdue": is_overdue(m, today),
                "agreement": agreement.get("title"),
                "event_id": m["event_id"],
            }
        )
    return rows


def _audit(state: State, today: date) -> Any:
    return [
        {
            "position": rec["position"],
            "recorded_at": rec["recorded_at"],
            "recorded_by": rec["recorded_by"],
            "type": rec["type"],
            "negotiation_id": state["view"]["negotiation_id"],
            "event_id": event_id,
            "hash": rec["hash"],
            "sources": [s["outlet"] for s in rec["sources"]],
            "corrected_by": rec["corrected_by"],
            "retracted_by": rec["retracted_by"],
        }
        for event_id, rec in sorted(state["registry"].items(), key=lambda kv: kv[1]["position"])
    ]


@dataclass(frozen=True)
class Projection:
    name: str
    render: Render
    types: frozenset[str] = field(default_factory=frozenset)  # empty: every type

    def keeps(self, event_type: str) -> bool:
        """Whether events of this type reach the reducer (corrections always do)."""
        return not self.types or event_type in self.types or event_type in CORRECTIONS

    def apply(self, state: State | None, events: Iterable[Event]) -> State:
        """Pure: a new state; ``state`` is left as it was."""
        return fold(state, events, types=self.types)

    def apply_into(self, state: State, events: Iterable[Event]) -> State:
        """The same fold, into a state the caller owns (no copy)."""
        return fold_into(state, events, types=self.types)


PROJECTIONS: dict[str, Projection] = {
    p.name: p
    for p in (
        Projection("negotiation", _negotiation),
        Projection("timeline", _timeline),
        Projection("positions", _positions, frozenset({"PositionStated"})),
        Projection(
            "commitments",
            _commitments,
            frozenset(
                {
                    "AgreementReached",
                    "AgreementStatusChanged",
                    "MilestoneScheduled",
                    "MilestoneMet",
                    "MilestoneMissed",
                    "MilestoneRescheduled",
                }
            ),
        ),
        Projection("audit", _audit),
    )
}


def due_next(rows: Iterable[dict[str, Any]], *, limit: int = 20) -> list[dict[str, Any]]:
    """Open commitments across negotiations, soonest last day first (undated last)."""
    open_rows = [r for r in rows if r["status"] == "scheduled"]
    return sorted(open_rows, key=lambda r: (r["last_day"] is None, r["last_day"] or ""))[:limit]
