"""Errors of the auditor's tools, each with a stable ``code``."""

from __future__ import annotations

from events.exceptions import TalkstreamError


class AuditError(TalkstreamError):
    """Root of the auditor's tools' errors."""


class BadBundle(AuditError):
    """A bundle that cannot be read as one: not a tar.gz, a member missing or malformed."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_bundle", message)


class WatchFailed(AuditError):
    """The watched log cannot be reached or answers something that is not a log's answer."""

    def __init__(self, message: str) -> None:
        super().__init__("watch_failed", message)


class SplitView(AuditError):
    """The watched log's latest checkpoint does not extend the one the watcher accepted:
    another key, a bad signature, or a tree that is not an extension (a rewritten history)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
