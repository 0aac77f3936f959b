"""The relay against real Redis and real stores: the stream always equals the store (same
positions, bytes and order; no duplicate, no gap) through concurrent writers, a relay killed at
random moments, and a Redis restart; Redis refuses republished positions; nothing is trimmed;
an in-process save wakes the relay at once."""

from __future__ import annotations

import logging
import random
import subprocess
import time

import pytest
from redis import Redis

from services.recorder.application import Negotiations
from services.recorder.exceptions import StoreUnavailable
from services.relay.relay import Relay, RelayStats
from services.settings import Settings
from tests.factories import note
from tests.integration.relay.helpers import (
    Background,
    FlakyRedis,
    RelayProcess,
    last_position,
    open_negotiations,
    relay_running,
    stream_problems,
    wait_until_published,
    write_notes,
)
from tests.processes import talkstream_env
from tests.redis_servers import PrivateRedis
from tests.waiting import wait_for

OPENING = 3  # events of tests.factories.started()


def _stored(app: Negotiations) -> int:
    return sum(1 for _ in app.notifications())


@pytest.mark.slow
def test_store_and_stream_agree_after_concurrent_writers(
    store_app: Negotiations, redis_url: str, client: Redis, stream: str
) -> None:
    writers, notes = 4, 10_000
    nids = ["shared", *(f"own-{n}" for n in range(writers))]
    open_negotiations(store_app, nids)
    relay = Relay(store_app, Redis.from_url(redis_url), stream=stream, poll_interval=0.2)
    with relay_running(relay):
        # Each writer alternates between its own negotiation and the shared one.
        threads = [
            Background(
                write_notes, store_app, [f"own-{n}", "shared"], notes // writers, 50, tag=str(n)
            )
            for n in range(writers)
        ]
        for thread in threads:
            thread.start()
        assert [t.outcome() for t in threads] == [notes // writers] * writers
        assert wait_until_published(relay, store_app.max_position(), timeout=60)
    assert stream_problems(client, stream, store_app) == []
    assert _stored(store_app) == client.xlen(stream) == notes + OPENING * len(nids)
    assert relay.stats == RelayStats(published=notes + OPENING * len(nids), duplicates=0)


@pytest.mark.slow
def test_relay_killed_at_random_moments_leaves_no_duplicate_or_gap(
    redis_settings: Settings, sqlite_app: Negotiations, client: Redis, stream: str
) -> None:
    nids = [f"talks-{i}" for i in range(4)]
    open_negotiations(sqlite_app, nids)
    env = talkstream_env(redis_settings, TALKSTREAM_RELAY_BATCH="200")
    log = redis_settings.home / "relay.log"
    rng = random.Random(20240722)
    loader = Background(write_notes, sqlite_app, nids, 20_000, 100, pause=0.03)
    loader.start()
    for _ in range(10):
        relay = RelayProcess(env, log)
        try:
            relay.wait_started()
            time.sleep(rng.uniform(0.05, 0.5))
        finally:
            relay.kill()
    assert loader.outcome() == 20_000
    relay = RelayProcess(env, log)
    try:
        relay.wait_started()
        caught_up = lambda: last_position(client, stream) == sqlite_app.max_position()  # noqa: E731
        wait_for(caught_up, 30, "the restarted relay to catch up")
    finally:
        code = relay.terminate()
    assert code == 0, f"SIGTERM should stop the relay cleanly:\n{relay.output()[-400:]}"
    assert stream_problems(client, stream, sqlite_app) == []
    assert client.xlen(stream) == _stored(sqlite_app) == 20_000 + OPENING * len(nids)


@pytest.mark.slow
def test_relay_survives_a_redis_restart_mid_load(
    sqlite_app: Negotiations, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="talkstream.relay")
    nids = ["talks-a", "talks-b"]
    open_negotiations(sqlite_app, nids)
    relay = Relay(
        sqlite_app, Redis.from_url(private_redis.url), stream="t:events", poll_interval=0.05
    )
    with relay_running(relay):
        loader = Background(write_notes, sqlite_app, nids, 5_000, 100, pause=0.05)
        loader.start()
        wait_for(lambda: relay.stats.published >= 1_000, 20, "the relay to publish")
        private_redis.stop()
        assert loader.is_alive(), "the load ended before the outage"
        time.sleep(1.0)
        private_redis.start()
        assert loader.outcome() == 5_000
        assert wait_until_published(relay, sqlite_app.max_position(), timeout=30)
    messages = [r.getMessage() for r in caplog.records if r.name == "talkstream.relay"]
    assert len([m for m in messages if "Redis unavailable" in m]) == 1, messages
    assert any("Redis is back" in m for m in messages), messages
    check = Redis.from_url(private_redis.url)
    try:
        assert stream_problems(check, "t:events", sqlite_app) == []
        assert check.xlen("t:events") == 5_000 + OPENING * len(nids)
    finally:
        check.close()


def test_redis_refuses_a_republished_position(
    sqlite_app: Negotiations, client: Redis, stream: str
) -> None:
    open_negotiations(sqlite_app, ["talks-a"])
    write_notes(sqlite_app, ["talks-a"], 27, 27)
    relay = Relay(sqlite_app, client, stream=stream)
    batch = relay.read(0)
    assert batch is not None
    relay.send(batch)
    relay.send(batch)
    assert relay.stats == RelayStats(published=30, duplicates=30)
    second = Relay(sqlite_app, client, stream=stream)  # a relay starting over from position 0
    second.send(second.read(0))  # type: ignore[arg-type]
    assert second.stats == RelayStats(published=0, duplicates=30)
    assert client.xlen(stream) == 30
    assert stream_problems(client, stream, sqlite_app) == []


def test_a_batch_overlapping_the_stream_adds_only_the_new_positions(
    sqlite_app: Negotiations, client: Redis, stream: str
) -> None:
    open_negotiations(sqlite_app, ["talks-a"])
    relay = Relay(sqlite_app, client, stream=stream)
    relay.catch_up()
    write_notes(sqlite_app, ["talks-a"], 5, 5)
    relay.send(relay.read(0))  # type: ignore[arg-type]
    assert relay.stats == RelayStats(published=8, duplicates=3)
    assert client.xlen(stream) == 8
    assert stream_problems(client, stream, sqlite_app) == []


def test_a_send_expecting_another_stream_end_sends_nothing(
    sqlite_app: Negotiations, client: Redis, stream: str
) -> None:
    open_negotiations(sqlite_app, ["talks-a"])
    relay = Relay(sqlite_app, client, stream=stream)
    batch = relay.read(0)
    assert batch is not None
    assert not relay.send(batch, after=2)  # the stream is empty, not ending at position 2
    assert client.xlen(stream) == 0
    assert relay.send(batch, after=0)
    assert not relay.send(batch, after=0)  # it now ends at the batch's last position
    assert relay.stats == RelayStats(published=3, duplicates=0)


def test_relay_never_trims_the_stream(sqlite_app: Negotiations, client: Redis, stream: str) -> None:
    open_negotiations(sqlite_app, ["talks-a"])
    write_notes(sqlite_app, ["talks-a"], 3_000, 500)
    relay = Relay(sqlite_app, client, stream=stream, batch=100)
    assert relay.catch_up() == sqlite_app.max_position()
    info = client.xinfo_stream(stream)
    assert info["length"] == _stored(sqlite_app) == 3_003
    assert info["first-entry"][0] == b"1-0"
    assert info["last-generated-id"] == f"{sqlite_app.max_position()}-0".encode()


def test_relay_is_woken_by_a_save_rather_than_waiting_for_its_poll(
    sqlite_app: Negotiations, client: Redis, stream: str
) -> None:
    relay = Relay(sqlite_app, client, stream=stream, poll_interval=5.0)
    relay.poll_interval = 3600.0  # no poll comes during the test: only the save can wake it
    with relay_running(relay):
        open_negotiations(sqlite_app, ["talks-a"])
        assert wait_until_published(relay, sqlite_app.max_position(), timeout=30)
        time.sleep(0.2)  # the relay is now asleep until its next poll, an hour away
        written = sqlite_app.record(note("wake up"), principal="t")
        assert wait_until_published(relay, written.position, timeout=30)


@pytest.mark.slow
def test_relay_republishes_everything_to_a_redis_that_lost_its_data(
    sqlite_app: Negotiations, private_redis: PrivateRedis
) -> None:
    open_negotiations(sqlite_app, ["talks-a"])
    write_notes(sqlite_app, ["talks-a"], 500, 100)
    relay = Relay(
        sqlite_app, Redis.from_url(private_redis.url), stream="t:events", poll_interval=0.05
    )
    with relay_running(relay):
        assert wait_until_published(relay, sqlite_app.max_position(), timeout=10)
        private_redis.stop()
        private_redis.delete_data()
        private_redis.start()
        write_notes(sqlite_app, ["talks-a"], 100, 100)
        assert wait_until_published(relay, sqlite_app.max_position(), timeout=20)
    assert relay.stats == RelayStats(published=503 + 603, duplicates=0)
    check = Redis.from_url(private_redis.url)
    try:
        assert stream_problems(check, "t:events", sqlite_app) == []
    finally:
        check.close()


def test_relay_survives_redis_failing_again_right_after_it_recovers(
    sqlite_app: Negotiations, redis_url: str, stream: str
) -> None:
    open_negotiations(sqlite_app, ["talks-a"])
    flaky = FlakyRedis.from_url(redis_url)
    relay = Relay(sqlite_app, flaky, stream=stream, poll_interval=0.05)
    with relay_running(relay) as thread:
        wait_for(lambda: flaky.flapped, 10, "Redis to come back for one batch")
        time.sleep(0.5)
        assert thread.is_alive(), f"relay.run ended on a second outage: {thread.error!r}"
        written = sqlite_app.record(note("after the flap"), principal="t")
        assert wait_until_published(relay, written.position, timeout=10)


@pytest.mark.slow
def test_relay_process_started_before_redis_waits_for_it(
    redis_settings: Settings, sqlite_app: Negotiations, private_redis: PrivateRedis
) -> None:
    private_redis.stop()  # the relay starts while its Redis is down
    open_negotiations(sqlite_app, ["talks-a"])
    env = talkstream_env(redis_settings, TALKSTREAM_REDIS_URL=private_redis.url)
    relay = RelayProcess(env, redis_settings.home / "relay.log")
    try:
        try:
            code = relay.proc.wait(3)
        except subprocess.TimeoutExpired:
            code = None
        assert code is None, f"exited {code} while Redis was down:\n{relay.output()[-400:]}"
        private_redis.start()
        check = Redis.from_url(private_redis.url)
        caught_up = lambda: last_position(check, f"{redis_settings.prefix}:events") == 3  # noqa: E731
        wait_for(caught_up, 20, "the relay to publish once Redis is up")
        check.close()
    finally:
        relay.kill()


def test_the_comparison_finds_gaps_strays_duplicates_and_altered_bytes(
    sqlite_app: Negotiations, client: Redis, stream: str
) -> None:
    open_negotiations(sqlite_app, ["talks-a"])
    write_notes(sqlite_app, ["talks-a"], 2, 2)
    Relay(sqlite_app, client, stream=stream).catch_up()
    assert stream_problems(client, stream, sqlite_app) == []
    fifth = client.xrange(stream, "5-0", "5-0")[0][1]
    client.xdel(stream, "2-0")
    client.xadd(stream, {**fifth, b"event": fifth[b"event"] + b" "}, id="5-1")
    client.xadd(stream, fifth, id="9-0")
    assert set(stream_problems(client, stream, sqlite_app)) == {
        "duplicate position 5 x2",
        "1 stored positions missing, first [2]",
        "1 entries not in the store, first [9]",
        "position 5: entry id differs",
        "position 5: event bytes differs",
        "position 5: sha256(event) differs",
    }


def test_relay_publishes_after_redis_lost_its_scripts(
    sqlite_app: Negotiations, private_redis: PrivateRedis
) -> None:
    """A restarted Redis has no scripts: a batch sent by its digest runs nothing there, and
    is sent again with the script. (Its own server: SCRIPT FLUSH empties a whole server's
    cache, other tests' scripts included.)"""
    client, stream = Redis.from_url(private_redis.url), "t:events"
    open_negotiations(sqlite_app, ["talks-a"])
    write_notes(sqlite_app, ["talks-a"], 1200, 100)
    relay = Relay(sqlite_app, client, stream=stream)
    relay.send(relay.read(0))  # type: ignore[arg-type]  # the script is loaded now
    client.script_flush()
    with relay_running(relay):
        assert wait_until_published(relay, _stored(sqlite_app), timeout=20)
    assert stream_problems(client, stream, sqlite_app) == []


class _FailingOnce:
    """The application, but its second page read from the store fails (the store went away
    while the relay's first batch was on its way to Redis)."""

    def __init__(self, app: Negotiations) -> None:
        self.app = app
        self.reads = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.app, name)

    def notification_page(self, after: int, limit: int) -> object:
        self.reads += 1
        if self.reads == 2:
            raise StoreUnavailable("store_unavailable", "injected: the store went away")
        return self.app.notification_page(after, limit)


def test_a_store_failure_while_a_batch_is_on_its_way_loses_and_repeats_nothing(
    sqlite_app: Negotiations, client: Redis, stream: str
) -> None:
    open_negotiations(sqlite_app, ["talks-a"])
    write_notes(sqlite_app, ["talks-a"], 1200, 100)
    flaky = _FailingOnce(sqlite_app)
    relay = Relay(flaky, client, stream=stream, poll_interval=0.05)  # type: ignore[arg-type]
    with relay_running(relay):
        assert wait_until_published(relay, _stored(sqlite_app), timeout=20)
    assert flaky.reads > 2, relay.stats
    assert relay.stats.published == _stored(sqlite_app), (relay.stats, flaky.reads)
    assert relay.stats.duplicates == 0
    assert stream_problems(client, stream, sqlite_app) == []
