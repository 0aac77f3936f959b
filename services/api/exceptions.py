"""Errors the HTTP layer raises itself, each with a stable ``code``. Their statuses, like those
of the contract's and the write side's errors, are in the one table of ``services.api.errors``."""

from __future__ import annotations

from typing import Any

from events.exceptions import TalkstreamError


class ApiError(TalkstreamError):
    """Root of the HTTP layer's errors; ``headers`` go with the answer (e.g. Retry-After)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code, message, details=details)
        self.headers = headers or {}


class Unauthorized(ApiError):
    """No key, or a key that is not known."""


class Forbidden(ApiError):
    """The key's role does not allow it."""


class RequestTimeout(ApiError):
    """The request body did not arrive in time."""


class PayloadTooLarge(ApiError):
    """A body over the size limit."""


class UnsupportedMediaType(ApiError):
    """A body that is not JSON."""


class InvalidRequest(ApiError):
    """A parameter, header or body that is not valid."""


class RateLimited(ApiError):
    """Over the key's rate, or too many open subscriptions."""


class NotCaughtUp(ApiError):
    """The views had not applied the asked position when the wait ran out."""


class KeyProblem(ApiError):
    """A key-management problem (unknown key, duplicate name, unreadable file)."""


class ChangesUnavailable(TalkstreamError):
    """The changes stream cannot be followed now (Redis unreachable, its reader not running);
    the subscribe route answers it as Redis being unavailable."""

    def __init__(self, message: str) -> None:
        super().__init__("changes_unavailable", message)
