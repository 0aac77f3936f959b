"""The CLI's exit codes come from one table in the CLI, documented in ``talkstream --help``;
a bad option is the CLI's own error, answered with one line and exit 1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from events.exceptions import ContractError, InvalidEvent, TalkstreamError
from events.tlog.exceptions import MalformedNote
from services.api.exceptions import KeyProblem
from services.cli import app, exits
from services.cli.exceptions import CliError
from services.cli.exits import EXIT_CODES, NEVER_MET, exit_code_of
from services.exceptions import InvalidSettings
from services.recorder.exceptions import (
    BatchRejected,
    EventCorrupted,
    InvariantViolation,
    LineRejected,
    NegotiationNotFound,
    NothingYet,
    StoreUnavailable,
)
from services.relay.exceptions import StreamNotDiverged
from services.runtime.exceptions import RedisUnavailable, RuntimeProblem, Unhealthy
from tests.unit.error_classes import defined_exceptions, qualified


def test_every_error_the_cli_can_meet_has_an_exit_code() -> None:
    errors = [
        c
        for c in defined_exceptions()
        if issubclass(c, TalkstreamError) and c is not TalkstreamError  # the root, never raised
    ]
    unmapped = [
        qualified(c)
        for c in errors
        if not any(base in EXIT_CODES or base in NEVER_MET for base in c.__mro__)
    ]
    assert unmapped == []


def test_errors_the_cli_never_meets_are_not_in_the_table_too() -> None:
    assert [c for c in NEVER_MET if any(base in EXIT_CODES for base in c.__mro__)] == []
    assert all(reason for reason in NEVER_MET.values())


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidEvent("invalid_event", "bad"), 1),
        (MalformedNote("no signature"), 1),
        (CliError("invalid_option", "use world or record", field="--clock"), 1),
        (InvariantViolation("talks_not_suspended", "no"), 1),
        (NegotiationNotFound("nope"), 1),
        (NothingYet("not_known_yet", "not yet"), 1),
        (LineRejected(3, "invalid_event", "bad"), 1),
        (KeyProblem("unknown_key", "no such key"), 1),
        (StreamNotDiverged("the stream agrees"), 1),
        (StoreUnavailable("store_unavailable", "down"), 3),
        (EventCorrupted("hash mismatch", position=3), 3),
        (InvalidSettings("TALKSTREAM_PORT: not a number"), 3),
        (RuntimeProblem("address_in_use", "taken"), 3),
        (RedisUnavailable("no redis-server"), 3),
        (Unhealthy("no relay process on this host"), 1),
        (BatchRejected(0, InvariantViolation("x", "no")), 1),
        (BatchRejected(2, StoreUnavailable("store_unavailable", "down")), 3),
    ],
)
def test_each_error_exits_with_its_documented_code(error: TalkstreamError, code: int) -> None:
    assert exit_code_of(error) == code


def test_the_help_documents_every_exit_code() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    help_text = " ".join(result.output.split())
    for code in sorted(set(EXIT_CODES.values())):
        assert f"{code}:" in help_text or f"{code} " in help_text
    assert "Exit codes" in help_text
    assert "3: the environment" in help_text and "a failed check" in help_text


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["diff", "n", "--from", "2024", "--to", "2025", "--clock", "sideways"],
            "error: invalid_option: --clock: use world or record",
        ),
        (
            ["keys", "create", "--role", "emperor", "--name", "x"],
            "error: invalid_option: --role: choose one of publisher, reader, auditor, admin",
        ),
        (["relay", "--force"], "error: invalid_option: --force: only with --rebuild-stream"),
        (
            ["replay", "--projection", "nope"],
            "error: unknown_projection: --projection: choose one of negotiation, timeline, "
            "positions, commitments, audit",
        ),
    ],
)
def test_a_bad_option_is_one_error_line_and_exit_1(args: list[str], line: str) -> None:
    result = CliRunner().invoke(app, args)
    assert (result.exit_code, result.stderr.strip()) == (1, line)


def test_a_bad_option_is_the_clis_error_not_a_contract_error() -> None:
    from services.cli.commands import _projection

    with pytest.raises(CliError) as caught:
        _projection("nope")
    assert not isinstance(caught.value, ContractError)
    assert (caught.value.code, caught.value.field) == ("unknown_projection", "--projection")


def test_the_readme_lists_the_same_exit_codes() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text("utf-8")
    start = readme.index("Exit codes (also listed by `talkstream --help`)")
    paragraph = " ".join(readme[start : readme.index("\n\n", start)].split())
    codes = [exits.REFUSED, exits.USAGE, exits.ENVIRONMENT]
    assert [int(n) for n in re.findall(r"`(\d)`", paragraph)] == [0, *codes]
