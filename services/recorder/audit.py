"""The store's half of the audit: every stored event decodes, hashes to its ``hash``, and
chains to the previous event of its negotiation (``prev_hash``, contiguous versions), in one
pass that hands each event on to the other checks (the log, the stream, the views).

Hashes are checked against the bytes as stored (before any upcasting). Deleting an event in
the middle of a negotiation breaks its chain; deleting the newest needs the signed checkpoints
(``services.recorder.ledger``). Every problem is a ``Finding`` of one of ``KINDS``.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any, Protocol

import orjson
from eventsourcing.persistence import Notification
from eventsourcing.utils import TopicError, get_topic

from events import canonical_json, with_hash
from events.canonical import DIGEST_SIZE, HASH_MEMBER
from events.dates import format_utc
from services.recorder.application import OPENED_TOPIC, RECORDED_TOPIC, Negotiations
from services.recorder.domain import Negotiation
from services.recorder.integrity import Unpacked, uuid_of
from services.recorder.legacy import FIRST_KEY

AGGREGATE_TOPIC = get_topic(Negotiation)
ALTERED_BYTES = "altered_bytes"
BROKEN_LINK = "broken_link"
MISSING_EVENT = "missing_event"
EXTRA_EVENT = "extra_event"
REORDERED = "reordered"
BAD_SIGNATURE = "bad_signature"
STREAM_MISMATCH = "stream_mismatch"
VIEW_DRIFT = "view_drift"
KINDS = (
    ALTERED_BYTES,
    BROKEN_LINK,
    MISSING_EVENT,
    EXTRA_EVENT,
    REORDERED,
    BAD_SIGNATURE,
    STREAM_MISMATCH,
    VIEW_DRIFT,
)
UNKNOWN = "?"  # the negotiation of an event that does not decode
SORTED = orjson.OPT_SORT_KEYS
PAGE = 5000  # stored events read per query
RUN = 1000  # events handed on to the other checks at a time
COLLECT_EVERY = 32 * RUN  # events between collections of the youngest objects in a pass
HASH_START = len(HASH_MEMBER)


@dataclass(frozen=True)
class Finding:
    """One thing wrong: its kind, where (the first bad position, when there is one) and why."""

    kind: str
    position: int | None
    negotiation_id: str | None
    reason: str

    def line(self) -> str:
        where = f"position {self.position}" if self.position is not None else "the log"
        of = f" ({self.negotiation_id})" if self.negotiation_id else ""
        return f"{self.kind} at {where}{of}: {self.reason}"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "position": self.position,
            "negotiation_id": self.negotiation_id,
            "reason": self.reason,
        }


@dataclass
class AuditReport:
    """What a verification checked and found. ``checks`` names each part and its outcome
    (``ok``, ``failed`` or ``skipped: <why>``)."""

    checked: int = 0
    last_position: int = 0
    findings: list[Finding] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def problems(self) -> list[Finding]:
        return self.findings

    @property
    def first(self) -> Finding | None:
        """The finding at the lowest position (one without a position comes last)."""
        return min(self.findings, key=_order, default=None)

    def add(self, part: str, findings: Sequence[Finding]) -> None:
        """Adds a part's findings (one per kind and position) and its outcome."""
        seen = {(f.kind, f.position) for f in self.findings}
        self.findings.extend(f for f in findings if (f.kind, f.position) not in seen)
        self.checks[part] = "failed" if findings else "ok"

    def skip(self, part: str, why: str) -> None:
        self.checks[part] = f"skipped: {why}"

    def as_json(self) -> dict[str, Any]:
        first = self.first
        return {
            "ok": self.ok,
            "checked": self.checked,
            "last_position": self.last_position,
            "checks": self.checks,
            "first": first.as_json() if first else None,
            "findings": [f.as_json() for f in sorted(self.findings, key=_order)],
        }


def _order(f: Finding) -> tuple[int, int]:
    return (0, f.position) if f.position is not None else (1, 0)


@dataclass(slots=True)
class Seen:
    """One stored event as the store pass read it, handed to the other checks."""

    position: int
    negotiation_id: str
    hash: str  # the hash stored with the event
    body: bytes  # the bytes that were hashed, as stored
    wire: dict[str, Any] | None  # the event with its hash (None: it does not decode)
    body_hash: str  # what the stored bytes hash to (the leaf's hash)
    body_digest: bytes = b""  # the same as 32 bytes (empty: not computed)

    @property
    def digest(self) -> bytes:
        return self.body_digest or bytes.fromhex(self.body_hash)


