"""Errors of the relay; ``code`` is stable (the CLI prints it, the API names it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from events.exceptions import TalkstreamError

if TYPE_CHECKING:
    from services.wire.divergence import Divergence


class RelayError(TalkstreamError):
    """Root of the relay's errors."""


class StreamDiverged(RelayError):
    """The stream and the store hold different histories from ``divergence.position`` on."""

    def __init__(self, divergence: Divergence) -> None:
        super().__init__(
            "stream_diverged",
            f"the event stream differs from the store at {divergence.describe()}",
        )
        self.divergence = divergence


class StreamNotDiverged(RelayError):
    def __init__(self, message: str) -> None:
        super().__init__("stream_not_diverged", message)


class LeaseLost(RelayError):
    """This relay may not publish: it does not hold the lease, or the XADD script refused its
    fencing token because a relay with a newer one has published on the stream."""

    def __init__(self, message: str, *, token: int | None, fence: int | None = None) -> None:
        super().__init__("relay_lease_lost", message)
        self.token = token
        self.fence = fence
