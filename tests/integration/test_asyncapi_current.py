"""docs/asyncapi.json is what the FastStream app generates: a test fails when it is stale."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from services.runtime.asyncapi import asyncapi_json

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"


def test_checked_in_asyncapi_document_is_current() -> None:
    assert DOC.read_text("utf-8") == asyncapi_json(version("talkstream")), (
        "docs/asyncapi.json is stale: run `talkstream asyncapi docs/asyncapi.json`"
    )


def test_asyncapi_documents_every_stream_talkstream_uses() -> None:
    document = asyncapi_json("0")
    for stream in (
        "talkstream:changes",
        "talkstream:events",
        "talkstream:intake",
        "talkstream:intake:results",
        "talkstream:intake:dead",
    ):
        assert f'"address": "{stream}"' in document
    for field in ("negotiation_id", "position", "reply_to", "idempotency_key", "error_code"):
        assert f'"{field}"' in document
