"""The projection workers' batch subscribers hand FastStream only the entries' IDs: the
applier reads the entries itself, so their fields are never decoded twice."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from projections.live.worker import positions_only


def test_a_delivered_batch_is_parsed_without_its_entries_fields() -> None:
    raw = {
        "type": "bstream",
        "channel": "p:events",
        "data": [{b"type": b"ContextNoted", b"event": b"{...}"}, {b"type": b"DemandMade"}],
        "message_ids": [b"41-0", b"42-0"],
    }
    seen: list[Mapping[str, Any]] = []

    async def parse(message: Mapping[str, Any]) -> str:
        seen.append(message)
        return "parsed"

    assert asyncio.run(positions_only(raw, parse)) == "parsed"
    assert seen == [{**raw, "data": []}]
    assert seen[0]["message_ids"] == [b"41-0", b"42-0"]
    assert len(raw["data"]) == 2  # the delivered message itself is left as it was
