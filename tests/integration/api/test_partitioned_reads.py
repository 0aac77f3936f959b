"""The API over partitioned views (``TALKSTREAM_PARTITIONS=4``): a negotiation is read from its
partition once the position asked for is reached, the listing covers every partition, and
readiness compares the store with where every partition stream is complete."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from projections.live.worker import partition_appliers
from services.api.app import create_app
from services.api.context import ApiContext
from services.api.views import ServedHead
from services.relay import partitioned
from services.runtime.bootstrap import build_api_context
from services.settings import Settings
from services.wire.connect import connect_async
from services.wire.partitions import partition_of
from tests.integration.api.conftest import bearer, role_keys
from tests.integration.projections.support import write_notes

PARTITIONS = 4


async def _served_async(ctx: ApiContext) -> ServedHead | None:
    client = connect_async(str(ctx.settings.redis_url))
    try:
        return await ctx.views("negotiation").served_async(client)
    finally:
        await client.aclose()


@pytest.fixture
def ctx(api_settings: Settings, redis_url: str) -> Iterator[ApiContext]:
    ctx = build_api_context(api_settings.model_copy(update={"partitions": PARTITIONS}), redis_url)
    yield ctx
    ctx.app.close()
    ctx.redis.close()


def test_reads_find_each_negotiation_in_its_partition(ctx: ApiContext) -> None:
    nids = [f"talks-{k}" for k in range(12)]
    write_notes(ctx.app, nids, 240, 20)
    end = partitioned.build(
        ctx.app, ctx.redis, prefix=ctx.settings.prefix, partitions=PARTITIONS
    ).catch_up()
    appliers = partition_appliers(
        ctx.redis, ctx.settings.prefix, partitions=range(PARTITIONS), count=PARTITIONS
    )
    for applier in appliers.values():
        applier.apply_through()
    assert len({partition_of(nid, PARTITIONS) for nid in nids}) > 1
    reader = bearer(role_keys(ctx)["reader"])

    with TestClient(create_app(ctx), raise_server_exceptions=False) as http:
        for nid in nids:
            answer = http.get(f"/v1/negotiations/{nid}?min_position={end}", headers=reader)
            assert answer.status_code == 200, answer.text
            assert answer.json()["source"] == "live" and answer.json()["position"] == end
            assert answer.json()["view"]["negotiation_id"] == nid
            again = http.get(f"/v1/negotiations/{nid}", headers=reader)  # from the cache
            assert again.content == answer.content
        assert ctx.views("negotiation").served() == asyncio.run(_served_async(ctx))
        listing = http.get("/v1/negotiations", headers=reader).json()
        assert [row["negotiation_id"] for row in listing["negotiations"]] == sorted(nids)
        assert listing["position"] == end
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
