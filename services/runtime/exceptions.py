"""Errors of the runtime: the servers it starts and the addresses it listens on."""

from __future__ import annotations

from events.exceptions import TalkstreamError


class RuntimeProblem(TalkstreamError):
    """A problem with the environment rather than the input; ``code`` is stable."""


class RedisUnavailable(RuntimeProblem):
    """No Redis to use: none configured, none installed, or the embedded one would not start."""

    def __init__(self, message: str) -> None:
        super().__init__("redis_unavailable", message)


class NeedsPlainRedis(RuntimeProblem):
    """A process that runs on FastStream's Redis broker (the intake, the API's ``up``), asked
    to run on Redis Cluster, which that broker does not speak."""

    def __init__(self, role: str) -> None:
        super().__init__(
            "needs_plain_redis",
            f"{role} runs on FastStream's Redis broker, which needs one Redis server, not a "
            "cluster (redis+cluster://): give it a plain TALKSTREAM_REDIS_URL",
        )
