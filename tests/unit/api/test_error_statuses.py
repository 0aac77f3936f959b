"""The HTTP status of every error the API can meet comes from one table in the API adapter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from events.exceptions import InvalidEvent, InvalidPartialDate, RegistryMismatch, TalkstreamError
from events.tlog.exceptions import HashReadError, MalformedNote, MalformedTilePath
from services.api import errors
from services.api.errors import NOT_ANSWERED, STATUS, status_of
from services.api.exceptions import (
    ApiError,
    Forbidden,
    InvalidRequest,
    KeyProblem,
    NotCaughtUp,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    Unauthorized,
    UnsupportedMediaType,
)
from services.recorder.exceptions import (
    BatchRejected,
    ConflictError,
    EventCorrupted,
    InvariantViolation,
    LineRejected,
    NegotiationNotFound,
    NothingYet,
    RecorderError,
    StoreUnavailable,
)
from tests.unit.error_classes import defined_exceptions, qualified

# What the HTTP layer can meet: the ground (the contract, settings), the core (the write side,
# the reducers) and its own errors. Other adapters' and the composition's errors never reach
# a request.
MET_BY_HTTP = (
    "events.",
    "projections.",
    "services.exceptions",
    "services.recorder.",
    "services.api.",
)


def test_every_error_the_api_can_meet_has_a_status_or_a_reason_it_is_never_answered() -> None:
    met = [
        c
        for c in defined_exceptions()
        if issubclass(c, TalkstreamError)
        and c is not TalkstreamError  # the root, never raised itself
        and c.__module__.startswith(MET_BY_HTTP)
    ]
    assert len(met) > 30
    unmapped = [
        qualified(c)
        for c in met
        if not _answered(c) and not any(base in NOT_ANSWERED for base in c.__mro__)
    ]
    assert unmapped == []


def test_errors_never_answered_are_not_in_the_table_too() -> None:
    assert [c for c in NOT_ANSWERED if _answered(c)] == []
    assert all(reason for reason in NOT_ANSWERED.values())


def test_the_table_answers_only_error_statuses() -> None:
    assert all(400 <= status <= 599 for status in STATUS.values())


def _answered(cls: type[TalkstreamError]) -> bool:
    return any(base in STATUS for base in cls.__mro__)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidEvent("invalid_event", "bad", field="payload"), 422),
        (InvalidPartialDate("'2024-13' is not a valid date"), 422),
        (MalformedNote("no signature"), 422),
        (MalformedTilePath("tile/x"), 422),
        (HashReadError("short answer"), 500),
        (RecorderError("odd", "odd"), 400),
        (InvariantViolation("talks_not_suspended", "no"), 409),
        (ConflictError("version_conflict", "no"), 409),
        (NegotiationNotFound("nope"), 404),
        (NothingYet("not_known_yet", "not yet"), 404),
        (StoreUnavailable("store_unavailable", "down"), 503),
        (EventCorrupted("hash mismatch", position=3), 503),
        (LineRejected(2, "invalid_json", "not JSON"), 422),
        (ApiError("bad", "bad"), 400),
        (KeyProblem("unknown_key", "no such key"), 400),
        (Unauthorized("unauthorized", "no key"), 401),
        (Forbidden("forbidden", "no"), 403),
        (RequestTimeout("body_timeout", "slow"), 408),
        (PayloadTooLarge("body_too_large", "big"), 413),
        (UnsupportedMediaType("unsupported_media_type", "xml"), 415),
        (InvalidRequest("invalid_request", "bad"), 422),
        (RateLimited("rate_limited", "slow down"), 429),
        (NotCaughtUp("not_caught_up", "wait"), 503),
    ],
)
def test_each_error_has_its_documented_status(error: TalkstreamError, status: int) -> None:
    assert status_of(error) == status


@pytest.mark.parametrize(
    ("cause", "status"),
    [
        (InvalidEvent("invalid_event", "bad"), 422),
        (InvariantViolation("milestone_not_scheduled", "no"), 409),
        (NegotiationNotFound("nope"), 404),
        (StoreUnavailable("store_unavailable", "down"), 503),
        (EventCorrupted("undecodable", position=7), 503),
    ],
)
def test_a_rejected_batch_is_answered_with_its_causes_status(
    cause: TalkstreamError, status: int
) -> None:
    assert status_of(BatchRejected(1, cause)) == status


def test_a_batch_rejected_for_another_reason_is_a_422() -> None:
    assert status_of(BatchRejected(0, ValueError("odd"))) == 422


def test_an_error_outside_the_table_is_a_server_fault() -> None:
    class Unlisted(TalkstreamError):
        pass

    assert status_of(Unlisted("unlisted", "nobody maps this")) == 500


def _answer_to(error: Exception) -> tuple[int, Any, dict[str, str]]:
    """What an app with the API's error handlers answers when a route raises ``error``."""
    app = FastAPI()
    errors.install(app)

    @app.get("/raise")
    def _raise() -> None:
        raise error

    with TestClient(app, raise_server_exceptions=False) as http:
        answer = http.get("/raise")
    body = answer.json() if answer.headers.get("content-type") == "application/json" else None
    return answer.status_code, body, dict(answer.headers)


def test_a_contract_error_is_answered_with_its_field() -> None:
    status, body, _ = _answer_to(InvalidEvent("invalid_event", "is missing", field="sources"))
    assert (status, body) == (
        422,
        {
            "error": {
                "code": "invalid_event",
                "message": "sources: is missing",
                "details": {"field": "sources"},
            }
        },
    )


def test_a_write_side_error_is_answered_with_its_details() -> None:
    status, body, _ = _answer_to(NegotiationNotFound("us-iraq-jscd"))
    assert status == 404
    assert body == {
        "error": {
            "code": "negotiation_not_found",
            "message": "negotiation 'us-iraq-jscd' has not been opened",
            "details": {"negotiation_id": "us-iraq-jscd"},
        }
    }


def test_an_http_layer_error_is_answered_with_its_headers() -> None:
    status, body, headers = _answer_to(
        RateLimited("rate_limited", "slow down", headers={"Retry-After": "2"})
    )
    assert (status, headers["retry-after"]) == (429, "2")
    assert body == {"error": {"code": "rate_limited", "message": "slow down"}}


def test_a_rejected_batch_is_answered_with_its_causes_status_over_http() -> None:
    status, body, _ = _answer_to(BatchRejected(1, StoreUnavailable("store_unavailable", "down")))
    assert status == 503
    assert body == {"error": {"code": "store_unavailable", "message": "event 2: down"}}


def test_an_error_the_api_never_answers_stays_the_servers_own_500() -> None:
    status, body, _ = _answer_to(RegistryMismatch("a layer", missing=["MeetingHeld"]))
    assert (status, body) == (500, None)
