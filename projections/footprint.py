"""How many bytes an object graph of plain values holds: the measure that bounds the caches."""

from __future__ import annotations

import sys
from typing import Any


def footprint(value: Any) -> int:
    """The bytes of ``value`` and of every dict, list, tuple, set and object it reaches, each
    counted once (``sys.getsizeof`` of each); shared objects are not counted twice."""
    seen: set[int] = set()
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif hasattr(item, "__dict__") and not isinstance(item, type):
            stack.append(vars(item))
    return total
