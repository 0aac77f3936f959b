"""Errors raised while reading or validating the event contract."""

from __future__ import annotations

from typing import Any


class TalkstreamError(Exception):
    """The root of every error talkstream raises on purpose: a stable ``code``, a readable
    ``message`` and optional ``details``. Each package subclasses it in its own exceptions
    module; how a code is answered (HTTP status, exit code) is decided at the edge."""

    def __init__(self, code: str, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class ContractError(TalkstreamError, ValueError):
    """Input that does not satisfy the event contract (HTTP 422)."""

    status = 422

    def __init__(
        self, code: str, message: str, *, field: str | None = None, details: Any = None
    ) -> None:
        super().__init__(code, message, details=details)
        self.args = (f"{field}: {message}" if field else message,)
        self.field = field


class InvalidPartialDate(ValueError):
    """A string that is not a year, month, day or zoned timestamp."""


class InvalidEvent(ContractError):
    """An event that fails validation; ``field`` names the first offending field."""


class UnknownSchemaVersion(ContractError):
    """An event whose schema_version has no upcaster path to the current version."""
