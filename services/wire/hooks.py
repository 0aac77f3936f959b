"""Webhook subscriptions in Redis: the registry (``<prefix>:hooks``), each hook's cursor in the
changes stream (on Redis Cluster, a vector of its cursors in every partition's changes stream,
services/wire/feed.py, kept in the same hash), the parked deliveries (``<prefix>:hooks:dlq``) and
the retry queue; and the guard that refuses targets on loopback, link-local and private addresses
(SSRF) unless ``TALKSTREAM_HOOKS_ALLOW_PRIVATE=1``. The API, the CLI and the deliverer share it."""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError
from redis import Redis

from services.wire.connect import is_cluster
from services.wire.entries import text
from services.wire.exceptions import BadCursor, HookRefused, HookUnknown
from services.wire.feed import SEPARATOR, Vector, merged, parse_entry_id
from services.wire.streams import Streams

log = logging.getLogger("talkstream.hooks")

SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
NEGOTIATION_ID = r"^[a-z0-9][a-z0-9-]{1,63}$"
SCHEMES = ("http", "https")


class Hook(BaseModel):
    """A registered subscriber: where to POST which changes, and the signing secret."""

    id: str
    url: str
    secret: str
    negotiation: str | None = Field(default=None, pattern=NEGOTIATION_ID)
    view: str | None = None
    created_at: str

    def wants(self, change: dict[str, Any]) -> bool:
        return (self.negotiation is None or change["negotiation_id"] == self.negotiation) and (
            self.view is None or change["projection"] == self.view
        )

    def public(self) -> dict[str, Any]:
        """What listings show: everything but the secret."""
        return self.model_dump(exclude={"secret"})


class Parked(BaseModel):
    """A change a hook could not take within the retry period."""

    hook_id: str
    change_id: str
    change: dict[str, Any]
    attempts: int
    first_failed_at: str
    reason: str


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def check_secret(secret: str) -> str:
    body = secret.removeprefix(SECRET_PREFIX)
    try:
        raw = base64.b64decode(body, validate=True)
    except ValueError:
        raise HookRefused("invalid_secret", "secret: expected whsec_ and base64") from None
    if not secret.startswith(SECRET_PREFIX) or len(raw) < 16:
        raise HookRefused("invalid_secret", "secret: expected whsec_ and 16 to 64 base64 bytes")
    return secret


