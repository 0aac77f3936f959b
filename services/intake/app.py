"""The FastStream adapter of the intake: consumer group, claiming, results and dead letters
(``Intake`` handles the entries; on Redis Cluster ``poller.py`` reads them for it).

Traps handled (docs/architecture.md, library traps): the consumer group is created here at
``0`` with MKSTREAM before FastStream starts (FastStream would create it at ``$`` and miss
earlier entries, and one created at ``0`` through StreamSub busy-loops after a restart); a
handler that raises leaves its entry pending, so a second subscriber claims entries idle for
``intake_claim_idle_ms`` and dead-letters those delivered more than ``intake_max_deliveries``
times, with the last failure as the reason.

Redis outages (see services/wire/outages.py): reads and handlers wait while Redis is away
and log one line when it goes and one when it is back; a group that a restarted Redis lost is
created again at ``0`` (entries delivered again record once: their idempotency keys).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from faststream import FastStream
from faststream.redis import RedisBatchStreamMessage, RedisBroker, RedisStreamMessage, StreamSub
from redis import Redis
from redis.client import Pipeline

from services.intake.entries import (
    Entry,
    Outcome,
    dead_letter,
    not_the_input,
    record_entries,
    refused,
    reply_stream,
    text_fields,
)
from services.intake.retention import trim_acknowledged
from services.recorder.application import Negotiations
from services.settings import Settings
from services.wire.connect import is_cluster
from services.wire.groups import ensure_group
from services.wire.intake import HEAD_BYTES, IntakeEntry
from services.wire.outages import Outage, RestartWatch, keep_reading, until_done
from services.wire.streams import Streams, as_fields

log = logging.getLogger("talkstream.intake")
RAW_FIELDS = "talkstream_raw_fields"
RESULTS_MAXLEN = 100_000
BATCH = 100
REPLY_TTL_SECONDS = 3600


def recreate_lost_group(redis: Redis, streams: Streams) -> None:
    if ensure_group(redis, streams.intake, streams.intake_group):
        log.warning("intake consumer group %s was lost; created it again", streams.intake_group)


@dataclass
class Intake:
    """Handles entries: records them in a worker thread, then writes their outcome."""

    app: Negotiations
    redis: Redis
    streams: Streams
    settings: Settings
    trimmed_at: float = -math.inf
    atomic: bool = field(init=False)  # False on Redis Cluster: see answer_all

    def __post_init__(self) -> None:
        self.atomic = not is_cluster(self.redis)

    async def handle_batch(self, msg: RedisBatchStreamMessage) -> None:
        raw: Any = msg.raw_message
        ids = [_decode_id(i) for i in raw["message_ids"]]
        fields = [text_fields(f) for f in raw.get(RAW_FIELDS, raw["data"])]
        await asyncio.to_thread(self.process_batch, list(zip(ids, fields, strict=True)))

    async def handle_claimed(self, msg: RedisStreamMessage) -> None:
        entry_id = _entry_id(msg)
        fields = _raw_fields(msg)
        if await msg.get_delivery_count() > self.settings.intake_max_deliveries:
            await asyncio.to_thread(self.give_up, entry_id, fields)
            return
        await asyncio.to_thread(self.process, entry_id, fields)

    def process(self, entry_id: str, fields: dict[str, bytes]) -> None:
        self.process_batch([(entry_id, fields)])

    def process_batch(self, entries: list[Entry]) -> None:
        try:
            outcomes = record_entries(self.app, entries, max_bytes=self.settings.intake_max_bytes)
        except Exception as e:
            # Not a refusal: remember why, for the claimer that dead-letters after the limit.
            reason = f"{type(e).__name__}: {e}"
            self.redis.hset(self.streams.intake_failures, mapping={i: reason for i, _ in entries})
            log.warning("intake entries %s failed and stay pending: %s", [i for i, _ in entries], e)
            if len(entries) == 1 or not_the_input(e):
                raise
            self.isolate(entries)
            return
        self.answer_all([(f, o) for (_, f), o in zip(entries, outcomes, strict=True)])
        self.trim_when_due()

    def trim_when_due(self) -> None:
        """Trims the intake stream of what every group acknowledged, at most once every
        ``intake_trim_seconds`` (README: retention)."""
        now = time.monotonic()
        if now - self.trimmed_at < self.settings.intake_trim_seconds:
            return
        self.trimmed_at = now
        trim_acknowledged(self.redis, self.streams.intake)

    def isolate(self, entries: list[Entry]) -> None:
        """Records each entry of a batch that broke the recorder on its own, so that one entry
        holds back none of the others; an entry that fails alone stays pending (raised)."""
        failures: list[Exception] = []
        for one in entries:
            try:
                self.process_batch([one])
            except Exception as e:  # noqa: BLE001 - re-raised below, after every other entry
                failures.append(e)
        if failures:
            raise failures[0]

    def give_up(self, entry_id: str, fields: dict[str, bytes]) -> None:
        reason = self.redis.hget(self.streams.intake_failures, entry_id)
        last = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else "unknown"
        message = f"delivered more than {self.settings.intake_max_deliveries} times; last "
        message += f"failure: {last}"
        self.answer(entry_id, fields, refused(entry_id, "delivery_limit", message))

    def answer(self, entry_id: str, fields: dict[str, bytes], outcome: Outcome) -> None:
        self.answer_all([(fields, outcome)])

    def answer_all(self, answers: list[tuple[dict[str, bytes], Outcome]]) -> None:
        """Writes each outcome (and the dead letter of each refusal) and acknowledges the
        entries: in one transaction on one Redis server; on Redis Cluster, where these keys lie
        in different slots and no transaction spans them, the outcomes first and the
        acknowledgement after them (README: the intake on Redis Cluster)."""
        pipe = self.redis.pipeline(transaction=self.atomic)
        self._queue_outputs(pipe, answers)
        if not self.atomic:
            # A crash before the acknowledgement repeats an answer (the entry is delivered
            # again and records once, by its idempotency key); it never loses one.
            pipe.execute()
            pipe = self.redis.pipeline(transaction=False)
        settled = [o.fields["entry_id"] for _, o in answers]
        pipe.hdel(self.streams.intake_failures, *settled)
        # Acknowledged with its answer: an entry answered before its batch fails is not
        # delivered again.
        pipe.xack(self.streams.intake, self.streams.intake_group, *settled)
        pipe.execute()
        self._log(answers)

    def _queue_outputs(
        self, pipe: Pipeline, answers: list[tuple[dict[str, bytes], Outcome]]
    ) -> None:
        """Queues each answer on its reply stream, and each refusal's dead letter."""
        targets = self._reply_streams([fields for fields, _ in answers])
        for (fields, outcome), reply_to in zip(answers, targets, strict=True):
            if reply_to == self.streams.intake_results:
                pipe.xadd(
                    reply_to, as_fields(outcome.fields), maxlen=RESULTS_MAXLEN, approximate=True
                )
            else:
                pipe.xadd(reply_to, as_fields(outcome.fields))
                pipe.expire(reply_to, REPLY_TTL_SECONDS)
            if not outcome.recorded:
                pipe.xadd(self.streams.intake_dead, as_fields(dead_letter(fields, outcome)))

    def _reply_streams(self, entries: list[dict[str, bytes]]) -> list[str]:
        """Each entry's reply stream; one that exists as another type of key gets the default
        results stream instead (an XADD to it would fail the whole transaction)."""
        default = self.streams.intake_results
        wanted = [reply_stream(f, default, self.streams.prefix) for f in entries]
        named = sorted(set(wanted) - {default})
        if not named:
            return wanted
        pipe = self.redis.pipeline(transaction=False)
        for name in named:
            pipe.type(name)
        usable = {
            n for n, t in zip(named, pipe.execute(), strict=True) if t in (b"none", b"stream")
        }
        return [w if w == default or w in usable else default for w in wanted]

    def _log(self, answers: list[tuple[dict[str, bytes], Outcome]]) -> None:
        for _, outcome in answers:
            level = logging.INFO if outcome.recorded else logging.WARNING
            log.log(
                level, "intake entry %s", " ".join(f"{k}={v}" for k, v in outcome.fields.items())
            )


