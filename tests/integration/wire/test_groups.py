"""Consumer groups as talkstream creates them on a real Redis: at ``0`` with the stream made
if absent, so entries written before the first consumer are delivered too; an existing group is
kept where it stands; any other refusal is raised."""

from __future__ import annotations

import pytest
from redis import Redis
from redis.exceptions import ResponseError

from services.wire.groups import ensure_group


def test_a_new_group_starts_at_the_beginning_of_the_stream(client: Redis, stream: str) -> None:
    client.xadd(stream, {"n": "1"}, id="1-0")
    assert ensure_group(client, stream, "readers") is True
    ((_, entries),) = client.xreadgroup("readers", "one", {stream: ">"})
    assert [entry_id for entry_id, _ in entries] == [b"1-0"]


def test_a_group_on_a_missing_stream_creates_the_stream(client: Redis, stream: str) -> None:
    assert ensure_group(client, stream, "readers") is True
    assert client.xlen(stream) == 0
    assert [g["name"] for g in client.xinfo_groups(stream)] == [b"readers"]


def test_an_existing_group_is_kept_where_it_stands(client: Redis, stream: str) -> None:
    client.xadd(stream, {"n": "1"}, id="1-0")
    ensure_group(client, stream, "readers")
    client.xreadgroup("readers", "one", {stream: ">"})
    assert ensure_group(client, stream, "readers") is False
    (group,) = client.xinfo_groups(stream)
    assert group["last-delivered-id"] == b"1-0"


def test_a_key_that_is_not_a_stream_is_refused_loudly(client: Redis, stream: str) -> None:
    client.set(stream, "not a stream")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        ensure_group(client, stream, "readers")
