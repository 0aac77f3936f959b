"""The intake on a 3-primary Redis Cluster, through the poller (no FastStream): entries are
recorded and answered on the results stream and on a reply stream, a refused entry is
dead-lettered at once, one that keeps failing is claimed again and dead-lettered past the
delivery limit, and nothing is left pending, although the intake's keys lie in different
slots (no transaction spans them)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.intake import entries as intake_entries
from services.intake.poller import build_poller
from services.recorder.application import Negotiations
from services.settings import Settings
from services.wire.connect import connect
from services.wire.streams import Streams
from tests.integration.intake.support import pending, read_stream, xadd_all
from tests.redis_cluster import LocalCluster, running_cluster
from tests.threads import Background
from tests.unit.intake.entry_cases import entry, setup_events, valid_note
from tests.waiting import wait_for

MAX_DELIVERIES = 2


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path / "cluster") as started:
        yield started


@pytest.fixture
def settings(redis_settings: Settings, cluster: LocalCluster) -> Settings:
    return redis_settings.model_copy(
        update={
            "redis_url": cluster.url,
            "partitions": 6,
            "intake_claim_idle_ms": 100,
            "intake_max_deliveries": MAX_DELIVERIES,
        }
    )


def breaks_on_poison(monkeypatch: pytest.MonkeyPatch) -> None:
    """A note whose text is ``Poison.`` fails as a bug would: not a refusal, so it stays
    pending and is claimed again until the delivery limit."""
    real_parse = intake_entries.parse_draft

    def parse(event: Any) -> Any:
        if isinstance(event, dict) and event.get("payload", {}).get("text") == "Poison.":
            raise TypeError("unforeseen")
        return real_parse(event)

    monkeypatch.setattr(intake_entries, "parse_draft", parse)


def test_the_poller_records_answers_and_dead_letters_on_redis_cluster(
    settings: Settings, sqlite_app: Negotiations, monkeypatch: pytest.MonkeyPatch
) -> None:
    breaks_on_poison(monkeypatch)
    redis = connect(settings.redis_url or "")
    streams = Streams(settings.prefix)
    keys = [streams.intake, streams.intake_results, streams.intake_dead, streams.intake_failures]
    assert len({redis.keyslot(k) for k in keys}) > 1  # type: ignore[attr-defined]
    reply = streams.intake_reply("desk")
    poison = {**valid_note(0), "payload": {"topic": "Troops", "text": "Poison."}}
    good = [entry(e) for e in setup_events()] + [entry(valid_note(i)) for i in range(1, 6)]
    ids = xadd_all(
        redis,
        streams.intake,
        [*good, entry(valid_note(6), reply_to=reply), entry(b"not json"), entry(poison)],
    )
    replied_id, refused_id, poison_id = ids[-3:]

    stop = threading.Event()
    polling = Background(build_poller(settings, sqlite_app, settings.redis_url or "").run, stop)
    polling.start()
    try:
        wait_for(
            lambda: redis.xlen(streams.intake_dead) == 2 and pending(redis, streams) == 0,
            30,
            "the poison entry to be dead-lettered",
        )
    finally:
        stop.set()
        polling.outcome(30)

    assert sqlite_app.max_position() == len(good) + 1
    results = {r["entry_id"]: r for r in read_stream(redis, streams.intake_results)}
    assert results.keys() == set(ids) - {replied_id}
    assert {r["status"] for i, r in results.items() if i in ids[: len(good)]} == {"recorded"}
    (answer,) = read_stream(redis, reply)
    assert answer["entry_id"] == replied_id and answer["status"] == "recorded"
    assert int(redis.ttl(reply)) > 0
    dead = {d["entry_id"]: d for d in read_stream(redis, streams.intake_dead)}
    assert dead.keys() == {refused_id, poison_id}
    assert dead[refused_id]["error_code"] != "delivery_limit"
    assert dead[poison_id]["error_code"] == "delivery_limit"
    assert "TypeError: unforeseen" in dead[poison_id]["error_message"]
    assert redis.hlen(streams.intake_failures) == 0
    redis.close()
