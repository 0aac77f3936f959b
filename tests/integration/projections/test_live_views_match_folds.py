"""Every live view, fed in random batches with redeliveries, equals the pure fold and a rebuild."""

from __future__ import annotations

import contextlib
import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis

from events import Envelope, RecordedEvent
from projections.live.rebuild import rebuild
from projections.live.store import ViewStore
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.recorder.exceptions import RecorderError
from services.relay.relay import Relay
from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests import factories as f
from tests.integration.projections.support import BatchApplier, live_differences, stream_wires

STATUSES = ["initialled", "signed", "ratified", "in_force", "suspended", "terminated"]
EXAMPLES = itertools.count()


def _candidates(
    events: list[RecordedEvent], n: int, k: int, nid: str
) -> list[Callable[[], Envelope]]:
    """What could come next in ``nid``; ``k`` picks which agreement, status and milestone."""
    targets = [e.event_id for e in events if e.type not in ("EventCorrected", "EventRetracted")]
    texts = [e.event_id for e in events if e.type in ("ContextNoted", "PositionStated")]
    party = (f.IRAQ, f.USA)[n % 2]
    options: list[Callable[[], Envelope]] = [
        lambda: f.note(f"note {n}", nid=nid),
        lambda: f.meeting(f"m{n}", nid=nid),
        lambda: f.statement(f"s{n}", nid=nid),
        lambda: f.draft(
            "PositionStated",
            {"party": party, "issue_id": "timeline", "position": "support", "text": f"p{n}"},
            nid,
        ),
        lambda: f.agreement(f"ag{k % 2}", nid=nid),
        lambda: f.status(STATUSES[k // 2 % len(STATUSES)], f"ag{k % 2}", nid=nid),
        lambda: f.milestone(f"ms{k % 3}", nid=nid),
        lambda: f.settled(f"ms{k % 3}", ("MilestoneMet", "MilestoneMissed")[k % 2], nid),
        lambda: f.talks("TalksSuspended", nid=nid),
        lambda: f.talks("TalksResumed", nid=nid),
    ]
    if targets:
        target = targets[n % len(targets)]
        options.append(lambda: f.retraction(target, nid=nid))
    if texts:
        text = texts[n % len(texts)]
        options.append(lambda: f.correction(text, {"text": f"corrected {n}"}, nid=nid))
    return options


Choice = tuple[int, int, int]  # which negotiation, which kind of event, which variant


def _record_history(app: Negotiations, nids: list[str], choices: list[Choice]) -> None:
    for nid in nids:
        app.record_many(f.started(nid), principal="p")
    for n, (which, kind, k) in enumerate(choices):
        nid = nids[which % len(nids)]
        options = _candidates(app.history(nid), n, k, nid)
        # A refusal by an invariant stores nothing, so the history stays valid.
        with contextlib.suppress(RecorderError):
            app.record(options[kind % len(options)](), principal="p")


def _feed(applier: BatchApplier, wires: list[dict[str, Any]], data: st.DataObject) -> None:
    """Applies the wires in random slices; in between, redelivers slices already applied and
    asks for positions already passed, which must change nothing."""
    gen = applier.generation()
    end = wires[-1]["position"]
    applied: list[tuple[int, list[dict[str, Any]]]] = []
    while (tracked := applier.store.tracked(gen)) < end:
        rest = [w for w in wires if w["position"] > tracked]
        step = data.draw(st.sampled_from(["slice", "slice", "redeliver", "behind", "through"]))
        if step == "redeliver" and applied:
            before = applier.store.fingerprint(gen)
            expected, old = data.draw(st.sampled_from(applied))
            assert not applier.apply_wires(gen, expected, old), "a redelivery was applied"
            assert applier.store.fingerprint(gen) == before
        elif step == "behind":
            last = data.draw(st.integers(0, tracked))
            assert applier.apply_through(last) == tracked
        elif step == "through":
            last = data.draw(st.integers(tracked + 1, end))
            reached = max((w["position"] for w in rest if w["position"] <= last), default=tracked)
            assert applier.apply_through(last) == reached
        else:
            size = data.draw(st.integers(1, min(len(rest), 25)))
            assert applier.apply_wires(gen, tracked, rest[:size])
            applied.append((tracked, rest[:size]))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    choices=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 30), st.integers(0, 11)), max_size=40
    ),
    data=st.data(),
)
def test_live_views_equal_rebuild_and_fold(
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    choices: list[Choice],
    data: st.DataObject,
) -> None:
    own = f"{prefix}-{next(EXAMPLES)}"
    client = Redis.from_url(redis_url)
    nids = [f"talks-{k}" for k in range(data.draw(st.integers(2, 3), label="negotiations"))]
    with tempfile.TemporaryDirectory(dir=tmp_path) as home:
        app = build_application(Settings(home=Path(home), store="sqlite"))
        try:
            _record_history(app, nids, choices)
            stream = f"{own}:events"
            Relay(app, client, stream=stream).catch_up()
            wires = stream_wires(client, stream)
            for name, projection in PROJECTIONS.items():
                store = ViewStore(client, own, name)
                _feed(BatchApplier(client, store, projection, stream), wires, data)
                assert live_differences(store, projection, app, nids) == []
                assert store.parked(store.generation()) == {}
                live = store.fingerprint()
                rebuilt = rebuild(client, store, projection, stream)
                assert rebuilt.position == wires[-1]["position"]
                assert rebuilt.fingerprint == live, name
                assert rebuilt.live_fingerprint == rebuilt.fingerprint, name
        finally:
            app.close()
            keys = list(client.scan_iter(match=f"{own}:*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
