"""Errors a publishing client sees."""

from __future__ import annotations

from events.exceptions import TalkstreamError


class ClientError(TalkstreamError):
    """Base of the client's errors."""


class PublishRefused(ClientError):
    """talkstream refused the event (bad input or a broken rule); nothing was recorded."""

    def __init__(self, entry_id: str, code: str, message: str) -> None:
        super().__init__(code, message)
        self.args = (f"{code}: {message}",)
        self.entry_id = entry_id


class PublishTimeout(ClientError):
    """No result arrived in time: the entry is in the intake stream and may still be recorded;
    re-send it with the same idempotency_key to learn its fate."""

    def __init__(self, entry_ids: list[str], timeout: float) -> None:
        super().__init__(
            "publish_timeout", f"no result for {len(entry_ids)} entries within {timeout} s"
        )
        self.entry_ids = entry_ids


class ReadFailed(ClientError):
    """The server refused a read (``status`` its HTTP status; 0: unreachable)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.args = (f"{code}: {message}",)
        self.status = status
