"""The delivery loop: for each hook, the changes after its cursor, one at a time, so each
negotiation's changes arrive in order (on Redis Cluster the cursor is a vector of every
partition's, services/wire/feed.py: a negotiation's changes are all in its partition). A failed
attempt is retried with exponential backoff (``hooks_backoff_initial`` doubling up to
``hooks_backoff_max``) until ``hooks_retry_for`` has passed since its first failure; then the
change is parked (``talkstream hooks dlq``) and the hook moves on. Parked changes queued by
``hooks retry`` go first, one attempt each."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.hooks.delivery import attempt
from services.wire.hooks import Hook, Hooks, Parked
from services.wire.outages import Outage

log = logging.getLogger("talkstream.hooks")
PAGE = 200  # changes read after a cursor at once


@dataclass(frozen=True)
class Policy:
    timeout: float
    retry_for: float
    backoff_initial: float
    backoff_max: float
    poll_interval: float
    allow_private: bool

    def backoff(self, attempts: int) -> float:
        return float(min(self.backoff_max, self.backoff_initial * 2 ** (attempts - 1)))


@dataclass
class Pending:
    """A change a hook has not taken yet, and its failed attempts so far."""

    change_id: str
    cursor: str  # the hook's cursor once the change is taken (its change_id on one server)
    change: dict[str, Any]
    attempts: int = 0
    first_failed: float = 0.0  # wall clock
    next_at: float = 0.0  # monotonic
    reasons: list[str] = field(default_factory=list)


class Deliverer:
    def __init__(self, hooks: Hooks, client: httpx.Client, policy: Policy) -> None:
        self.hooks = hooks
        self.client = client
        self.policy = policy
        self.pending: dict[str, Pending] = {}

    def run(self, stop: threading.Event) -> None:
        """Delivers until ``stop`` is set; sleeps a poll interval when nothing was due."""
        log.info("webhook deliverer started")
        outage = Outage("webhooks", log)
        while not stop.is_set():
            try:
                busy = self.step()
            except (RedisConnectionError, RedisTimeoutError) as e:
                outage.down(e)  # one line; the cursors in Redis say where to go on
                busy = False
            else:
                outage.up()
            if not busy:
                stop.wait(self.policy.poll_interval)
        log.info("webhook deliverer stopped")

    def step(self) -> bool:
        """One pass over the hooks; whether any delivery was attempted."""
        hooks = self.hooks.all()
        for gone in self.pending.keys() - {h.id for h in hooks}:
            del self.pending[gone]
        return any([self._serve(hook) for hook in hooks])

    def _serve(self, hook: Hook) -> bool:
        pending = self.pending.get(hook.id)
        if pending is None:
            if self._retry_parked(hook):
                return True
            pending = self._next(hook)
            if pending is None:
                return False
        elif pending.next_at > time.monotonic():
            return False
        self._try(hook, pending)
        return True

    def _next(self, hook: Hook) -> Pending | None:
        """The next wanted change after the hook's cursor (moving the cursor past unwanted
        ones)."""
        cursor = self.hooks.cursor(hook.id)
        skipped = None
        for found in self.hooks.changes_after(cursor, PAGE):
            if hook.wants(found.change):
                if skipped is not None:
                    self.hooks.advance(hook.id, skipped)
                return Pending(found.id, found.cursor, found.change)
            skipped = found.cursor
        if skipped is not None:
            self.hooks.advance(hook.id, skipped)
        return None

    def _try(self, hook: Hook, pending: Pending) -> None:
        outcome = attempt(
            self.client,
            hook,
            pending.change_id,
            pending.change,
            allow_private=self.policy.allow_private,
        )
        if outcome.delivered:
            self.hooks.advance(hook.id, pending.cursor)
            self.pending.pop(hook.id, None)
            log.info(
                "delivered hook=%s change=%s attempts=%s",
                hook.id,
                pending.change_id,
                pending.attempts + 1,
            )
            return
        pending.attempts += 1
        pending.reasons.append(outcome.reason)
        if pending.attempts == 1:
            pending.first_failed = time.time()
        if time.time() - pending.first_failed >= self.policy.retry_for:
            self._park(hook, pending, outcome.reason)
            return
        delay = self.policy.backoff(pending.attempts)
        pending.next_at = time.monotonic() + delay
        self.pending[hook.id] = pending
        log.warning(
            "delivery failed hook=%s change=%s attempt=%s reason=%s retry_in=%.1fs",
            hook.id,
            pending.change_id,
            pending.attempts,
            outcome.reason,
            delay,
        )

    def _park(self, hook: Hook, pending: Pending, reason: str) -> None:
        self.hooks.park(
            Parked(
                hook_id=hook.id,
                change_id=pending.change_id,
                change=pending.change,
                attempts=pending.attempts,
                first_failed_at=_utc(pending.first_failed),
                reason=reason,
            )
        )
        self.hooks.advance(hook.id, pending.cursor)
        self.pending.pop(hook.id, None)
        log.warning(
            "parked hook=%s change=%s after %s attempts: %s",
            hook.id,
            pending.change_id,
            pending.attempts,
            reason,
        )

    def _retry_parked(self, hook: Hook) -> bool:
        parked = self.hooks.next_retry(hook.id)
        if parked is None:
            return False
        outcome = attempt(
            self.client,
            hook,
            parked.change_id,
            parked.change,
            allow_private=self.policy.allow_private,
        )
        if not outcome.delivered:
            self.hooks.park(
                parked.model_copy(
                    update={"attempts": parked.attempts + 1, "reason": outcome.reason}
                )
            )
        self.hooks.retried(hook.id)
        log.info(
            "retried parked hook=%s change=%s delivered=%s",
            hook.id,
            parked.change_id,
            outcome.delivered,
        )
        return True


def _utc(wall: float) -> str:
    return datetime.fromtimestamp(wall, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
