"""Two ``talkstream relay`` processes on one store and one Redis prefix: one holds the lease and
publishes, the other stands by; SIGKILL the holder while events are recorded, and the other
takes over within the lease time (waited for, not timed). The stream ends equal to the store:
every position exactly once, in order, no divergence recorded."""

from __future__ import annotations

import re
from pathlib import Path

from redis import Redis

from services.recorder.application import Negotiations
from services.settings import Settings
from services.wire.streams import Streams, fence_key
from tests.integration.relay.helpers import (
    RelayProcess,
    last_position,
    open_negotiations,
    stream_problems,
    write_notes,
)
from tests.processes import talkstream_env
from tests.threads import Background
from tests.waiting import wait_for

HOLDER = re.compile(r"relay redis=\S+ stream=\S+ holder=(\S+)")


def holder_of(relay: RelayProcess) -> str:
    found = HOLDER.search(relay.output())
    assert found is not None, relay.output()
    return found.group(1)


def acquired(relay: RelayProcess) -> bool:
    return "relay lease: acquired" in relay.output() or "relay lease: taken over" in relay.output()


def test_a_standby_relay_takes_over_from_a_killed_holder_and_the_stream_equals_the_store(
    redis_settings: Settings, sqlite_app: Negotiations, client: Redis, tmp_path: Path
) -> None:
    streams = Streams(redis_settings.prefix)
    nids = ["talks-a", "talks-b", "talks-c"]
    open_negotiations(sqlite_app, nids)
    env = talkstream_env(
        redis_settings, TALKSTREAM_RELAY_LEASE_MS="1000", TALKSTREAM_RELAY_POLL_INTERVAL="0.1"
    )
    relays = [RelayProcess(env, tmp_path / f"relay-{n}.log") for n in range(2)]
    try:
        for relay in relays:
            relay.wait_started()
        wait_for(lambda: any(acquired(r) for r in relays), 60, "a relay to take the lease")
        holder = next(r for r in relays if acquired(r))
        standby = next(r for r in relays if r is not holder)
        write_notes(sqlite_app, nids, 300, 30)
        caught_up = lambda: last_position(client, streams.events) == sqlite_app.max_position()  # noqa: E731
        wait_for(caught_up, 60, "the holder to publish every stored event")
        assert not acquired(standby), standby.output()

        loader = Background(write_notes, sqlite_app, nids, 600, 20, pause=0.02, tag="late")
        loader.start()
        holder.kill()  # SIGKILL: it neither releases the lease nor finishes its batch
        wait_for(lambda: acquired(standby), 60, "the standby to take the lease over")
        assert loader.outcome() == 600
        wait_for(caught_up, 60, "the new holder to publish every stored event")

        takeover = [
            line for line in standby.output().splitlines() if "relay lease: taken over" in line
        ]
        assert len(takeover) == 1, standby.output()
        assert f"holder={holder_of(standby)} " in takeover[0]
        assert f"previous_holder={holder_of(holder)} " in takeover[0]
        assert stream_problems(client, streams.events, sqlite_app) == []
        assert client.xlen(streams.events) == sqlite_app.max_position() == 9 + 900
        assert client.exists(streams.events_diverged) == 0
        token = re.search(r"taken over holder=\S+ token=(\d+)", takeover[0])
        assert token is not None
        assert client.get(fence_key(streams.events)) == token.group(1).encode()
    finally:
        codes = [relay.terminate() for relay in relays]
    assert codes[relays.index(standby)] == 0, standby.output()[-600:]
    assert client.exists(streams.relay_lease) == 0  # released on a clean stop
