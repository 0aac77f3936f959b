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


class NeedsPlainRedis(RuntimeProblem):
    """A process that cannot run on Redis Cluster: the webhook deliverer (it follows the one
    changes stream of a single server; on Cluster each partition announces its changes in its
    own). The intake and ``up`` run pollers there instead of FastStream's Redis broker."""

    def __init__(self, role: str, why: str = "runs on FastStream's Redis broker") -> None:
        super().__init__(
            "needs_plain_redis",
            f"{role} {why}, which needs one Redis server, not a cluster (redis+cluster://): "
            "give it a plain TALKSTREAM_REDIS_URL",
        )
