"""Errors of the runtime: settings and the servers it starts."""

from __future__ import annotations


class RuntimeProblem(Exception):
    """A problem with the environment rather than the input; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RedisUnavailable(RuntimeProblem):
    """No Redis to use: none configured, none installed, or the embedded one would not start."""

    def __init__(self, message: str) -> None:
        super().__init__("redis_unavailable", message)
