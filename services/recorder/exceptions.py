"""Errors of the write side. Each has a stable ``code`` and the HTTP status it maps to."""

from __future__ import annotations

from typing import Any, Protocol


class _Problem(Protocol):
    """Why a point in time shows nothing (projections.asof.TooEarly, which the write side
    does not import: the reducers and the recorder stay apart)."""

    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def details(self) -> dict[str, str]: ...


class RecorderError(Exception):
    status = 400

    def __init__(self, code: str, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class InvariantViolation(RecorderError):
    """The event contradicts what the negotiation already holds (HTTP 409)."""

    status = 409


class ConflictError(RecorderError):
    """A concurrent write, a stale ``expected_version`` or a reused idempotency key (409)."""

    status = 409


class NegotiationNotFound(RecorderError):
    status = 404

    def __init__(self, negotiation_id: str) -> None:
        super().__init__(
            "negotiation_not_found",
            f"negotiation {negotiation_id!r} has not been opened",
            details={"negotiation_id": negotiation_id},
        )


class NothingYet(RecorderError):
    """A point in time before the negotiation was known or had opened (HTTP 404):
    ``not_known_yet`` or ``not_opened_yet``, with the first record time or the opening date."""

    status = 404

    @classmethod
    def unless(cls, problem: _Problem | None) -> None:
        if problem is not None:
            raise cls(problem.code, problem.message, details=problem.details)


class StoreUnavailable(RecorderError):
    """The event store could not be reached, configured or written (HTTP 503): a full or
    read-only file, a lost database connection. Nothing was stored; retry later."""

    status = 503


class EventCorrupted(RecorderError):
    """A stored event no longer reads back as it was written (HTTP 503): its bytes do not
    decode or do not match its hash. Reading or writing its negotiation stops there; the
    position (and the negotiation, where it can be told) are filled in once known."""

    status = 503

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
    """One event of a batch was refused, so none was recorded; ``index`` is 0-based."""

    def __init__(self, index: int, cause: Exception) -> None:
        code = getattr(cause, "code", "invalid_event")
        message = getattr(cause, "message", str(cause))
        field = getattr(cause, "field", None)
        self.reason = f"{field}: {message}" if field else message
        super().__init__(
            code, f"event {index + 1}: {self.reason}", details=getattr(cause, "details", None)
        )
        self.status = getattr(cause, "status", 422)
        self.index = index
        self.cause = cause
