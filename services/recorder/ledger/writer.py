"""``LogWriter``: the one writer of the log. It follows the store's notification log in
position order, appends each stored event as a leaf (O(k + log n) hashes per batch of k, never
the whole tree), and signs a checkpoint every ``every`` leaves, after ``seconds`` with new
leaves, and on demand. It runs beside the relay (a thread of ``talkstream relay`` and of
``talkstream up``); a second writer racing it loses on the tables' keys and reads again.

Each event is checked as it is logged (its body must hash to its ``hash``): the writer stops
before a corrupted event, like the relay, and logs one line until the store is repaired.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from hashlib import sha256

from eventsourcing.persistence import Notification

from events import split_hash
from events.tlog import HashReadError, append_leaves, leaf_hash
from events.tlog.note import NoteSigner
from services.recorder import legacy
from services.recorder.application import Negotiations
from services.recorder.exceptions import EventCorrupted, StoreUnavailable
from services.recorder.integrity import UNDECODABLE, corrupted
from services.recorder.ledger.log import Ledger
from services.recorder.ledger.tables import Leaf, StoredCheckpoint

log = logging.getLogger("talkstream.ledger")


def logged_hash(app: Negotiations, n: Notification) -> bytes:
    """The 32-byte hash a stored event's leaf carries, once its body hashes to it."""
    try:
        unpacked = app.checked_mapper.unpack(n)
    except UNDECODABLE as e:
        raise corrupted(n, f"undecodable: {type(e).__name__}") from e
    if not unpacked.fields_ok or sha256(unpacked.body).hexdigest() != unpacked.hash:
        raise corrupted(n, "hash does not match the event's content")
    return bytes.fromhex(unpacked.hash)


class LogWriter:
    def __init__(
        self,
        app: Negotiations,
        ledger: Ledger,
        signer: NoteSigner,
        *,
        every: int = 1000,
        seconds: float = 60.0,
        batch: int = 5000,
        poll_interval: float = 0.5,
        gather: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.ledger = ledger
        self.signer = signer
        self.every = every
        self.seconds = seconds
        self.batch = batch
        self.poll_interval = poll_interval
        self.gather = gather
        self.clock = clock
        self.on_checkpoint: list[Callable[[StoredCheckpoint], None]] = []
        self.wake = threading.Event()
        self._checkpointed: int | None = None  # the latest checkpoint's size, once read
        self._checkpointed_at = clock()
        self._held_by: str | None = None

    def checkpointed(self) -> int:
        if self._checkpointed is None:
            latest = self.ledger.latest_checkpoint()
            self._checkpointed = -1 if latest is None else latest.size
        return self._checkpointed

    def append_once(self, limit: int | None = None) -> int:
        """Appends up to one batch (at most ``limit`` leaves) of stored events not yet in the
        tree; returns how many (0 when the tree holds every stored event)."""
        while True:
            last = self.ledger.tables.last_leaf()
            after, size = (0, 0) if last is None else (last.position, last.index + 1)
            page = self.ledger.tables.events_after(after, min(self.batch, limit or self.batch))
            leaves = self._leaves(size, page)
            if not leaves:
                return 0
            hashes = [leaf_hash(f.position.to_bytes(8, "big") + f.event_hash) for f in leaves]
            added = append_leaves(size, hashes, self.ledger.reader)
            if self.ledger.tables.append(leaves, added):
                return len(leaves)

    def _leaves(self, size: int, page: list[tuple[int, str, bytes]]) -> list[Leaf]:
        leaves: list[Leaf] = []
        for position, _, state in page:
            try:
                value = self._hash_of(position, state)
            except EventCorrupted:
                if not leaves:
                    raise
                break
            leaves.append(Leaf(size + len(leaves), position, value))
        return leaves

    def _hash_of(self, position: int, state: bytes) -> bytes:
        """The event's hash, once its body hashes to it: straight from the stored bytes; a
        row of the first stored format, or one that fails, goes through the full check."""
        split = None if legacy.written_first(state) else split_hash(state)
        if split is not None and sha256(split[0]).hexdigest() == split[1]:
            return bytes.fromhex(split[1])
        found = self.app.notification_page(position - 1, 1)
        if not found or found[0].id != position:
            raise EventCorrupted("the event vanished while it was being logged", position=position)
        return logged_hash(self.app, found[0])

    def catch_up(self) -> int:
        """Appends every stored event not yet in the tree, signing a checkpoint each ``every``
        leaves; returns the tree's size."""
        while True:
            size = self.ledger.size()
            room = self.every - (size - max(self.checkpointed(), 0))
            appended = self.append_once(max(room, 1))
            if self.due():
                self.checkpoint_now(catch_up=False)
            if not appended:
                return self.ledger.size()

    def due(self) -> bool:
        """Whether a checkpoint is due: ``every`` new leaves, or new leaves and ``seconds``."""
        size, done = self.ledger.size(), self.checkpointed()
        if size <= max(done, 0):
            return False
        waited = self.clock() - self._checkpointed_at
        return size - max(done, 0) >= self.every or waited >= self.seconds

    def checkpoint_now(self, *, catch_up: bool = True) -> StoredCheckpoint:
        """Signs and stores a checkpoint of the whole tree (after catching up), and hands it
        to ``on_checkpoint``."""
        if catch_up:
            while self.append_once():
                pass
        made = self.ledger.checkpoint(self.signer)
        self._checkpointed = made.size
        self._checkpointed_at = self.clock()
        log.info("checkpoint size=%s", made.size)
        for listener in self.on_checkpoint:
            listener(made)
        return made

    def notify(self) -> None:
        """Called after a save in this process: log it now rather than at the next poll."""
        self.wake.set()

    def run(self, stop: threading.Event) -> None:
        """Logs and checkpoints until ``stop`` is set; waits out a failing store. Woken by a
        save, it waits ``gather`` seconds more so that one append (one transaction) takes the
        saves of that time: the recorder's commits are not doubled. The latest
        stored checkpoint is handed to ``on_checkpoint`` first (publishing what a stop left
        unpublished)."""
        announced = False
        while not stop.is_set():
            try:
                if not announced:
                    self._announce_latest()
                    announced = True
                self.catch_up()
                if self.due():
                    self.checkpoint_now()
            except (StoreUnavailable, EventCorrupted, HashReadError) as e:
                self._held_back(e)
                stop.wait(max(self.poll_interval, 1.0))
                continue
            self._released()
            if self.wake.wait(self._wait()):
                stop.wait(self.gather)  # let more saves land: one append for many of them
            self.wake.clear()
        self._stopped()

    def _stopped(self) -> None:
        """One line with the size reached; a store that does not answer just then (the lease
        lost during an outage) must not end the thread with an error."""
        try:
            log.info("log writer stopped at size %s", self.ledger.size())
        except StoreUnavailable:
            log.info("log writer stopped (its size unknown: the store does not answer)")

    def _announce_latest(self) -> None:
        latest = self.ledger.latest_checkpoint()
        if latest is not None:
            for listener in self.on_checkpoint:
                listener(latest)

    def _wait(self) -> float:
        left = self.seconds - (self.clock() - self._checkpointed_at)
        return max(min(self.poll_interval, left), 0.01)

    def _held_back(self, e: StoreUnavailable | EventCorrupted | HashReadError) -> None:
        reason = f"{e.code}@{e.position}" if isinstance(e, EventCorrupted) else e.code
        if reason != self._held_by:
            self._held_by = reason
            log.warning("log writer: waiting: %s", e.message)

    def _released(self) -> None:
        if self._held_by is not None:
            log.info("log writer: the store reads again; logging resumed")
            self._held_by = None
