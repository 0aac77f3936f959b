"""What each part of the page shows, derived from one negotiation state with the projections'
own renders (timeline, positions, commitments, audit): plain data for the templates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from events import CORRECTIONS
from projections.implementation import agreement_scores
from projections.kinds import describe
from projections.shapes import Record, State
from projections.timeline import TimelineRow
from projections.views import PROJECTIONS, AuditRow, CommitmentRow, CommitmentsView, PositionsView
from services.web.dates import instant, month_of, shown
from services.web.exceptions import InvalidFilter
from services.web.marks import KINDS, kind_of

VERIFICATIONS = ("reported", "confirmed", "disputed", "denied")
OPEN = "scheduled"


@dataclass(frozen=True)
class Filters:
    """The timeline's filters (empty: everything)."""

    kind: str = ""
    party: str = ""
    verification: str = ""

    def check(self, parties: list[str]) -> Filters:
        if self.kind and self.kind not in KINDS:
            raise InvalidFilter("invalid_filter", f"kind: unknown kind {self.kind!r}")
        if self.verification and self.verification not in VERIFICATIONS:
            raise InvalidFilter(
                "invalid_filter", f"verification: unknown level {self.verification!r}"
            )
        if self.party and self.party not in parties:
            raise InvalidFilter("invalid_filter", f"party: no party named {self.party!r}")
        return self

    @property
    def active(self) -> bool:
        return bool(self.kind or self.party or self.verification)


@dataclass
class Mark:
    """A correction, retraction, withdrawal or denial of an event, and the event behind it."""

    label: str
    event_id: str
    event_type: str
    recorded_at: str
    text: str
    anchor: str  # where the changing event is shown on the page


@dataclass
class Row:
    event_id: str
    position: int | None
    type: str
    kind: str
    mark: str
    kind_label: str
    when: str
    summary: str
    verification: str
    modality: str
    sources: list[dict[str, str | None]]
    recorded_at: str
    parties: list[str]
    marks: list[Mark] = field(default_factory=list)


@dataclass
class Month:
    label: str
    rows: list[Row]


def header(state: State) -> dict[str, Any]:
    view, registry = state["view"], state["registry"]
    parties = [
        {
            "name": p["actor"]["name"],
            "country": p["actor"].get("country"),
            "role": p["role"],
            "active": p["active"],
        }
        for p in sorted(view["parties"].values(), key=lambda p: p["actor"]["name"])
    ]
    delegations = [
        {
            "party": d["party"],
            "head": d["head"]["name"],
            "office": d["head"].get("office"),
            "members": len(d["members"]),
        }
        for d in sorted(view["delegations"].values(), key=lambda d: d["party"])
    ]
    outlets = {s["outlet"] for rec in registry.values() for s in rec["sources"]}
    return {
        "negotiation_id": view["negotiation_id"],
        "title": view["title"],
        "status": view["status"],
        "format": view["format"],
        "framework_ref": view["framework_ref"],
        "parties": [p for p in parties if p["role"] != "mediator"],
        "mediators": [p for p in parties if p["role"] == "mediator"],
        "delegations": delegations,
        "last_update": instant(max(r["recorded_at"] for r in registry.values()))
        if registry
        else None,
        "events": len(registry),
        "sources": len(outlets),
        "position": view["position"],
    }


def party_names(state: State) -> list[str]:
    return sorted(p["actor"]["name"] for p in state["view"]["parties"].values())


def timeline(state: State, filters: Filters) -> list[Month]:
    """The developments in world-time order, grouped by month, with their marks; rows the
    filters leave out are dropped."""
    registry = state["registry"]
    rows = cast(list[TimelineRow], PROJECTIONS["timeline"].render(state, date.today()))
    countries = {
        p["actor"].get("country"): p["actor"]["name"] for p in state["view"]["parties"].values()
    }
    months: list[Month] = []
    for r in rows:
        rec = registry[r["event_id"]]
        row = _row(r, rec, countries)
        row.marks = list(_marks(r["event_id"], rec, registry))
        if not _kept(row, filters):
            continue
        label = month_of(r["occurred_at"])
        if not months or months[-1].label != label:
            months.append(Month(label, []))
        months[-1].rows.append(row)
    return months


