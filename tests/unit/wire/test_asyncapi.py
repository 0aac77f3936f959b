"""The AsyncAPI document is generated from the wire contract alone: it names every stream
``Streams`` names, describes each with the wire's entry models, and generating it connects to
nothing (a broker connects only when started)."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from services.wire.asyncapi import asyncapi_document
from services.wire.changes import ChangeEntry
from services.wire.checkpoints import CheckpointEntry
from services.wire.entries import EventEntry
from services.wire.intake import DeadLetter, IntakeEntry, IntakeResult
from services.wire.streams import Streams

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1
PROJECTIONS = ("negotiation", "audit")


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every attempt this test's thread makes to open a connection, each refused."""
    attempts: list[Any] = []
    test_thread = threading.get_ident()

    def refuse(first: Any, address: Any = None, *args: Any, **options: Any) -> None:
        """socket.connect(sock, address) and socket.create_connection(address, ...) alike. A
        thread of an earlier test still running in this process (a Redis client retrying in
        the background) gets a refusal it knows, and is not counted: in CI one was."""
        target = address if isinstance(first, socket.socket) else first
        if threading.get_ident() == test_thread:
            attempts.append(target)
        raise ConnectionRefusedError(f"no connection expected to {target}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def test_the_document_is_generated_without_connecting_to_redis(connections: list[Any]) -> None:
    document = asyncapi_document("1.2.3", PROJECTIONS, server=UNREACHABLE)
    assert connections == []
    assert document["servers"]["development"]["host"] == "127.0.0.1:1"
    assert document["info"]["version"] == "1.2.3"


def test_every_stream_is_a_channel_at_its_address(connections: list[Any]) -> None:
    streams = Streams("tenant-7")
    channels = asyncapi_document("0", PROJECTIONS, prefix="tenant-7")["channels"]
    assert {name: channel["address"] for name, channel in channels.items()} == {
        "intake": streams.intake,
        "events": streams.events,
        "changes": streams.changes,
        "intake results": streams.intake_results,
        "intake dead letters": streams.intake_dead,
        "checkpoints": streams.checkpoints,
        "projection negotiation": streams.events,
        "projection audit": streams.events,
    }
    assert channels["intake"]["bindings"]["redis"]["groupName"] == streams.intake_group
    groups = {channels[f"projection {p}"]["bindings"]["redis"]["groupName"] for p in PROJECTIONS}
    assert groups == {streams.projection_group(p) for p in PROJECTIONS}


def test_each_message_is_described_by_its_wire_model(connections: list[Any]) -> None:
    schemas = asyncapi_document("0", PROJECTIONS)["components"]["schemas"]
    for model in (EventEntry, ChangeEntry, IntakeEntry, IntakeResult, DeadLetter, CheckpointEntry):
        assert schemas[model.__name__] == model.model_json_schema(), model.__name__
    assert schemas["intake:Message:Payload"]["items"] == {
        "$ref": "#/components/schemas/IntakeEntry"
    }
