"""Every error talkstream raises on purpose derives from one root, ``TalkstreamError``, and is
declared in its package's one ``exceptions`` module. How an error is answered (an HTTP status,
an exit code) is decided at the edges, so no error class carries a status."""

from __future__ import annotations

import pytest

from events.exceptions import ContractError, TalkstreamError
from tests.unit.error_classes import PRIVATE_SIGNALS, defined_exceptions, qualified


def test_the_walk_finds_the_packages_errors() -> None:
    names = {qualified(c) for c in defined_exceptions()}
    assert {
        "events.exceptions.ContractError",
        "services.recorder.exceptions.StoreUnavailable",
        "services.cli.exceptions.CliError",
        *PRIVATE_SIGNALS,
    } <= names


def test_every_error_class_derives_from_talkstream_error() -> None:
    outside = [
        qualified(c)
        for c in defined_exceptions()
        if not issubclass(c, TalkstreamError) and qualified(c) not in PRIVATE_SIGNALS
    ]
    assert outside == []


def test_private_signals_are_private_by_name() -> None:
    assert all(name.rsplit(".", 1)[1].startswith("_") for name in PRIVATE_SIGNALS)


def test_every_error_class_is_declared_in_its_packages_exceptions_module() -> None:
    elsewhere = [
        qualified(c)
        for c in defined_exceptions()
        if issubclass(c, TalkstreamError) and not c.__module__.endswith(".exceptions")
    ]
    assert elsewhere == []


def test_no_error_class_carries_a_status() -> None:
    with_status = [
        qualified(c)
        for c in defined_exceptions()
        if issubclass(c, TalkstreamError) and hasattr(c, "status")
    ]
    assert with_status == []


@pytest.mark.parametrize(
    "name",
    ["ContractError", "InvalidEvent", "InvalidJson", "InvalidPartialDate", "UnknownSchemaVersion"],
)
def test_contract_errors_are_still_value_errors(name: str) -> None:
    import events.exceptions

    cls = getattr(events.exceptions, name)
    assert issubclass(cls, ContractError) and issubclass(cls, ValueError)


def test_the_client_keeps_its_error_names_and_text() -> None:
    from services.client import ClientError, PublishRefused, PublishTimeout

    refused = PublishRefused("1-0", "invalid_event", "payload: missing")
    timeout = PublishTimeout(["1-0", "2-0"], 5.0)
    assert issubclass(ClientError, TalkstreamError)
    assert isinstance(refused, ClientError) and isinstance(timeout, ClientError)
    assert (refused.entry_id, refused.code, refused.message) == (
        "1-0",
        "invalid_event",
        "payload: missing",
    )
    assert str(refused) == "invalid_event: payload: missing"
    assert timeout.entry_ids == ["1-0", "2-0"]
    assert str(timeout) == "no result for 2 entries within 5.0 s"
