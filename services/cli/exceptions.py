"""Errors of the ``talkstream`` command itself: an option or argument it refuses, or an input
file it cannot read. Not contract errors: the event contract never sees them."""

from __future__ import annotations

from typing import Any

from events.exceptions import TalkstreamError


class CliError(TalkstreamError):
    """A bad option, argument or input file; ``field`` names it (``--clock``, ``FILE``)."""

    def __init__(
        self, code: str, message: str, *, field: str | None = None, details: Any = None
    ) -> None:
        super().__init__(code, message, details=details)
        self.args = (f"{field}: {message}" if field else message,)
        self.field = field
