"""Recording a long stream of drafts (an import file) in one transaction, in bounded memory.

The drafts are checked one by one as they come, against each negotiation's facts, and written
in pieces of ``PIECE`` events into one open transaction of the store (``StoreRecorder.bulk``):
the first refusal rolls the whole transaction back, so all or nothing still holds, but only
the current piece and each negotiation's facts are in memory, never every parsed line. The
facts are slim (``Facts.slim``): an inert event keeps no text, and a correction reads its
target back through the same transaction, after the pending piece is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from events import CORRECTIONS, ContractError, Envelope
from events.dates import utc_now
from services.recorder.batch import store_failed
from services.recorder.domain import Negotiation
from services.recorder.exceptions import LineRejected, NegotiationNotFound, RecorderError
from services.recorder.store import BulkWrite

if TYPE_CHECKING:
    from services.recorder.application import Negotiations

PIECE = 2000
"""Events written to the open transaction at a time."""

Numbered = Iterable[tuple[int, Envelope]]
"""Drafts with the line each came from, as they are read."""


@dataclass
class Imported:
    """What an import recorded: new events, and re-sent ones already present."""

    new: int = 0
    present: int = 0
    pieces: int = 0  # pieces written to the transaction (more than one: memory stayed bounded)


@dataclass
class _Session:
    app: Negotiations
    write: BulkWrite
    principal: str
    now: datetime
    held: dict[str, Negotiation] = field(default_factory=dict)
    piece: list[Any] = field(default_factory=list)  # the domain events not written yet
    imported: Imported = field(default_factory=Imported)

    def take(self, draft: Envelope) -> None:
        if draft.type in CORRECTIONS:
            self.flush()  # its target is read back through the transaction
        negotiation = self._negotiation(draft)
        if negotiation is None:
            self._open(draft)
        elif negotiation.repeat_of(draft) is not None:
            self.imported.present += 1
        else:
            negotiation.record(draft, principal=self.principal, now=self.now)
            self._pending(negotiation)
        if len(self.piece) >= PIECE:
            self.flush()

    def flush(self) -> None:
        if not self.piece:
            return
        self.write.insert([self.app.mapper.to_stored_event(e) for e in self.piece])
        self.piece.clear()
        self.imported.pieces += 1
        for negotiation in self.held.values():
            negotiation.collect_events()

    def _negotiation(self, draft: Envelope) -> Negotiation | None:
        held = self.held.get(draft.negotiation_id)
        if held is not None:
            return held
        stored = self.app.negotiation(draft.negotiation_id)
        if stored is not None:
            stored.facts.slim(self._fetch(stored.id))
            self.held[draft.negotiation_id] = stored
        return stored

    def _open(self, draft: Envelope) -> None:
        if draft.type != "NegotiationOpened":
            raise NegotiationNotFound(draft.negotiation_id)
        negotiation = Negotiation.open(draft, principal=self.principal, now=self.now)
        negotiation.facts.slim(self._fetch(negotiation.id))
        self.held[draft.negotiation_id] = negotiation
        self._pending(negotiation)

    def _pending(self, negotiation: Negotiation) -> None:
        self.piece.append(negotiation.pending_events[-1])
        self.imported.new += 1

    def _fetch(self, originator_id: UUID) -> Callable[[int], dict[str, Any]]:
        def payload(version: int) -> dict[str, Any]:
            wire = self.app.wire_of(self.write.stored_at(originator_id, version))
            return dict(wire["payload"])

        return payload


def record_stream(
    app: Negotiations,
    drafts: Numbered,
    *,
    principal: str,
    progress: Callable[[int], None] | None = None,
) -> Imported:
    """Records every draft in one transaction, or none: the first refused draft raises
    ``LineRejected`` naming its line (a failure of the store is raised as it is)."""
    with app.store_recorder.bulk() as write:
        session = _Session(app, write, principal, utc_now())
        for count, (number, draft) in enumerate(drafts, start=1):
            try:
                session.take(draft)
            except (RecorderError, ContractError) as e:
                if store_failed(e):
                    raise
                raise LineRejected(number, e.code, str(e)) from None
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
        session.flush()
    return session.imported


PROGRESS_EVERY = 50_000
