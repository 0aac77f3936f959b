"""Builds the log writer from settings, with its checkpoints published on Redis, and runs it
in a thread beside the relay (``talkstream relay`` and ``talkstream up``): the log has one
writer, so with several relays it runs only while this process's relay holds the lease."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from redis import Redis

from services.recorder.application import Negotiations
from services.recorder.ledger import LogWriter, load_signer, open_ledger
from services.relay.checkpoints import CheckpointPublisher
from services.relay.lease import Lease
from services.settings import Settings
from services.wire.streams import Streams

log = logging.getLogger("talkstream.ledger")


def build_log_writer(settings: Settings, app: Negotiations, redis_url: str | None) -> LogWriter:
    """The writer of the log in ``app``'s store, woken by each save of ``app``; with a Redis
    URL, each checkpoint is published on ``<prefix>:checkpoints``."""
    ledger = open_ledger(app, settings)
    writer = LogWriter(
        app,
        ledger,
        load_signer(settings),
        every=settings.checkpoint_every,
        seconds=settings.checkpoint_seconds,
        poll_interval=settings.relay_poll_interval,
    )
    if redis_url is not None:
        publisher = CheckpointPublisher(
            ledger, Redis.from_url(redis_url), Streams(settings.prefix).checkpoints
        )
        writer.on_checkpoint.append(publisher.published)
    app.after_save.append(writer.notify)
    return writer


class LeasedLogWriter:
    """Runs the writer while ``lease`` is held: started when it is taken, stopped when lost."""

    def __init__(self, writer: LogWriter, lease: Lease) -> None:
        self.writer = writer
        self.lease = lease
        self._leg = threading.Event()  # set when the lease is lost (ends one run)
        self._acquired = threading.Event()
        lease.on_lost.append(self.end_leg)
        lease.on_acquired.append(lambda token: self._acquired.set())

    def end_leg(self) -> None:
        self._leg.set()
        self._acquired.set()  # wakes the loop too (it stops, or waits for the lease again)
        self.writer.notify()

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``; whoever sets ``stop`` calls ``end_leg`` after it."""
        while not stop.is_set():
            self._leg.clear()
            if stop.is_set():
                break
            if not self.lease.held():
                self._acquired.wait(self.lease.renew_every)
                self._acquired.clear()
                continue
            self.writer.run(self._leg)


def writer_target(
    writer: LogWriter, lease: Lease | None
) -> tuple[Callable[..., None], Callable[[], None]]:
    """What a thread runs for the writer (alone, or while ``lease`` is held), and how to wake
    it once its stop is set."""
    if lease is None:
        return writer.run, writer.notify
    leased = LeasedLogWriter(writer, lease)
    return leased.run, leased.end_leg


@contextmanager
def log_writer_running(writer: LogWriter, lease: Lease | None = None) -> Iterator[None]:
    """The writer in a thread until the block ends (with ``lease``: only while it is held)."""
    stop = threading.Event()
    run, wake = writer_target(writer, lease)
    thread = threading.Thread(target=run, args=(stop,), name="log-writer", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        wake()
        thread.join(10)
        if thread.is_alive():
            log.warning("the log writer did not stop within 10 s")