def _seen(position: int, nid: str, digest: str, body: bytes, wire: Any = None) -> Seen:
    return Seen(position, nid, digest, body, wire, sha256(body).hexdigest())


class Observer(Protocol):
    """A check fed by the store pass in position order, a run of events at a time."""

    def see_all(self, seen: Sequence[Seen]) -> None: ...


@dataclass
class _Chain:
    version: int = 0
    last_hash: str | None = None
    gap_at: int | None = None  # index in the findings of the last missing-versions finding


def verify(
    app: Negotiations,
    *,
    observers: Iterable[Observer] = (),
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """The store pass over every stored event; each is handed to ``observers`` too."""
    notifications = app.notifications(page=PAGE)
    return verify_notifications(app, notifications, observers=observers, progress=progress)


def verify_notifications(
    app: Negotiations,
    notifications: Iterable[Notification],
    *,
    observers: Iterable[Observer] = (),
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    report = AuditReport()
    found: list[Finding] = []
    chains: dict[str, _Chain] = {}
    watching = list(observers)
    run: list[Seen] = []
    with collector_paused():
        for n in notifications:
            report.checked += 1
            report.last_position = n.id
            run.append(_sound(n, chains) or _check(app, n, chains, found))
            if len(run) == RUN:
                _hand_on(run, watching)
                run = []
                if report.checked % COLLECT_EVERY == 0:
                    gc.collect(0)
            if progress is not None and report.checked % 1000 == 0:
                progress(report.checked)
        _hand_on(run, watching)
    report.add("store", found)
    return report


def _hand_on(run: list[Seen], observers: list[Observer]) -> None:
    if run:
        for observer in observers:
            observer.see_all(run)


class _Collector:
    """Pauses Python's cyclic garbage collector while any store pass runs. A pass makes
    hundreds of short-lived containers per stored event (the parsed events, the rows read)
    and no reference cycles; left on, the collector runs a full collection of the whole heap
    every few tens of thousands of events, which cost a third of a pass. Memory is freed by
    reference counting as before; any cycles the other checks make are collected among the
    youngest objects every ``COLLECT_EVERY`` events, and in full when the last pass ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.passes = 0
        self.resume = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        with self.lock:
            if self.passes == 0:
                self.resume = gc.isenabled()
                gc.disable()
            self.passes += 1
        try:
            yield
        finally:
            with self.lock:
                self.passes -= 1
                if self.passes == 0 and self.resume:
                    gc.enable()


_COLLECTOR = _Collector()
collector_paused = _COLLECTOR.paused


def _sound(n: Notification, chains: dict[str, _Chain]) -> Seen | None:
    """The usual row at the least cost: a row of the current format that passes every check
    of ``_check`` and ``_link`` (the same tests on the same values), or None, leaving the row
    and its chain untouched for ``_check`` to find and name what is wrong."""
    state = n.state
    at = state.find(HASH_MEMBER)
    end = at + HASH_START + DIGEST_SIZE
    if at < 0 or state[end : end + 1] != b'"' or state.startswith(FIRST_KEY):
        return None
    body = state[:at] + state[end + 1 :]
    digest = sha256(body).digest()
    hash_hex = state[at + HASH_START : end].decode("ascii", "replace")
    body_hash = digest.hex()
    if body_hash != hash_hex:
        return None
    try:
        wire = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(wire, dict):
        return None
    wire["hash"] = hash_hex
    negotiation_id = wire.get("negotiation_id")
    version = n.originator_version
    chain = chains.get(negotiation_id) if isinstance(negotiation_id, str) else None
    if (
        not isinstance(negotiation_id, str)
        or (chain.version if chain else 0) + 1 != version
        or wire.get("prev_hash") != (chain.last_hash if chain else None)
        or wire.get("version") != version
        or (n.topic == OPENED_TOPIC) != (version == 1)
        or n.topic not in (RECORDED_TOPIC, OPENED_TOPIC)
        or n.originator_id != uuid_of(negotiation_id)
        or orjson.dumps(wire, option=SORTED) != state
    ):
        return None
    if chain is None:
        chain = chains[negotiation_id] = _Chain()
    chain.version = version
    chain.last_hash = hash_hex
    return Seen(n.id, negotiation_id, hash_hex, body, wire, body_hash, digest)


def _check(
    app: Negotiations, n: Notification, chains: dict[str, _Chain], found: list[Finding]
) -> Seen:
    if n.topic not in (OPENED_TOPIC, RECORDED_TOPIC):
        found.append(Finding(ALTERED_BYTES, n.id, None, f"unexpected topic {n.topic!r}"))
        return _seen(n.id, UNKNOWN, "", n.state)
    try:
        unpacked = app.checked_mapper.unpack(n)
        if not unpacked.fields_ok:
            found.append(Finding(ALTERED_BYTES, n.id, None, "unexpected stored fields"))
            return _seen(n.id, UNKNOWN, unpacked.hash, unpacked.body)
        wire = unpacked.wire
        negotiation_id = str(wire["negotiation_id"])
        body_hash = sha256(unpacked.body).hexdigest()
        # the usual case at once: the row is the sorted JSON of the event with its hash
        exact = unpacked.first_format is None and orjson.dumps(wire, option=SORTED) == n.state
        problems = _problems(n, unpacked, wire, body_hash, exact)
        if not exact and not _stored_canonically(app, n, unpacked, wire):
            problems.append("stored bytes differ from their canonical encoding")
    except (ValueError, KeyError, TypeError, AttributeError, TopicError) as e:
        reason = f"undecodable stored event ({type(e).__name__})"
        found.append(Finding(ALTERED_BYTES, n.id, None, reason))
        return _seen(n.id, UNKNOWN, "", n.state)
    if problems:
        found.append(Finding(ALTERED_BYTES, n.id, negotiation_id, "; ".join(problems)))
    _link(n, wire, chains.setdefault(negotiation_id, _Chain()), negotiation_id, found)
    return Seen(n.id, negotiation_id, unpacked.hash, unpacked.body, wire, body_hash)


def _stored_canonically(
    app: Negotiations, n: Notification, unpacked: Unpacked, wire: dict[str, Any]
) -> bool:
    """The row is exactly what its format stores for this content: the body with its hash
    spliced in (the mapper's own write), or the first format's encoding."""
    if unpacked.first_format is not None:
        return unpacked.stored_again(app.checked_mapper.transcoder) == n.state
    return with_hash(unpacked.body, str(wire["event_id"]), unpacked.hash) == n.state


def _canonical(body: bytes, wire: dict[str, Any]) -> bool:
    """The body is canonical JSON: orjson's sorted output first (fast), canonical_json itself
    when they differ (their number spellings may)."""
    content = {k: v for k, v in wire.items() if k != "hash"}
    if orjson.dumps(content, option=SORTED) == body:
        return True
    return canonical_json(json.loads(body)) == body


def _link(
    n: Notification, wire: dict[str, Any], chain: _Chain, negotiation_id: str, found: list[Finding]
) -> None:
    """The event against its negotiation's chain so far. A version lower than one already seen
    means events were reordered (the earlier gap it fills was a reordering too)."""
    version = n.originator_version
    if version <= chain.version:
        reason = f"version {version} comes after version {chain.version}"
        found.append(Finding(REORDERED, n.id, negotiation_id, reason))
        if chain.gap_at is not None:
            gap = found[chain.gap_at]
            found[chain.gap_at] = Finding(REORDERED, gap.position, gap.negotiation_id, gap.reason)
            chain.gap_at = None
        return
    if version != chain.version + 1:
        reason = f"version {version} follows {chain.version}: events are missing"
        chain.gap_at = len(found)
        found.append(Finding(MISSING_EVENT, n.id, negotiation_id, reason))
    elif wire.get("prev_hash") != chain.last_hash:
        reason = "prev_hash does not match the previous event's hash"
        found.append(Finding(BROKEN_LINK, n.id, negotiation_id, reason))
    chain.version = version
    chain.last_hash = wire.get("hash")


def _problems(
    n: Notification, unpacked: Unpacked, wire: dict[str, Any], body_hash: str, exact: bool
) -> list[str]:
    """What is wrong with one stored event on its own (not counting the chain). A row of the
    current format keeps no timestamp apart from ``recorded_at``; the first format does."""
    opening = n.topic == OPENED_TOPIC
    checks = [
        (
            n.originator_id == uuid_of(wire["negotiation_id"]),
            "stored under another negotiation's id",
        ),
        (
            wire.get("version") == n.originator_version,
            f"version {wire.get('version')} differs from stored version {n.originator_version}",
        ),
        (body_hash == unpacked.hash, "hash does not match the event's content"),
        (exact or _canonical(unpacked.body, wire), "stored body is not canonical JSON"),
        (
            unpacked.first_format is None
            or format_utc(unpacked.timestamp) == wire.get("recorded_at"),
            "stored timestamp differs from recorded_at",
        ),
        (opening == (n.originator_version == 1), "opening event out of place"),
        (
            not opening or unpacked.originator_topic == AGGREGATE_TOPIC,
            "opening event names another aggregate class",
        ),
    ]
    return [reason for ok, reason in checks if not ok]
