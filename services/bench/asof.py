"""``talkstream bench asof``: point-in-time answers on one large negotiation."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from events import PartialDate
from projections.asof import fold_at
from projections.pointintime import PointInTime
from services.bench.record import _note, _opening
from services.runtime.bootstrap import build_application
from services.settings import Settings

QUESTIONS = ("2024-09", "2024-10-01", "2025", "2024-09-27T12:00:00Z")


def _ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def bench_asof(events: int, progress: Callable[[str], object]) -> dict[str, float]:
    """Times (ms): the raw baseline (load every event from the store and fold), the first
    question (load into the cache and fold), a new question (fold from cached events) and a
    repeated question (cached fold)."""
    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        app = build_application(Settings(home=Path(tmp)))
        app.record_many([_opening(0)], principal="bench")
        drafts = [_note(0, n) for n in range(events)]
        for start in range(0, events, 500):
            app.record_many(drafts[start : start + 500], principal="bench")
        progress(f"stored {events} events in one negotiation")
        asked = [PartialDate.parse(q) for q in QUESTIONS]
        later = PartialDate.parse("2100")

        def raw_fold(q: PartialDate) -> float:
            return _ms(lambda: fold_at(app.wires("bench-0"), as_of=q))

        service = PointInTime(lambda nid, after: app.wires(nid, after_version=after))

        def ask(q: PartialDate) -> float:
            return _ms(lambda: service.state("bench-0", as_of=q, known_at=later))

        raw = statistics.median(raw_fold(q) for q in asked)
        first = _ms(lambda: service.state("bench-0"))
        new = statistics.median(ask(q) for q in asked)
        repeated = statistics.median(ask(q) for q in asked)
        app.close()
    return {"raw": raw, "first": first, "new": new, "repeated": repeated}
