"""Every live view, fed in random batches with redeliveries, equals the pure fold and a rebuild."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis

from projections.live.rebuild import rebuild
from projections.live.store import ViewStore
from projections.views import PROJECTIONS
from services.relay.relay import Relay
from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests.integration.projections.support import (
    BatchApplier,
    Choice,
    live_differences,
    record_history,
    stream_wires,
)

EXAMPLES = itertools.count()


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
            record_history(app, nids, choices)
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
