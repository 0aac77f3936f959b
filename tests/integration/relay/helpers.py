"""Helpers for the relay tests: the stream compared entry by entry with the store, a relay run in
a thread, writers of notes in batches, a Redis client that fails on cue, and the relay as a
process."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from redis import Connection, Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from services.recorder.application import Negotiations
from services.recorder.exceptions import ConflictError
from services.relay.relay import Relay
from services.wire.partitions import partition_of
from tests.factories import note, started
from tests.processes import TalkstreamProcess
from tests.threads import Background
from tests.waiting import wait_for

Entry = tuple[bytes, dict[bytes, bytes]]


def stream_entries(client: Redis, stream: str, page: int = 2000) -> Iterator[Entry]:
    """The whole stream in ID order, read in pages (exclusive ranges need Redis 6.2)."""
    start = "-"
    while chunk := client.xrange(stream, min=start, count=page):
        yield from chunk
        start = "(" + chunk[-1][0].decode()


def last_position(client: Redis, stream: str) -> int:
    """The position of the stream's last entry (0 when it is empty)."""
    top = client.xrevrange(stream, count=1)
    return int(top[0][0].split(b"-")[0]) if top else 0


def stream_problems(client: Redis, stream: str, app: Negotiations) -> list[str]:
    """Every way the stream differs from the store (empty when they agree exactly): positions,
    order, duplicates, gaps, extra entries, and the bytes and hash of each event."""
    return entries_problems(list(stream_entries(client, stream)), app)


def partitions_problems(client: Redis, streams: list[str], app: Negotiations) -> list[str]:
    """``stream_problems`` of partition streams taken together (merged in position order),
    and every entry on the partition of its negotiation."""
    entries: list[Entry] = []
    problems = []
    for k, stream in enumerate(streams):
        for entry in stream_entries(client, stream):
            entries.append(entry)
            nid = entry[1][b"negotiation_id"].decode()
            if partition_of(nid, len(streams)) != k:
                problems.append(f"{entry[0].decode()} of {nid} on partition {k}")
    entries.sort(key=lambda e: int(e[0].split(b"-")[0]))
    return problems + entries_problems(entries, app)


def entries_problems(entries: list[Entry], app: Negotiations) -> list[str]:
    """``stream_problems`` of entries read in position order."""
    stored = list(app.notifications())
    ids = [entry_id.decode() for entry_id, _ in entries]
    positions = [int(i.split("-")[0]) for i in ids]
    problems = [f"duplicate position {p} x{n}" for p, n in Counter(positions).items() if n > 1]
    if positions != sorted(positions):
        problems.append("stream out of position order")
    missing = sorted({n.id for n in stored} - set(positions))
    extra = sorted(set(positions) - {n.id for n in stored})
    if missing:
        problems.append(f"{len(missing)} stored positions missing, first {missing[:5]}")
    if extra:
        problems.append(f"{len(extra)} entries not in the store, first {extra[:5]}")
    by_position = {p: (i, e[1]) for p, i, e in zip(positions, ids, entries, strict=True)}
    for n in stored:
        if n.id not in by_position:
            continue
        entry_id, fields = by_position[n.id]
        body, digest = app.body_of(n)
        checks = {
            "entry id": entry_id == f"{n.id}-0",
            "position field": fields.get(b"position") == str(n.id).encode(),
            "event bytes": fields.get(b"event") == body.encode(),
            "hash": fields.get(b"hash") == digest.encode(),
            "sha256(event)": hashlib.sha256(fields.get(b"event", b"")).hexdigest() == digest,
        }
        problems += [f"position {n.id}: {what} differs" for what, ok in checks.items() if not ok]
        if len(problems) > 20:
            break
    return problems


def open_negotiations(app: Negotiations, nids: list[str]) -> None:
    for nid in nids:
        app.record_many(started(nid), principal="setup")


def write_notes(
    app: Negotiations,
    nids: list[str],
    total: int,
    batch: int,
    *,
    pause: float = 0.0,
    tag: str = "",
) -> int:
    """Records ``total`` notes in batches, cycling over ``nids``; a batch that loses a race to
    another writer is sent again. Returns how many notes were stored."""
    written = 0
    for k in range(0, total, batch):
        drafts = [
            note(f"{tag} note {i} — محادثات بغداد", nid=nids[(k // batch) % len(nids)])
            for i in range(k, min(k + batch, total))
        ]
        for _ in range(20):
            try:
                written += len(app.record_many(drafts, principal=f"loader{tag}"))
                break
            except ConflictError:
                time.sleep(0.01)
        else:
            raise AssertionError(f"batch {k} of writer {tag!r} kept losing races")
        if pause:
            time.sleep(pause)
    return written


@contextmanager
def relay_running(relay: Relay) -> Iterator[Background]:
    """``relay.run`` in a thread, woken by the app's saves; stopped (and checked) afterwards."""
    stop = threading.Event()
    relay.app.after_save.append(relay.notify)
    thread = Background(relay.run, stop)
    thread.start()

    def halt() -> None:
        stop.set()
        relay.notify()
        relay.app.after_save.remove(relay.notify)

    try:
        yield thread
    except BaseException:
        halt()
        thread.join(30)
        raise
    halt()
    thread.outcome(timeout=30)


@contextmanager
def relay_diverging(app: Negotiations, redis_url: str, stream: str) -> Iterator[Relay]:
    """A relay on its own connection, running until it has found and recorded that ``stream``
    and the store diverged; it keeps running in the block."""
    relay = Relay(app, Redis.from_url(redis_url), stream=stream)
    with relay_running(relay):
        found = lambda: relay.redis.exists(relay.diverged_key) == 1  # noqa: E731
        wait_for(found, 20, "the divergence")
        yield relay


def wait_until_published(relay: Relay, position: int, timeout: float = 30.0) -> bool:
    """Whether the relay has published ``position`` (or beyond) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if relay.last_position() >= position:
            return True
        time.sleep(0.01)
    return False


class _Flake:
    """Goes away for one command, comes back for exactly one batch (one EVALSHA), and goes
    away again for one command."""

    def __init__(self) -> None:
        self.failures_left = 1
        self.flapped = False

    def before(self) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RedisConnectionError("injected: Redis went away")

    def after(self, command: object) -> None:
        if str(command).upper() == "EVALSHA" and not self.flapped:
            self.flapped = True
            self.failures_left = 1


class FlakyRedis(Redis):
    """A real client on a Redis that flakes (``_Flake``), whichever way a command goes out:
    through the client, or sent on one of its pool's connections with its reply read later
    (as the relay sends its batches)."""

    flake: _Flake

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> FlakyRedis:  # type: ignore[override]
        flake = _Flake()

        class FlakyConnection(Connection):
            def send_command(self, *args: Any, **options: Any) -> None:
                flake.before()
                super().send_command(*args, **options)
                flake.after(args[0])

        client: FlakyRedis = super().from_url(url, connection_class=FlakyConnection, **kwargs)
        client.flake = flake
        return client

    @property
    def flapped(self) -> bool:
        return self.flake.flapped

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.flake.before()  # above the client's retries: the caller sees the failure
        result = super().execute_command(*args, **options)
        self.flake.after(args[0])
        return result


class RelayProcess(TalkstreamProcess):
    """``talkstream relay`` as a separate process; its output goes to a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__("relay", env, log)

    def wait_started(self, timeout: float = 20.0) -> None:
        """Until it logs that it runs (the line naming the stream and its resume position)."""

        def started() -> bool:
            assert self.alive(), f"relay exited: {self.output()}"
            return "relay redis=" in self.output()

        wait_for(started, timeout, "talkstream relay to start")
