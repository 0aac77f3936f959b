"""The intake without FastStream, for Redis Cluster (FastStream's Redis broker speaks to one
server): a loop that reads the new entries of ``<prefix>:intake`` in batches with XREADGROUP,
and every so often claims the entries idle for longer than ``intake_claim_idle_ms``
(XAUTOCLAIM), dead-lettering those delivered more than ``intake_max_deliveries`` times
(XPENDING's delivery count) with their last failure as the reason: the semantics of the
FastStream adapter. What an entry means and how it is answered are ``Intake``'s, as there.

The consumer group is created at ``0`` with MKSTREAM before the first read, and again when a
restarted Redis lost it (NOGROUP). Redis outages: one log line when Redis goes and one when
it is back; a batch whose answer Redis did not take is tried again until it does (it records
once: its idempotency keys).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from redis.exceptions import ClusterError, RedisError, ResponseError, SlotNotCoveredError

from services.intake.app import BATCH, Intake, consumer_name, recreate_lost_group
from services.intake.entries import Entry, text_fields
from services.recorder.application import Negotiations
from services.settings import Settings
from services.wire.connect import connect
from services.wire.groups import ensure_group
from services.wire.outages import REDIS_DOWN, Attempts, Outage
from services.wire.streams import Streams

log = logging.getLogger("talkstream.intake")
# a node of a cluster away: its slots are not served until it is back (or replaced)
DOWN: tuple[type[Exception], ...] = (*REDIS_DOWN, ClusterError, SlotNotCoveredError)
BLOCK_MS = 500  # the longest a read waits for new entries (and a stop waits for the read)


class IntakePoller:
    """Reads, claims and dead-letters for ``intake`` as consumer ``consumer``."""

    def __init__(self, intake: Intake, consumer: str, *, batch: int = BATCH) -> None:
        self.intake = intake
        self.redis = intake.redis
        self.streams = intake.streams
        self.consumer = consumer
        self.batch = batch
        self.idle_ms = intake.settings.intake_claim_idle_ms
        self.claim_every = min(1.0, self.idle_ms / 2000)
        self.block_ms = max(10, min(BLOCK_MS, int(self.claim_every * 1000)))
        self.outage = Outage("intake", log)
        self._claimed_at = -math.inf
        self._cursor = "0-0"
        self._reported: set[str] = set()  # errors that are no outage, logged once each

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set."""
        attempts = Attempts(self.outage)
        grouped = lost = False
        while not stop.is_set():
            try:
                if not grouped:
                    self.create_group(lost)
                    grouped = True
                self.step(stop)
            except DOWN as e:
                stop.wait(attempts.delay_after(e))
                continue
            except RedisError as e:
                if isinstance(e, ResponseError) and "NOGROUP" in str(e):
                    grouped, lost = False, True
                else:
                    stop.wait(self.unexpected(e, attempts))
                continue
            attempts.succeeded()
            self.outage.up()  # whichever attempt reported the outage, it is over

    def create_group(self, lost: bool) -> None:
        """Creates the consumer group at ``0`` unless it exists; logs when it was ``lost``."""
        if lost:
            recreate_lost_group(self.redis, self.streams)
        else:
            ensure_group(self.redis, self.streams.intake, self.streams.intake_group)

    def unexpected(self, error: RedisError, attempts: Attempts) -> float:
        """Logs an error that is no outage once (each text), and how long to wait."""
        text = f"{type(error).__name__}: {error}"
        if text not in self._reported:
            self._reported.add(text)
            log.error("intake: reading failed (%s); trying again with backoff", text)
        return attempts.backoff.next()

    def step(self, stop: threading.Event) -> int:
        """Claims what is due, then reads and records one batch of new entries (waiting up to
        ``block_ms`` for one); returns how many entries it handled."""
        return self.claim_due(stop) + self.read_new(stop)

    def read_new(self, stop: threading.Event) -> int:
        reply: Any = self.redis.xreadgroup(
            self.streams.intake_group,
            self.consumer,
            {self.streams.intake: ">"},
            count=self.batch,
            block=self.block_ms,
        )
        entries = [(_text(i), text_fields(f)) for _, rows in reply or [] for i, f in rows]
        if entries:
            self.record(entries, stop)
        return len(entries)

    def claim_due(self, stop: threading.Event) -> int:
        """Claims up to a batch of entries idle for ``idle_ms`` (each round goes on from where
        the last ended); records each alone, or dead-letters it past the delivery limit."""
        now = time.monotonic()
        if now - self._claimed_at < self.claim_every:
            return 0
        self._claimed_at = now
        reply: Any = self.redis.xautoclaim(
            self.streams.intake,
            self.streams.intake_group,
            self.consumer,
            min_idle_time=self.idle_ms,
            start_id=self._cursor,
            count=self.batch,
        )
        self._cursor = _text(reply[0])
        claimed = [(_text(i), text_fields(f)) for i, f in reply[1] if f is not None]
        deliveries = self.deliveries([i for i, _ in claimed])
        for entry_id, fields in claimed:
            if deliveries.get(entry_id, 0) > self.intake.settings.intake_max_deliveries:
                self.intake.give_up(entry_id, fields)
            else:
                self.record([(entry_id, fields)], stop)
        return len(claimed)

    def deliveries(self, ids: list[str]) -> dict[str, int]:
        """How many times each of ``ids`` was delivered (each asked for alone: a range would
        also hold this consumer's other pending entries)."""
        pipe = self.redis.pipeline(transaction=False)
        for entry_id in ids:
            pipe.xpending_range(
                self.streams.intake, self.streams.intake_group, entry_id, entry_id, 1
            )
        rows: Any = [row for found in pipe.execute() for row in found] if ids else []
        return {_text(r["message_id"]): int(r["times_delivered"]) for r in rows}

    def record(self, entries: list[Entry], stop: threading.Event) -> None:
        """Records and answers ``entries``; while Redis does not take the answer, tries again
        (after a stop the entries stay pending, for a claim). An entry that fails otherwise
        stays pending, its failure remembered for the claim (``Intake.process_batch``)."""
        attempts = Attempts(self.outage)
        while True:
            try:
                self.intake.process_batch(entries)
            except DOWN as e:
                if stop.wait(attempts.delay_after(e)):
                    return
                continue
            except Exception as e:  # noqa: BLE001 - not swallowed: the entries stay pending
                log.warning(
                    "intake entries %s stay pending until claimed (%s: %s)",
                    [i for i, _ in entries],
                    type(e).__name__,
                    e,
                )
                return
            attempts.succeeded()
            return


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def build_poller(
    settings: Settings, app: Negotiations, redis_url: str, *, consumer: str | None = None
) -> IntakePoller:
    """The poller on ``redis_url`` (a cluster URL, or any other: it speaks to either)."""
    intake = Intake(app, connect(redis_url), Streams(settings.prefix), settings)
    return IntakePoller(intake, consumer or consumer_name())