def check_target(url: str, *, allow_private: bool) -> str:
    """The URL when it is an http(s) URL whose host resolves to public addresses only (or
    ``allow_private``); HookRefused naming why otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise HookRefused("invalid_url", f"url: expected an http or https URL, got {url!r}")
    if allow_private:
        return url
    for address in _addresses(parts.hostname, parts.port or 443):
        if not address.is_global or address.is_multicast:
            raise HookRefused(
                "private_address",
                f"url: {parts.hostname} resolves to {address}, a loopback, link-local or "
                "private address; set TALKSTREAM_HOOKS_ALLOW_PRIVATE=1 to allow it",
                details={"host": parts.hostname, "address": str(address)},
            )
    return url


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise HookRefused("unresolvable_host", f"url: cannot resolve {host} ({e})") from None
    found = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        found.append(address)
    return found


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class FeedChange:
    """A change read after a hook's cursor: its id (the ``webhook-id``), the cursor once it is
    taken, and its fields. On one server both are its entry ID; on Redis Cluster the id is
    ``<partition>-<entry ID>`` and the cursor a vector."""

    id: str
    cursor: str
    change: dict[str, Any]


class Hooks:
    """The registry and delivery bookkeeping under one prefix (synchronous Redis). On Redis
    Cluster (``partitions`` of them) the changes come from every partition's stream."""

    def __init__(self, redis: Redis, prefix: str, *, partitions: int = 1) -> None:
        self.redis = redis
        self.key = f"{prefix}:hooks"
        self.cursors = f"{prefix}:hooks:cursors"
        self.dlq = f"{prefix}:hooks:dlq"
        self.retry_queue = f"{prefix}:hooks:retry"
        self.changes = f"{prefix}:changes"
        self.partition_changes = (
            [part.partition_changes for part in Streams(prefix).partitions(partitions)]
            if is_cluster(redis)
            else []
        )

    def add(
        self,
        url: str,
        *,
        allow_private: bool,
        secret: str | None = None,
        negotiation: str | None = None,
        view: str | None = None,
    ) -> Hook:
        """Registers a hook; it gets the changes after the stream's current end."""
        try:
            hook = Hook(
                id="hook_" + secrets.token_hex(8),
                url=check_target(url, allow_private=allow_private),
                secret=check_secret(secret) if secret is not None else new_secret(),
                negotiation=negotiation,
                view=view,
                created_at=_now(),
            )
        except ValidationError as e:
            first = e.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise HookRefused("invalid_hook", f"{where}: {first['msg']}") from None
        self.redis.hset(self.cursors, hook.id, self._end())
        self.redis.hset(self.key, hook.id, hook.model_dump_json())
        return hook

    def _end(self) -> str:
        """The cursor of a hook that has seen every change so far."""
        streams = self.partition_changes or [self.changes]
        tops: list[Any] = [self.redis.xrevrange(stream, count=1) for stream in streams]
        ends = tuple(parse_entry_id(text(top[0][0])) if top else (0, 0) for top in tops)
        return Vector(ends).text if self.partition_changes else f"{ends[0][0]}-{ends[0][1]}"

    def all(self) -> list[Hook]:
        raw: dict[bytes, bytes] = self.redis.hgetall(self.key)  # type: ignore[assignment]
        hooks = [Hook.model_validate_json(v) for v in raw.values()]
        return sorted(hooks, key=lambda h: (h.created_at, h.id))

    def get(self, hook_id: str) -> Hook:
        raw: Any = self.redis.hget(self.key, hook_id)
        if raw is None:
            raise HookUnknown(hook_id)
        return Hook.model_validate_json(raw)

    def remove(self, hook_id: str) -> None:
        if not self.redis.hdel(self.key, hook_id):
            raise HookUnknown(hook_id)
        self.redis.hdel(self.cursors, hook_id)
        self.redis.delete(f"{self.retry_queue}:{hook_id}")
        for field in self._parked_fields(hook_id):
            self.redis.hdel(self.dlq, field)

    def cursor(self, hook_id: str) -> str:
        raw: Any = self.redis.hget(self.cursors, hook_id)
        if self.partition_changes:
            return self._vector(hook_id, None if raw is None else text(raw)).text
        return text(raw) if raw is not None else "0-0"

    def _vector(self, hook_id: str, cursor: str | None) -> Vector:
        """A hook's cursor on Cluster. One written for another partition count keeps the
        partitions both counts have (their streams keep their names) and starts the others
        from their beginning; one that is no vector starts every partition from its
        beginning (at least once: nothing is missed)."""
        count = len(self.partition_changes)
        if cursor is None:
            return Vector.start(count)
        try:
            found = Vector.parse(cursor, cursor.count(SEPARATOR))
        except BadCursor as e:
            log.warning("hook=%s cursor %r is no vector (%s); from the start", hook_id, cursor, e)
            return Vector.start(count)
        return found.resized(count)

    def advance(self, hook_id: str, change_id: str) -> None:
        """Moves the cursor on, unless the hook was removed meanwhile."""
        if self.redis.hexists(self.key, hook_id):
            self.redis.hset(self.cursors, hook_id, change_id)

    def park(self, parked: Parked) -> None:
        self.redis.hset(self.dlq, f"{parked.hook_id}|{parked.change_id}", parked.model_dump_json())

    def parked(self, hook_id: str | None = None) -> list[Parked]:
        raw: dict[bytes, bytes] = self.redis.hgetall(self.dlq)  # type: ignore[assignment]
        found = [Parked.model_validate_json(v) for v in raw.values()]
        return sorted(
            (p for p in found if hook_id is None or p.hook_id == hook_id),
            key=lambda p: (p.hook_id, tuple(int(n) for n in p.change_id.split("-"))),
        )

    def retry(self, hook_id: str | None = None) -> int:
        """Queues the parked deliveries (of one hook, or all) to be delivered again."""
        moved = 0
        for parked in self.parked(hook_id):
            with self.redis.pipeline() as pipe:
                pipe.rpush(f"{self.retry_queue}:{parked.hook_id}", parked.model_dump_json())
                pipe.hdel(self.dlq, f"{parked.hook_id}|{parked.change_id}")
                pipe.execute()
            moved += 1
        return moved

    def next_retry(self, hook_id: str) -> Parked | None:
        raw: Any = self.redis.lindex(f"{self.retry_queue}:{hook_id}", 0)
        return None if raw is None else Parked.model_validate_json(raw)

    def retried(self, hook_id: str) -> None:
        self.redis.lpop(f"{self.retry_queue}:{hook_id}")

    def changes_after(self, cursor: str, count: int) -> list[FeedChange]:
        """At most ``count`` changes after ``cursor``; on Cluster from every partition, in
        entry ID order across them (each partition's in its order)."""
        if self.partition_changes:
            return self._cluster_changes_after(
                Vector.parse(cursor, len(self.partition_changes)), count
            )
        entries: Any = self.redis.xrange(self.changes, min=f"({cursor}", count=count)
        return [FeedChange(text(eid), text(eid), _change(fields)) for eid, fields in entries]

    def _cluster_changes_after(self, cursor: Vector, count: int) -> list[FeedChange]:
        pages: list[Any] = [
            self.redis.xrange(stream, min=f"({at[0]}-{at[1]}", count=count)
            for stream, at in zip(self.partition_changes, cursor.entries, strict=True)
        ]
        return [
            FeedChange(step.id, step.after.text, _change(dict(step.fields)))
            for step in merged(pages, cursor, count)
        ]

    def _parked_fields(self, hook_id: str) -> list[str]:
        keys: list[bytes] = self.redis.hkeys(self.dlq)  # type: ignore[assignment]
        return [text(k) for k in keys if text(k).startswith(f"{hook_id}|")]


def _change(fields: dict[Any, Any]) -> dict[str, Any]:
    change: dict[str, Any] = {text(k): text(v) for k, v in fields.items()}
    change["position"] = int(change.get("position", 0))
    return change


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
