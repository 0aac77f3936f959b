"""Schemathesis over ``/openapi.json`` (stateless): generated requests to every operation,
valid and invalid, must never get a 5xx, and every answer must match the documented status
codes, content types and schemas."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from events import parse_draft
from services.api.keys import Role
from services.runtime.bootstrap import build_api_context
from services.settings import Settings
from tests.factories import SETUP
from tests.integration.api.conftest import serve_in_thread
from tests.redis_keys import owned_prefix

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 40


@dataclass
class Target:
    schema: Any
    admin_key: str


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Target]:
    """The API served by uvicorn with its workers (so a wait for min_position is met), on a
    SQLite file and the test Redis, with a negotiation to read."""
    with owned_prefix(redis_url) as prefix:
        home = Path(tmp_path_factory.mktemp("schemathesis")) / "home"
        config = Settings(
            home=home,
            redis_url=redis_url,
            prefix=prefix,
            api_wait_max=5.0,
            api_rate_per_second=1e6,
            api_rate_burst=1_000_000,
        )
        ctx = build_api_context(config, redis_url)
        ctx.app.record_many([parse_draft(b) for b in SETUP], principal="seed")
        try:
            with serve_in_thread(ctx, redis_url) as url:
                schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
                yield Target(schema, ctx.keys.create(name="fuzzer", role=Role.admin)[1])
        finally:
            ctx.app.close()
            ctx.redis.close()


def _operations(schema: Any) -> list[Any]:
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if op.path != "/v1/subscribe"]  # endless: tested elsewhere


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_every_answer_matches_the_schema(target: Target, mode: GenerationMode) -> None:
    operations = _operations(target.schema)
    assert len(operations) >= 15
    headers = {"Authorization": f"Bearer {target.admin_key}"}
    calls = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: Any) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing invalid to send (e.g. /healthz)
    print(f"{mode}: {calls} requests over {len(operations)} operations")
    assert calls >= 150, f"only {calls} requests were made"
