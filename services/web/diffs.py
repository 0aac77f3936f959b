"""The diff view: what changed in a negotiation between two points of one clock
(``projections.diff`` on the same folds as the API's ``/diff``), each change with the events
that caused it, described."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from events.dates import optional_date
from projections.diff import diff
from projections.kinds import describe
from services.web.dates import instant, shown
from services.web.source import PageSource


def changes(
    source: PageSource, negotiation_id: str, clock: str, start: str, end: str
) -> list[dict[str, Any]]:
    option = "as_of" if clock == "world" else "known_at"
    points = [optional_date(start, "from"), optional_date(end, "to")]
    before, after = (
        source.fold(negotiation_id, **{"as_of": None, "known_at": None, option: p}) for p in points
    )
    registry = {**before["registry"], **after["registry"]}
    out = []
    for change in diff(before, after, today=datetime.now(UTC).date()):
        causes = []
        for event_id in change["events"]:
            rec = registry.get(event_id)
            if rec is None:
                continue
            causes.append(
                {
                    "event_id": event_id,
                    "type": rec["type"],
                    "summary": describe(rec["type"], rec["payload"]),
                    "when": shown(rec["occurred_at"], rec["occurred_until"]),
                    "recorded_at": instant(rec["recorded_at"]),
                    "position": rec["position"],
                }
            )
        out.append(
            {
                "section": change["section"],
                "id": change["id"],
                "change": change["change"],
                "before": _brief(change["before"]),
                "after": _brief(change["after"]),
                "events": causes,
            }
        )
    return out


def _brief(value: object) -> str:
    """A view entry in a line: its status, title or text where it has one."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        for name in ("status", "title", "description", "text", "position", "quote"):
            if value.get(name):
                return str(value[name])
        return ", ".join(f"{k}" for k in list(value)[:4])
    return str(value)
