"""Redis clients from a URL, made in one place: ``redis://`` (or ``rediss://``, ``unix://``)
is one server; ``redis+cluster://host:port`` is a Redis Cluster reached through any of its
nodes (redis-py's ``RedisCluster``, which routes each command and script by its keys' slot).

On Cluster every script touches the keys of one partition only (they share the partition's
hash tag), so a deployment on Cluster needs ``TALKSTREAM_PARTITIONS`` of at least 2 (the
settings refuse less); the names of one partition are those of services/wire/streams.py."""

from __future__ import annotations

from typing import Any, cast

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

CLUSTER_SCHEME = "redis+cluster://"


def is_cluster_url(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEME)


def connect(url: str, **options: Any) -> Redis:
    """A client for ``url``: a cluster client for ``redis+cluster://``, else a plain one. Both
    answer the commands talkstream uses alike (typed as the plain client)."""
    if is_cluster_url(url):
        plain = "redis://" + url[len(CLUSTER_SCHEME) :]
        return cast(Redis, RedisCluster.from_url(plain, **options))
    return Redis.from_url(url, **options)


def is_cluster(redis: object) -> bool:
    """Whether ``redis`` is a cluster client (commits then announce per partition)."""
    return isinstance(redis, RedisCluster)


def pool_reaching(redis: Redis, key: str) -> Any:
    """The connection pool that reaches ``key``: the client's own, or on Redis Cluster that
    of the node serving the key's slot (slots are not moved under running workers). For a
    caller that sends a command now and reads its reply later on one connection."""
    if is_cluster(redis):
        node: Any = redis.get_node_from_key(key)  # type: ignore[attr-defined]
        return node.redis_connection.connection_pool
    return redis.connection_pool


def connect_async(url: str, **options: Any) -> AsyncRedis:
    """The asyncio client for ``url``, as ``connect`` makes the synchronous one."""
    if is_cluster_url(url):
        plain = "redis://" + url[len(CLUSTER_SCHEME) :]
        return cast(AsyncRedis, AsyncRedisCluster.from_url(plain, **options))
    return AsyncRedis.from_url(url, **options)
