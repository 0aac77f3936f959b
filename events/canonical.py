"""Canonical JSON and the event hash.

Canonical JSON: keys sorted, no insignificant whitespace, UTF-8 (no ASCII escaping), and no
NaN or infinity. ``event_hash`` is the SHA-256 hex digest of the canonical JSON of a recorded
event without its ``hash`` and ``position`` fields (the position is assigned by the store when
the transaction commits, after the hash is fixed; checkpoints bind positions).

The canonical JSON of the event *with* its hash differs from the hashed bytes only by the hash
member, which sorts right after ``event_id`` (no field of a recorded event sorts between
them). ``with_hash`` and ``split_hash`` go from one to the other by splicing that member in
or out, so the event is encoded once, and the store's bytes and the hashed bytes are the same
encoding.
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


HASH_MEMBER = b',"hash":"'
DIGEST_SIZE = 64  # hex digits of a SHA-256


def with_hash(body: bytes, event_id: str, digest: str) -> bytes:
    """The canonical JSON of a recorded event with its hash, from ``body`` (its canonical
    JSON without hash and position, as hashed) and its ``event_id`` (a UUID: no escaping)."""
    anchor = b'"event_id":"' + event_id.encode("ascii") + b'"'
    at = body.index(anchor) + len(anchor)
    return body[:at] + HASH_MEMBER + digest.encode("ascii") + b'"' + body[at:]


def split_hash(stored: bytes) -> tuple[bytes, str] | None:
    """The hashed body and the hash inside the canonical JSON of a recorded event (its first
    hash member: nothing before it can hold one); None when it holds none."""
    at = stored.find(HASH_MEMBER)
    start = at + len(HASH_MEMBER)
    end = start + DIGEST_SIZE
    if at < 0 or stored[end : end + 1] != b'"':
        return None
    return stored[:at] + stored[end + 1 :], stored[start:end].decode("ascii", "replace")
