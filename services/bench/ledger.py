"""``talkstream bench verify`` (the proofs part) and ``bench record --with-log``: what the
verifiable log costs.

Proofs are timed on a tree of N leaves in a fresh SQLite store's log tables, filled the way
the writer fills them (``append_leaves``, batches of 10,000) from synthetic event hashes: a
proof reads the tree's stored hashes only, never the events, so its cost depends on the tree's
size and not on what was recorded. The baseline, timed in the same run, is one indexed read of
one stored hash. The recording figure records the same events twice on fresh SQLite files, once
alone and once with the log writer running beside it (a thread woken by each save, as in
``talkstream up``), and gives both rates.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

from events import Envelope, parse_draft
from events.tlog import (
    Ed25519Signer,
    append_leaves,
    event_leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from services.bench.record import NEGOTIATIONS, note_body, opening_body
from services.recorder.application import Negotiations
from services.recorder.ledger import Leaf, Ledger, LogWriter, open_ledger
from services.runtime.bootstrap import build_application
from services.settings import Settings

FILL_BATCH = 10_000
Progress = Callable[[str], object]


def fill_tree(ledger: Ledger, size: int, progress: Progress | None = None) -> None:
    """Appends synthetic leaves (positions 1..size) until the tree has ``size``."""
    done = ledger.size()
    while done < size:
        count = min(FILL_BATCH, size - done)
        leaves = [
            Leaf(done + i, done + i + 1, (done + i).to_bytes(32, "big")) for i in range(count)
        ]
        hashes = [event_leaf_hash(f.position, f.event_hash.hex()) for f in leaves]
        ledger.tables.append(leaves, append_leaves(done, hashes, ledger.reader))
        done += count
        if progress is not None and done % 100_000 == 0:
            progress(f"tree: {done} leaves")


def _millis(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def bench_proofs(
    directory: Path, size: int, samples: int, progress: Progress | None = None
) -> dict[str, dict[str, float]]:
    """p50/p99 milliseconds of an inclusion proof, a consistency proof (each made from the
    store and verified), and of one stored-hash read (the baseline)."""
    settings = Settings(home=directory / "proofs", store="sqlite")
    app = build_application(settings)
    try:
        ledger = open_ledger(app, settings)
        fill_tree(ledger, size, progress)
        root = ledger.root(size)
        rng = random.Random(9162)
        inclusion: list[float] = []
        consistency: list[float] = []
        single: list[float] = []
        for _ in range(samples):
            position = rng.randint(1, size)
            started = time.perf_counter()
            proof = ledger.inclusion(position, size)
            verify_inclusion(proof.index, size, proof.leaf_hash, proof.proof, root)
            inclusion.append(time.perf_counter() - started)

            old = rng.randint(1, size - 1)
            started = time.perf_counter()
            joined = ledger.consistency(old, size)
            verify_consistency(old, size, joined.old_root, root, joined.proof)
            consistency.append(time.perf_counter() - started)

            node = (0, rng.randrange(size))
            started = time.perf_counter()
            ledger.tables.nodes([node])
            single.append(time.perf_counter() - started)
    finally:
        app.close()
    return {
        "inclusion": _millis(inclusion),
        "consistency": _millis(consistency),
        "one_read": _millis(single),
    }


ROUNDS = 10


def _drafts(events: int, offset: int) -> list[Envelope]:
    return [parse_draft(note_body(n % NEGOTIATIONS, offset + n)) for n in range(events)]


def _open(app: Negotiations) -> None:
    app.record_many([parse_draft(opening_body(i)) for i in range(NEGOTIATIONS)], principal="bench")


def _seconds(app: Negotiations, drafts: list[Envelope], batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(drafts), batch):
        app.record_many(drafts[start : start + batch], principal="bench")
    return time.perf_counter() - started


def bench_record_with_log(events: int, batch: int, directory: Path) -> dict[str, float]:
    """Events/s recorded in batches on two fresh SQLite files, one without and one with the
    log writer running beside (woken by each save, as in ``talkstream up``), in rounds that
    alternate which goes first, so that a change in the machine's load falls on both; and how
    long the writer then took to log what remained."""
    alone = build_application(Settings(home=directory / "alone", store="sqlite"))
    settings = Settings(home=directory / "logged", store="sqlite")
    app = build_application(settings)
    ledger = open_ledger(app, settings)
    writer = LogWriter(
        app,
        ledger,
        Ed25519Signer.generate(settings.log_origin),
        every=settings.checkpoint_every,
        seconds=settings.checkpoint_seconds,
        poll_interval=settings.relay_poll_interval,
    )
    app.after_save.append(writer.notify)
    stop = threading.Event()
    thread = threading.Thread(target=writer.run, args=(stop,), daemon=True)
    spent = {"without": 0.0, "with": 0.0}
    try:
        _open(alone)
        _open(app)
        thread.start()
        share = max(events // ROUNDS, 1)
        for round_ in range(ROUNDS):
            drafts = _drafts(share, round_ * share)
            order = [("without", alone), ("with", app)]
            for name, target in order if round_ % 2 == 0 else reversed(order):
                spent[name] += _seconds(target, drafts, batch)
        started = time.perf_counter()
        while ledger.size() < share * ROUNDS + NEGOTIATIONS:
            time.sleep(0.01)
        lag = time.perf_counter() - started
        stop.set()
        writer.notify()
        thread.join(30)
        checkpoints = len(ledger.checkpoints(0, 10**6))
    finally:
        stop.set()
        writer.notify()
        thread.join(30)
        app.close()
        alone.close()
    recorded = share * ROUNDS
    return {
        "without": recorded / spent["without"],
        "with": recorded / spent["with"],
        "catch_up_seconds": lag,
        "checkpoints": float(checkpoints),
    }
