"""``GET /v1/audit/verify`` answers the full verification, the same report as ``talkstream
audit verify --json``: the store, the log's checkpoints, the stream and every view; a tampered
part is named there too."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from services.api.context import ApiContext
from tests import tamper
from tests.factories import scenario
from tests.integration.api.conftest import bearer, catch_up
from tests.store_faults import run_cli


def _logged(ctx: ApiContext) -> None:
    ctx.app.record_many(scenario(), principal="tester")
    tamper.checkpoint(ctx.settings)
    catch_up(ctx)


def _verdict(http: TestClient, keys: dict[str, str]) -> dict[str, Any]:
    answer = http.get("/v1/audit/verify", headers=bearer(keys["auditor"]))
    assert answer.status_code == 200, answer.text
    verdict: dict[str, Any] = answer.json()
    return verdict


def test_the_api_and_the_cli_give_the_same_report(
    ctx: ApiContext, http: TestClient, keys: dict[str, str]
) -> None:
    _logged(ctx)
    verdict = _verdict(http, keys)
    assert verdict["ok"] is True and verdict["first"] is None
    assert set(verdict["checks"].values()) == {"ok"}
    assert {"store", "log", "stream", "view negotiation"} <= set(verdict["checks"])
    cli = run_cli(ctx.settings, "audit", "verify", "--json")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == verdict


def test_a_changed_view_field_is_named_by_the_api(
    ctx: ApiContext, http: TestClient, keys: dict[str, str]
) -> None:
    _logged(ctx)
    tamper.change_view_field(ctx.redis, ctx.settings, "us-iraq-jscd")
    verdict = _verdict(http, keys)
    assert verdict["ok"] is False
    assert verdict["checks"]["view negotiation"] == "failed"
    first = verdict["first"]
    assert (first["kind"], first["negotiation_id"]) == ("view_drift", "us-iraq-jscd")
    cli = run_cli(ctx.settings, "audit", "verify", "--json")
    assert cli.returncode == 1
    assert json.loads(cli.stdout) == verdict


def test_the_newest_rows_deleted_are_named_by_the_api(
    ctx: ApiContext, http: TestClient, keys: dict[str, str]
) -> None:
    _logged(ctx)
    tamper.delete(ctx.settings, 15)
    first = _verdict(http, keys)["first"]
    assert (first["kind"], first["position"]) == ("missing_event", 15)
