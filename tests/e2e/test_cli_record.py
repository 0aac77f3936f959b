"""``talkstream record TYPE -n ID --json FILE|-``: one event in, where it stands out; bad input
is refused with one readable line and the store is left as it was."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import Runner, as_json, ok, one_error_line, write_jsonl
from tests.factories import MEETING, NID, NOTE, SETUP, body, opening_body, quote, without

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def write(path: Path, obj: Any) -> Path:
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return path


# Recording


@pytest.fixture
def opened(cli: Runner, tmp_path: Path) -> Runner:
    ok(
        cli(
            "record",
            "NegotiationOpened",
            "-n",
            NID,
            "--json",
            write(tmp_path / "open.json", opening_body()),
        )
    )
    return cli


class TestRecording:
    def test_opening_at_expected_version_zero_prints_version_one(
        self, cli: Runner, tmp_path: Path
    ) -> None:
        path = write(tmp_path / "open.json", opening_body())
        written = as_json(
            cli("record", "NegotiationOpened", "-n", NID, "--json", path, "--expected-version", "0")
        )
        assert written["version"] == 1
        assert written["position"] == 1
        assert ok(cli("negotiations")).stdout.splitlines() == [NID]

    def test_opening_refuses_an_expected_version_other_than_zero(
        self, cli: Runner, tmp_path: Path
    ) -> None:
        """A negotiation that was never opened is at version 0; ``--expected-version 5``
        must be refused."""
        path = write(tmp_path / "open.json", opening_body())
        line = one_error_line(
            cli("record", "NegotiationOpened", "-n", NID, "--json", path, "--expected-version", "5")
        )
        assert "version_conflict" in line
        assert ok(cli("negotiations")).stdout == ""

    def test_meeting_from_a_file_prints_where_it_stands(
        self, opened: Runner, tmp_path: Path
    ) -> None:
        path = write(tmp_path / "meeting.json", body("MeetingHeld", MEETING))
        written = as_json(opened("record", "MeetingHeld", "-n", NID, "--json", path))
        assert {"event_id", "negotiation_id", "position", "version", "hash"} <= written.keys()
        assert UUID.match(written["event_id"])
        assert written["negotiation_id"] == NID
        assert written["position"] == 2
        assert written["version"] == 2
        assert HEX64.match(written["hash"])
        state = as_json(opened("show", NID, "--json"))
        assert state["meetings"]["round-1"]["status"] == "held"
        assert state["status"] == "active"
        assert state["version"] == 2

    def test_json_dash_reads_stdin_and_takes_type_and_id_from_the_command_line(
        self, opened: Runner
    ) -> None:
        event = body("MeetingHeld", MEETING)
        del event["type"], event["negotiation_id"]
        written = as_json(
            opened("record", "MeetingHeld", "-n", NID, "--json", "-", input=json.dumps(event))
        )
        assert written["version"] == 2
        assert written["negotiation_id"] == NID
        timeline = as_json(opened("timeline", NID, "--json"))
        assert [r["type"] for r in timeline] == ["NegotiationOpened", "MeetingHeld"]
        assert timeline[-1]["event_id"] == written["event_id"]


# Refusals: one shared store, which no refused command may change


@dataclass(frozen=True)
class Store:
    cli: Runner
    baseline: str  # `show NID --json` after the setup

    def assert_unchanged(self) -> None:
        after = ok(self.cli("show", NID, "--json")).stdout
        assert after == self.baseline, "a refused command changed the store"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, make_cli: Callable[[Path], Runner]) -> Store:
    base = tmp_path_factory.mktemp("record")
    cli = make_cli(base)
    ok(cli("import", write_jsonl(base / "setup.jsonl", SETUP)))
    baseline = ok(cli("show", NID, "--json")).stdout
    assert json.loads(baseline)["version"] == len(SETUP)
    return Store(cli, baseline)


# (id, TYPE on the command line, file content, extra args, words the error line must contain)
REFUSALS: list[tuple[str, str, Any, list[str], list[str]]] = [
    (
        "unknown type",
        "Teleported",
        without(body("Teleported", MEETING), "type"),
        [],
        ["unknown_type", "Teleported"],
    ),
    (
        "missing field",
        "MeetingHeld",
        without(body("MeetingHeld", MEETING), "verification"),
        [],
        ["verification", "required"],
    ),
    (
        "extra field",
        "MeetingHeld",
        body("MeetingHeld", {**MEETING, "colour": "red"}),
        [],
        ["payload.colour"],
    ),
    (
        "wrong type",
        "MeetingHeld",
        body("MeetingHeld", {**MEETING, "agenda": "transition"}),
        [],
        ["payload.agenda"],
    ),
    (
        "month 13",
        "MeetingHeld",
        body("MeetingHeld", MEETING, occurred_at="2024-13"),
        [],
        ["occurred_at", "2024-13"],
    ),
    (
        "february 30",
        "MeetingHeld",
        body("MeetingHeld", MEETING, occurred_at="2024-02-30"),
        [],
        ["occurred_at", "2024-02-30"],
    ),
    (
        "over-long quote",
        "StatementIssued",
        body("StatementIssued", quote("x" * 5000)),
        [],
        ["payload.quote", "4000"],
    ),
    (
        "server-set hash",
        "MeetingHeld",
        body("MeetingHeld", MEETING, hash="0" * 64),
        [],
        ["server_field", "hash"],
    ),
    ("not JSON", "MeetingHeld", '{"type": "MeetingHeld", oops}', [], ["--json", "not JSON"]),
    ("JSON but not an object", "MeetingHeld", "[1, 2]", [], ["--json", "object"]),
    (
        "duplicated key",
        "MeetingHeld",
        json.dumps(body("MeetingHeld", MEETING))[:-1] + ', "verification": "reported"}',
        [],
        ["duplicate_key", "'verification'", "top level"],
    ),
    (
        "5,000-digit integer",
        "ContextNoted",
        json.dumps(body("ContextNoted", NOTE))[:-1] + ', "confidence": ' + "9" * 5000 + "}",
        [],
        ["number_out_of_range", "confidence"],
    ),
    (
        "type conflicts with the command line",
        "MeetingHeld",
        body("StatementIssued", quote("Hello.")),
        [],
        ["conflicting_input", "type"],
    ),
    (
        "ratified before signed",
        "AgreementStatusChanged",
        body(
            "AgreementStatusChanged",
            {"agreement_id": "ag-1", "status": "ratified"},
            occurred_at="2024-09-28",
        ),
        [],
        ["agreement_not_signed"],
    ),
    (
        "resumed though not suspended",
        "TalksResumed",
        body("TalksResumed", {}, occurred_at="2024-10"),
        [],
        ["talks_not_suspended"],
    ),
    (
        "milestone met twice",
        "MilestoneMet",
        body("MilestoneMet", {"milestone_id": "m-1"}, occurred_at="2024-10-02"),
        [],
        ["milestone_already_settled", "m-1"],
    ),
    (
        "idempotency key reused for another body",
        "ContextNoted",
        body("ContextNoted", {**NOTE, "text": "About 3,000 troops."}, idempotency_key="note-1"),
        [],
        ["idempotency_key_reused", "note-1"],
    ),
    (
        "stale expected version",
        "ContextNoted",
        body("ContextNoted", NOTE),
        ["--expected-version", "3"],
        ["version_conflict", "3", "7"],
    ),
    (
        "occurred in the future",
        "MeetingHeld",
        body("MeetingHeld", MEETING, occurred_at="2999"),
        [],
        ["occurred_after_recorded"],
    ),
    (
        "unknown issue on the agenda",
        "MeetingHeld",
        body("MeetingHeld", {**MEETING, "agenda": ["no-such-issue"]}),
        [],
        ["unknown_issue"],
    ),
]


@pytest.mark.parametrize("case", [pytest.param(r[1:], id=r[0]) for r in REFUSALS])
def test_refused_input_is_one_line_and_records_nothing(
    store: Store, tmp_path: Path, case: tuple[str, Any, list[str], list[str]]
) -> None:
    kind, content, extra, words = case
    path = write(tmp_path / "event.json", content)
    line = one_error_line(store.cli("record", kind, "-n", NID, "--json", path, *extra))
    for word in words:
        assert word in line, f"{word!r} not in {line!r}"
    store.assert_unchanged()


def test_refused_stdin_is_one_line_and_records_nothing(store: Store) -> None:
    line = one_error_line(
        store.cli("record", "MeetingHeld", "-n", NID, "--json", "-", input="not json at all")
    )
    assert "--json" in line
    store.assert_unchanged()


def test_negotiation_id_conflicting_with_the_file_is_refused(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "event.json", body("MeetingHeld", MEETING))
    line = one_error_line(store.cli("record", "MeetingHeld", "-n", "other-talks", "--json", path))
    assert "negotiation_id" in line
    store.assert_unchanged()


def test_event_for_a_negotiation_never_opened_is_refused(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "event.json", body("MeetingHeld", MEETING, nid="never-opened"))
    line = one_error_line(store.cli("record", "MeetingHeld", "-n", "never-opened", "--json", path))
    assert "negotiation_not_found" in line
    assert "never-opened" in line
    assert ok(store.cli("negotiations")).stdout.splitlines() == [NID]


def test_missing_json_file_is_one_line_naming_it(store: Store) -> None:
    line = one_error_line(
        store.cli("record", "MeetingHeld", "-n", NID, "--json", "no-such-file.json")
    )
    assert "no-such-file.json" in line


def test_resending_the_same_idempotent_event_returns_the_first_result(
    store: Store, tmp_path: Path
) -> None:
    path = write(tmp_path / "event.json", SETUP[-1])
    written = as_json(store.cli("record", "ContextNoted", "-n", NID, "--json", path))
    assert written["duplicate"] is True
    assert written["version"] == len(SETUP)
    store.assert_unchanged()


# Bugs found while writing these tests (they fail against the current code)


def test_json_file_that_is_not_utf8_is_one_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'\xff\xfe{"type": "MeetingHeld"}')
    line = one_error_line(store.cli("record", "MeetingHeld", "-n", NID, "--json", path))
    assert "--json" in line
    store.assert_unchanged()


def test_deeply_nested_json_is_one_line(store: Store) -> None:
    line = one_error_line(
        store.cli(
            "record", "MeetingHeld", "-n", NID, "--json", "-", input="[" * 100_000 + "]" * 100_000
        )
    )
    assert "--json" in line
    store.assert_unchanged()


def test_error_stays_on_one_line_at_80_columns(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "event.json", body("StatementIssued", quote("Hello.")))
    one_error_line(
        store.cli("record", "MeetingHeld", "-n", NID, "--json", path, env={"COLUMNS": "80"})
    )
