"""Reads of the coded fields over HTTP, against a served API with its workers: the timeline
shows each source's grade and filters by ``min_reliability`` and ``verification`` (422 on a
bad value), and the commitments view gives each agreement's implementation score, live and
as of a date. The bundled scenario grades its sources: the joint statement A1, the official
readouts B, the news report whose outlet the seed does not name F."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.recorder.jsonl import scenario_lines
from tests.factories import body
from tests.integration.api.conftest import Served

NID = "us-iraq-jscd"
AGREEMENT = "joint-statement-2024-09-27"
MISSION = "coalition-mission-iraq-ends"
UNNAMED_ONLY = {"ContextNoted", "PositionStated", "DemandMade"}  # graded F, reported
JOINT_STATEMENT = ["AgreementReached", "AgreementStatusChanged", *["MilestoneScheduled"] * 2]


@pytest.fixture(scope="module")
def scenario(served: Served) -> Served:
    events = [json.loads(line) for line in scenario_lines()]
    with served.client("publisher") as client:
        answer = client.post("/v1/events:batch", json={"events": events})
    assert answer.status_code == 200, answer.text
    return served


def timeline(served: Served, **params: Any) -> Any:
    last = served.ctx.app.max_position()
    with served.client("reader") as client:
        answer = client.get(
            f"/v1/negotiations/{NID}/timeline", params={"min_position": last, **params}
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_timeline_rows_show_each_sources_grade_and_archived_copy(scenario: Served) -> None:
    rows = {r["type"]: r for r in timeline(scenario)["view"]}
    assert rows["AgreementReached"]["grades"] == ["A1"]
    assert rows["ContextNoted"]["grades"] == ["F3"]
    details = rows["StatementIssued"]["source_details"]
    assert [(s["outlet"], s["reliability"], s["credibility"]) for s in details] == [
        ("U.S. Department of Defense", "B", 1),
        ("News report (outlet not named in the seed)", "F", 1),
    ]


def test_min_reliability_keeps_developments_with_a_source_that_good(scenario: Served) -> None:
    everything = timeline(scenario)["view"]
    at_least_b = timeline(scenario, min_reliability="B")["view"]
    only_a = timeline(scenario, min_reliability="A")["view"]
    assert len(everything) == 15
    assert {r["type"] for r in everything} - {r["type"] for r in at_least_b} == UNNAMED_ONLY
    assert len(at_least_b) == 12
    assert sorted(r["type"] for r in only_a) == sorted(JOINT_STATEMENT)
    assert len(timeline(scenario, min_reliability="F")["view"]) == 15


def test_verification_keeps_only_the_given_verifications(scenario: Served) -> None:
    confirmed = timeline(scenario, verification="confirmed")["view"]
    reported = timeline(scenario, verification="reported")["view"]
    both = timeline(scenario, verification=["confirmed", "reported"])["view"]
    assert {r["verification"] for r in confirmed} == {"confirmed"}
    assert {r["type"] for r in reported} == UNNAMED_ONLY
    assert (len(confirmed), len(reported), len(both)) == (12, 3, 15)
    assert timeline(scenario, verification="denied")["view"] == []


def test_filters_combine_and_apply_to_a_point_in_time_too(scenario: Served) -> None:
    assert timeline(scenario, min_reliability="A", verification="reported")["view"] == []
    answer = timeline(scenario, as_of="2024-08-01", min_reliability="B", verification="confirmed")
    assert answer["source"] == "store"
    assert "AgreementReached" not in {r["type"] for r in answer["view"]}
    assert len(answer["view"]) == 8


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_reliability": "G"}, "min_reliability"),
        ({"min_reliability": "b"}, "min_reliability"),
        ({"verification": "maybe"}, "verification"),
        ({"verification": ["confirmed", "sure"]}, "verification"),
    ],
)
def test_a_bad_filter_value_is_a_422_naming_the_parameter(
    scenario: Served, params: dict[str, Any], field: str
) -> None:
    with scenario.client("reader") as client:
        answer = client.get(f"/v1/negotiations/{NID}/timeline", params=params)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["message"]


def test_the_commitments_view_scores_the_joint_statement_live_and_as_of(
    scenario: Served,
) -> None:
    progress = body(
        "MilestoneProgressed",
        {"milestone_id": MISSION, "degree": 2, "evidence": "Test evidence."},
        nid=NID,
        occurred_at="2025-01",
        verification="reported",
    )
    with scenario.client("publisher") as client:
        written = client.post(f"/v1/negotiations/{NID}/events", json=progress)
    assert written.status_code == 201, written.text
    with scenario.client("reader") as client:
        live = client.get(
            f"/v1/negotiations/{NID}/commitments",
            params={"min_position": written.json()["position"]},
        ).json()
        before = client.get(
            f"/v1/negotiations/{NID}/commitments", params={"as_of": "2024-12-31"}
        ).json()
        august = client.get(
            f"/v1/negotiations/{NID}/commitments", params={"as_of": "2024-08-01"}
        ).json()
    score = live["view"]["implementation"][AGREEMENT]
    assert live["source"] == "live"
    assert [(p["occurred_at"], p["score"]) for p in score["series"]] == [
        ("2024-09-27", 0.0),
        ("2025-01", 1.0),
    ]
    assert score["score"] == 1.0
    rows = {r["milestone_id"]: r for r in live["view"]["milestones"]}
    assert rows[MISSION]["degree"] == 2
    assert before["source"] == "store"
    assert before["view"]["implementation"][AGREEMENT]["score"] == 0.0
    assert august["view"]["implementation"] == {}


def test_a_degree_4_is_refused_over_http_and_nothing_is_stored(scenario: Served) -> None:
    before = scenario.ctx.app.max_position()
    bad = body("MilestoneProgressed", {"milestone_id": MISSION, "degree": 4}, nid=NID)
    with scenario.client("publisher") as client:
        answer = client.post(f"/v1/negotiations/{NID}/events", json=bad)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("invalid_event", "payload.degree")
    assert "less than or equal to 3" in error["message"]
    assert scenario.ctx.app.max_position() == before
