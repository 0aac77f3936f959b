"""The one root of talkstream's errors, and the errors of the event contract.

Every error talkstream raises on purpose is a ``TalkstreamError`` declared in its package's one
``exceptions`` module, with a stable ``code``. How an error is answered is decided at the edges
and nowhere else: the HTTP status in the API adapter (``services.api.errors``), the exit code in
the CLI (``services.cli.exits``).

Two kinds of exception are deliberately not under the root: the plain ``ValueError`` that
validators inside the pydantic models raise (pydantic requires it; ``parse_draft`` turns the
validation error into ``InvalidEvent``), and private signals that never leave the module raising
them (an underscore name, e.g. ``events.json_input._Refusal``).
"""

from __future__ import annotations

from collections.abc import Iterable
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
    """Input that does not satisfy the event contract. Also a ``ValueError``, so that callers
    (and pydantic validators) that catch the builtin keep working."""

    def __init__(
        self, code: str, message: str, *, field: str | None = None, details: Any = None
    ) -> None:
        super().__init__(code, message, details=details)
        self.args = (f"{field}: {message}" if field else message,)
        self.field = field


class InvalidPartialDate(ContractError):
    """A string that is not a year, month, day or zoned timestamp. ``PartialDate.parse`` raises
    it to any caller, so it is a contract error (and so still a ``ValueError``)."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_date", message)


class InvalidEvent(ContractError):
    """An event that fails validation; ``field`` names the first offending field."""


class UnknownSchemaVersion(ContractError):
    """An event whose schema_version has no upcaster path to the current version."""


class InvalidJson(ContractError):
    """JSON text that is refused: not UTF-8, not JSON, nested too deeply (``invalid_json``), a
    duplicate key (``duplicate_key``) or an integer out of range (``number_out_of_range``).
    ``field`` is the path of the problem in the document, or the document's own name."""


class RegistryMismatch(TalkstreamError):
    """A layer's per-type table disagrees with the contract's event types."""

    def __init__(
        self,
        layer: str,
        *,
        missing: Iterable[str] = (),
        unknown: Iterable[str] = (),
        misshapen: Iterable[str] = (),
    ) -> None:
        self.layer = layer
        self.missing = sorted(missing)
        self.unknown = sorted(unknown)
        self.misshapen = sorted(misshapen)
        problems = []
        if self.missing:
            problems.append(f"no entry for {', '.join(self.missing)}")
        if self.unknown:
            problems.append(f"entries for unknown types {', '.join(self.unknown)}")
        if self.misshapen:
            problems.append(f"not the payload shape of {', '.join(self.misshapen)}")
        super().__init__("registry_mismatch", f"{layer}: {'; '.join(problems)}")
