"""The audit check: every stored event decodes, hashes to its ``hash``, and chains to the
previous event of its negotiation (``prev_hash``, contiguous versions).

Hashes are checked against the bytes as stored (before any upcasting). Deleting an event in
the middle of a negotiation breaks the chain; deleting the newest needs the signed checkpoints.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from eventsourcing.persistence import Notification
from eventsourcing.utils import TopicError, get_topic

from events import canonical_json
from events.dates import format_utc
from services.recorder.application import OPENED_TOPIC, RECORDED_TOPIC, Negotiations
from services.recorder.domain import Negotiation, negotiation_uuid
from services.recorder.integrity import Unpacked

AGGREGATE_TOPIC = get_topic(Negotiation)


@dataclass(frozen=True)
class Problem:
    position: int
    negotiation_id: str
    reason: str


@dataclass
class AuditReport:
    checked: int = 0
    last_position: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Chain:
    version: int = 0
    last_hash: str | None = None


def verify(app: Negotiations, *, progress: Callable[[int], None] | None = None) -> AuditReport:
    return verify_notifications(app, app.notifications(), progress=progress)


def verify_notifications(
    app: Negotiations,
    notifications: Iterable[Notification],
    *,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    report = AuditReport()
    chains: dict[str, _Chain] = {}
    for n in notifications:
        report.checked += 1
        report.last_position = n.id
        reason, negotiation_id = _check(app, n, chains)
        if reason:
            report.problems.append(Problem(n.id, negotiation_id, reason))
        if progress is not None and report.checked % 1000 == 0:
            progress(report.checked)
    return report


def _check(app: Negotiations, n: Notification, chains: dict[str, _Chain]) -> tuple[str, str]:
    if n.topic not in (OPENED_TOPIC, RECORDED_TOPIC):
        return f"unexpected topic {n.topic!r}", "?"
    try:
        unpacked = app.checked_mapper.unpack(n)
        if not unpacked.fields_ok:
            return "unexpected stored fields", "?"
        wire = unpacked.wire
        negotiation_id = str(wire["negotiation_id"])
        problems = _problems(n, unpacked, wire)
        canonical = unpacked.stored_again(app.checked_mapper.transcoder) == n.state
    except (ValueError, KeyError, TypeError, AttributeError, TopicError) as e:
        return f"undecodable stored event ({type(e).__name__})", "?"
    chain = chains.setdefault(negotiation_id, _Chain())
    if n.originator_version != chain.version + 1:
        problems.append(
            f"version {n.originator_version} follows {chain.version}: events are missing"
        )
    elif wire.get("prev_hash") != chain.last_hash:
        problems.append("prev_hash does not match the previous event's hash")
    if not canonical:
        problems.append("stored bytes differ from their canonical encoding")
    chain.version = n.originator_version
    chain.last_hash = wire.get("hash")
    return "; ".join(problems), negotiation_id


def _problems(n: Notification, unpacked: Unpacked, wire: dict[str, Any]) -> list[str]:
    """What is wrong with one stored event on its own (not counting the chain)."""
    opening = n.topic == OPENED_TOPIC
    checks = [
        (
            n.originator_id == negotiation_uuid(wire["negotiation_id"]),
            "stored under another negotiation's id",
        ),
        (
            wire.get("version") == n.originator_version,
            f"version {wire.get('version')} differs from stored version {n.originator_version}",
        ),
        (
            sha256(unpacked.body).hexdigest() == unpacked.hash,
            "hash does not match the event's content",
        ),
        (
            canonical_json(json.loads(unpacked.body)) == unpacked.body,
            "stored body is not canonical JSON",
        ),
        (
            format_utc(unpacked.timestamp) == wire.get("recorded_at"),
            "stored timestamp differs from recorded_at",
        ),
        (opening == (n.originator_version == 1), "opening event out of place"),
        (
            not opening or unpacked.originator_topic == AGGREGATE_TOPIC,
            "opening event names another aggregate class",
        ),
    ]
    return [reason for ok, reason in checks if not ok]
