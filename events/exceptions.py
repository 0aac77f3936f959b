"""Errors raised while reading or validating the event contract."""

from __future__ import annotations

from typing import Any


class ContractError(ValueError):
    """Input that does not satisfy the event contract (HTTP 422)."""

    status = 422

    def __init__(
        self, code: str, message: str, *, field: str | None = None, details: Any = None
    ) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.code = code
        self.message = message
        self.field = field
        self.details = details


class InvalidPartialDate(ValueError):
    """A string that is not a year, month, day or zoned timestamp."""


class InvalidEvent(ContractError):
    """An event that fails validation; ``field`` names the first offending field."""


class UnknownSchemaVersion(ContractError):
    """An event whose schema_version has no upcaster path to the current version."""
