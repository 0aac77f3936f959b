"""The AsyncAPI document of talkstream's Redis streams, generated from the FastStream app."""

from __future__ import annotations

import json

from faststream.redis import RedisBroker, StreamSub
from faststream.specification import AsyncAPI
from pydantic import BaseModel

from projections.live.store import ChangeEntry
from projections.live.worker import attach_projectors
from services.intake.app import build_intake
from services.intake.docs import DeadLetter, IntakeResult
from services.recorder.application import Negotiations
from services.recorder.store import MEMORY_ENV
from services.settings import Settings
from services.wire.entries import EventEntry
from services.wire.streams import Streams

DESCRIPTION = """Every Redis key starts with the prefix (default `talkstream`).
Entries hold plain fields, readable with XRANGE/XREAD from any language.
Publish a development by XADDing to `<prefix>:intake`; follow recorded events on
`<prefix>:events`, whose entry IDs are `<position>-0`."""


def _document_outputs(broker: RedisBroker, streams: Streams) -> None:
    """Publishers used only to describe the streams talkstream writes."""
    outputs: tuple[tuple[str, str, str, type[BaseModel]], ...] = (
        (
            streams.changes,
            "changes",
            "One entry per negotiation whose view a projection batch changed.",
            ChangeEntry,
        ),
        (streams.events, "events", "Every recorded event, in store order (the relay).", EventEntry),
        (
            streams.intake_results,
            "intake results",
            "Results of intake entries without "
            "`reply_to` (`reply_to` streams carry the same fields).",
            IntakeResult,
        ),
        (streams.intake_dead, "intake dead letters", "Refused intake entries and why.", DeadLetter),
    )
    for stream, title, description, schema in outputs:
        broker.publisher(
            stream=StreamSub(stream), title=title, description=description, schema=schema
        )


def asyncapi_json(version: str) -> str:
    settings = Settings(redis_url="redis://localhost:6379/0")
    app = Negotiations(env=MEMORY_ENV)
    url = "redis://localhost:6379/0"
    faststream_app, broker = build_intake(settings, app, url, consumer="<host>-<pid>")
    attach_projectors(faststream_app, broker, url, settings.prefix, consumer="<host>-<pid>")
    _document_outputs(broker, Streams(settings.prefix))
    spec = AsyncAPI(broker, title="talkstream", version=version, description=DESCRIPTION)
    document = json.loads(spec.to_specification().to_json())
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
