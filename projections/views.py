"""The projections: each a reducer (the registry fold, with the event types it keeps) and a
render that turns its state into the view served to readers. All are keyed by negotiation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TypedDict, cast

from events import CORRECTIONS, PartialDate
from events.parts import Position
from events.registry import known
from events.wire import DueWire, PositionStatedPayloadWire
from projections import timeline
from projections.milestones import is_overdue, last_day
from projections.negotiation import Event, fold, fold_into
from projections.shapes import MilestoneStatus, NegotiationView, State
from projections.timeline import TimelineRow


class PositionPoint(TypedDict):
    position: Position
    text: str
    occurred_at: str
    event_id: str
    corrected: bool


class PositionsView(TypedDict):
    negotiation_id: str | None
    positions: dict[str, dict[str, list[PositionPoint]]]  # party -> issue -> points in time


class CommitmentRow(TypedDict):
    negotiation_id: str | None
    milestone_id: str
    description: str
    obligor: str
    due: DueWire
    last_day: str | None
    status: MilestoneStatus
    overdue: bool
    agreement: str | None
    event_id: str


class AuditRow(TypedDict):
    position: int | None
    recorded_at: str
    recorded_by: str
    type: str
    negotiation_id: str | None
    event_id: str
    hash: str
    sources: list[str]
    corrected_by: list[str]
    retracted_by: str | None


Rendered = (
    NegotiationView | list[TimelineRow] | PositionsView | list[CommitmentRow] | list[AuditRow]
)
Render = Callable[[State, date], Rendered]


def negotiation_view(state: State, today: date) -> NegotiationView:
    view = state["view"]
    return {
        **view,
        "milestones": {
            mid: {**m, "overdue": is_overdue(m, today)} for mid, m in view["milestones"].items()
        },
    }


def _timeline(state: State, today: date) -> list[TimelineRow]:
    return timeline.entries(state)


def _positions(state: State, today: date) -> PositionsView:
    series: dict[str, dict[str, list[PositionPoint]]] = {}
    for event_id, rec in state["registry"].items():
        if rec["type"] != "PositionStated" or rec["retracted_by"]:
            continue
        p = cast(PositionStatedPayloadWire, rec["payload"])
        entry: PositionPoint = {
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


def commitment_rows(state: State, today: date) -> list[CommitmentRow]:
    view = state["view"]
    rows: list[CommitmentRow] = []
    for mid, m in view["milestones"].items():
        day = last_day(m)
        agreement = view["agreements"].get(m.get("agreement_id") or "")
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
                "agreement": agreement["title"] if agreement is not None else None,
                "event_id": m["event_id"],
            }
        )
    return rows


def _audit(state: State, today: date) -> list[AuditRow]:
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
        # Stored events all have a position: a fold of unstored ones has no audit to show.
        for event_id, rec in sorted(
            state["registry"].items(), key=lambda kv: cast(int, kv[1]["position"])
        )
    ]


@dataclass(frozen=True)
class Projection:
    """``stored_as``: the projection whose stored state this one renders (the same reducer
    over the same types folds the same state, so it is folded and stored once)."""

    name: str
    render: Render
    types: frozenset[str] = field(default_factory=frozenset)  # empty: every type
    stored_as: str | None = None

    @property
    def store(self) -> str:
        """The name its state is stored under."""
        return self.stored_as or self.name

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
        Projection("negotiation", negotiation_view),
        Projection("timeline", _timeline, stored_as="negotiation"),
        Projection("positions", _positions, known("positions projection", {"PositionStated"})),
        Projection(
            "commitments",
            commitment_rows,
            known(
                "commitments projection",
                {
                    "AgreementReached",
                    "AgreementStatusChanged",
                    "MilestoneScheduled",
                    "MilestoneMet",
                    "MilestoneMissed",
                    "MilestoneRescheduled",
                },
            ),
        ),
        Projection("audit", _audit, stored_as="negotiation"),
    )
}


def _stored(projections: dict[str, Projection]) -> dict[str, Projection]:
    """The projections that store a state, each rendered by itself and the ones stored as it
    (which must fold the same types: the stored state is theirs too)."""
    stored = {name: p for name, p in projections.items() if p.stored_as is None}
    for p in projections.values():
        if p.stored_as is not None and stored[p.stored_as].types != p.types:
            raise ValueError(f"{p.name} keeps other types than {p.stored_as}, where it is stored")
    return stored


STORED: dict[str, Projection] = _stored(PROJECTIONS)


def store_of(name: str) -> str:
    """The name a projection's state is stored under (a name it does not know: its own)."""
    projection = PROJECTIONS.get(name)
    return projection.store if projection is not None else name


def rendered_from(store: str) -> list[str]:
    """The projections served from the state stored under ``store`` (itself first)."""
    names = [p.name for p in PROJECTIONS.values() if p.store == store]
    return names or [store]


def due_next(rows: Iterable[CommitmentRow], *, limit: int = 20) -> list[CommitmentRow]:
    """Open commitments across negotiations, soonest last day first (undated last)."""
    open_rows = [r for r in rows if r["status"] == "scheduled"]
    return sorted(open_rows, key=lambda r: (r["last_day"] is None, r["last_day"] or ""))[:limit]
