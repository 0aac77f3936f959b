"""Errors of the wire contract's shared operations: a webhook target or secret refused, a
hook that is not registered."""

from __future__ import annotations

from typing import Any

from events.exceptions import TalkstreamError


class WireError(TalkstreamError):
    """Root of the wire's errors."""


class HookRefused(WireError):
    """A webhook registration refused: its URL, its address (SSRF guard) or its secret."""

    def __init__(self, code: str, message: str, *, details: Any = None) -> None:
        super().__init__(code, message, details=details)


class HookUnknown(WireError):
    """No hook has this id."""

    def __init__(self, hook_id: str) -> None:
        super().__init__(
            "hook_not_found", f"no hook {hook_id!r} is registered", details={"hook_id": hook_id}
        )


class BadPartitions(WireError):
    """A partition list (``project --partitions``) that names no partition, or one that the
    configured count does not have."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_partitions", message)


class BadCursor(WireError):
    """A position in the change feed on Redis Cluster (a vector) that cannot be read; the
    message says why (the caller names where it came from)."""

    def __init__(self, reason: str) -> None:
        super().__init__("invalid_cursor", reason)
