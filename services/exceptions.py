"""Errors of the ground floor of ``services``: the settings read from the environment."""

from __future__ import annotations

from events.exceptions import TalkstreamError


class InvalidSettings(TalkstreamError):
    """A TALKSTREAM_* variable with a value that does not fit its setting."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_settings", message)
