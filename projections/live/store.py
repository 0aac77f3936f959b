"""A projection's states in Redis.

Keys (named in services/wire/streams.py, ``ViewKeys``; ``P`` = ``<prefix>:view:<projection>``,
``G`` = the generation):
- ``P:gen``: the generation readers use (a rebuild writes a new one and switches atomically);
- ``P:@served``: the served generation, its tracked position and a stamp every write moves
  (what a reader checks, in one read, before reusing a rendering);
- ``P:G:@tracked``: the last stream position applied;
- ``P:G:state:<negotiation_id>``: one negotiation's state (a hash, see ``codec``);
- ``P:G:@negotiations``: the set of negotiation ids with a state;
- ``P:G:@parked``: negotiation id -> why it is parked (JSON);
- ``P:G:@parked:<negotiation_id>``: the events waiting while it is parked (JSON list items).

``commit`` writes a batch's states, parkings, change notifications and the new tracked position
in one Lua script, only if the generation and the tracked position are still those the batch
was computed from (compare-and-set), so redelivered or concurrent work is never applied twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from events import canonical_json
from projections.live import codec
from projections.negotiation import State
from projections.views import rendered_from, store_of
from services.wire.connect import is_cluster
from services.wire.streams import Streams

COMMIT = """
local gen = redis.call('GET', KEYS[1]) or '0'
if ARGV[5] == 'served' and gen ~= ARGV[1] then return 0 end
local tracked = tonumber(redis.call('GET', KEYS[2]) or '0')
if tracked ~= tonumber(ARGV[2]) then return 0 end
local parks_at = 7
local parks = tonumber(ARGV[parks_at - 1])
local newly = {}
for p = 0, parks - 1 do newly[ARGV[parks_at + 2 * p]] = true end
local waits_at = parks_at + 2 * parks + 1
local waits = tonumber(ARGV[waits_at - 1])
for w = 0, waits - 1 do
  local nid = ARGV[waits_at + 3 * w + 1]
  -- a negotiation unparked since the batch read the parking lot: its list is no longer read
  if not newly[nid] and redis.call('HEXISTS', KEYS[4], nid) == 0 then return 0 end
end
for p = 0, parks - 1 do
  redis.call('HSET', KEYS[4], ARGV[parks_at + 2 * p], ARGV[parks_at + 2 * p + 1])
end
for w = 0, waits - 1 do
  redis.call('RPUSH', ARGV[waits_at + 3 * w], ARGV[waits_at + 3 * w + 2])
end
local i = waits_at + 3 * waits
local states = tonumber(ARGV[i]); i = i + 1
for _ = 1, states do
  -- key, negotiation id, 'full' or 'delta', field count, then field/value pairs
  local key, n = ARGV[i], tonumber(ARGV[i + 3])
  if ARGV[i + 2] == 'full' then redis.call('DEL', key) end
  redis.call('SADD', KEYS[3], ARGV[i + 1])
  i = i + 4
  local done = 0
  while done < n do
    local chunk = math.min(n - done, 256)
    redis.call('HSET', key, unpack(ARGV, i, i + 2 * chunk - 1))
    i = i + 2 * chunk
    done = done + chunk
  end
end
local changes = tonumber(ARGV[i]); i = i + 1
for _ = 1, changes do
  if ARGV[5] == 'served' then
    for view in string.gmatch(ARGV[4], '[^,]+') do
      redis.call('XADD', KEYS[5], 'MAXLEN', '~', '100000', '*',
        'negotiation_id', ARGV[i], 'projection', view, 'position', ARGV[i + 1])
    end
  end
  i = i + 2
end
redis.call('SET', KEYS[2], ARGV[3])
if ARGV[5] == 'served' then
  redis.call('HSET', KEYS[6], 'gen', ARGV[1], 'tracked', ARGV[3])
  redis.call('HINCRBY', KEYS[6], 'stamp', 1)
