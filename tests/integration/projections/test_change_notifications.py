"""Consumers learn of each changed negotiation from ``<prefix>:changes`` with a plain XREAD,
once per view (the views rendered from one stored state are all announced by its commit)."""

from __future__ import annotations

from redis import Redis

from projections.live.apply import Applier
from projections.live.store import ViewStore
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from tests.factories import note, started


def test_changes_stream_announces_each_changed_negotiation(
    sqlite_app: Negotiations, relay: Relay, redis_url: str, client: Redis, prefix: str
) -> None:
    sqlite_app.record_many(started("talks-a") + started("talks-b"), principal="p")
    sqlite_app.record_many([note("a", "talks-a"), note("b", "talks-b")], principal="p")
    end = relay.catch_up()
    for name in ("negotiation", "audit"):  # audit is stored as negotiation: nothing is left
        store = ViewStore(client, prefix, name)
        assert Applier(client, store, PROJECTIONS[name], relay.stream).apply_through() == end

    plain = Redis.from_url(redis_url, decode_responses=True)
    try:
        [(name, entries)] = plain.xread({f"{prefix}:changes": "0-0"})
    finally:
        plain.close()

    assert name == f"{prefix}:changes"
    last = {nid: str(sqlite_app.history(nid)[-1].position) for nid in ("talks-a", "talks-b")}
    assert sorted(tuple(sorted(fields.items())) for _, fields in entries) == sorted(
        (("negotiation_id", nid), ("position", last[nid]), ("projection", projection))
        for nid in last
        for projection in ("negotiation", "timeline", "audit")
    )
