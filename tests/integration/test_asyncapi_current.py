"""docs/asyncapi.json is what the wire contract generates (a test fails when it is stale), and
generating it builds nothing beyond the contract."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from projections.views import STORED
from services.wire.asyncapi import asyncapi_json

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"
# What a generation must not build or import: the application, the adapters, the composition.
BEYOND_THE_CONTRACT = (
    "services.recorder",
    "services.relay",
    "services.intake",
    "services.api",
    "services.runtime",
    "services.cli",
    "projections",
)
GENERATE = """
import json, sys
from services.wire.asyncapi import asyncapi_json
channels = json.loads(asyncapi_json("0", ["negotiation"], server="redis://127.0.0.1:1/0"))["channels"]
print(json.dumps({"channels": len(channels), "modules": sorted(sys.modules)}))
"""


def test_checked_in_asyncapi_document_is_current() -> None:
    assert DOC.read_text("utf-8") == asyncapi_json(version("talkstream"), STORED), (
        "docs/asyncapi.json is stale: run `talkstream asyncapi docs/asyncapi.json`"
    )


def test_asyncapi_documents_every_stream_talkstream_uses() -> None:
    document = asyncapi_json("0", STORED)
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


def test_asyncapi_is_generated_without_the_application_adapters_or_composition() -> None:
    run = subprocess.run(
        [sys.executable, "-c", GENERATE], capture_output=True, text=True, timeout=120, check=True
    )
    report = json.loads(run.stdout)
    assert report["channels"] == 6  # intake, one projection group, and the four outputs
    imported = [m for m in report["modules"] if m.startswith(BEYOND_THE_CONTRACT)]
    assert imported == []
