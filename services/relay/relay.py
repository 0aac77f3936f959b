"""Publishes the store's notification log to the Redis stream, in order, exactly once.

The entry ID is ``<position>-0``. Redis refuses an ID that is not greater than the stream's
last, so a relay that crashed after XADD and before it knew, or two relays racing, cannot
duplicate: the refused entry is already there and, when its ``hash`` is the store's, is counted
as a duplicate. The relay resumes from the stream's last ID, never trims the stream, and sends
each batch as one Lua script call (one round trip, one command to encode). Woken by a save, it
goes on from where it left the stream without reading its end first: the script refuses the
batch unless the stream still ends there (another relay, or a Redis that lost its data), and
the relay reads again. While Redis works on a full batch, the next one is read and checked
from the store: the script call goes out, the store is read, then the reply is read, all in one
thread (a second thread would wait for the first's GIL: measured no faster than one after the
other). It wakes promptly after an in-process save and polls otherwise (SQLite has no
subscribe).

The stream and the store must hold one history. Each read from the store starts at the
position where the relay found (or left) the stream's end and checks that the store's event
there has the hash the stream holds; the script compares the hash of every refused position.
A store restored from an earlier copy fails one of these checks: the relay then names the first
differing position (services/relay/divergence.py), records it in Redis, logs one line and
publishes nothing more until ``talkstream relay --rebuild-stream`` clears the record.

Several relays may run; with a lease (services/relay/lease.py) only its holder publishes, and
the script refuses a batch whose fencing token is below the highest that published on the
stream (kept on ``<stream>:fence``): a relay that lost the lease while paused stands by instead.

It never publishes a stored event that fails its integrity check: it publishes what precedes
it, then stays there (one log line) until the store is repaired. A store that fails holds it
back the same way (one line per outage and one per recovery).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Notification
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.recorder.application import Negotiations
from services.recorder.exceptions import EventCorrupted, StoreUnavailable
from services.relay import divergence, tracing
from services.relay.exceptions import LeaseLost, StreamDiverged
from services.relay.lease import Lease
from services.wire.connect import pool_reaching
from services.wire.divergence import Divergence, record, recorded
from services.wire.entries import entry_args, entry_id, hash_of, position_of
from services.wire.streams import diverged_key as diverged_key_of
from services.wire.streams import fence_key

log = logging.getLogger("talkstream.relay")
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)

# KEYS: the stream, its fence (services/wire/streams.py: fence_key). ARGV[1]: the entry ID
# the stream must end with ('' for any); ARGV[2]: the publisher's fencing token ('' for a tool
# that runs without the lease: the stream's repair); then six arguments per entry.
# Returns {added, duplicates}; {-1, 0} when the stream ends elsewhere; {-2, duplicates,
# position, hash there or ''} when a refused ID holds another event (nothing after it is added);
# {-3, 0, fence} when a higher token has published (nothing is added).
XADD_BATCH = """
if ARGV[2] ~= '' then
  local token = tonumber(ARGV[2])
  local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
  if fence > token then return {-3, 0, fence} end
  if fence < token then redis.call('SET', KEYS[2], ARGV[2]) end
end
if ARGV[1] ~= '' then
  local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  local last = '0-0'
  if top[1] then last = top[1][1] end
  if last ~= ARGV[1] then return {-1, 0} end
end
local added, duplicates = 0, 0
for i = 3, #ARGV, 6 do
  local res = redis.pcall('XADD', KEYS[1], ARGV[i], 'type', ARGV[i + 1],
    'negotiation_id', ARGV[i + 2], 'position', ARGV[i + 3], 'hash', ARGV[i + 4],
    'event', ARGV[i + 5])
  if type(res) == 'table' and res.err then
    if not string.find(res.err, 'equal or smaller', 1, true) then
      return redis.error_reply(res.err)
    end
    local there = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i], 'COUNT', 1)
    local hash = ''
    if there[1] then
      local fields = there[1][2]
      for f = 1, #fields, 2 do
        if fields[f] == 'hash' then hash = fields[f + 1] end
      end
    end
    if hash ~= ARGV[i + 4] then return {-2, duplicates, ARGV[i + 3], hash} end
    duplicates = duplicates + 1
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
    last_hash: str = ""

    def hash_at(self, position: int) -> str | None:
        """The hash this batch sends for ``position`` (six script arguments per entry)."""
        for at in range(0, len(self.args), 6):
            if self.args[at + 3] == position:
                return str(self.args[at + 4])
        return None


