"""The chaos test: PostgreSQL, a private Redis, 2 ``api``, 2 ``relay`` and 3 ``project``
processes (one partition each of 3) under 8 HTTP writers, while a random process is SIGKILLed
and restarted every few seconds, the Redis is stopped once for 5 s and PostgreSQL is cut off
once (a TCP proxy between the processes and the server, which the other tests keep using). At
the end every acknowledged write is stored exactly once and no refused one is, the partition
streams together equal the store, every view equals a rebuild, ``talkstream audit verify``
passes and no consumer group holds a pending entry.

``pytest -s`` prints the run's counts."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis

from projections.live.partitioned import PartitionedViews
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.runtime.bootstrap import build_application
from services.settings import Settings
from services.wire.streams import Streams
from tests.conftest import PG, postgres_settings
from tests.e2e.chaos import (
    NEGOTIATIONS_PER_WRITER,
    POSTGRES_CUT,
    REDIS_STOPPED,
    Fleet,
    Killer,
    Tally,
    Writer,
    negotiation_ids,
    opening,
    wait_healthy,
)
from tests.integration.relay.helpers import last_position, partitions_problems
from tests.redis_servers import PrivateRedis
from tests.store_faults import TcpProxy, admin_key, max_position, run_cli, store_env
from tests.waiting import wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.slow, pytest.mark.postgres]

SEED = 20261129
EVENTS = 50_000  # acknowledged notes in all
WRITERS = 8
KILL_EVERY = (1.0, 3.0)  # seconds between two kills, drawn at random
REDIS_STOP_AT = 0.25  # the share of EVENTS acknowledged when Redis stops
REDIS_STOP_SECONDS = 5.0
POSTGRES_CUT_AT = 0.55
POSTGRES_CUT_SECONDS = 4.0
PARTITIONS = 3  # one projector process each


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy((str(PG["host"]), int(PG["port"])))
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.cut()


@pytest.fixture
def direct(tmp_path: Path, pg_schema: str, private_redis: PrivateRedis) -> Settings:
    """The test's own look at the store (straight to PostgreSQL) and the private Redis."""
    settings = postgres_settings(tmp_path, pg_schema)
    return settings.model_copy(update={"redis_url": private_redis.url, "partitions": PARTITIONS})


