"""Point-in-time reads before there was anything to read: ``known_at`` before the first record
answers 404 ``not_known_yet`` naming the first record time, and ``as_of`` before the opening
answers 404 ``not_opened_yet`` naming the opening date, rather than an empty state."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.context import ApiContext
from tests.factories import scenario
from tests.integration.api.conftest import bearer

NID = "us-iraq-jscd"
OPENED = "2023-08"  # the scenario's NegotiationOpened occurred_at


@pytest.fixture
def first_recorded_at(ctx: ApiContext) -> str:
    ctx.app.record_many(scenario(), principal="analyst")
    recorded: str = ctx.app.history(NID)[0].wire["recorded_at"]
    return recorded


def get(http: TestClient, reader: str, path: str, **params: str) -> Any:
    return http.get(f"/v1/negotiations/{NID}{path}", params=params, headers=bearer(reader))


# Each clock's bound before there was anything to read: the refusal, and the first point of
# that clock which it names (in its message and its details).
BEFORE_ANYTHING = [
    pytest.param("known_at", "2000-01-01", "not_known_yet", "first_recorded_at", id="known_at"),
    pytest.param("as_of", "2023-07-31", "not_opened_yet", "opened_at", id="as_of"),
]


@pytest.mark.parametrize("path", ["", "/timeline", "/positions"])
@pytest.mark.parametrize(("clock", "bound", "code", "first"), BEFORE_ANYTHING)
def test_a_bound_before_anything_is_404_naming_that_clock_s_first_point(
    http: TestClient,
    keys: dict[str, str],
    first_recorded_at: str,
    path: str,
    clock: str,
    bound: str,
    code: str,
    first: str,
) -> None:
    first_point = {"first_recorded_at": first_recorded_at, "opened_at": OPENED}[first]
    answer = get(http, keys["reader"], path, **{clock: bound})
    assert answer.status_code == 404, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert first_point in error["message"]
    assert error["details"] == {"negotiation_id": NID, clock: bound, first: first_point}


def test_known_at_the_first_record_answers_what_was_recorded_then(
    http: TestClient, keys: dict[str, str], first_recorded_at: str
) -> None:
    answer = get(http, keys["reader"], "", known_at=first_recorded_at)
    assert answer.status_code == 200, answer.text
    assert answer.json()["view"]["title"] is not None


def test_as_of_within_the_opening_s_month_answers_the_opening(
    http: TestClient, keys: dict[str, str], first_recorded_at: str
) -> None:
    answer = get(http, keys["reader"], "", as_of="2023-08-01")
    assert answer.status_code == 200, answer.text
    assert answer.json()["view"]["title"] is not None


def test_known_at_is_checked_before_as_of(
    http: TestClient, keys: dict[str, str], first_recorded_at: str
) -> None:
    answer = get(http, keys["reader"], "", as_of="2020", known_at="2000")
    assert answer.json()["error"]["code"] == "not_known_yet"


def test_a_diff_from_before_anything_was_known_still_lists_everything(
    http: TestClient, keys: dict[str, str], first_recorded_at: str
) -> None:
    answer = get(http, keys["reader"], "/diff", **{"from": "2000", "to": "2999"})
    assert answer.status_code == 200, answer.text
    changes = answer.json()["changes"]
    assert ("negotiation", "title") in {(c["section"], c["id"]) for c in changes}
