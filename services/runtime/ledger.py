"""Builds the log writer from settings, with its checkpoints published on Redis, and runs it
in a thread beside the relay (``talkstream relay`` and ``talkstream up``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from services.recorder.application import Negotiations
from services.recorder.ledger import LogWriter, load_signer, open_ledger
from services.relay.checkpoints import CheckpointPublisher
from services.settings import Settings
from services.wire.connect import connect
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
            ledger, connect(redis_url), Streams(settings.prefix).checkpoints
        )
        writer.on_checkpoint.append(publisher.published)
    app.after_save.append(writer.notify)
    return writer


@contextmanager
def log_writer_running(writer: LogWriter) -> Iterator[None]:
    """The writer in a thread until the block ends."""
    stop = threading.Event()
    thread = threading.Thread(target=writer.run, args=(stop,), name="log-writer", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        writer.notify()
        thread.join(10)
        if thread.is_alive():
            log.warning("the log writer did not stop within 10 s")