@pytest.fixture
def fleet(direct: Settings, proxy: TcpProxy, tmp_path: Path) -> Iterator[Fleet]:
    """The processes reach PostgreSQL through the proxy."""
    proxied = direct.model_copy(update={"postgres_port": proxy.port})
    env = store_env(proxied) | {
        "TALKSTREAM_API_RATE_PER_SECOND": "1000000",
        "TALKSTREAM_PROJECTION_CLAIM_IDLE_MS": "500",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    fleet = Fleet(env, logs)
    try:
        yield fleet
    finally:
        fleet.stop()


def _start(fleet: Fleet) -> list[str]:
    """The first API alone until it answers (it creates the store's tables), then the rest."""
    urls = [fleet.add_api("api-0")]
    wait_healthy(urls[0])
    urls.append(fleet.add_api("api-1"))
    for k in range(2):
        fleet.add(f"relay-{k}", "relay")
    for k in range(PARTITIONS):  # one projector process per partition
        fleet.add(f"project-{k}", "project", "--partitions", str(k))
    for url in urls:
        wait_healthy(url)
    return urls


def _open(urls: list[str], key: str) -> None:
    openings = [opening(nid) for w in range(WRITERS) for nid in negotiation_ids(w)]
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        answer = client.post(f"{urls[0]}/v1/events:batch", json={"events": openings})
    assert answer.status_code == 200 and answer.json()["recorded"] == len(openings), answer.text


def _acknowledged_reaches(tally: Tally, writers: list[Writer], share: float) -> None:
    def reached() -> bool:
        for w in writers:
            assert w.thread.is_alive() or w.error is None, w.error
        return len(tally.acknowledged) >= share * EVENTS

    wait_for(reached, 600, f"{share:.0%} of the events acknowledged")


def _quiet(killer: Killer, urls: list[str]) -> None:
    """No more kills, and every API answering, before a fault of its own."""
    killer.paused.set()
    time.sleep(0.5)  # a kill under way ends
    for url in urls:
        wait_healthy(url)


def _readiness(urls: list[str]) -> list[dict[str, Any]]:
    answers = [httpx.get(f"{url}/readyz", timeout=30) for url in urls]
    assert all(a.status_code == 503 for a in answers), [a.text for a in answers]
    return [a.json() for a in answers]


def _stop_redis(redis: PrivateRedis, tally: Tally, urls: list[str]) -> list[dict[str, Any]]:
    """Redis stopped for a while under the writers: /readyz bodies meanwhile."""
    redis.stop()
    tally.phase = REDIS_STOPPED
    time.sleep(REDIS_STOP_SECONDS / 2)
    bodies = _readiness(urls)
    time.sleep(REDIS_STOP_SECONDS / 2)
    tally.phase = ""
    redis.start()
    return bodies


def _cut_postgres(proxy: TcpProxy, tally: Tally, urls: list[str]) -> list[dict[str, Any]]:
    """PostgreSQL unreachable for a while under the writers: /readyz bodies meanwhile."""
    proxy.cut()
    tally.phase = POSTGRES_CUT
    wait_for(lambda: tally.count(POSTGRES_CUT, 503) >= WRITERS, 60, "writes refused with 503")
    time.sleep(POSTGRES_CUT_SECONDS)
    bodies = _readiness(urls)
    tally.phase = ""
    proxy.restore()
    return bodies


def _converged(
    direct: Settings, client: Redis, streams: list[str], views: list[PartitionedViews]
) -> int:
    end = max_position(direct)
    wait_for(
        lambda: max(last_position(client, s) for s in streams) == end,
        180,
        "the partition streams to reach the store",
    )
    wait_for(
        lambda: all(v.tracked(v.generation()) == end for v in views),
        180,
        "every view to reach the store's last position",
    )
    wait_for(lambda: not any(_pending(client, s) for s in streams), 60, "no pending entries")
    return end


def _pending(client: Redis, stream: str) -> dict[str, int]:
    groups = client.xinfo_groups(stream)
    return {g["name"].decode(): g["pending"] for g in groups if g["pending"]}


def _stored_keys(app: Negotiations) -> tuple[Counter[str], dict[str, str]]:
    """Event ids with how often each is stored, and idempotency key -> event id."""
    ids: Counter[str] = Counter()
    keys: dict[str, str] = {}
    for n in app.notifications():
        wire = json.loads(app.body_of(n)[0])
        ids[wire["event_id"]] += 1
        if key := wire.get("idempotency_key"):
            assert key not in keys, f"idempotency key {key} stored twice"
            keys[key] = wire["event_id"]
    return ids, keys


def _every_write_exactly_once(app: Negotiations, tally: Tally) -> int:
    """Every acknowledged write stored once under its event id, no refused one, nothing else
    but the openings; returns how many events the store holds."""
    ids, keys = _stored_keys(app)
    assert [i for i, n in ids.items() if n > 1] == []
    missing = {k for k in tally.acknowledged if k not in keys}
    assert not missing, f"{len(missing)} acknowledged writes are not stored"
    assert all(keys[k] == e for k, e in tally.acknowledged.items())
    assert tally.refused and not tally.refused & set(keys), "a refused write was stored"
    assert set(keys) == set(tally.acknowledged), "the store holds writes nobody was told of"
    assert len(ids) == len(keys) + WRITERS * NEGOTIATIONS_PER_WRITER
    return len(ids)


def _views_equal_a_rebuild(direct: Settings) -> list[str]:
    lines = []
    for name in PROJECTIONS:
        replayed = run_cli(direct, "replay", "--projection", name)
        assert replayed.returncode == 0, replayed.stderr
        assert "(equal)" in replayed.stdout, f"{name}: {replayed.stdout}"
        lines.append(f"{name}: {replayed.stdout.splitlines()[1]}")
    return lines


@dataclass
class Outcome:
    tally: Tally
    redis_ready: list[dict[str, Any]]  # /readyz bodies while Redis was stopped
    postgres_ready: list[dict[str, Any]]  # and while PostgreSQL was cut off
    seconds: float


def _load_under_faults(
    direct: Settings, fleet: Fleet, proxy: TcpProxy, redis: PrivateRedis
) -> Outcome:
    """The writers' load while processes are killed, Redis stops once and PostgreSQL is cut
    off once; every process alive at the end."""
    began = time.monotonic()
    key = admin_key(direct)
    urls = _start(fleet)
    _open(urls, key)
    tally = Tally()
    writers = [Writer(w, urls, key, EVENTS // WRITERS, tally) for w in range(WRITERS)]
    killer = Killer(fleet, random.Random(SEED), KILL_EVERY)
    for thread in [killer.thread, *(w.thread for w in writers)]:
        thread.start()
    _acknowledged_reaches(tally, writers, REDIS_STOP_AT)
    _quiet(killer, urls)
    redis_ready = _stop_redis(redis, tally, urls)
    killer.paused.clear()
    _acknowledged_reaches(tally, writers, POSTGRES_CUT_AT)
    _quiet(killer, urls)
    postgres_ready = _cut_postgres(proxy, tally, urls)
    killer.paused.clear()
    for w in writers:
        w.join(600)
    killer.stop()
    dead = fleet.dead()
    assert not dead, "\n\n".join(f"{name} exited:\n{fleet.output(name)}" for name in dead)
    return Outcome(tally, redis_ready, postgres_ready, time.monotonic() - began)


def _faults_answered_as_promised(outcome: Outcome, redis: PrivateRedis) -> None:
    """Writes succeeded while Redis was stopped, /readyz named the Redis, then the store."""
    tally = outcome.tally
    assert tally.written_in[REDIS_STOPPED] > 0, "no write succeeded while Redis was stopped"
    assert not [s for (phase, s) in tally.answers if phase == REDIS_STOPPED and s >= 500]
    for body in outcome.redis_ready:
        redis_named = [p for p in body["problems"] if f":{redis.port}" in p]
        assert body["ready"] is False and redis_named, body
        assert body["degraded"] == ["redis_unavailable"], body
    for body in outcome.postgres_ready:
        assert any(p.startswith("store") for p in body["problems"]), body


def _figures(outcome: Outcome, fleet: Fleet, stored: int, fingerprints: list[str]) -> str:
    tally = outcome.tally
    figures = {
        "events acknowledged": len(tally.acknowledged),
        "events refused (503, never resent)": len(tally.refused),
        "events stored (with the openings)": stored,
        "kills": dict(fleet.kills),
        "processes that ended by themselves (started again)": dict(fleet.exits),
        "503s during the PostgreSQL cut": tally.count(POSTGRES_CUT, 503),
        "events found stored when resent (in flight at a fault)": tally.duplicates,
        "events acknowledged while Redis was stopped": tally.written_in[REDIS_STOPPED],
        "answers": {f"{p or 'normal'} {s}": n for (p, s), n in sorted(tally.answers.items())},
        "/readyz while Redis was stopped": outcome.redis_ready[0],
        "/readyz while PostgreSQL was cut": outcome.postgres_ready[0],
        "load seconds": round(outcome.seconds),
        "fingerprints": fingerprints,
    }
    return json.dumps(figures, indent=2)


def test_chaos_keeps_every_acknowledged_write_once_and_every_view_equal_to_a_rebuild(
    direct: Settings, fleet: Fleet, proxy: TcpProxy, private_redis: PrivateRedis
) -> None:
    began = time.monotonic()
    outcome = _load_under_faults(direct, fleet, proxy, private_redis)
    client = Redis.from_url(private_redis.url)
    streams = [part.events for part in Streams(direct.prefix).partitions(PARTITIONS)]
    views = [PartitionedViews(client, direct.prefix, name, PARTITIONS) for name in PROJECTIONS]
    _converged(direct, client, streams, views)
    fleet.stop()
    app = build_application(direct)
    try:
        stored = _every_write_exactly_once(app, outcome.tally)
        assert partitions_problems(client, streams, app) == []
    finally:
        app.close()
        client.close()
    fingerprints = _views_equal_a_rebuild(direct)
    audit = run_cli(direct, "audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    _faults_answered_as_promised(outcome, private_redis)
    print("\nchaos test:", _figures(outcome, fleet, stored, fingerprints))
    print(f"run seconds: {time.monotonic() - began:.0f}")
