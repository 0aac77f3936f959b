"""``talkstream import FILE``: every event of a JSON Lines file in one transaction, or none;
a bad line is named by its line number in the file."""

from __future__ import annotations

import json
from typing import Any

from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests.e2e.helpers import Runner, ok, one_error_line, the_error, write_jsonl
from tests.factories import IRAQ, ISSUES, NID, USA, body


def opening(nid: str = NID) -> dict[str, Any]:
    issues = [{"issue_id": i, "title": i.title()} for i in ISSUES]
    return body(
        "NegotiationOpened",
        {"title": "Talks", "format": "bilateral", "issues": issues},
        nid,
        occurred_at="2023-08",
    )


def joined(actor: dict[str, Any], nid: str = NID) -> dict[str, Any]:
    return body("PartyJoined", {"party": actor, "role": "party"}, nid)


def agreement(parties: list[dict[str, Any]]) -> dict[str, Any]:
    payload = {
        "agreement_id": "ag-1",
        "title": "Joint statement",
        "form": "joint_statement",
        "parties": parties,
    }
    return body("AgreementReached", payload, occurred_at="2024-09-27")


RATIFIED = body(
    "AgreementStatusChanged",
    {"agreement_id": "ag-1", "status": "ratified"},
    occurred_at="2024-09-28",
)


def negotiations(cli: Runner) -> list[str]:
    return ok(cli("negotiations")).stdout.splitlines()


def test_valid_file_with_blank_lines_is_recorded(cli: Runner) -> None:
    path = write_jsonl(
        cli.base / "talks.jsonl",
        [opening(), joined(IRAQ), "", "   ", joined(USA), "\t", agreement([IRAQ, USA])],
    )
    result = ok(cli("import", path))
    assert "validated 4 events" in result.stderr
    assert "recorded 4 new events, 0 already present" in result.stderr
    assert negotiations(cli) == [NID]
    timeline = ok(cli("timeline", NID, "--json")).stdout
    assert '"AgreementReached"' in timeline


def test_invalid_date_on_line_3_records_nothing(cli: Runner) -> None:
    bad = {**joined(USA), "occurred_at": "2024-02-30"}
    path = write_jsonl(cli.base / "talks.jsonl", [opening(), joined(IRAQ), bad, joined(USA)])
    line = one_error_line(cli("import", path))
    assert "line 3" in line
    assert "occurred_at" in line
    assert negotiations(cli) == []


def test_invariant_broken_on_line_4_records_nothing(cli: Runner) -> None:
    path = write_jsonl(
        cli.base / "talks.jsonl", [opening(), joined(IRAQ), agreement([IRAQ]), RATIFIED]
    )
    line = the_error(cli("import", path))
    assert "line 4" in line
    assert "agreement_not_signed" in line
    assert negotiations(cli) == []


def test_invariant_line_number_counts_blank_lines(cli: Runner) -> None:
    path = write_jsonl(
        cli.base / "talks.jsonl", [opening(), "", joined(IRAQ), "", agreement([IRAQ]), RATIFIED]
    )
    line = the_error(cli("import", path))
    assert "line 6" in line
    assert negotiations(cli) == []


def test_failure_in_one_negotiation_records_no_other(cli: Runner) -> None:
    other = "talks-b"
    resumed = body("TalksResumed", {}, other, occurred_at="2024-08")
    path = write_jsonl(cli.base / "talks.jsonl", [opening(), opening(other), resumed])
    line = the_error(cli("import", path))
    assert "line 3" in line
    assert "talks_not_suspended" in line
    assert negotiations(cli) == []


def test_non_json_line_reports_its_line_number(cli: Runner) -> None:
    path = write_jsonl(cli.base / "talks.jsonl", [opening(), "", '{"type": oops}', joined(IRAQ)])
    line = one_error_line(cli("import", path))
    assert "line 3" in line
    assert "not JSON" in line
    assert negotiations(cli) == []


def test_line_with_a_duplicated_key_is_refused_naming_line_key_and_place(cli: Runner) -> None:
    twice = json.dumps(joined(IRAQ))[:-1] + ', "type": "PartyLeft"}'
    path = write_jsonl(cli.base / "talks.jsonl", [opening(), "", twice, joined(USA)])
    line = one_error_line(cli("import", path))
    assert "line 3" in line
    assert "duplicate_key" in line
    assert "'type'" in line
    assert "top level" in line
    assert negotiations(cli) == []


def test_line_with_a_5000_digit_integer_is_refused_naming_line_and_field(cli: Runner) -> None:
    huge = json.dumps(joined(IRAQ))[:-1] + ', "confidence": ' + "9" * 5000 + "}"
    path = write_jsonl(cli.base / "talks.jsonl", [opening(), huge])
    line = one_error_line(cli("import", path))
    assert "line 2" in line
    assert "number_out_of_range" in line
    assert "confidence" in line
    assert negotiations(cli) == []


def test_line_separators_inside_strings_do_not_split_a_line(cli: Runner) -> None:
    """JSON Lines are split at "\\n" only: U+2028, U+0085 and friends are text in a string."""
    note = body("ContextNoted", {"topic": "Troops", "text": "a\u2028b\u0085c\x1cd\u2029e\x0bf"})
    path = cli.base / "talks.jsonl"
    path.write_text(
        "\n".join(json.dumps(e, ensure_ascii=False) for e in [opening(), note]) + "\n", "utf-8"
    )
    result = ok(cli("import", path))
    assert "recorded 2 new events" in result.stderr
    app = build_application(Settings(home=cli.home))
    try:
        assert app.history(NID)[-1].draft.payload.text == "a\u2028b\u0085c\x1cd\u2029e\x0bf"
    finally:
        app.close()


def test_a_file_of_one_event_refused_by_a_rule_names_its_line(cli: Runner) -> None:
    path = write_jsonl(cli.base / "talks.jsonl", ["", RATIFIED])
    line = the_error(cli("import", path))
    assert "line 2" in line
    assert "negotiation_not_found" in line


def test_missing_file_is_one_line_naming_it(cli: Runner) -> None:
    line = one_error_line(cli("import", "no-such-file.jsonl"))
    assert "no-such-file.jsonl" in line


def test_line_whose_type_is_not_a_string_is_one_line(cli: Runner) -> None:
    path = write_jsonl(cli.base / "talks.jsonl", [opening(), {**joined(IRAQ), "type": ["x"]}])
    line = one_error_line(cli("import", path))
    assert "line 2" in line
    assert "type" in line
    assert negotiations(cli) == []


# Bug found while writing these tests (fails against the current code: RecursionError traceback)


def test_deeply_nested_line_is_one_line_naming_it(cli: Runner) -> None:
    path = write_jsonl(cli.base / "talks.jsonl", [opening(), "[" * 100_000 + "]" * 100_000])
    line = one_error_line(cli("import", path))
    assert "line 2" in line
    assert negotiations(cli) == []
