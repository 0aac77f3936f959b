"""Reads over HTTP against a served API with its workers: the scenario recorded over HTTP is
read back live, as of a time, as known at a time, and as a diff; ``min_position`` reads a
client's own write."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from events import parse_draft
from services.api.context import ApiContext
from services.recorder.jsonl import scenario_lines
from tests.factories import NOTE, body
from tests.integration.api.conftest import Served, bearer

NID = "us-iraq-jscd"
AGREEMENT = "joint-statement-2024-09-27"
MISSION = "coalition-mission-iraq-ends"


@pytest.fixture(scope="module")
def scenario(served: Served) -> Served:
    events = [json.loads(line) for line in scenario_lines()]
    with served.client("publisher") as client:
        answer = client.post("/v1/events:batch", json={"events": events})
    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded"] == len(events)
    return served


def test_the_live_state_appears_once_the_views_reach_the_position(scenario: Served) -> None:
    last = scenario.ctx.app.max_position()
    with scenario.client("reader") as client:
        answer = client.get(f"/v1/negotiations/{NID}", params={"min_position": last}).json()
    assert answer["source"] == "live"
    assert answer["position"] >= last
    assert answer["view"]["status"] == "implementation"
    assert answer["view"]["agreements"][AGREEMENT]["status"] == "in_force"


def test_as_of_before_the_statement_has_no_agreement_and_after_it_the_milestone(
    scenario: Served,
) -> None:
    with scenario.client("reader") as client:
        august = client.get(f"/v1/negotiations/{NID}", params={"as_of": "2024-08-01"}).json()
        october = client.get(f"/v1/negotiations/{NID}", params={"as_of": "2024-10-01"}).json()
    assert august["source"] == october["source"] == "store"
    assert august["view"]["agreements"] == {}
    assert october["view"]["agreements"][AGREEMENT]["status"] == "in_force"
    due = october["view"]["milestones"][MISSION]["due"]
    assert due == {"kind": "not_later_than", "date": "2025-09-30"}


def test_known_at_before_a_write_does_not_see_it(scenario: Served) -> None:
    # The last record so far: known at that instant, everything but the write below is known.
    stamp = scenario.ctx.app.history(NID)[-1].wire["recorded_at"]
    with scenario.client("publisher") as client:
        written = client.post(
            f"/v1/negotiations/{NID}/events",
            json=body("ContextNoted", {**NOTE, "topic": "late note"}, nid=NID),
        ).json()
    with scenario.client("reader") as client:
        before = client.get(f"/v1/negotiations/{NID}", params={"known_at": stamp}).json()
        now = client.get(
            f"/v1/negotiations/{NID}", params={"min_position": written["position"]}
        ).json()
    topics = {c["topic"] for c in now["view"]["context"].values()}
    assert "late note" in topics
    assert "late note" not in {c["topic"] for c in before["view"]["context"].values()}


def test_the_timeline_is_ordered_by_when_things_happened(scenario: Served) -> None:
    with scenario.client("reader") as client:
        rows = client.get(f"/v1/negotiations/{NID}/timeline").json()["view"]
    assert rows[0]["type"] == "NegotiationOpened"
    assert len(rows) >= 15


def test_the_diff_names_the_agreement_and_its_causing_event(scenario: Served) -> None:
    with scenario.client("reader") as client:
        answer = client.get(
            f"/v1/negotiations/{NID}/diff", params={"from": "2024-08-01", "to": "2024-10-01"}
        )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["from"], result["to"], result["clock"]) == ("2024-08-01", "2024-10-01", "world")
    added = [c for c in result["changes"] if c["section"] == "agreements"]
    assert added and added[0]["change"] == "added" and added[0]["id"] == AGREEMENT
    assert added[0]["events"]


def test_the_listing_and_commitments_come_from_the_views(scenario: Served) -> None:
    last = scenario.ctx.app.max_position()
    with scenario.client("reader") as client:
        listing = client.get("/v1/negotiations", params={"min_position": last}).json()
        due = client.get("/v1/commitments", params={"min_position": last}).json()
    assert [n["negotiation_id"] for n in listing["negotiations"]] == [NID]
    assert listing["negotiations"][0]["status"] == "implementation"
    rows = {row["milestone_id"]: row for row in due["due_next"]}
    assert set(rows) == {MISSION, "kurdistan-syria-support-ends"}
    assert rows[MISSION]["last_day"] == "2025-09-30"
    assert next(r["milestone_id"] for r in due["due_next"]) == MISSION  # the sooner one


def test_the_audit_pages_cover_every_event_once(scenario: Served) -> None:
    seen: list[int] = []
    after = 0
    with scenario.client("auditor") as client:
        while after is not None:
            page = client.get("/v1/audit/events", params={"after": after, "limit": 4}).json()
            seen += [e["position"] for e in page["events"]]
            after = page["next_after"]
        verdict = client.get("/v1/audit/verify").json()
    assert seen == list(range(1, scenario.ctx.app.max_position() + 1))
    assert verdict["ok"] is True and verdict["checked"] == len(seen)


def test_min_position_beyond_the_store_is_refused_at_once(scenario: Served) -> None:
    beyond = scenario.ctx.app.max_position() + 1000
    with scenario.client("reader") as client:
        answer = client.get(f"/v1/negotiations/{NID}", params={"min_position": beyond})
    assert answer.status_code == 422
    assert "min_position" in answer.json()["error"]["message"]


def test_a_wait_the_views_cannot_meet_answers_503_with_retry_after(
    ctx: ApiContext, http: TestClient, keys: dict[str, str]
) -> None:
    """No workers run under ``http``: the views never move, so the bounded wait runs out."""
    ctx.app.record_many([parse_draft(json.loads(scenario_lines()[0]))], principal="seed")
    answer = http.get(f"/v1/negotiations/{NID}?min_position=1", headers=bearer(keys["reader"]))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]["code"] == "not_caught_up"