def _row(r: TimelineRow, rec: Record, countries: dict[str | None, str]) -> Row:
    kind = kind_of(r["type"])
    return Row(
        event_id=r["event_id"],
        position=r["position"],
        type=r["type"],
        kind=kind.name,
        mark=kind.mark,
        kind_label=kind.label,
        when=shown(r["occurred_at"], r["occurred_until"]),
        summary=r["summary"],
        verification=r["verification"],
        modality=r["modality"],
        sources=[{"outlet": s["outlet"], "url": s.get("url")} for s in rec["sources"]],
        recorded_at=instant(r["recorded_at"]),
        parties=sorted(_parties(rec["payload"], countries)),
    )


def _kept(row: Row, filters: Filters) -> bool:
    return (
        (not filters.kind or row.kind == filters.kind)
        and (not filters.verification or row.verification == filters.verification)
        and (not filters.party or filters.party in row.parties)
    )


def _parties(payload: Any, countries: dict[str | None, str]) -> set[str]:
    """The parties an event's payload names: actors by name or by country, and the names in
    an agreement's ``parties``."""
    found: set[str] = set()
    names = set(countries.values())
    if isinstance(payload, dict):
        name = payload.get("name")
        if isinstance(name, str) and name in names:
            found.add(name)
        country = payload.get("country")
        if isinstance(country, str) and country in countries:
            found.add(countries[country])
        for value in payload.values():
            found |= _parties(value, countries)
    elif isinstance(payload, list):
        for item in payload:
            if isinstance(item, str) and item in names:
                found.add(item)
            else:
                found |= _parties(item, countries)
    return found


def _marks(event_id: str, rec: Record, registry: dict[str, Record]) -> Iterator[Mark]:
    for cid in rec["corrected_by"]:
        c = registry[cid]
        patch = cast(dict[str, Any], c["payload"]).get("patch") or {}
        fields = ", ".join(sorted(patch))
        yield Mark(
            "corrected",
            cid,
            c["type"],
            instant(c["recorded_at"]),
            f"{fields}: {c['payload'].get('reason', '')}",
            f"audit-{cid}",
        )
    if rec["retracted_by"] is not None:
        r = registry[rec["retracted_by"]]
        yield Mark(
            "retracted",
            rec["retracted_by"],
            r["type"],
            instant(r["recorded_at"]),
            str(r["payload"].get("reason", "")),
            f"audit-{rec['retracted_by']}",
        )
    if rec["type"] != "StatementIssued":
        return
    sid = rec["payload"].get("statement_id")
    for oid, other in registry.items():
        if other["type"] in ("StatementWithdrawn", "StatementDenied") and (
            other["payload"].get("statement_id") == sid and other["retracted_by"] is None
        ):
            label = "withdrawn" if other["type"] == "StatementWithdrawn" else "denied"
            yield Mark(
                label,
                oid,
                other["type"],
                instant(other["recorded_at"]),
                describe(other["type"], other["payload"]),
                f"ev-{oid}",
            )


def agreements(state: State) -> list[dict[str, Any]]:
    scores = agreement_scores(state["view"])
    return [
        {
            "id": aid,
            "title": a["title"],
            "form": a["form"].replace("_", " "),
            "stage": str(a.get("stage") or "").replace("_", " "),
            "status": a["status"],
            "implementation": scores[aid]["score"] if aid in scores else None,
            "parties": a["parties"],
            "event_id": a["event_id"],
            "history": [
                {"status": h["status"], "when": shown(h["occurred_at"], h["occurred_until"])}
                for h in a["history"]
            ],
        }
        for aid, a in sorted(state["view"]["agreements"].items())
    ]