@dataclass(frozen=True)
class StreamEnd:
    """Where the stream ends: the last position and the hash there (0 and None: empty)."""

    position: int
    hash: str | None


class Relay:
    def __init__(
        self,
        app: Negotiations,
        redis: Redis,
        *,
        stream: str,
        batch: int = 500,
        poll_interval: float = 0.5,
        diverged_key: str | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.app = app
        self.redis = redis
        self.stream = stream
        self.lease = lease  # None: publishes unfenced (a tool run alone, e.g. the repair)
        self.diverged_key = diverged_key or diverged_key_of(stream)
        self.batch = batch
        self.poll_interval = min(max(poll_interval, 0.01), 5.0)
        self.stats = RelayStats()
        self.wake = threading.Event()
        self.divergence: Divergence | None = None  # while set, nothing is published
        self._record_read = False  # whether the recorded state was read since starting
        self._xadd_batch = redis.register_script(XADD_BATCH)
        self._held_by: str | None = None  # why the store holds the relay back, while it does

    def stream_end(self) -> StreamEnd:
        top: Any = self.redis.xrevrange(self.stream, count=1)
        if not top:
            return StreamEnd(0, None)
        entry, fields = top[0]
        return StreamEnd(position_of(entry), hash_of(fields))

    def last_position(self) -> int:
        return self.stream_end().position

    def read(self, after: int, after_hash: str | None = None) -> Batch | None:
        """The next batch of stored events after ``after``, as script arguments; it ends
        before a corrupted event (raised when that event comes first). With ``after_hash``
        (the hash the stream holds at ``after``), the store's event at ``after`` is read too
        and must have it, else StreamDiverged."""
        checked = after > 0 and after_hash is not None
        start, limit = (after - 1, self.batch + 1) if checked else (after, self.batch)
        notifications: Sequence[Notification] = self.app.notification_page(start, limit)
        if checked:
            notifications = self._beyond(after, after_hash, notifications)
        if not notifications:
            return None
        args: list[bytes | str | int] = []
        hash = ""
        for count, n in enumerate(notifications):
            try:
                body, next_hash, kind, negotiation_id = self.app.head_of(n)
            except EventCorrupted:
                if count == 0:
                    raise
                return Batch(notifications[count - 1].id, count, args, hash)
            hash = next_hash
            args += entry_args(n.id, body, hash, kind, negotiation_id)
        return Batch(notifications[-1].id, len(notifications), args, hash)

    def _beyond(
        self, after: int, after_hash: str | None, notifications: Sequence[Notification]
    ) -> Sequence[Notification]:
        """The notifications after ``after``, once the store's event at ``after`` is known to
        be the one the stream holds there."""
        first = notifications[0] if notifications else None
        store_hash = self.app.body_of(first)[1] if first is not None and first.id == after else None
        if store_hash != after_hash:
            raise StreamDiverged(self._locate(Divergence(after, store_hash, after_hash)))
        return notifications[1:]

    def _locate(self, seen: Divergence) -> Divergence:
        return divergence.locate(self.app, self.redis, self.stream, seen)

    def send(self, batch: Batch, *, after: int | None = None) -> bool:
        """XADDs the batch; with ``after``, only if the stream still ends at that position
        (else nothing is sent and the answer is False: read the stream's end again).
        StreamDiverged if Redis refused a position that holds another event; LeaseLost when
        this relay has a lease and does not hold it, or a newer token has published."""
        expected = entry_id(after) if after is not None else ""
        return self._taken(batch, self.xadd(self.stream, expected, batch.args))

    def begin_send(self, batch: Batch, *, after: int) -> Callable[[], bool]:
        """``send`` in two halves: the script call goes out now, and the function returned
        reads Redis's reply and gives ``send``'s answer (raising as ``send`` does). Between
        the two the caller reads the next batch from the store while Redis adds this one."""
        reply = self._xadd_later(self.stream, entry_id(after), batch.args)
        return lambda: self._taken(batch, reply())

    def _taken(self, batch: Batch, reply: Any) -> bool:
        """What the script's reply says about ``batch`` (see ``send``)."""
        outcome, duplicates = int(reply[0]), int(reply[1])
        if outcome == -1:
            return False
        self.stats.duplicates += duplicates
        if outcome == -2:
            position, there = int(reply[2]), reply[3].decode() or None
            raise StreamDiverged(self._locate(Divergence(position, batch.hash_at(position), there)))
        self.stats.published += outcome
        tracing.relayed(self.redis, self.stream, batch.args)
        return True

    def xadd(self, stream: str, expected: str, args: list[bytes | str | int]) -> Any:
        """One call of the XADD_BATCH script on ``stream``, fenced by this relay's token on
        ``fence_key(stream)`` (see the script's reply above); LeaseLost when this relay has a
        lease and does not hold it, or a newer token has published on that stream."""
        token, keys, argv = self._script_input(stream, expected, args)
        return self._fenced(stream, token, self._xadd_batch(keys=keys, args=argv))

    def _script_input(
        self, stream: str, expected: str, args: list[bytes | str | int]
    ) -> tuple[str, list[str], list[bytes | str | int]]:
        """The fencing token, then the XADD_BATCH script's keys and arguments."""
        token = self._fencing_token(stream)
        return token, [stream, fence_key(stream)], [expected, token, *args]

    def _xadd_later(
        self, stream: str, expected: str, args: list[bytes | str | int]
    ) -> Callable[[], Any]:
        """``xadd`` sent now on a connection of its own; the function returned reads its
        reply. A Redis that lost its scripts (restarted) ran nothing: the call is then made
        again the usual way, which loads the script."""
        token, keys, argv = self._script_input(stream, expected, args)
        pool = pool_reaching(self.redis, stream)
        connection = pool.get_connection()
        try:
            connection.send_command("EVALSHA", self._xadd_batch.sha, len(keys), *keys, *argv)
        except BaseException:
            connection.disconnect()  # part of the command may have gone: never reuse it
            pool.release(connection)
            raise

        def reply() -> Any:
            try:
                answer = connection.read_response()
            except NoScriptError:
                answer = None
            except BaseException:
                connection.disconnect()  # a reply may be left unread on it
                raise
            finally:
                pool.release(connection)
            if answer is None:
                answer = self._xadd_batch(keys=keys, args=argv)
            return self._fenced(stream, token, answer)

        return reply

    def _fenced(self, stream: str, token: str, reply: Any) -> Any:
        """The script's reply, unless a higher token has published (LeaseLost)."""
        if int(reply[0]) == -3:
            raise LeaseLost(
                f"token {token} refused on {stream}: token {int(reply[2])} has published",
                token=int(token),
                fence=int(reply[2]),
            )
        return reply

    def _fencing_token(self, stream: str) -> str:
        if self.lease is None:
            return ""
        token = self.lease.token
        if token is None:
            raise LeaseLost(f"not the lease holder of {stream}", token=None)
        return str(token)

    def publish_once(self) -> int:
        """Publishes up to one batch after the stream's last position; returns how many
        events it read from the store (0 when caught up)."""
        end = self.stream_end()
        batch = self.read(end.position, end.hash)
        if batch is None:
            return 0
        self.send(batch)
        return batch.count

    def catch_up(self, progress: Callable[[int], object] | None = None) -> int:
        """Publishes until the stream holds every stored event; returns the last position.
        ``progress`` gets the position reached after each full batch."""
        while self.publish_once() == self.batch:
            if progress is not None:
                progress(self.last_position())
        return self.last_position()

    def notify(self) -> None:
        """Called after a save in this process: publish now rather than at the next poll."""
        self.wake.set()

    def run(self, stop: threading.Event) -> None:
        """Publishes until ``stop`` is set. Survives Redis outages (backoff, one log line per
        outage) and catches up from the stream's last ID when Redis is back. While the stream
        has diverged from the store it publishes nothing and waits for the repair."""
        backoff = 0.0
        known: StreamEnd | None = None  # where the stream ends, as this relay left it
        while not stop.is_set():
            try:
                last = self._step(stop, known)
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
                reached = "none (paused)" if last is None else last.position
                log.info("relay: Redis is back; caught up to position %s", reached)
                backoff = 0.0
            if last is None:  # diverged or standing by: look again at each poll
                known = None
                stop.wait(self.poll_interval)
                continue
            # After a save the end it left is checked by the send itself; an idle poll
            # reads the stream's end again (Redis may have lost its data meanwhile).
            known = last if self.wake.wait(self.poll_interval) else None
            self.wake.clear()
        log.info(
            "relay stopped: %s published, %s duplicates skipped",
            self.stats.published,
            self.stats.duplicates,
        )

    def _step(self, stop: threading.Event, known: StreamEnd | None) -> StreamEnd | None:
        """Publishes what the store holds beyond the stream; None while diverged or
        standing by (another relay holds the lease)."""
        if self.lease is not None and not self.lease.held():
            return None
        if self._paused():
            return None
        try:
            return self._stream_until_caught_up(stop, known)
        except StreamDiverged as e:
            self._halt(e.divergence)
            return None
        except LeaseLost as e:
            if self.lease is not None and e.fence is not None:
                self.lease.lost("fenced")
            return None

    def _paused(self) -> bool:
        """Whether a divergence is recorded (read at start, then only while paused: this
        relay records what it finds itself)."""
        if self.divergence is None and self._record_read:
            return False
        found = recorded(self.redis, self.diverged_key)
        self._record_read = True
        if found is None:
            if self.divergence is not None:
                log.info("relay: the diverged stream was rebuilt; publishing again")
            self.divergence = None
            return False
        if self.divergence is None:
            self.divergence = found
            self._log_paused(found)
        return True

    def _halt(self, found: Divergence) -> None:
        self.divergence = record(self.redis, self.diverged_key, found)
        self._log_paused(self.divergence)

    def _log_paused(self, found: Divergence) -> None:
        log.warning(
            "relay: the event stream diverged from the store at %s; publishing stopped until "
            "`talkstream relay --rebuild-stream` store_position=%s stream_position=%s",
            found.describe(),
            found.store_position,
            found.stream_position,
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
        self, stop: threading.Event, known: StreamEnd | None = None
    ) -> StreamEnd:
        """Sends batch k and reads batch k+1 from the store while Redis adds k (only after a
        full batch: a short one means the store had nothing more); returns where it left the
        stream (or found its end). ``known``: where the stream ended when this relay last
        sent."""
        end = known if known is not None else self.stream_end()
        batch = self.read(end.position, end.hash)
        while batch is not None and not stop.is_set():
            sent = StreamEnd(batch.last, batch.last_hash)
            taken = self.begin_send(batch, after=end.position)
            full = batch.count == self.batch
            try:
                upcoming = self.read(sent.position, sent.hash) if full else None
            finally:
                added = taken()  # the reply is read even when the store failed meanwhile
            if not added:
                end = self.stream_end()  # another relay, or a Redis that lost its data
                batch = self.read(end.position, end.hash)
                continue
            end = sent
            batch = upcoming
        return end
