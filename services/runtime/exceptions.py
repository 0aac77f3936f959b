"""Errors of the runtime: the servers it starts and the addresses it listens on."""

from __future__ import annotations

from events.exceptions import TalkstreamError


class RuntimeProblem(TalkstreamError):
    """A problem with the environment rather than the input; ``code`` is stable."""


class RedisUnavailable(RuntimeProblem):
    """No Redis to use: none configured, none installed, or the embedded one would not start."""

    def __init__(self, message: str) -> None:
        super().__init__("redis_unavailable", message)


class Unhealthy(RuntimeProblem):
    """``talkstream health``: no live process of the role here, or an API that is not ready;
    a failed check (exit 1, as container healthchecks expect), not a broken environment."""

    def __init__(self, message: str) -> None:
        super().__init__("unhealthy", message)
