"""The states an applier keeps between batches, so that a negotiation written to again soon is
not read back from Redis and decoded each time.

The cache holds the negotiations used most recently and is bounded by the events folded into
them (a state's size follows its events), so a process's memory follows the working set of
negotiations, not the length of the record: a process that has folded a long history keeps
only what fits in ``budget`` events and reads the rest back when they are written to again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from projections.negotiation import State

# About 1.5 KB of Python objects per folded event (a 400-byte note, its record and its index
# entries), so the default keeps some 30 MB of states per applier.
STATE_BUDGET_EVENTS = 20_000


def weight(state: State) -> int:
    """The events folded into ``state`` (one entry each in its registry), at least 1."""
    return len(state["registry"]) + 1


class StateCache:
    """Least recently used states first out, while their weights exceed ``budget``. A batch
    that touched more than the budget (a catch-up over many negotiations) keeps what fits of
    it, the states it touched last: the cache never holds more than the budget between
    batches."""

    def __init__(self, budget: int = STATE_BUDGET_EVENTS) -> None:
        self.budget = budget
        self._states: OrderedDict[str, State] = OrderedDict()
        self._weights: dict[str, int] = {}
        self.held = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, negotiation_id: object) -> bool:
        return negotiation_id in self._states

    def missing(self, negotiation_ids: Iterable[str]) -> list[str]:
        """The ids of ``negotiation_ids`` not held, sorted."""
        return sorted(n for n in negotiation_ids if n not in self._states)

    def take(self, negotiation_ids: Iterable[str]) -> dict[str, State]:
        """The held states of ``negotiation_ids``, each marked as just used."""
        taken = {}
        for nid in negotiation_ids:
            state = self._states.get(nid)
            if state is not None:
                self._states.move_to_end(nid)
                taken[nid] = state
        return taken

    def keep(self, states: Mapping[str, State]) -> None:
        """Holds ``states`` (as just used, in their order), then evicts the least recently
        used until the weights fit the budget again."""
        for nid, state in states.items():
            self.drop(nid)
            self._states[nid] = state
            self._weights[nid] = weight(state)
            self.held += self._weights[nid]
        while self.held > self.budget:
            oldest = next(iter(self._states))
            self.drop(oldest)
            self.evictions += 1

    def drop(self, negotiation_id: str) -> None:
        if self._states.pop(negotiation_id, None) is not None:
            self.held -= self._weights.pop(negotiation_id)

    def clear(self) -> None:
        self._states.clear()
        self._weights.clear()
        self.held = 0