end
return 1
"""

SWITCH = """
local live = redis.call('GET', KEYS[1]) or '0'
local live_tracked = tonumber(redis.call('GET', ARGV[2] .. live .. ':@tracked') or '0')
local new_tracked = tonumber(redis.call('GET', ARGV[2] .. ARGV[1] .. ':@tracked') or '0')
if new_tracked < live_tracked and ARGV[3] ~= 'replace' then return {0, live} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'gen', ARGV[1], 'tracked', new_tracked)
redis.call('HINCRBY', KEYS[2], 'stamp', 1)
return {1, live}
"""

UNPARK = """
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[2])
for i = 6, #ARGV, 512 do
  redis.call('HSET', KEYS[2], unpack(ARGV, i, math.min(i + 511, #ARGV)))
end
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
redis.call('DEL', KEYS[1])
redis.call('HINCRBY', KEYS[6], 'stamp', 1)
for view in string.gmatch(ARGV[4], '[^,]+') do
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', '100000', '*',
    'negotiation_id', ARGV[3], 'projection', view, 'position', ARGV[5])
end
return 1
"""


WRITE_ALL_BYTES = 4 * 1024 * 1024
"""Field bytes a rebuild's pipeline holds before it goes out."""
FINGERPRINT_PAGE = 20
"""States decoded at a time for a fingerprint (a long negotiation's state is megabytes)."""


@dataclass(frozen=True)
class Served:
    """What ``P:@served`` says: the generation served, its tracked position, and a stamp
    that every write to the served generation (commit, resumed parking, switch) moves."""

    gen: str
    tracked: int
    stamp: int


SERVED_FIELDS = ["gen", "tracked", "stamp"]


def served_from(reply: Any) -> Served | None:
    """``Served`` from an HMGET of ``SERVED_FIELDS`` (None while any is missing)."""
    gen, tracked, stamp = reply
    if gen is None or tracked is None or stamp is None:
        return None
    return Served(gen.decode(), int(tracked), int(stamp))


@dataclass
class Batch:
    """What one applied batch writes."""

    states: dict[str, State] = field(default_factory=dict)
    parked: dict[str, dict[str, Any]] = field(default_factory=dict)
    waiting: list[tuple[str, bytes]] = field(default_factory=list)  # (negotiation_id, wire JSON)
    changes: dict[str, int] = field(default_factory=dict)  # negotiation_id -> position
    applied: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # not written


class ViewStore:
    """The states of projection ``name``, kept under the projection it is stored as
    (``projections.views.store_of``): the views rendered from one stored state share it, and
    each commit announces a change of every one of them."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        name: str,
        *,
        partition: int | None = None,
    ) -> None:
        self.redis = redis
        self.name = name
        self.prefix = prefix
        self.partition = partition
        self.stored_as = store_of(name)
        self.announced = ",".join(rendered_from(self.stored_as))
        streams = Streams(prefix, partition)
        self.keys = streams.view(self.stored_as)
        self.base = self.keys.base
        self.changes_stream = streams.changes_of(is_cluster(redis))
        self._commit = redis.register_script(COMMIT)
        self._switch = redis.register_script(SWITCH)
        self._unpark = redis.register_script(UNPARK)

    @property
    def gen_key(self) -> str:
        return self.keys.generation

    def generation(self) -> str:
        value = self.redis.get(self.gen_key)
        return value.decode() if isinstance(value, bytes) else "0"

    def tracked(self, gen: str) -> int:
        value = self.redis.get(self.keys.tracked(gen))
        return int(value) if value is not None else 0

    def served(self) -> Served | None:
        """The served generation, its tracked position and the stamp of its last write, in
        one read of one key; None before the first commit (or switch) wrote them."""
        return served_from(self.redis.hmget(self.keys.served, SERVED_FIELDS))

    async def served_async(self, redis: AsyncRedis) -> Served | None:
        """``served``, read through ``redis`` (an asyncio client of the same server)."""
        reply: Any = await redis.hmget(self.keys.served, SERVED_FIELDS)
        return served_from(reply)

    def tracked_and_head(self, gen: str, negotiation_id: str) -> tuple[int, bytes | None]:
        """The tracked position and one negotiation's headline field (its version and
        position: it changes whenever the negotiation's state does), in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self.keys.tracked(gen))
        pipe.hget(self.keys.state(gen, negotiation_id), codec.HEAD)
        tracked, head = pipe.execute()
        return (int(tracked) if tracked is not None else 0), head

    def heads(self, gen: str, negotiation_ids: list[str]) -> dict[str, dict[str, Any] | None]:
        """Each negotiation's headline fields (title, status, version, position, ...) without
        its sections: what a listing needs, in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for nid in negotiation_ids:
            pipe.hget(self.keys.state(gen, nid), codec.HEAD)
        rows = pipe.execute()
        return {
            nid: (orjson.loads(raw) if raw is not None else None)
            for nid, raw in zip(negotiation_ids, rows, strict=True)
        }

    def load(self, gen: str, negotiation_ids: list[str]) -> dict[str, State | None]:
        if not negotiation_ids:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for nid in negotiation_ids:
            pipe.hgetall(self.keys.state(gen, nid))
        rows = pipe.execute()
        return {
            nid: (codec.decode(fields) if fields else None)
            for nid, fields in zip(negotiation_ids, rows, strict=True)
        }

    def load_fields(self, gen: str, wanted: dict[str, list[str]]) -> dict[str, dict[bytes, bytes]]:
        """Some fields of some negotiations' state hashes (those present; none for a state
        not stored), in one round trip: the slices a batch folds into (``codec``)."""
        if not wanted:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for nid, names in wanted.items():
            pipe.hmget(self.keys.state(gen, nid), names)
        rows = pipe.execute()
        return {
            nid: {n.encode(): v for n, v in zip(names, values, strict=True) if v is not None}
            for (nid, names), values in zip(wanted.items(), rows, strict=True)
        }

    def negotiation_ids(self, gen: str) -> list[str]:
        members: Any = self.redis.smembers(self.keys.negotiations(gen))
        return sorted(m.decode() for m in members)

    def parked(self, gen: str) -> dict[str, dict[str, Any]]:
        raw: Any = self.redis.hgetall(self.keys.parked(gen))
        return {k.decode(): orjson.loads(v) for k, v in raw.items()}

    def waiting(self, gen: str, negotiation_id: str) -> list[dict[str, Any]]:
        return [
            orjson.loads(w)
            for w in self.redis.lrange(self.keys.waiting(gen, negotiation_id), 0, -1)
        ]

    def commit(
        self, gen: str, expected: int, tracked: int, batch: Batch, *, served: bool = True
    ) -> bool:
        """``served``: the batch was computed for the generation readers use, which must not
        have changed meanwhile (a rebuild writes an unserved generation)."""
        flag = "served" if served else "unserved"
        args: list[Any] = [gen, expected, tracked, self.announced, flag, len(batch.parked)]
        for nid, info in batch.parked.items():
            args += [nid, orjson.dumps(info)]
        args.append(len(batch.waiting))
        for nid, wire in batch.waiting:
            args += [self.keys.waiting(gen, nid), nid, wire]
        args.append(len(batch.states))
        for nid, state in batch.states.items():
            fields = codec.delta(state, batch.applied.get(nid, []))
            mode = "delta"
            if fields is None:
                fields, mode = codec.full(state), "full"
            args += [self.keys.state(gen, nid), nid, mode, len(fields)]
            for name, value in fields.items():
                args += [name, value]
        args.append(len(batch.changes))
        for nid, position in batch.changes.items():
            args += [nid, position]
        keys = [
            self.gen_key,
            self.keys.tracked(gen),
            self.keys.negotiations(gen),
            self.keys.parked(gen),
            self.changes_stream,
            self.keys.served,
        ]
        return bool(self._commit(keys=keys, args=args))

    def unpark(self, gen: str, negotiation_id: str, state: State, applied: int) -> bool:
        """Stores a parked negotiation's state once its ``applied`` waiting events are in it;
        refuses (False) if more events arrived meanwhile, so that none is dropped."""
        keys = [
            self.keys.waiting(gen, negotiation_id),
            self.keys.state(gen, negotiation_id),
            self.keys.negotiations(gen),
            self.keys.parked(gen),
            self.changes_stream,
            self.keys.served,
        ]
        args: list[Any] = [
            applied,
            "-",
            negotiation_id,
            self.announced,
            state["view"].get("position") or 0,
        ]
        for name, value in codec.full(state).items():
            args += [name, value]
        return bool(self._unpark(keys=keys, args=args))

    def write_all(self, gen: str, states: dict[str, State], tracked: int) -> None:
        """Writes an unserved generation's states, then its tracked position."""
        self.write_states(gen, states)
        self.redis.set(self.keys.tracked(gen), tracked)

    def write_states(self, gen: str, states: dict[str, State]) -> None:
        """Writes states of an unserved generation (a rebuild's workers, each its own
        negotiations). The pipeline goes out every 200 states or ``WRITE_ALL_BYTES`` of
        fields, whichever comes first, so long negotiations' states are never all encoded at
        once."""
        pipe = self.redis.pipeline(transaction=False)
        pending = 0
        for count, (nid, state) in enumerate(states.items(), start=1):
            fields = codec.full(state)
            pipe.delete(self.keys.state(gen, nid))
            pipe.hset(self.keys.state(gen, nid), mapping=fields)  # type: ignore[arg-type]
            pipe.sadd(self.keys.negotiations(gen), nid)
            pending += sum(len(v) for v in fields.values())
            if count % 200 == 0 or pending >= WRITE_ALL_BYTES:
                pipe.execute()
                pending = 0
        pipe.execute()

    def set_tracked(self, gen: str, tracked: int) -> None:
        """Sets an unserved generation's tracked position (once all its states are written)."""
        self.redis.set(self.keys.tracked(gen), tracked)

    def switch(self, new_gen: str, *, replace: bool = False) -> tuple[bool, str]:
        """Makes ``new_gen`` the served generation if it has caught up with the live one; with
        ``replace``, in any case (the live one was built from a stream that was replaced)."""
        mode = "replace" if replace else "catch_up"
        keys = [self.gen_key, self.keys.served]
        done, old = self._switch(keys=keys, args=[new_gen, f"{self.base}:", mode])
        return bool(done), old.decode() if isinstance(old, bytes) else str(old)

    def drop(self, gen: str) -> int:
        keys = list(self.redis.scan_iter(match=f"{self.keys.of(gen)}*", count=1000))
        for start in range(0, len(keys), 500):
            self.redis.unlink(*keys[start : start + 500])
        return len(keys)

    def fingerprint(self, gen: str | None = None) -> str:
        """The fingerprint (``fingerprint_from``) of every negotiation's state stored."""
        gen = gen or self.generation()
        return fingerprint_paged(self.negotiation_ids(gen), partial(self.load, gen))


def fingerprint_paged(ids: list[str], load: Callable[[list[str]], dict[str, State | None]]) -> str:
    """The fingerprint of the states ``load`` gives for ``ids``, loaded a page at a time (one
    page of states in memory, whatever the number of negotiations)."""
    digests: dict[str, str] = {}
    for start in range(0, len(ids), FINGERPRINT_PAGE):
        for nid, state in load(ids[start : start + FINGERPRINT_PAGE]).items():
            digests[nid] = state_digest(state)
    return fingerprint_from(digests)


def state_digest(state: State | None) -> str:
    """sha256 of one state in canonical JSON."""
    return hashlib.sha256(canonical_bytes(state)).hexdigest()


def state_digests(states: dict[str, State]) -> dict[str, str]:
    return {nid: state_digest(state) for nid, state in states.items()}


def fingerprint_from(digests: dict[str, str]) -> str:
    """sha256 over each negotiation's id and state digest, in id order: computed from
    digests, it is the same whichever process folded and digested each state."""
    total = hashlib.sha256()
    for nid in sorted(digests):
        total.update(f"{nid}\n{digests[nid]}\n".encode())
    return total.hexdigest()


def fingerprint_of(states: dict[str, State]) -> str:
    """The fingerprint of states held in memory (equal to ``ViewStore.fingerprint`` of the
    same states stored)."""
    return fingerprint_from(state_digests(states))


_SORTED_PLAIN = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# Where orjson may write a number otherwise than Python's json: below 1e-4 (1e-05 against
# 0.00001, 1e-07 against 1e-7), so in exponent form with a negative exponent, or with four
# zeros after the point.
_SUSPECT = (b"e-", b"0.0000")
_NUMBER_BYTES = frozenset(b"0123456789.-")
_BEFORE_A_VALUE = frozenset(b":,[")


def _may_differ(data: bytes) -> bool:
    """Whether a suspect pattern lies in a bare number (not only inside strings)."""
    for pattern in _SUSPECT:
        at = data.find(pattern)
        while at >= 0:
            if _in_number(data, at):
                return True
            at = data.find(pattern, at + 1)
    return False


def _in_number(data: bytes, at: int) -> bool:
    """Whether ``data[at]`` continues a token of number bytes that starts a JSON value (a
    string's text may look so too: then it is only a needless slow path)."""
    start = at
    while start > 0 and data[start - 1] in _NUMBER_BYTES:
        start -= 1
    return start == 0 or data[start - 1] in _BEFORE_A_VALUE


def canonical_bytes(value: Any) -> bytes:
    """``canonical_json(value)``, byte for byte, written by orjson unless its output could
    differ (then by canonical_json itself). States hold no NaN or infinity: they are folded
    from validated events, and orjson refuses them when decoding."""
    try:
        fast = orjson.dumps(value, option=_SORTED_PLAIN)
    except TypeError:  # what orjson will not write plainly (a big integer, a datetime, ...)
        return canonical_json(value)
    return canonical_json(value) if _may_differ(fast) else fast
