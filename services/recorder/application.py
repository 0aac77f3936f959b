"""The Negotiations application: record developments, read them back with positions.

Every call that reaches the store raises ``StoreUnavailable`` when the store fails, and
``EventCorrupted`` (naming the position and the negotiation) when a stored event no longer
reads back as written (see ``integrity``); other negotiations are unaffected by the latter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import (
    IntegrityError,
    Mapper,
    Notification,
    Recording,
    StoredEvent,
)

from events import ContractError, Envelope, RecordedEvent
from events.dates import utc_now
from services.recorder import batch, bulk
from services.recorder.batch import InvalidDraft, Policy, Refused, Stopped, Written
from services.recorder.domain import Negotiation, Repeat, negotiation_uuid
from services.recorder.exceptions import (
    BatchRejected,
    ConflictError,
    EventCorrupted,
    NegotiationNotFound,
    RecorderError,
    StoreUnavailable,
)
from services.recorder.group import GroupCommit, Slot
from services.recorder.integrity import OPENED_TOPIC, RECORDED_TOPIC, CheckedMapper
from services.recorder.store import StoreHealth, StoreRecorder, reaching_store, store_recorder

RETRIES_ON_CONCURRENT_WRITE = 5
__all__ = [
    "OPENED_TOPIC",
    "RECORDED_TOPIC",
    "InvalidDraft",
    "Negotiations",
    "Policy",
    "Refused",
    "Written",
]


class _DraftRefused(Exception):
    """A draft of the unit was refused: nothing is saved, and the store's health stays as
    it was (no write reached it)."""

    def __init__(self, stopped: Stopped) -> None:
        super().__init__(stopped.error)
        self.stopped = stopped


@dataclass(frozen=True)
class _Ask:
    """One draft to record, by whom, and the version it expects its negotiation at."""

    draft: Envelope
    principal: str
    expected_version: int | None = None


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
        # called first, in the saving thread, with the saved events' positions (tracing)
        self.on_saved: list[Callable[[list[int]], None]] = []
        self.store_recorder: StoreRecorder = store_recorder(self.recorder)
        self.store = self.store_recorder.store_name
        self.health = StoreHealth(self.store)
        self.group_commit: GroupCommit[_Ask, Written] = GroupCommit(self._commit_group)

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=CheckedMapper
        )

    @property
    def checked_mapper(self) -> CheckedMapper:
        assert isinstance(self.mapper, CheckedMapper)
        return self.mapper

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with reaching_store(self.store):
            yield

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A write (or probe): its store failure is remembered (and logged once), its success
        ends the outage. While the store fails, each write starts on fresh connections."""
        if self.health.problem is not None:
            self.store_recorder.reopen_connections()
        try:
            with reaching_store(self.store):
                yield
        except StoreUnavailable as e:
            self.health.failed(e.message)
            self.store_recorder.reopen_connections()
            raise
        self.health.recovered()

    def store_problem(self) -> str | None:
        """None when the store takes a write now; else why not (for readiness)."""
        try:
            with self._writing():
                self.store_recorder.probe_write()
        except StoreUnavailable as e:
            return e.message
        return None

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        """After each committed save: wake whoever publishes (the relay) in this process."""
        super()._notify(recordings)
        if self.on_saved:
            positions = [r.notification.id for r in recordings]
            for saved in self.on_saved:
                saved(positions)
        for listener in self.after_save:
            listener()

    def record(
        self, draft: Envelope, *, principal: str, expected_version: int | None = None
    ) -> Written:
        """Records one draft. Concurrent calls are committed together (``group``): each is
        validated alone and answered alone, a refused one sinks none of the others, and a
        call with no other in flight is committed at once."""
        return self.group_commit.submit(_Ask(draft, principal, expected_version))

    def _commit_group(self, slots: list[Slot[_Ask, Written]]) -> None:
        """Records the group's drafts in one transaction; a refused draft is answered with
        its refusal and left out, and the rest are tried again without it. A failure that is
        not one draft's (the store failed, a concurrent writer in another process won the
        retries) makes each draft be recorded alone, so each gets the answer it would get
        alone."""
        remaining = list(slots)
        while len(remaining) > 1:
            try:
                outcome = self._record_unit([s.ask for s in remaining])
            except (RecorderError, ContractError):
                break
            if not isinstance(outcome, Stopped):
                for slot, written in zip(remaining, outcome, strict=True):
                    slot.settle(written)
                return
            remaining.pop(outcome.index).settle(error=outcome.error)
        for slot in remaining:
            self._commit_alone(slot)

    def _commit_alone(self, slot: Slot[_Ask, Written]) -> None:
        try:
            outcome = self._record_unit([slot.ask])
        except (RecorderError, ContractError) as error:
            slot.settle(error=error)
            return
        if isinstance(outcome, Stopped):
            slot.settle(error=outcome.error)
        else:
            slot.settle(outcome[0])

    def record_many(
        self,
        drafts: Sequence[Envelope],
        *,
        principal: str,
        expected_version: int | None = None,
    ) -> list[Written]:
        """Records all drafts in one transaction, or none (BatchRejected names the first bad
        one; a lone draft's refusal is raised as it is). Concurrent writers are retried unless
        ``expected_version`` pins the version."""
        outcome = self._record_unit(_asks(drafts, principal, expected_version))
        if not isinstance(outcome, Stopped):
            return outcome
        if len(drafts) == 1:
            raise outcome.error
        raise BatchRejected(outcome.index, outcome.error) from outcome.error

    def record_batch(
        self, drafts: Sequence[Envelope | InvalidDraft], *, principal: str, policy: Policy
    ) -> list[Written | Refused]:
        """One result per draft, in order: what a refusal takes down with it, and which
        failures are raised rather than answered, is the policy's (see ``batch``)."""
        return batch.record_batch(
            drafts, policy, lambda unit: self._record_unit(_asks(unit, principal, None))
        )

    def _record_unit(self, asks: Sequence[_Ask]) -> list[Written] | Stopped:
        pinned = any(ask.expected_version is not None for ask in asks)
        try:
            with self._writing():
                for attempt in range(RETRIES_ON_CONCURRENT_WRITE):
                    try:
                        return self._record_once(asks)
                    except IntegrityError:
                        last = attempt + 1 == RETRIES_ON_CONCURRENT_WRITE
                        if pinned or last:
                            raise ConflictError(
                                "concurrent_write",
                                "another writer recorded to this negotiation first; retry",
                            ) from None
        except _DraftRefused as refused:
            return refused.stopped
        raise AssertionError("unreachable")  # pragma: no cover

    def _record_once(self, asks: Sequence[_Ask]) -> list[Written]:
        now = utc_now()
        loaded: dict[str, Negotiation] = {}
        pending: list[_Pending] = []
        for index, ask in enumerate(asks):
            try:
                pending.append(
                    self._apply(ask.draft, loaded, ask.principal, now, ask.expected_version)
                )
            except (RecorderError, ContractError) as error:
                raise _DraftRefused(Stopped(index, error)) from error
        # Save events in the batch's order (not grouped by negotiation), so positions follow it.
        ordered = [p.event for p in pending if p.event is not None]
        for negotiation in loaded.values():
            negotiation.collect_events()
        recordings = self.save(*ordered)
        self._remember(loaded.values())
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

    def _remember(self, saved: Iterable[Negotiation]) -> None:
        """The cache takes the negotiations as just saved, so that the next write to one of
        them reads none of its own events back from the store (loading still fast-forwards
        a cached negotiation over what other writers recorded since). A copy already newer
        (another thread's save) is kept."""
        cache = self.repository.cache
        if cache is None:
            return
        with self._load_lock:
            for negotiation in saved:
                try:
                    cached = cache.get(negotiation.id)
                except KeyError:
                    cached = None
                if cached is None or cached.version < negotiation.version:
                    cache.put(negotiation.id, negotiation)

    def _load(self, negotiation_id: str) -> Negotiation | None:
        try:
            # The aggregate cache fast-forwards its copy in place: one loader at a time.
            with self._load_lock:
                negotiation: object = self.repository.get(negotiation_uuid(negotiation_id))
        except AggregateNotFoundError:
            return None
        except EventCorrupted as e:
            raise self._located(e, negotiation_id) from e
        if not isinstance(negotiation, Negotiation):  # pragma: no cover
            raise TypeError(f"unexpected aggregate {type(negotiation).__name__}")
        return negotiation

    def negotiation(self, negotiation_id: str) -> Negotiation | None:
        """The negotiation as stored now (a copy of its own), or None if it was never opened."""
        return self._load(negotiation_id)

    def record_stream(
        self,
        drafts: bulk.Numbered,
        *,
        principal: str,
        progress: Callable[[int], None] | None = None,
    ) -> bulk.Imported:
        """Records a long stream of drafts in one transaction or none, in bounded memory (see
        ``bulk``); a concurrent writer to the same negotiations fails it (retry)."""
        try:
            with self._writing():
                imported = bulk.record_stream(self, drafts, principal=principal, progress=progress)
        except IntegrityError:
            raise ConflictError(
                "concurrent_write", "another writer recorded to these negotiations; retry"
            ) from None
        for listener in self.after_save:
            listener()
        return imported

    def _position_of(self, originator_id: UUID, version: int) -> int:
        rows = self.store_recorder.select_with_positions(originator_id, version - 1)
        return rows[0][0]

    def _located(self, e: EventCorrupted, negotiation_id: str | None = None) -> EventCorrupted:
        """The error with the position and the negotiation it is about named."""
        position = e.position
        if position is None and e.originator_id is not None and e.version is not None:
            position = self._position_of(e.originator_id, e.version)
        if negotiation_id is None and e.originator_id is not None:
            negotiation_id = self._negotiation_of(e.originator_id)
        return e.located(position=position, negotiation_id=negotiation_id)

    def _negotiation_of(self, originator_id: UUID) -> str | None:
        """The negotiation id of an aggregate, from its opening event if that reads back."""
        rows = self.store_recorder.select_with_positions(originator_id, 0)
        try:
            return str(self.wire_of(rows[0][1])["negotiation_id"]) if rows else None
        except EventCorrupted:
            return None

    # Reading back

    def history(self, negotiation_id: str, *, after_version: int = 0) -> list[RecordedEvent]:
        """One negotiation's events in version order, each with its position."""
        return [
            RecordedEvent.from_wire(wire, position=position)
            for position, wire in self._stored(negotiation_id, after_version)
        ]

    def wires(self, negotiation_id: str, *, after_version: int = 0) -> list[dict[str, Any]]:
        """One negotiation's events as wire dicts with positions, without re-validating them
        (the fast read for folds; ``history`` gives validated RecordedEvents)."""
        out = []
        for position, wire in self._stored(negotiation_id, after_version):
            wire["position"] = position
            out.append(wire)
        return out

    def _stored(self, negotiation_id: str, after_version: int) -> list[tuple[int, dict[str, Any]]]:
        """(position, wire) of one negotiation's events after ``after_version``, each checked
        and freshly decoded; a missing version is a corrupted history too."""
        with self._reading():
            rows = self.store_recorder.select_with_positions(
                negotiation_uuid(negotiation_id), after_version
            )
        if not rows and after_version == 0:
            raise NegotiationNotFound(negotiation_id)
        out = []
        for expected, (position, stored) in enumerate(rows, start=after_version + 1):
            try:
                if stored.originator_version != expected:
                    raise EventCorrupted(
                        f"version {stored.originator_version} follows {expected - 1}: "
                        "events are missing"
                    )
                out.append((position, cast("dict[str, Any]", self._decoded(stored).wire)))
            except EventCorrupted as e:
                raise e.located(position=position, negotiation_id=negotiation_id) from None
        return out

    def wire_of(self, stored: StoredEvent) -> dict[str, Any]:
        """The stored event's wire form (with its hash, without position), checked and
        freshly decoded (the caller may add to it)."""
        return cast("dict[str, Any]", self._decoded(stored).wire)

    def body_of(self, stored: StoredEvent) -> tuple[str, str]:
        """The stored event's hashed body (canonical JSON text) and its hash, checked."""
        event = self._decoded(stored)
        return event.body.decode("utf-8"), event.wire["hash"]

    def head_of(self, stored: StoredEvent) -> tuple[str, str, str, str]:
        """The stored event's hashed body, its hash, its type and its negotiation id, checked
        as every read is, without building the domain event (what the relay publishes)."""
        try:
            unpacked = self.checked_mapper.checked(stored)
        except EventCorrupted as e:
            if e.position is None or e.negotiation_id is not None:
                raise
            with self._reading():
                raise self._located(e) from e
        wire = unpacked.wire
        return unpacked.body.decode("utf-8"), unpacked.hash, wire["type"], wire["negotiation_id"]

    def _decoded(self, stored: StoredEvent) -> Negotiation.Opened | Negotiation.Recorded:
        """The stored event, checked: a stored notification that fails names its position
        and, if known, its negotiation."""
        try:
            event: Any = self.mapper.to_domain_event(stored)
        except EventCorrupted as e:
            if e.position is None or e.negotiation_id is not None:
                raise
            with self._reading():
                raise self._located(e) from e
        return cast(Negotiation.Opened | Negotiation.Recorded, event)

    def notification_page(self, after: int, limit: int) -> list[Notification]:
        """Up to ``limit`` stored events after position ``after``, not yet decoded."""
        with self._reading():
            return list(self.recorder.select_notifications(after + 1, limit))

    def notifications(self, after: int = 0, page: int = 500) -> Iterator[Notification]:
        """Every stored event in position order."""
        while batch := self.notification_page(after, page):
            yield from batch
            after = batch[-1].id

    def negotiation_ids(self) -> list[str]:
        ids: list[str] = []
        start = 1
        while True:
            with self._reading():
                page = self.recorder.select_notifications(start, 500, topics=[OPENED_TOPIC])
            if not page:
                return ids
            ids.extend(self.wire_of(n)["negotiation_id"] for n in page)
            start = page[-1].id + 1

    def max_position(self) -> int:
        with self._reading():
            return self.recorder.max_notification_id() or 0


def _asks(drafts: Sequence[Envelope], principal: str, expected_version: int | None) -> list[_Ask]:
    """A batch's drafts as asks: ``expected_version`` pins the first draft only."""
    return [
        _Ask(draft, principal, expected_version if index == 0 else None)
        for index, draft in enumerate(drafts)
    ]


def _last_id(negotiation: Negotiation) -> str:
    return next(reversed(negotiation.facts.events))
