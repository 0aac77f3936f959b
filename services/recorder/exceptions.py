"""Errors of the write side. Each has a stable ``code`` and the HTTP status it maps to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from projections.asof import TooEarly


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
    def unless(cls, problem: TooEarly | None) -> None:
        if problem is not None:
            raise cls(problem.code, problem.message, details=problem.details)


class StoreUnavailable(RecorderError):
    """The event store could not be reached or configured (HTTP 503)."""

    status = 503


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
