"""Errors of the write side. Each has a stable ``code``; the edges decide how it is answered
(the HTTP status in ``services.api.errors``, the exit code in ``services.cli.exits``)."""

from __future__ import annotations

from typing import Any, Protocol

from events.exceptions import TalkstreamError


class _Problem(Protocol):
    """Why a point in time shows nothing (projections.asof.TooEarly, which the write side
    does not import: the reducers and the recorder stay apart)."""

    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def details(self) -> dict[str, str]: ...


class RecorderError(TalkstreamError):
    """Root of the write side's errors."""


class InvariantViolation(RecorderError):
    """The event contradicts what the negotiation already holds."""


class ConflictError(RecorderError):
    """A concurrent write, a stale ``expected_version`` or a reused idempotency key."""


class NegotiationNotFound(RecorderError):
    """A negotiation that has not been opened."""

    def __init__(self, negotiation_id: str) -> None:
        super().__init__(
            "negotiation_not_found",
            f"negotiation {negotiation_id!r} has not been opened",
            details={"negotiation_id": negotiation_id},
        )


class NothingYet(RecorderError):
    """A point in time before the negotiation was known or had opened: ``not_known_yet`` or
    ``not_opened_yet``, with the first record time or the opening date."""

    @classmethod
    def unless(cls, problem: _Problem | None) -> None:
        if problem is not None:
            raise cls(problem.code, problem.message, details=problem.details)


class StoreFault(RecorderError):
    """The store failed, not the input: nothing was stored, and the same write may succeed
    once the store is reachable or repaired again."""


class StoreUnavailable(StoreFault):
    """The event store could not be reached, configured or written: a full or read-only file,
    a lost database connection. A write that found it so stored nothing; one whose connection
    broke during its commit may have been stored: retry later with the same idempotency key."""


class EventCorrupted(StoreFault):
    """A stored event no longer reads back as it was written: its bytes do not decode or do
    not match its hash. Reading or writing its negotiation stops there; the position (and the
    negotiation, where it can be told) are filled in once known."""

    def __init__(
        self,
        reason: str,
        *,
        position: int | None = None,
        negotiation_id: str | None = None,
        originator_id: Any = None,
        version: int | None = None,
    ) -> None:
        self.reason = reason
        self.position = position
        self.negotiation_id = negotiation_id
        self.originator_id = originator_id
        self.version = version
        where = f"at position {position}" if position is not None else f"version {version}"
        whose = f" of negotiation {negotiation_id!r}" if negotiation_id else ""
        super().__init__(
            "event_corrupted",
            f"the stored event {where}{whose} is corrupted ({reason}); this negotiation's "
            "stored history cannot be read until the event is restored from a backup "
            "(`talkstream audit verify` lists every damaged event)",
            details={"negotiation_id": negotiation_id, "position": position},
        )

    def located(self, *, position: int | None, negotiation_id: str | None) -> EventCorrupted:
        """The same problem with its position and negotiation named."""
        return EventCorrupted(
            self.reason,
            position=position if position is not None else self.position,
            negotiation_id=negotiation_id or self.negotiation_id,
            originator_id=self.originator_id,
            version=self.version,
        )


class BatchRejected(RecorderError):
    """One event of a batch was refused, so none was recorded; ``index`` is 0-based. The edges
    answer it as they answer its ``cause``."""

    def __init__(self, index: int, cause: Exception) -> None:
        code = getattr(cause, "code", "invalid_event")
        message = getattr(cause, "message", str(cause))
        field = getattr(cause, "field", None)
        self.reason = f"{field}: {message}" if field else message
        super().__init__(
            code, f"event {index + 1}: {self.reason}", details=getattr(cause, "details", None)
        )
        self.index = index
        self.cause = cause


class LineRejected(RecorderError):
    """A line of an import file that is not a valid event; nothing was recorded."""

    def __init__(self, line: int, code: str, message: str) -> None:
        super().__init__(code, f"line {line}: {message}", details={"line": line})
        self.line = line


def store_at_fault(error: BaseException) -> bool:
    """Whether ``error`` (or, for a rejected batch, the event's refusal) is a failure of the
    store rather than a refusal of the input: retried rather than reported as refused."""
    cause = error.cause if isinstance(error, BatchRejected) else error
    return isinstance(cause, StoreFault)


class LedgerError(RecorderError):
    """A request the verifiable log cannot answer as asked (``services.recorder.ledger``)."""


class LedgerNotFound(LedgerError):
    """Something the log does not hold (yet): a position not in the tree, no checkpoint, a
    tile beyond the tree."""


class LogKeyProblem(LedgerError):
    """The log's signing key cannot be read or used: a bad key text, a key named for another
    origin, an unreadable key file."""
