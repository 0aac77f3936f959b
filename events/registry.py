"""The per-type tables of each layer, checked against the contract when they are built.

Each event type has behaviour on several floors: a guard and derived facts on the write side,
a reducer, the view entries it touches and a one-line description on the read side. One module
holding all of it per type would have to import both the recorder and the projections, which
the floors forbid (``events`` imports neither; the recorder and the projections do not import
each other). So each layer keeps one table keyed by event type and builds it with ``complete``
at import: a table that misses a type of ``EVENT_TYPES`` or names a type that does not exist
stops the import with a ``RegistryMismatch`` naming the layer and the types. A type that
deliberately has nothing in a layer says so with a ``Nothing`` marker, so that leaving a type
out by accident cannot pass. Tables that name only some types (filters, groups) go through
``known``, which refuses a name that is not a type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from events.exceptions import RegistryMismatch
from events.types import EVENT_TYPES

T = TypeVar("T")


class Nothing:
    """A table entry saying that a type deliberately has no ``what`` in this layer."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"<no {self.what}>"


def complete(layer: str, table: Mapping[str, T | Nothing]) -> dict[str, T]:
    """Checks that ``table`` has an entry for every event type and for nothing else, and
    returns the entries that are not ``Nothing`` (for look-ups on the hot path)."""
    missing = EVENT_TYPES.keys() - table.keys()
    unknown = table.keys() - EVENT_TYPES.keys()
    if missing or unknown:
        raise RegistryMismatch(layer, missing=missing, unknown=unknown)
    return {name: entry for name, entry in table.items() if not isinstance(entry, Nothing)}


def known(layer: str, names: Iterable[str]) -> frozenset[str]:
    """``names`` as a set, after checking that each is an event type."""
    named = frozenset(names)
    unknown = named - EVENT_TYPES.keys()
    if unknown:
        raise RegistryMismatch(layer, unknown=unknown)
    return named
