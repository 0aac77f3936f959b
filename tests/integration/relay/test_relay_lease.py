"""The relay lease against real Redis and a real SQLite file: of several contenders exactly one
holds it and publishes; when the holder stops renewing, a standby takes over with a higher
token; a relay that still believes it holds the lease (paused past its expiry) is refused by
the XADD script once a newer token has published, and adds nothing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
from redis import Redis

from services.recorder.application import Negotiations
from services.relay.exceptions import LeaseLost
from services.relay.lease import Lease, lease_kept, lease_thread
from services.relay.relay import Relay
from services.wire.streams import Streams, fence_key
from tests.integration.relay.helpers import (
    last_position,
    open_negotiations,
    relay_running,
    stream_problems,
    write_notes,
)
from tests.redis_servers import PrivateRedis
from tests.waiting import wait_for

SHORT_MS = 300  # the shortest lease the settings allow: expiry comes quickly in tests
LONG_MS = 30_000  # a lease that cannot run out during a test, even on a loaded machine


class FrozenClock:
    """A clock that does not move: a relay paused (GC, stopped VM) believes its lease lasts."""

    def __call__(self) -> float:
        return 0.0


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def lease_of(client: Redis, prefix: str, **options: object) -> Lease:
    streams = Streams(prefix)
    values: dict[str, object] = {"lease_ms": SHORT_MS, **options}
    return Lease(
        client,
        key=streams.relay_lease,
        counter=streams.relay_fence_counter,
        **values,  # type: ignore[arg-type]
    )


def taken(lease: Lease) -> bool:
    """One try to take (or renew) the lease; whether it is held."""
    lease.tick()
    return lease.held()


def test_of_two_contenders_exactly_one_holds_the_lease(redis_client: Redis, prefix: str) -> None:
    first = lease_of(redis_client, prefix, lease_ms=LONG_MS)
    second = lease_of(redis_client, prefix, lease_ms=LONG_MS)
    for _ in range(3):
        first.tick()
        second.tick()
    assert [first.held(), second.held()] == [True, False]
    value = redis_client.get(Streams(prefix).relay_lease)
    assert value == f"{first.holder} {first.token}".encode()


def test_a_standby_takes_over_when_the_holder_stops_renewing(
    redis_client: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="talkstream.relay")
    holder = lease_of(redis_client, prefix)
    standby = lease_of(redis_client, prefix, lease_ms=LONG_MS)
    holder.tick()
    standby.tick()
    old = holder.token
    assert old is not None and not standby.held()
    # The holder is silent from here on, as if killed.
    wait_for(lambda: taken(standby), 30, "the standby to take the lease over")
    assert standby.token is not None and standby.token > old
    assert not holder.held()  # its own clock says the lease ran out
    holder.tick()  # it stands by now: the lease is the other's
    assert not holder.held() and standby.held()
    lines = [r.getMessage() for r in caplog.records]
    takeover = [line for line in lines if line.startswith("relay lease: taken over")]
    assert takeover == [
        f"relay lease: taken over holder={standby.holder} token={standby.token} "
        f"previous_holder={holder.holder} previous_token={old}"
    ]
    assert f"relay lease: lost holder={holder.holder} token={old} reason=expired; standing by" in (
        lines
    )


def test_a_renewing_holder_keeps_the_lease_past_its_duration(
    redis_client: Redis, prefix: str
) -> None:
    holder = lease_of(redis_client, prefix, lease_ms=1500)
    standby = lease_of(redis_client, prefix, lease_ms=LONG_MS)
    holder.tick()
    token = holder.token
    with lease_kept(holder):
        until = time.monotonic() + 5.0  # over three lease durations
        while time.monotonic() < until:
            assert not taken(standby)
            time.sleep(0.1)
        assert holder.token == token
    assert redis_client.exists(holder.key) == 0  # released on stop: no wait for the expiry
    assert taken(standby)


def test_a_paused_relay_with_a_stale_token_is_refused_and_adds_nothing(
    sqlite_app: Negotiations, redis_client: Redis, prefix: str, stream: str
) -> None:
    open_negotiations(sqlite_app, ["talks-a"])
    paused_lease = lease_of(redis_client, prefix, clock=FrozenClock())
    paused = Relay(sqlite_app, redis_client, stream=stream, lease=paused_lease)
    paused_lease.tick()
    paused.catch_up()
    old = paused_lease.token
    assert old is not None and last_position(redis_client, stream) == 3

    # Its lease expires in Redis while it is paused; another relay takes over and publishes.
    successor_lease = lease_of(redis_client, prefix, lease_ms=LONG_MS)
    successor = Relay(sqlite_app, redis_client, stream=stream, lease=successor_lease)
    wait_for(lambda: taken(successor_lease), 30, "the takeover")
    write_notes(sqlite_app, ["talks-a"], 5, 5)
    assert successor.catch_up() == 8
    new = successor_lease.token
    assert new is not None and new > old
    assert redis_client.get(fence_key(stream)) == str(new).encode()

    # The paused relay wakes up, still believing it holds the lease, with events to publish.
    write_notes(sqlite_app, ["talks-a"], 4, 4)
    assert paused_lease.token == old
    batch = paused.read(8, successor.stream_end().hash)
    assert batch is not None and batch.count == 4
    with pytest.raises(LeaseLost) as refused:
        paused.send(batch)
    assert (refused.value.token, refused.value.fence) == (old, new)
    assert redis_client.xlen(stream) == 8 and last_position(redis_client, stream) == 8
    assert redis_client.get(fence_key(stream)) == str(new).encode()


def test_a_fenced_relay_stands_by_and_the_holder_publishes_the_rest(
    sqlite_app: Negotiations, redis_client: Redis, prefix: str, stream: str
) -> None:
    paused_lease = lease_of(redis_client, prefix, clock=FrozenClock())
    paused = Relay(sqlite_app, redis_client, stream=stream, lease=paused_lease, poll_interval=0.05)
    paused_lease.tick()
    redis_client.set(fence_key(stream), str(int(paused_lease.token or 0) + 1))  # a newer one
    open_negotiations(sqlite_app, ["talks-a"])
    with relay_running(paused):
        wait_for(lambda: not paused_lease.held(), 30, "the fenced relay to stand by")
    assert paused.stats.published == 0 and redis_client.xlen(stream) == 0


def test_of_two_running_relays_one_publishes_and_the_stream_equals_the_store(
    sqlite_app: Negotiations, redis_client: Redis, redis_url: str, prefix: str, stream: str
) -> None:
    leases = [lease_of(Redis.from_url(redis_url), prefix, lease_ms=LONG_MS) for _ in range(2)]
    relays = [
        Relay(
            sqlite_app,
            Redis.from_url(redis_url),
            stream=stream,
            batch=50,
            poll_interval=0.05,
            lease=lease,
        )
        for lease in leases
    ]
    open_negotiations(sqlite_app, ["talks-a", "talks-b"])
    with (
        lease_kept(leases[0]),
        lease_kept(leases[1]),
        relay_running(relays[0]),
        relay_running(relays[1]),
    ):
        write_notes(sqlite_app, ["talks-a", "talks-b"], 600, 20)
        caught_up = lambda: last_position(redis_client, stream) == sqlite_app.max_position()  # noqa: E731
        wait_for(caught_up, 60, "the stream to hold every stored event")
    assert stream_problems(redis_client, stream, sqlite_app) == []
    published = sorted(relay.stats.published for relay in relays)
    assert published == [0, 606]
    assert all(relay.stats.duplicates == 0 for relay in relays)


def test_the_repair_publishes_without_a_token_and_leaves_the_fence_as_it_was(
    sqlite_app: Negotiations, redis_client: Redis, stream: str
) -> None:
    redis_client.set(fence_key(stream), "7")
    open_negotiations(sqlite_app, ["talks-a"])
    assert Relay(sqlite_app, redis_client, stream=stream).catch_up() == 3  # no lease: no token
    assert redis_client.get(fence_key(stream)) == b"7"
    assert stream_problems(redis_client, stream, sqlite_app) == []


def test_a_holder_cut_off_from_redis_past_its_lease_counts_itself_out_then_takes_it_again(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="talkstream.relay")
    client = Redis.from_url(private_redis.url, socket_timeout=2, socket_connect_timeout=2)
    lease = lease_of(client, "t", lease_ms=1000)
    stop = threading.Event()
    keeper = lease_thread(lease, stop)
    try:
        wait_for(lease.held, 30, "the lease to be taken")
        first = lease.token
        private_redis.stop()
        wait_for(lambda: not lease.held(), 30, "the holder to count itself out")
        private_redis.start()
        wait_for(lease.held, 60, "the lease to be taken again once Redis is back")
        assert lease.token is not None and first is not None and lease.token > first
    finally:
        stop.set()
        keeper.join(30)
        client.close()
    lines = [r.getMessage() for r in caplog.records]
    assert len([line for line in lines if "relay lease: Redis unavailable" in line]) == 1, lines
    assert f"relay lease: lost holder={lease.holder} token={first} reason=expired; standing by" in (
        lines
    )
