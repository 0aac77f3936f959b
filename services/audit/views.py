"""Each live view against a fresh fold of the store: the states the projection workers keep
in Redis must equal what the pure reducers make of the stored events up to the view's tracked
position (negotiations parked by a failing reducer are left out: they are known not to be)."""

from __future__ import annotations

from typing import Any, Protocol

from events import canonical_json
from projections.negotiation import State, empty
from projections.views import Projection
from services.recorder.audit import VIEW_DRIFT, Finding, Seen

LIMIT = 100


class ServedViews(Protocol):
    """What the check reads of one projection's stored states (the API's ``Views`` and the
    workers' ``ViewStore`` both are)."""

    def generation(self) -> str: ...

    def tracked(self, gen: str) -> int: ...

    def negotiation_ids(self, gen: str) -> list[str]: ...

    def load(self, gen: str, negotiation_ids: list[str]) -> dict[str, State | None]: ...

    def parked(self, gen: str) -> dict[str, dict[str, Any]]: ...


class ViewCheck:
    """Folds the store's events as the store pass reads them, then compares with the view."""

    def __init__(self, projection: Projection, views: ServedViews) -> None:
        self.projection = projection
        self.views = views
        self.gen = views.generation()
        self.tracked = views.tracked(self.gen)
        self.states: dict[str, State] = {}

    def see(self, seen: Seen) -> None:
        wire = seen.wire
        if wire is None or seen.position > self.tracked:
            return
        if not self.projection.keeps(str(wire.get("type"))):
            return
        event = dict(wire, position=seen.position)
        state = self.states.get(seen.negotiation_id)
        if state is None:
            state = self.states[seen.negotiation_id] = empty()
        self.projection.apply_into(state, [event])

    @property
    def name(self) -> str:
        return f"view {self.projection.name}"

    def finish(self) -> list[Finding] | str:
        """The drifted negotiations; or why the view was not compared."""
        if self.views.generation() != self.gen or self.views.tracked(self.gen) != self.tracked:
            return "the view moved on during the check"
        if self.tracked == 0:
            return "the view has applied nothing yet"
        parked = self.views.parked(self.gen)
        served = [n for n in self.views.negotiation_ids(self.gen) if n not in parked]
        loaded = self.views.load(self.gen, served)
        found: list[Finding] = []
        for nid in sorted(set(served) | (set(self.states) - set(parked))):
            served_state = loaded.get(nid)
            reason = self._drift(nid, served_state)
            if reason and len(found) < LIMIT:
                where = _position(served_state) or _position(self.states.get(nid))
                found.append(Finding(VIEW_DRIFT, where, nid, reason))
        return found

    def _drift(self, nid: str, served: State | None) -> str | None:
        fresh = self.states.get(nid)
        name = self.projection.name
        if fresh is None:
            return f"the {name} view holds a negotiation the store does not"
        if served is None:
            return f"the {name} view lacks this negotiation"
        if canonical_json(served) != canonical_json(fresh):
            return f"the {name} view differs from a fresh fold{_where(served, fresh)}"
        return None


def _position(state: State | None) -> int | None:
    """The position a state was folded through (the view's own claim)."""
    view = state.get("view") if isinstance(state, dict) else None
    position = view.get("position") if isinstance(view, dict) else None
    return position if isinstance(position, int) else None


def _where(served: State, fresh: State) -> str:
    """The first field of the view (else of the state) that differs."""
    for part in ("view", "registry"):
        a, b = served.get(part), fresh.get(part)
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if canonical_json(a.get(key)) != canonical_json(b.get(key)):
                    return f" (field {part}.{key})"
    return ""
