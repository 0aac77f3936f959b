"""One flipped byte in one stored event, found by a restarted ``talkstream up``: every answer
that needs that negotiation's stored events (writes, point-in-time reads, diff, the audit
page) is a 503 ``event_corrupted`` naming the negotiation and the position; its live views,
every other negotiation and the relay keep serving; the CLI says so in one ``error:`` line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from services.recorder.jsonl import scenario_lines
from services.settings import Settings
from tests.e2e.helpers import SCENARIO_ID, one_error_line, the_error, write_jsonl
from tests.store_faults import (
    admin_key,
    flip_letter,
    flip_structure,
    run_cli,
    serving,
    store_tracebacks,
    stored_state,
    write_state,
)

EVENTS = [json.loads(line) for line in scenario_lines()]
OTHER = "other-talks"
CORRUPTED = 5  # the scenario's fifth event (a DelegationAssigned)
FLIPS: dict[str, Callable[[bytes], tuple[bytes, int]]] = {
    "a letter of the body": lambda state: flip_letter(state, SCENARIO_ID.encode()),
    "the opening brace": flip_structure,
}


def _note(negotiation_id: str, text: str) -> dict[str, object]:
    return {
        "type": "ContextNoted",
        "negotiation_id": negotiation_id,
        "occurred_at": "2024-10-01",
        "sources": [{"outlet": "Test Wire", "kind": "wire"}],
        "verification": "reported",
        "payload": {"topic": "Troops", "text": text},
    }


def _note_file(tmp_path: Path) -> Path:
    body = {k: v for k, v in _note(SCENARIO_ID, "cli").items() if k != "type"}
    path = tmp_path / "note.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def _is_corruption_at(answer: httpx.Response, position: int = CORRUPTED) -> None:
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["code"] == "event_corrupted", error
    assert error["details"] == {"negotiation_id": SCENARIO_ID, "position": position}, error
    assert f"position {position}" in error["message"], error


@pytest.fixture
def settings(store_settings: Settings, redis_url: str, prefix: str) -> Settings:
    return store_settings.model_copy(update={"redis_url": redis_url, "prefix": prefix})


def _recorded_and_relayed(settings: Settings, tmp_path: Path, key: str) -> int:
    """The scenario and one other negotiation, recorded and in the live views; returns the
    last position."""
    other = {**EVENTS[0], "negotiation_id": OTHER}
    imported = run_cli(settings, "import", write_jsonl(tmp_path / "all.jsonl", [*EVENTS, other]))
    assert imported.returncode == 0, imported.stderr
    last = len(EVENTS) + 1
    with serving(settings) as server, server.client(key) as http:
        for nid in (SCENARIO_ID, OTHER):
            live = http.get(f"/v1/negotiations/{nid}", params={"min_position": last})
            assert live.status_code == 200, live.text
    return last


@pytest.mark.parametrize("flip", FLIPS, ids=lambda name: name.replace(" ", "-"))
def test_a_corrupted_event_is_named_by_its_negotiation_and_spares_the_others(
    settings: Settings, tmp_path: Path, flip: str
) -> None:
    key = admin_key(settings)
    last = _recorded_and_relayed(settings, tmp_path, key)
    state = stored_state(settings, CORRUPTED)
    write_state(settings, CORRUPTED, FLIPS[flip](state)[0])

    with serving(settings) as server, server.client(key) as http:
        scenario = f"/v1/negotiations/{SCENARIO_ID}"
        live = http.get(scenario)
        assert live.status_code == 200 and live.json()["source"] == "live", live.text
        for params in ({"as_of": "2024-12"}, {"known_at": "2999"}):
            _is_corruption_at(http.get(scenario, params=params))
            _is_corruption_at(http.get(f"{scenario}/timeline", params=params))
        _is_corruption_at(http.get(f"{scenario}/diff", params={"from": "2024", "to": "2025"}))
        _is_corruption_at(http.post(f"{scenario}/events", json=_note(SCENARIO_ID, "refused")))
        _is_corruption_at(http.get("/v1/audit/events", params={"after": 0}))
        rest = http.get("/v1/audit/events", params={"after": CORRUPTED})
        assert rest.status_code == 200 and rest.json()["events"][0]["position"] == CORRUPTED + 1
        verdict = http.get("/v1/audit/verify").json()
        assert verdict["first"]["position"] == CORRUPTED, verdict
        assert verdict["first"]["kind"] == "altered_bytes", verdict

        batch = http.post(
            "/v1/events:batch",
            json={"events": [_note(SCENARIO_ID, "refused"), _note(OTHER, "batched")]},
        )
        assert batch.status_code == 200, batch.text
        refused, recorded = batch.json()["results"]
        assert (refused["status"], refused["error"]["code"]) == (503, "event_corrupted")
        assert f"position {CORRUPTED}" in refused["error"]["message"]
        assert recorded["status"] == 201 and recorded["result"]["position"] == last + 1

        written = http.post(f"/v1/negotiations/{OTHER}/events", json=_note(OTHER, "recorded"))
        assert written.status_code == 201, written.text
        assert written.json()["position"] == last + 2
        other = http.get(f"/v1/negotiations/{OTHER}", params={"as_of": "2024-12"})
        assert other.status_code == 200 and other.json()["view"]["version"] == 3, other.text
        relayed = http.get(f"/v1/negotiations/{OTHER}", params={"min_position": last + 2})
        assert relayed.status_code == 200 and relayed.json()["view"]["version"] == 3

        lines = [
            one_error_line(run_cli(settings, *args))
            for args in (
                ("show", SCENARIO_ID),
                ("show", SCENARIO_ID, "--as-of", "2024-06"),
                ("timeline", SCENARIO_ID),
                ("diff", SCENARIO_ID, "--from", "2024", "--to", "2025"),
                ("record", "ContextNoted", "-n", SCENARIO_ID, "--json", _note_file(tmp_path)),
            )
        ]
        imported = run_cli(
            settings, "import", write_jsonl(tmp_path / "one.jsonl", [_note(SCENARIO_ID, "cli")])
        )
        lines.append(the_error(imported))
        shown = run_cli(settings, "show", OTHER)
        assert shown.returncode == 0, shown.stderr
    for line in lines:
        assert line.startswith("error: event_corrupted: "), line
        assert f"position {CORRUPTED}" in line and SCENARIO_ID in line, line
    assert store_tracebacks(server.output()) == []
