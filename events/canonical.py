"""Canonical JSON and the event hash.

Canonical JSON: keys sorted, no insignificant whitespace, UTF-8 (no ASCII escaping), and no
NaN or infinity. ``event_hash`` is the SHA-256 hex digest of the canonical JSON of a recorded
event without its ``hash`` and ``position`` fields (the position is assigned by the store when
the transaction commits, after the hash is fixed; checkpoints bind positions).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

UNHASHED_FIELDS = frozenset({"hash", "position"})


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def hashed_body(wire: Mapping[str, Any]) -> bytes:
    """The bytes that are hashed: the event without ``hash`` and ``position``."""
    return canonical_json({k: v for k, v in wire.items() if k not in UNHASHED_FIELDS})


def event_hash(wire: Mapping[str, Any]) -> str:
    return hashlib.sha256(hashed_body(wire)).hexdigest()
