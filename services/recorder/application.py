"""The Negotiations application: record developments, read them back with positions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Notification, Recording, StoredEvent
from eventsourcing.utils import get_topic

from events import ContractError, Envelope, RecordedEvent
from events.dates import utc_now
from services.recorder.domain import Negotiation, Repeat, negotiation_uuid, wire_of
from services.recorder.exceptions import (
    BatchRejected,
    ConflictError,
    NegotiationNotFound,
    RecorderError,
)
from services.recorder.store import select_with_positions

RETRIES_ON_CONCURRENT_WRITE = 5
OPENED_TOPIC = get_topic(Negotiation.Opened)
RECORDED_TOPIC = get_topic(Negotiation.Recorded)


@dataclass(frozen=True)
class Written:
    """The answer to a write: where the event now stands. ``duplicate`` marks a re-send."""

    event_id: str
    negotiation_id: str
    position: int
    version: int
    hash: str
    duplicate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Pending:
    negotiation: Negotiation
    version: int
    event_id: str
    hash: str
    event: Any = None  # the new domain event; None for a re-sent duplicate


class Negotiations(Application[UUID]):
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "256"}

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        self._load_lock = threading.Lock()
        self.after_save: list[Callable[[], None]] = []

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        """After each committed save: wake whoever publishes (the relay) in this process."""
        super()._notify(recordings)
        for listener in self.after_save:
            listener()

    def record(
        self, draft: Envelope, *, principal: str, expected_version: int | None = None
    ) -> Written:
        return self.record_many([draft], principal=principal, expected_version=expected_version)[0]

    def record_many(
        self,
        drafts: Sequence[Envelope],
        *,
        principal: str,
        expected_version: int | None = None,
    ) -> list[Written]:
        """Records all drafts in one transaction, or none (BatchRejected names the first bad
        one). Concurrent writers are retried unless ``expected_version`` pins the version."""
        for attempt in range(RETRIES_ON_CONCURRENT_WRITE):
            try:
                return self._record_once(drafts, principal, expected_version)
            except IntegrityError:
                if expected_version is not None or attempt + 1 == RETRIES_ON_CONCURRENT_WRITE:
                    raise ConflictError(
                        "concurrent_write",
                        "another writer recorded to this negotiation first; retry",
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _record_once(
        self, drafts: Sequence[Envelope], principal: str, expected_version: int | None
    ) -> list[Written]:
        now = utc_now()
        loaded: dict[str, Negotiation] = {}
        pending: list[_Pending] = []
        for index, draft in enumerate(drafts):
            try:
                pinned = expected_version if index == 0 else None
                pending.append(self._apply(draft, loaded, principal, now, pinned))
            except (RecorderError, ContractError) as error:
                if len(drafts) == 1:
                    raise
                raise BatchRejected(index, error) from error
        # Save events in the batch's order (not grouped by negotiation), so positions follow it.
        ordered = [p.event for p in pending if p.event is not None]
        for negotiation in loaded.values():
            negotiation.collect_events()
        recordings = self.save(*ordered)
        positions = {
            (r.domain_event.originator_id, r.domain_event.originator_version): r.notification.id
            for r in recordings
        }
        return [self._written(p, positions) for p in pending]

    def _apply(
        self,
        draft: Envelope,
        loaded: dict[str, Negotiation],
        principal: str,
        now: Any,
        expected_version: int | None,
    ) -> _Pending:
        negotiation = loaded.get(draft.negotiation_id) or self._load(draft.negotiation_id)
        if negotiation is None:
            if draft.type != "NegotiationOpened":
                raise NegotiationNotFound(draft.negotiation_id)
            if expected_version not in (None, 0):
                raise ConflictError(
                    "version_conflict",
                    f"expected version {expected_version}, the negotiation does not exist yet",
                    details={"current_version": 0},
                )
            negotiation = Negotiation.open(draft, principal=principal, now=now)
            loaded[draft.negotiation_id] = negotiation
            return _Pending(
                negotiation,
                1,
                _last_id(negotiation),
                negotiation.facts.last_hash or "",
                negotiation.pending_events[-1],
            )
        loaded[draft.negotiation_id] = negotiation
        repeat = negotiation.repeat_of(draft)
        if isinstance(repeat, Repeat):
            first = repeat.first
            return _Pending(negotiation, first.version, first.event_id, first.hash)
        event = negotiation.record(
            draft, principal=principal, now=now, expected_version=expected_version
        )
        return _Pending(
            negotiation,
            event.stamp.version,
            event.event_id,
            event.stamp.hash,
            negotiation.pending_events[-1],
        )

    def _written(self, p: _Pending, positions: dict[tuple[UUID, int], int]) -> Written:
        key = (p.negotiation.id, p.version)
        position = positions.get(key) or self._position_of(*key)
        return Written(
            event_id=p.event_id,
            negotiation_id=p.negotiation.facts.negotiation_id,
            position=position,
            version=p.version,
            hash=p.hash,
            duplicate=p.event is None,
        )

    def _load(self, negotiation_id: str) -> Negotiation | None:
        try:
            # The aggregate cache fast-forwards its copy in place: one loader at a time.
            with self._load_lock:
                negotiation: object = self.repository.get(negotiation_uuid(negotiation_id))
        except AggregateNotFoundError:
            return None
        if not isinstance(negotiation, Negotiation):  # pragma: no cover
            raise TypeError(f"unexpected aggregate {type(negotiation).__name__}")
        return negotiation

    def _position_of(self, originator_id: UUID, version: int) -> int:
        rows = select_with_positions(self.recorder, originator_id, version - 1)
        return rows[0][0]

    # Reading back

    def history(self, negotiation_id: str, *, after_version: int = 0) -> list[RecordedEvent]:
        """One negotiation's events in version order, each with its position."""
        rows = select_with_positions(self.recorder, negotiation_uuid(negotiation_id), after_version)
        if not rows and after_version == 0:
            raise NegotiationNotFound(negotiation_id)
        return [self.decode(stored, position) for position, stored in rows]

    def wires(self, negotiation_id: str, *, after_version: int = 0) -> list[dict[str, Any]]:
        """One negotiation's events as wire dicts with positions, without re-validating them
        (the fast read for folds; ``history`` gives validated RecordedEvents)."""
        rows = select_with_positions(self.recorder, negotiation_uuid(negotiation_id), after_version)
        if not rows and after_version == 0:
            raise NegotiationNotFound(negotiation_id)
        out = []
        for position, stored in rows:
            wire = self.wire_of(stored)
            wire["position"] = position
            out.append(wire)
        return out

    def decode(self, stored: StoredEvent, position: int | None = None) -> RecordedEvent:
        wire = self.wire_of(stored)
        return RecordedEvent.from_wire(wire, position=position)

    def wire_of(self, stored: StoredEvent) -> dict[str, Any]:
        return wire_of(*self.body_of(stored))

    def body_of(self, stored: StoredEvent) -> tuple[str, str]:
        """The stored event's hashed body (canonical JSON text) and its hash."""
        event: Any = self.mapper.to_domain_event(stored)
        return event.body, event.hash

    def notifications(self, after: int = 0, page: int = 500) -> Iterator[Notification]:
        """Every stored event in position order."""
        start = after + 1
        while batch := self.recorder.select_notifications(start, page):
            yield from batch
            start = batch[-1].id + 1

    def negotiation_ids(self) -> list[str]:
        ids: list[str] = []
        start = 1
        while page := self.recorder.select_notifications(start, 500, topics=[OPENED_TOPIC]):
            ids.extend(self.wire_of(n)["negotiation_id"] for n in page)
            start = page[-1].id + 1
        return ids

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0


def _last_id(negotiation: Negotiation) -> str:
    return next(reversed(negotiation.facts.events))