async def tolerant_parser(
    message: Mapping[str, Any], original: Callable[[Any], Awaitable[Any]]
) -> Any:
    """FastStream JSON-encodes an entry's fields and fails on bytes that are not UTF-8, which
    would leave the entry pending for ever; it parses a readable copy instead, and the handler
    reads the raw fields kept beside it."""
    data = message["data"]
    if isinstance(data, list):  # a batch
        readable: Any = [_readable(d) for d in data]
    else:
        readable = _readable(data)
    return await original({**message, "data": readable, RAW_FIELDS: data})


def _readable(data: Mapping[Any, Any]) -> dict[str, bytes]:
    # Cut to a kilobyte: the handlers read the raw fields, and an oversize entry should not be
    # decoded and copied again only to be refused.
    return {_text(k): _text(_head(v)).encode() for k, v in data.items()}


def _head(value: object) -> object:
    return value[:HEAD_BYTES] if isinstance(value, bytes) else value


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _raw_fields(msg: RedisStreamMessage) -> dict[str, bytes]:
    raw: Any = msg.raw_message
    return text_fields(raw.get(RAW_FIELDS, raw["data"]))


def _entry_id(msg: RedisStreamMessage) -> str:
    return _decode_id(msg.raw_message["message_ids"][0])


def _decode_id(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def build_intake(
    settings: Settings, app: Negotiations, redis_url: str, *, consumer: str | None = None
) -> tuple[FastStream, RedisBroker]:
    """The FastStream app: one subscriber for new entries, one claiming stale ones."""
    streams = Streams(settings.prefix)
    broker = RedisBroker(redis_url, logger=log, log_level=logging.DEBUG)  # not a line per batch
    intake = Intake(app, Redis.from_url(redis_url), streams, settings)
    consumer = consumer or consumer_name()
    outage = Outage("intake", log)

    entries = broker.subscriber(
        stream=StreamSub(
            streams.intake,
            group=streams.intake_group,
            consumer=consumer,
            batch=True,
            max_records=BATCH,
        ),
        no_reply=True,
        parser=tolerant_parser,
    )

    @entries
    async def on_entries(body: list[IntakeEntry], msg: RedisBatchStreamMessage) -> None:
        await until_done(partial(intake.handle_batch, msg), outage)
        await until_done(msg.ack, outage)

    claims = broker.subscriber(
        stream=StreamSub(
            streams.intake,
            group=streams.intake_group,
            consumer=consumer,
            min_idle_time=settings.intake_claim_idle_ms,
        ),
        no_reply=True,
        parser=tolerant_parser,
        include_in_schema=False,
    )

    @claims
    async def on_claimed(body: IntakeEntry, msg: RedisStreamMessage) -> None:
        await until_done(partial(intake.handle_claimed, msg), outage)
        await until_done(msg.ack, outage)

    recreate = partial(asyncio.to_thread, recreate_lost_group, intake.redis, streams)
    for subscriber in (entries, claims):
        keep_reading(subscriber, outage, recreate)
    watch = RestartWatch(redis_url, outage, partial(until_done, recreate, outage))
    faststream_app = FastStream(broker, logger=log)

    @faststream_app.on_startup
    def create_group() -> None:
        ensure_group(intake.redis, streams.intake, streams.intake_group)

    @faststream_app.after_startup
    async def start_watching() -> None:
        await watch.start()

    @faststream_app.on_shutdown
    async def stop_watching() -> None:
        await watch.stop()

    return faststream_app, broker
