"""Publishes the log's signed checkpoints on ``<prefix>:checkpoints``, entry ID
``<tree size>-0``: every stored checkpoint after the stream's last one, in size order, so a
checkpoint made while Redis was down is published once it is back, and never twice. (The
checkpoint of the empty tree, if one was made on demand, is not published: Redis takes no
entry ID ``0-0``.)"""

from __future__ import annotations

import base64
import logging
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError

from services.recorder.ledger import Ledger, StoredCheckpoint
from services.relay.relay import REDIS_DOWN
from services.wire.checkpoints import CheckpointEntry, checkpoint_entry_id
from services.wire.entries import position_of
from services.wire.streams import as_fields

log = logging.getLogger("talkstream.relay")


def checkpoint_entry(ledger: Ledger, checkpoint: StoredCheckpoint) -> CheckpointEntry:
    return CheckpointEntry(
        origin=ledger.origin,
        size=str(checkpoint.size),
        root=base64.b64encode(checkpoint.root).decode(),
        note=checkpoint.note,
        made_at=checkpoint.made_at.isoformat(),
    )


class CheckpointPublisher:
    def __init__(self, ledger: Ledger, redis: Redis, stream: str) -> None:
        self.ledger = ledger
        self.redis = redis
        self.stream = stream
        self._down = False

    def last_size(self) -> int:
        top: Any = self.redis.xrevrange(self.stream, count=1)
        return position_of(top[0][0]) if top else 0

    def sync(self) -> int:
        """Publishes every stored checkpoint the stream lacks; returns how many."""
        last = self.last_size()
        published = 0
        while page := self.ledger.checkpoints(last, 500):
            for checkpoint in page:
                entry = checkpoint_entry(self.ledger, checkpoint)
                try:
                    self.redis.xadd(
                        self.stream,
                        as_fields(entry.encode()),
                        id=checkpoint_entry_id(checkpoint.size),
                    )
                except ResponseError:  # another publisher got there first
                    pass
                else:
                    published += 1
                last = checkpoint.size
        return published

    def published(self, checkpoint: StoredCheckpoint) -> None:
        """The writer's listener: publish what the stream lacks; a Redis outage only delays
        it (the next checkpoint, or the next start, publishes the rest)."""
        try:
            self.sync()
        except REDIS_DOWN as e:
            if not self._down:
                log.warning("checkpoints: Redis unavailable (%s); publishing later", e)
            self._down = True
            return
        if self._down:
            log.info("checkpoints: Redis is back; published up to size %s", checkpoint.size)
        self._down = False
