"""Publishes the store's notification log to the Redis stream, in order, exactly once.

The entry ID is ``<position>-0``. Redis refuses an ID that is not greater than the stream's
last, so a relay that crashed after XADD and before it knew, or two relays racing, cannot
duplicate: the refused entry is already there and is counted as a duplicate. The relay
resumes from the stream's last ID, never trims the stream, and sends each batch as one Lua
script call (one round trip, one command to encode). Woken by a save, it goes on from where it
left the stream without reading its end first: the script refuses the batch unless the stream
still ends there (another relay, or a Redis that lost its data), and the relay reads again.
While Redis works on a full batch, the next one is read and decoded from the store in a second
thread. It wakes promptly after an in-process save and polls otherwise (SQLite has no
subscribe).

It never publishes a stored event that fails its integrity check: it publishes what precedes
it, then stays there (one log line) until the store is repaired. A store that fails holds it
back the same way (one line per outage and one per recovery).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.recorder.application import Negotiations
from services.recorder.exceptions import EventCorrupted, StoreUnavailable
from services.relay.entries import entry_args, entry_id, position_of

log = logging.getLogger("talkstream.relay")
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)

# ARGV[1]: the entry ID the stream must end with ('' for any); then six arguments per entry.
XADD_BATCH = """
if ARGV[1] ~= '' then
  local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  local last = '0-0'
  if top[1] then last = top[1][1] end
  if last ~= ARGV[1] then return {-1, 0} end
end
local added, duplicates = 0, 0
for i = 2, #ARGV, 6 do
  local res = redis.pcall('XADD', KEYS[1], ARGV[i], 'type', ARGV[i + 1],
    'negotiation_id', ARGV[i + 2], 'position', ARGV[i + 3], 'hash', ARGV[i + 4],
    'event', ARGV[i + 5])
  if type(res) == 'table' and res.err then
    if string.find(res.err, 'equal or smaller', 1, true) then
      duplicates = duplicates + 1
    else
      return redis.error_reply(res.err)
    end
  else
    added = added + 1
  end
end
return {added, duplicates}
"""


@dataclass
class RelayStats:
    published: int = 0
    duplicates: int = 0


@dataclass(frozen=True)
class Batch:
    last: int  # the position of the batch's last event
    count: int
    args: list[bytes | str | int]


class Relay:
    def __init__(
        self,
        app: Negotiations,
        redis: Redis,
        *,
        stream: str,
        batch: int = 500,
        poll_interval: float = 0.5,
    ) -> None:
        self.app = app
        self.redis = redis
        self.stream = stream
        self.batch = batch
        self.poll_interval = min(max(poll_interval, 0.01), 5.0)
        self.stats = RelayStats()
        self.wake = threading.Event()
        self._xadd_batch = redis.register_script(XADD_BATCH)
        self._held_by: str | None = None  # why the store holds the relay back, while it does

    def last_position(self) -> int:
        top = self.redis.xrevrange(self.stream, count=1)
        return position_of(top[0][0]) if top else 0

    def read(self, after: int) -> Batch | None:
        """The next batch of stored events after ``after``, as script arguments; it ends
        before a corrupted event (raised when that event comes first)."""
        notifications = self.app.notification_page(after, self.batch)
        if not notifications:
            return None
        args: list[bytes | str | int] = []
        for count, n in enumerate(notifications):
            try:
                args += entry_args(n.id, *self.app.body_of(n))
            except EventCorrupted:
                if count == 0:
                    raise
                return Batch(notifications[count - 1].id, count, args)
        return Batch(notifications[-1].id, len(notifications), args)

    def send(self, batch: Batch, *, after: int | None = None) -> bool:
        """XADDs the batch; with ``after``, only if the stream still ends at that position
        (else nothing is sent and the answer is False: read the stream's end again)."""
        expected = entry_id(after) if after is not None else ""
        added, duplicates = self._xadd_batch(keys=[self.stream], args=[expected, *batch.args])
        if int(added) < 0:
            return False
        self.stats.published += int(added)
        self.stats.duplicates += int(duplicates)
        return True

    def publish_once(self) -> int:
        """Publishes up to one batch after the stream's last position; returns how many
        events it read from the store (0 when caught up)."""
        batch = self.read(self.last_position())
        if batch is None:
            return 0
        self.send(batch)
        return batch.count

    def catch_up(self) -> int:
        """Publishes until the stream holds every stored event; returns the last position."""
        while self.publish_once() == self.batch:
            pass
        return self.last_position()

    def notify(self) -> None:
        """Called after a save in this process: publish now rather than at the next poll."""
        self.wake.set()

    def run(self, stop: threading.Event) -> None:
        """Publishes until ``stop`` is set. Survives Redis outages (backoff, one log line per
        outage) and catches up from the stream's last ID when Redis is back."""
        backoff = 0.0
        known: int | None = None  # where the stream ends, as this relay left it
        with ThreadPoolExecutor(1, thread_name_prefix="relay-read") as reader:
            while not stop.is_set():
                try:
                    last = self._stream_until_caught_up(reader, stop, known)
                except REDIS_DOWN as e:
                    if backoff == 0.0:
                        log.warning("relay: Redis unavailable (%s); retrying with backoff", e)
                    backoff = min(max(backoff * 2, 0.1), 5.0)
                    known = None
                    stop.wait(backoff)
                    continue
                except (StoreUnavailable, EventCorrupted) as e:
                    self._held_back(e)
                    known = None
                    stop.wait(max(self.poll_interval, 1.0))
                    continue
                self._released()
                if backoff:
                    log.info("relay: Redis is back; caught up to position %s", last)
                    backoff = 0.0
                # After a save the end it left is checked by the send itself; an idle poll
                # reads the stream's end again (Redis may have lost its data meanwhile).
                known = last if self.wake.wait(self.poll_interval) else None
                self.wake.clear()
        log.info(
            "relay stopped: %s published, %s duplicates skipped",
            self.stats.published,
            self.stats.duplicates,
        )

    def _held_back(self, e: StoreUnavailable | EventCorrupted) -> None:
        """One log line when the store starts holding the relay back (a new reason)."""
        reason = e.code if isinstance(e, StoreUnavailable) else f"{e.code}@{e.position}"
        if reason != self._held_by:
            self._held_by = reason
            if isinstance(e, EventCorrupted):
                log.error("relay: stopped before a corrupted event: %s", e.message)
            else:
                log.warning("relay: waiting for the store: %s", e.message)

    def _released(self) -> None:
        if self._held_by is not None:
            log.info("relay: the store reads again; publishing resumed")
            self._held_by = None

    def _stream_until_caught_up(
        self, reader: ThreadPoolExecutor, stop: threading.Event, known: int | None = None
    ) -> int:
        """Sends batch k while batch k+1 is read from the store (only after a full batch: a
        short one means the store had nothing more); returns the last position sent (or
        found on the stream). ``known``: where the stream ended when this relay last sent."""
        after = known if known is not None else self.last_position()
        batch = self.read(after)
        while batch is not None and not stop.is_set():
            upcoming = reader.submit(self.read, batch.last) if batch.count == self.batch else None
            if not self.send(batch, after=after):
                after = self.last_position()  # another relay, or a Redis that lost its data
                batch = self.read(after)
                continue
            after = batch.last
            batch = upcoming.result() if upcoming is not None else None
        return after


def wait_until_published(relay: Relay, position: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if relay.last_position() >= position:
            return True
        time.sleep(0.01)
    return False
