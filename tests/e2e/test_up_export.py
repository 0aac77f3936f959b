"""The data package end to end: against a running ``talkstream up``, an event recorded over
HTTP shows up in ``GET /v1/negotiations/{id}/events.csv`` and in the package that
``talkstream export`` writes; the package validates with frictionless and its tables load with
the csv module; bad options are one error line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from frictionless import validate

from tests.e2e.helpers import (
    SCENARIO_ID,
    Runner,
    Served,
    bearer_client,
    ok,
    one_error_line,
    serving,
)
from tests.factories import NOTE, SOURCE

SCENARIO_EVENTS = 15


@pytest.fixture(scope="module")
def store(make_demo: Callable[[str], Runner]) -> Runner:
    return make_demo("export")


@pytest.fixture(scope="module")
def up(store: Runner) -> Iterator[Served]:
    with serving(store.base, store.environment()) as served:
        yield served


@pytest.fixture(scope="module")
def noted(store: Runner, up: Served) -> str:
    """An event recorded over HTTP while ``up`` runs; its event id."""
    key = ok(store("keys", "create", "--role", "publisher", "--name", "export-pub")).stdout
    event = {
        "type": "ContextNoted",
        "occurred_at": "2024-10-02",
        "sources": [SOURCE],
        "verification": "reported",
        "payload": NOTE,
    }
    with bearer_client(up.url, key) as client:
        written = client.post(f"/v1/negotiations/{SCENARIO_ID}/events", json=event)
    assert written.status_code == 201, written.text
    return str(written.json()["event_id"])


def _reader(store: Runner, up: Served, name: str) -> str:
    return ok(store("keys", "create", "--role", "reader", "--name", name)).stdout


def test_events_csv_streams_every_event_with_its_envelope(
    store: Runner, up: Served, noted: str
) -> None:
    with bearer_client(up.url, _reader(store, up, "csv-reader")) as client:
        answer = client.get(f"/v1/negotiations/{SCENARIO_ID}/events.csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == SCENARIO_EVENTS + 1
    assert [int(r["position"]) for r in rows] == sorted(int(r["position"]) for r in rows)
    last = rows[-1]
    assert (last["event_id"], last["type"], last["verification"]) == (
        noted,
        "ContextNoted",
        "reported",
    )
    assert json.loads(last["payload"]) == NOTE


def test_events_csv_as_of_a_date_leaves_out_later_events(store: Runner, up: Served) -> None:
    with bearer_client(up.url, _reader(store, up, "csv-asof")) as client:
        early = client.get(
            f"/v1/negotiations/{SCENARIO_ID}/events.csv", params={"as_of": "2024-06"}
        )
        bad = client.get(f"/v1/negotiations/{SCENARIO_ID}/events.csv", params={"as_of": "June"})
        missing = client.get("/v1/negotiations/no-such-talks/events.csv")
    rows = list(csv.DictReader(io.StringIO(early.text)))
    assert 0 < len(rows) < SCENARIO_EVENTS
    assert all(r["occurred_at"] < "2024-07" for r in rows)
    assert bad.status_code == 422
    assert "as_of" in bad.json()["error"]["message"]
    assert missing.status_code == 404


def test_export_writes_a_valid_data_package_that_loads_with_csv(
    store: Runner, up: Served, noted: str, tmp_path: Path
) -> None:
    out = tmp_path / "pkg"
    result = ok(store("export", SCENARIO_ID, "--out", out))
    assert result.stdout.strip() == str(out / "datapackage.json")
    assert f"exported {SCENARIO_ID} (1/1)" in result.stderr
    report = validate(str(out / "datapackage.json"))
    assert report.valid, report.flatten(["resourcePath", "rowNumber", "fieldName", "note"])
    descriptor = json.loads((out / "datapackage.json").read_text())
    tables = {}
    for resource in descriptor["resources"]:
        with (out / resource["path"]).open(newline="", encoding="utf-8") as f:
            tables[resource["name"]] = list(csv.DictReader(f))
        assert list(tables[resource["name"]][0]) == [
            field["name"] for field in resource["schema"]["fields"]
        ]
    assert noted in {r["event_id"] for r in tables["events"]}
    assert len(tables["events"]) == SCENARIO_EVENTS + 1
    assert {"Iraq", "United States"} <= {r["name"] for r in tables["actors"]}
    assert len(tables["sources"]) >= len(tables["events"])
    milestones = {r["milestone_id"] for r in tables["milestones"]}
    assert milestones and milestones == {r["milestone_id"] for r in tables["milestone-history"]}


def test_export_all_as_known_at_a_past_time_has_nothing_recorded_after_it(
    store: Runner, up: Served, noted: str, tmp_path: Path
) -> None:
    with bearer_client(up.url, _reader(store, up, "csv-known")) as client:
        rows = list(
            csv.DictReader(
                io.StringIO(client.get(f"/v1/negotiations/{SCENARIO_ID}/events.csv").text)
            )
        )
    cut = rows[-2]["recorded_at"]  # the scenario's last event: the HTTP note came after it
    ok(store("export", "--all", "--out", tmp_path, "--known-at", cut))
    with (tmp_path / "events.csv").open(newline="", encoding="utf-8") as f:
        exported = list(csv.DictReader(f))
    assert len(exported) == SCENARIO_EVENTS
    assert noted not in {r["event_id"] for r in exported}
    assert validate(str(tmp_path / "datapackage.json")).valid


def test_export_refuses_unclear_requests_with_one_line(store: Runner, tmp_path: Path) -> None:
    both = one_error_line(store("export", SCENARIO_ID, "--all", "--out", tmp_path))
    assert "ID" in both
    neither = one_error_line(store("export", "--out", tmp_path))
    assert "--all" in neither
    bad_date = one_error_line(store("export", SCENARIO_ID, "--out", tmp_path, "--as-of", "June"))
    assert "--as-of" in bad_date
    assert not (tmp_path / "datapackage.json").exists()