def milestones(state: State, today: date) -> list[dict[str, Any]]:
    """Each milestone with its due date, status (rescheduled and overdue named) and history."""
    view = state["view"]
    rendered = cast(CommitmentsView, PROJECTIONS["commitments"].render(state, today))
    rows = rendered["milestones"]
    rows.sort(key=lambda r: (r["last_day"] is None, r["last_day"] or "", r["milestone_id"]))
    out = []
    for row in rows:
        m = view["milestones"][row["milestone_id"]]
        history = m["history"]
        rescheduled = sum(1 for h in history if h["status"] == OPEN) > 1
        due = row["due"]
        out.append(
            {
                **row,
                "due_text": _due_text(due),
                "state": _milestone_state(row, rescheduled),
                "rescheduled": rescheduled,
                "scheduled_at": history[0]["occurred_at"] if history else m["occurred_at"],
                "history": [
                    {"status": h["status"], "when": shown(h["occurred_at"], h["occurred_until"])}
                    for h in history
                ],
                "settled_at": history[-1]["occurred_at"]
                if history and history[-1]["status"] != OPEN
                else None,
            }
        )
    return out


def _milestone_state(row: CommitmentRow, rescheduled: bool) -> str:
    if row["status"] != OPEN:
        return str(row["status"])
    if row["overdue"]:
        return "overdue"
    return "rescheduled" if rescheduled else "scheduled"


def _due_text(due: Any) -> str:
    kind, when = due.get("kind"), due.get("date")
    if kind == "on" and when:
        return f"on {shown(when)}"
    if kind == "not_later_than" and when:
        return f"by {shown(when)}"
    if kind == "relative":
        return f"{due.get('offset_days')} days after {due.get('anchor_milestone')}"
    return str(due.get("condition") or kind)


def open_commitments(state: State) -> int:
    return sum(1 for m in state["view"]["milestones"].values() if m["status"] == OPEN)


def positions(state: State) -> dict[str, Any]:
    """Issues × parties: the latest stated position in each cell, with its history."""
    series = cast(PositionsView, PROJECTIONS["positions"].render(state, date.today()))
    issues = state["view"]["issues"]
    members = sorted(
        p["actor"]["name"] for p in state["view"]["parties"].values() if p["role"] == "party"
    )
    parties = members + sorted(set(series["positions"]) - set(members))
    grid = []
    for issue_id, issue in sorted(issues.items(), key=lambda kv: kv[1]["title"]):
        cells = []
        for party in parties:
            points = series["positions"].get(party, {}).get(issue_id, [])
            cells.append(
                {
                    "party": party,
                    "latest": points[-1] if points else None,
                    "history": [{**p, "when": shown(p["occurred_at"])} for p in points],
                }
            )
        grid.append({"id": issue_id, "title": issue["title"], "cells": cells})
    return {"parties": parties, "issues": grid}


def audit(state: State) -> list[AuditRow]:
    return cast(list[AuditRow], PROJECTIONS["audit"].render(state, date.today()))


def last_development(state: State) -> dict[str, str] | None:
    """The latest development in world time (corrections are not developments)."""
    rows = cast(list[TimelineRow], PROJECTIONS["timeline"].render(state, date.today()))
    live = [r for r in rows if not r["retracted"] and r["type"] not in CORRECTIONS]
    if not live:
        return None
    r = live[-1]
    return {"when": shown(r["occurred_at"], r["occurred_until"]), "summary": r["summary"]}


def news(state: State, after: int) -> list[str]:
    """One line per event stored after position ``after``, in position order."""
    recs = sorted(
        (r for r in state["registry"].values() if (r["position"] or 0) > after),
        key=lambda r: r["position"] or 0,
    )
    return [f"{r['type']}: {describe(r['type'], r['payload'])}" for r in recs]
