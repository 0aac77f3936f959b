"""Positions in the change feed on Redis Cluster, where each of the P partitions announces its
changes in its own stream ``<prefix>:{<prefix>.k}:changes`` (a commit's script may only touch
its partition's slot). A reader's position is then a ``Vector``: the last entry ID it took from
each partition's stream. The SSE event ids and the webhook cursors on Cluster are vectors.

A vector's text is compact: ``<base>_<p0>_<p1>_..._<pP-1>`` where ``base`` is the smallest
millisecond part among the partitions read so far and each ``p`` is one partition's last entry
ID as ``<ms - base>`` (sequence 0) or ``<ms - base>-<seq>``, empty for a partition not read yet
(``0-0``). ``1700000000000_0_125-1_`` is: partition 0 through ``1700000000000-0``, partition
1 through ``1700000000125-1``, partition 2 from its start.

A change's own id on Cluster (its CloudEvent id, its ``webhook-id``) is ``<k>-<entry ID>``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.wire.exceptions import BadCursor

EntryId = tuple[int, int]
ZERO: EntryId = (0, 0)
SEPARATOR = "_"
DIGITS = 20
BASE = re.compile(rf"^\d{{1,{DIGITS}}}$")
ITEM = re.compile(rf"^(\d{{1,{DIGITS}}})(?:-(\d{{1,{DIGITS}}}))?$")
EXAMPLE = "1700000000000_0_125-1_"
MAX_TEXT = 8192  # the longest vector taken (about 8 characters a partition)

Entry = tuple[bytes | str, Mapping[bytes, bytes]]  # an XRANGE / XREAD entry: ID and fields


def parse_entry_id(text: str) -> EntryId:
    millis, _, seq = text.partition("-")
    return int(millis), int(seq or 0)


def entry_id_text(entry: EntryId) -> str:
    return f"{entry[0]}-{entry[1]}"


def change_id(partition: int, entry: EntryId) -> str:
    """A change's id on Cluster: its partition and its entry ID there."""
    return f"{partition}-{entry_id_text(entry)}"


@dataclass(frozen=True)
class Vector:
    """The last entry ID taken from each partition's changes stream."""

    entries: tuple[EntryId, ...]

    @classmethod
    def start(cls, partitions: int) -> Vector:
        return cls((ZERO,) * partitions)

    def advanced(self, partition: int, entry: EntryId) -> Vector:
        entries = list(self.entries)
        entries[partition] = entry
        return Vector(tuple(entries))

    def resized(self, partitions: int) -> Vector:
        """The same positions for another partition count: those both have, then the start."""
        kept = self.entries[:partitions]
        return Vector(kept + (ZERO,) * (partitions - len(kept)))

    def covers(self, other: Vector) -> bool:
        """Whether every partition is at least as far as in ``other``."""
        return all(a >= b for a, b in zip(self.entries, other.entries, strict=True))

    def joined(self, other: Vector) -> Vector:
        """The furthest of both, partition by partition."""
        return Vector(tuple(max(a, b) for a, b in zip(self.entries, other.entries, strict=True)))

    def beyond(self, top: Vector) -> int | None:
        """The first partition where this vector is past ``top`` (the streams' ends)."""
        for k, (mine, end) in enumerate(zip(self.entries, top.entries, strict=True)):
            if mine > end:
                return k
        return None

    @property
    def text(self) -> str:
        read = [ms for ms, seq in self.entries if (ms, seq) != ZERO]
        base = min(read) if read else 0
        return SEPARATOR.join([str(base), *(_item(e, base) for e in self.entries)])

    @classmethod
    def parse(cls, text: str, partitions: int) -> Vector:
        """The vector ``text`` spells for ``partitions`` partitions; BadCursor saying why not."""
        if len(text) > MAX_TEXT:
            raise BadCursor(f"longer than {MAX_TEXT} characters")
        base, *items = text.split(SEPARATOR)
        if not items or not BASE.match(base):
            raise BadCursor(
                f"expected a vector of partition positions such as {EXAMPLE} (on Redis Cluster "
                f"the ids this feed sends are vectors), got {text!r}"
            )
        if len(items) != partitions:
            raise BadCursor(
                f"expected {partitions} partition positions (one per partition), got "
                f"{len(items)}: resume only from an id this deployment sent"
            )
        return cls(tuple(_entry(item, int(base), k) for k, item in enumerate(items)))


def _item(entry: EntryId, base: int) -> str:
    if entry == ZERO:
        return ""
    ms, seq = entry
    return f"{ms - base}" if seq == 0 else f"{ms - base}-{seq}"


def _entry(item: str, base: int, partition: int) -> EntryId:
    if item == "":
        return ZERO
    found = ITEM.match(item)
    if found is None:
        raise BadCursor(
            f"partition {partition}: expected <ms offset> or <ms offset>-<seq>, got {item!r}"
        )
    return base + int(found.group(1)), int(found.group(2) or 0)


@dataclass(frozen=True)
class Step:
    """One change read from partition ``partition`` and the reader's vector once it is taken."""

    partition: int
    entry: EntryId
    fields: Mapping[bytes, bytes]
    after: Vector

    @property
    def id(self) -> str:
        return change_id(self.partition, self.entry)


def merged(pages: Sequence[Sequence[Entry]], start: Vector, count: int) -> list[Step]:
    """Pages read after ``start`` (one per partition, in stream order) as one sequence in
    entry ID order (about the time of the commits), at most ``count``, each with the vector
    after it. The changes of one partition keep their order, and a vector only moves a
    partition past changes that come before it, so resuming from any step misses none."""
    tagged = [
        (parse_entry_id(_text(entry_id)), k, fields)
        for k, page in enumerate(pages)
        for entry_id, fields in page
    ]
    tagged.sort(key=lambda t: (t[0], t[1]))
    steps: list[Step] = []
    at = start
    for entry, k, fields in tagged[:count]:
        at = at.advanced(k, entry)
        steps.append(Step(k, entry, fields, at))
    return steps


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
