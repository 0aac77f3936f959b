"""``talkstream bench verify`` (the verification, export and offline parts): how fast the
stored history is verified, exported and verified again offline.

A fresh SQLite store is filled with N recorded events (batches through the application, as
an import does), logged and checkpointed by the log writer. In the same run the baseline reads
the same stored rows and hashes each with ``hashlib.sha256`` (the least any verifier must do);
the verification is the store pass with the log's part beside it (hashes, chains, the tree
against every checkpoint), as ``talkstream audit verify`` makes it without Redis. Then the
bundle is exported and verified offline by ``talkstream audit verify --bundle``'s code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path

from events import parse_draft
from services.audit.bundle import export
from services.audit.offline import verify_bundle
from services.bench.exceptions import BenchFailed
from services.bench.record import NEGOTIATIONS, note_body, opening_body
from services.recorder.application import Negotiations
from services.recorder.audit import PAGE as AUDIT_PAGE
from services.recorder.audit import collector_paused
from services.recorder.ledger import LogWriter, load_signer, load_verifier, open_ledger
from services.runtime.audit import full_audit
from services.runtime.bootstrap import build_application
from services.settings import Settings

FILL_BATCH = 1000
PAGE = AUDIT_PAGE  # the store pass's page
Progress = Callable[[str], object]


def fill(app: Negotiations, events: int, progress: Progress) -> None:
    app.record_many([parse_draft(opening_body(i)) for i in range(NEGOTIATIONS)], principal="bench")
    for start in range(NEGOTIATIONS, events, FILL_BATCH):
        count = min(FILL_BATCH, events - start)
        drafts = [parse_draft(note_body(n % NEGOTIATIONS, n)) for n in range(start, start + count)]
        app.record_many(drafts, principal="bench")
        if (start + count) % 100_000 < FILL_BATCH:
            progress(f"recorded {start + count} events")


def raw_hashing(app: Negotiations) -> tuple[float, float]:
    """Events/s of reading every stored row and hashing it, and of the hashing alone: the
    rows read as the verification reads them (same query, same pages, the cyclic collector
    paused as during the store pass)."""
    count, hashing = 0, 0.0
    with collector_paused():
        started = time.perf_counter()
        after = 0
        while page := app.notification_page(after, PAGE):
            began = time.perf_counter()
            for n in page:
                sha256(n.state).digest()
            hashing += time.perf_counter() - began
            count += len(page)
            after = page[-1].id
        read_and_hash = count / (time.perf_counter() - started)
    return read_and_hash, count / hashing


def bench_audit(directory: Path, events: int, progress: Progress) -> dict[str, float]:
    settings = Settings(home=directory / "audit", store="sqlite")
    app = build_application(settings)
    try:
        fill(app, events, progress)
        ledger = open_ledger(app, settings)
        LogWriter(app, ledger, load_signer(settings)).checkpoint_now()
        progress(f"logged and checkpointed {ledger.size()} events")
        read_and_hash, hash_only = raw_hashing(app)
        started = time.perf_counter()
        report = full_audit(settings, app, None)
        verified = report.checked / (time.perf_counter() - started)
        if not report.ok or report.checks.get("log") != "ok":
            raise BenchFailed(f"the bench store did not verify: {report.checks}")
        bundle = directory / "log.tar.gz"
        started = time.perf_counter()
        key = load_verifier(settings).key_text
        export(app, ledger, settings.log_origin, key, bundle)
        exported = time.perf_counter() - started
    finally:
        app.close()
    started = time.perf_counter()
    offline = verify_bundle(bundle)
    offline_seconds = time.perf_counter() - started
    if not offline.ok:
        raise BenchFailed(f"the exported bundle did not verify: {offline.checks}")
    return {
        "events": float(report.checked),
        "verify": verified,
        "raw_read_and_hash": read_and_hash,
        "raw_hash_only": hash_only,
        "export_seconds": exported,
        "offline_seconds": offline_seconds,
        "bundle_bytes": float(bundle.stat().st_size),
    }
