"""The full audit with several partitions: the partition streams, read together in position
order, are compared with the store, and each view across partitions with a fold; an event
missing from one partition stream is found."""

from __future__ import annotations

from typing import Any

from redis import Redis

from projections.live.worker import partition_appliers
from services.recorder.application import Negotiations
from services.relay import partitioned
from services.runtime.audit import full_audit
from services.settings import Settings
from services.wire.streams import Streams
from tests.integration.projections.support import write_notes


def test_the_audit_compares_every_partition_stream_and_view_with_the_store(
    redis_settings: Settings, sqlite_app: Negotiations, client: Redis, prefix: str
) -> None:
    settings = redis_settings.model_copy(update={"partitions": 3})
    write_notes(sqlite_app, [f"talks-{k}" for k in range(9)], 180, 12)
    end = partitioned.build(sqlite_app, client, prefix=prefix, partitions=3).catch_up()
    for applier in partition_appliers(client, prefix, partitions=range(3), count=3).values():
        applier.apply_through()

    report = full_audit(settings, sqlite_app, client)
    assert report.ok, report.findings
    assert report.checks["stream"] == "ok" and report.checks["view negotiation"] == "ok"
    assert report.last_position == end

    part = Streams(prefix).partitions(3)[2]
    entries: Any = client.xrange(part.events, count=3)
    client.xdel(part.events, entries[1][0])
    found = full_audit(settings, sqlite_app, client)
    assert not found.ok and found.checks["stream"] == "failed"
    assert found.first is not None and found.first.position == int(entries[1][1][b"position"])
