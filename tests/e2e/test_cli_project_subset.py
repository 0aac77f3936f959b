"""``talkstream project --projection NAME`` runs only the views it names (and the stored state
they are rendered from), so several processes can split the work."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from redis import Redis

from projections.live.store import ViewStore
from tests.e2e.helpers import TALKSTREAM, Runner, ok


def test_a_worker_started_for_one_view_applies_only_that_view(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    runner = Runner(tmp_path)
    env = {"TALKSTREAM_REDIS_URL": redis_url, "TALKSTREAM_PREFIX": prefix}
    ok(runner("demo", "--no-serve", env=env))
    started = [
        subprocess.Popen(
            [str(TALKSTREAM), *args],
            cwd=tmp_path,
            env=runner.environment(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for args in (["relay"], ["project", "--projection", "positions"])
    ]
    client = Redis.from_url(redis_url)
    positions = ViewStore(client, prefix, "positions")
    try:
        deadline = time.monotonic() + 60
        while positions.tracked(positions.generation()) < 15:
            assert time.monotonic() < deadline, "the positions worker did not catch up"
            time.sleep(0.1)
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=30)
    for other in ("negotiation", "timeline", "commitments"):
        store = ViewStore(client, prefix, other)
        assert store.tracked(store.generation()) == 0, other
    client.close()
