"""``talkstream project`` killed with SIGKILL again and again under load still ends with views
equal to a rebuild from the stream."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from redis import Redis

from projections.live.rebuild import rebuild
from projections.live.store import ViewStore
from projections.views import PROJECTIONS
from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests.integration.projections.support import Background, write_notes
from tests.integration.relay.helpers import last_position
from tests.processes import TalkstreamProcess, talkstream_env
from tests.waiting import wait_for

SEED = 20240927
EVENTS = 20_000


def applying(stores: list[ViewStore], since: list[int], timeout: float) -> None:
    """Until some projection moved past ``since`` (the new worker is at work), or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(s.tracked(s.generation()) > t for s, t in zip(stores, since, strict=True)):
            return
        time.sleep(0.02)


@pytest.mark.slow
def test_sigkilled_worker_converges_to_a_rebuild(
    redis_settings: Settings, client: Redis, prefix: str, tmp_path: Path
) -> None:
    rnd = random.Random(SEED)
    stream = f"{prefix}:events"
    env = talkstream_env(redis_settings, TALKSTREAM_PROJECTION_CLAIM_IDLE_MS="200")
    log = tmp_path / "processes.log"
    stores = [ViewStore(client, prefix, name) for name in PROJECTIONS]
    app = build_application(redis_settings)
    nids = [f"talks-{k:02d}" for k in range(20)]
    loader = Background(write_notes, app, nids, EVENTS, 200)
    relay = TalkstreamProcess("relay", env, log)
    project = TalkstreamProcess("project", env, log)
    kills = rnd.randint(5, 10)
    try:
        loader.start()
        for _ in range(kills):
            applying(stores, [s.tracked(s.generation()) for s in stores], timeout=3)
            time.sleep(rnd.uniform(0.0, 1.0))
            assert project.alive(), project.tail()
            project.kill()
            project = TalkstreamProcess("project", env, log)
        loader.outcome(60)
        end = app.recorder.max_notification_id() or 0
        assert end >= EVENTS
        wait_for(lambda: last_position(client, stream) == end, 30, "the relay")
        wait_for(
            lambda: all(s.tracked(s.generation()) == end for s in stores),
            40,
            "every projection to reach the store's last position",
        )
    finally:
        project.terminate()
        relay.terminate()
        app.close()

    for store in stores:
        assert store.parked(store.generation()) == {}, store.name
        rebuilt = rebuild(client, store, PROJECTIONS[store.name], stream)
        assert rebuilt.position == end
        # The live view's fingerprint, taken by the rebuild just before it switched.
        assert rebuilt.live_fingerprint is not None, store.name
        assert rebuilt.fingerprint == rebuilt.live_fingerprint, store.name
