"""The states an applier keeps between batches, so that a negotiation written to again soon is
not read back from Redis and decoded each time.

The cache holds the negotiations used most recently and is bounded by the records and view
entries they hold (``weight``), so a process's memory follows the working set of
negotiations, not the length of the record: a process keeps only what fits in ``budget`` and
reads the rest back when they are written to again.

A state is held whole, or as a slice of its hash's fields (``codec.slice_fields``,
``codec.trim``: the applier keeps slices between batches, a headline and a few entries each,
not their events): the cache says which (``fields_of``), so that a later batch reads only the
fields it lacks.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Set

from projections.negotiation import SECTIONS, State

# A slice kept between batches weighs a few units (its headline, its parties and issues); a
# whole state about two per folded event (about 1.5 KB of Python objects per 400-byte note),
# so the default keeps thousands of negotiations' slices, or some 15 MB of whole states.
STATE_BUDGET_EVENTS = 20_000


def weight(state: State) -> int:
    """The records and view entries ``state`` holds (a whole state: about two per folded
    event; a slice: a few), plus 1."""
    return len(state["registry"]) + sum(len(state["view"][s]) for s in SECTIONS) + 1


class StateCache:
    """Least recently used states first out, while their weights exceed ``budget``. A batch
    that touched more than the budget (a catch-up over many negotiations) keeps what fits of
    it, the states it touched last: the cache never holds more than the budget between
    batches."""

    def __init__(self, budget: int = STATE_BUDGET_EVENTS) -> None:
        self.budget = budget
        self._states: OrderedDict[str, State] = OrderedDict()
        self._weights: dict[str, int] = {}
        self._fields: dict[str, Set[str] | None] = {}
        self.held = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, negotiation_id: object) -> bool:
        return negotiation_id in self._states

    def take(self, negotiation_ids: Iterable[str]) -> dict[str, State]:
        """The held states of ``negotiation_ids``, each marked as just used."""
        taken = {}
        for nid in negotiation_ids:
            state = self._states.get(nid)
            if state is not None:
                self._states.move_to_end(nid)
                taken[nid] = state
        return taken

    def fields_of(self, negotiation_id: str) -> Set[str] | None:
        """The fields of a held state's hash it holds: None when it is held whole."""
        return self._fields.get(negotiation_id)

    def keep(
        self, states: Mapping[str, State], fields: Mapping[str, Set[str] | None] | None = None
    ) -> None:
        """Holds ``states`` (as just used, in their order), then evicts the least recently
        used until the weights fit the budget again. ``fields``: the fields of each state
        held, when it is a slice (a state not named there is whole)."""
        for nid, state in states.items():
            self.drop(nid)
            self._states[nid] = state
            self._fields[nid] = (fields or {}).get(nid)
            self._weights[nid] = weight(state)
            self.held += self._weights[nid]
        while self.held > self.budget:
            oldest = next(iter(self._states))
            self.drop(oldest)
            self.evictions += 1

    def drop(self, negotiation_id: str) -> None:
        if self._states.pop(negotiation_id, None) is not None:
            self.held -= self._weights.pop(negotiation_id)
            del self._fields[negotiation_id]

    def clear(self) -> None:
        self._states.clear()
        self._fields.clear()
        self._weights.clear()
        self.held = 0
