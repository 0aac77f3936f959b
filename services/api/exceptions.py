"""Errors the HTTP layer raises itself. Each has a stable ``code`` and its HTTP status; the
write side's and the contract's errors carry their own status and are answered the same way."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class RequestTimeout(ApiError):
    """The request body did not arrive in time."""

    status = 408


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class InvalidRequest(ApiError):
    status = 422


class RateLimited(ApiError):
    status = 429


class NotCaughtUp(ApiError):
    """The views had not applied the asked position when the wait ran out (503)."""

    status = 503


class KeyProblem(ApiError):
    """A key-management problem (unknown key, duplicate name, unreadable file)."""
