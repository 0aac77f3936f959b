"""The AsyncAPI document of talkstream's Redis streams, generated from the wire contract.

FastStream's own generator documents a broker's subscribers and publishers; here a broker
declares every stream talkstream reads or writes, named by ``Streams`` and described by the
entry models of this package. A RedisBroker connects only when started and this one never is,
so generating the document needs no Redis, and no application, intake or projection worker is
built for it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from faststream.redis import RedisBroker, StreamSub
from faststream.specification import AsyncAPI
from pydantic import BaseModel

from services.wire.changes import ChangeEntry
from services.wire.checkpoints import CheckpointEntry
from services.wire.entries import EventEntry
from services.wire.intake import DeadLetter, IntakeEntry, IntakeResult
from services.wire.streams import Streams

TITLE = "talkstream"
DESCRIPTION = """Every Redis key starts with the prefix (default `talkstream`).
Entries hold plain fields, readable with XRANGE/XREAD from any language.
Publish a development by XADDing to `<prefix>:intake`; follow recorded events on
`<prefix>:events`, whose entry IDs are `<position>-0`."""
SERVER = "redis://localhost:6379/0"  # the server the document names; never connected to
CONSUMER = "<host>-<pid>"  # how the workers name their consumers
INTAKE = (
    "Publish a development: one entry with the field `event` (the JSON object as published), "
    "optionally `reply_to` and `idempotency_key`. Entries that every consumer group has "
    "acknowledged are trimmed (XTRIM MINID, every TALKSTREAM_INTAKE_TRIM_SECONDS); their "
    "outcome stays in the results or reply stream."
)


def asyncapi_json(
    version: str, projections: Iterable[str], *, prefix: str = "talkstream", server: str = SERVER
) -> str:
    """The document as checked in (docs/asyncapi.json): sorted keys, two-space indents."""
    document = asyncapi_document(version, projections, prefix=prefix, server=server)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def asyncapi_document(
    version: str, projections: Iterable[str], *, prefix: str = "talkstream", server: str = SERVER
) -> dict[str, Any]:
    """The document for the streams under ``prefix``, with one consumer group per projection
    named in ``projections``."""
    broker = contract_broker(projections, prefix=prefix, server=server)
    spec = AsyncAPI(broker, title=TITLE, version=version, description=DESCRIPTION)
    document: dict[str, Any] = json.loads(spec.to_specification().to_json())
    return document


def contract_broker(
    projections: Iterable[str], *, prefix: str = "talkstream", server: str = SERVER
) -> RedisBroker:
    """A broker that only declares the streams, for the generator (never started)."""
    streams = Streams(prefix)
    broker = RedisBroker(server)
    _reads(
        broker,
        streams.intake,
        streams.intake_group,
        title="intake",
        description=INTAKE,
        body=list[IntakeEntry],
    )
    for name in projections:
        _reads(
            broker,
            streams.events,
            streams.projection_group(name),
            title=f"projection {name}",
            description=f"The consumer group of the {name} projection's stored state.",
            body=list[Any],
        )
    outputs: tuple[tuple[str, str, str, type[BaseModel]], ...] = (
        (
            streams.changes,
            "changes",
            "One entry per negotiation and view that a projection batch changed. On Redis "
            "Cluster (TALKSTREAM_PARTITIONS=P) each partition k announces its changes in its "
            "own stream `<prefix>:{<prefix>.k}:changes` (same fields) and this stream is not "
            "written.",
            ChangeEntry,
        ),
        (
            streams.events,
            "events",
            "Every recorded event, in store order (the relay). With TALKSTREAM_PARTITIONS=P > 1 "
            "the events are spread by negotiation over P streams "
            "`<prefix>:{<prefix>.k}:events` (k = 0 .. P-1, same fields, entry IDs still the "
            "global positions) and this stream is not written.",
            EventEntry,
        ),
        (
            streams.intake_results,
            "intake results",
            "Results of intake entries without "
            "`reply_to` (`reply_to` streams carry the same fields).",
            IntakeResult,
        ),
        (streams.intake_dead, "intake dead letters", "Refused intake entries and why.", DeadLetter),
        (
            streams.checkpoints,
            "checkpoints",
            "Every signed checkpoint of the verifiable log, entry ID `<tree size>-0` "
            "(the log writer, beside the relay).",
            CheckpointEntry,
        ),
    )
    for stream, title, description, schema in outputs:
        broker.publisher(
            stream=StreamSub(stream), title=title, description=description, schema=schema
        )
    return broker


def _reads(
    broker: RedisBroker, stream: str, group: str, *, title: str, description: str, body: object
) -> None:
    """Declares a consumer group's batch reads of ``stream``, with messages of type ``body``."""
    subscriber = broker.subscriber(
        stream=StreamSub(stream, group=group, consumer=CONSUMER, batch=True),
        no_reply=True,
        title=title,
        description=description,
    )
    subscriber(_message_of(body))


def _message_of(body: object) -> Callable[[Any], Awaitable[None]]:
    """A handler that stands for its signature alone: FastStream documents a subscriber's
    messages by the type of its handler's body parameter. It is never called (the broker is
    never started)."""

    async def message(body: Any) -> None:
        return None

    message.__annotations__["body"] = body
    return message
