"""Text shared by the one-line descriptions of events (projections/kinds.py) and the terminal
views: how an actor and a due date read."""

from __future__ import annotations

from events.wire import ActorWire, DueWire


def name(actor: ActorWire | None) -> str:
    if not actor:
        return "?"
    office = actor.get("office")
    return f"{actor['name']} ({office})" if office else str(actor["name"])


def due_text(due: DueWire) -> str:
    match due["kind"]:
        case "on":
            return f"on {due['date']}"
        case "not_later_than":
            return f"by {due['date']}"
        case "relative":
            return f"{due['offset_days']} days after {due['anchor_milestone']}"
    return f"when {due.get('condition', '?')}"
