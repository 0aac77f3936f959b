"""Errors of the intake: an entry refused before its event reaches the write side."""

from __future__ import annotations

from events.exceptions import TalkstreamError


class EntryRefused(TalkstreamError):
    """An intake entry that carries no event to record (empty, not an object, too large); it
    is answered and dead-lettered with ``code``."""
