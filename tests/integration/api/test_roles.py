"""Every path, every role: 401 without a key (or with a bad one), 403 with the wrong role,
2xx with the right one; operations paths need no key."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from events import parse_draft
from services.api.keys import GRANTS, Permission, Role
from tests.factories import NID, NOTE, SETUP, body, opening_body
from tests.integration.api.conftest import ROLES, Served, bearer

counter = itertools.count()


def _new_opening() -> dict[str, Any]:
    return {**opening_body(), "negotiation_id": f"opened-{next(counter)}"}


def _note() -> dict[str, Any]:
    return body("ContextNoted", NOTE)


# (method, path, permission, JSON body builder or None)
ROUTES: list[tuple[str, str, Permission, Callable[[], Any] | None]] = [
    ("POST", "/v1/negotiations", Permission.write, _new_opening),
    ("POST", f"/v1/negotiations/{NID}/events", Permission.write, _note),
    ("POST", "/v1/events:batch", Permission.write, lambda: {"events": [_note()]}),
    ("GET", "/v1/negotiations", Permission.read, None),
    ("GET", f"/v1/negotiations/{NID}", Permission.read, None),
    ("GET", f"/v1/negotiations/{NID}?as_of=2024-09&known_at=2030", Permission.read, None),
    ("GET", f"/v1/negotiations/{NID}/timeline", Permission.read, None),
    ("GET", f"/v1/negotiations/{NID}/positions", Permission.read, None),
    ("GET", f"/v1/negotiations/{NID}/diff?from=2023&to=2025", Permission.read, None),
    ("GET", "/v1/commitments", Permission.read, None),
    ("GET", f"/v1/subscribe?negotiation={NID}", Permission.read, None),
    ("GET", "/v1/audit/events?after=0&limit=5", Permission.audit, None),
    ("GET", "/v1/audit/verify", Permission.audit, None),
    ("GET", "/v1/audit/checkpoints?after=0", Permission.audit, None),
    ("GET", "/v1/audit/proof/consistency?from=0&to=0", Permission.audit, None),
]
OPEN_PATHS = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/asyncapi"]


@pytest.fixture(scope="module")
def seeded(served: Served) -> Served:
    served.ctx.app.record_many([parse_draft(b) for b in SETUP], principal="seed")
    return served


def _call(served: Served, method: str, path: str, key: str | None, make: Any) -> int:
    headers = bearer(key)
    with httpx.Client(base_url=served.url, timeout=10) as client:
        if path.startswith("/v1/subscribe"):
            with client.stream(method, path, headers=headers) as response:
                return response.status_code  # an open stream: the status is enough
        json_body = make() if make else None
        return client.request(method, path, headers=headers, json=json_body).status_code


@pytest.mark.parametrize(
    ("method", "path", "permission", "make"), ROUTES, ids=[r[1] for r in ROUTES]
)
def test_each_role_gets_2xx_only_where_it_is_allowed(
    seeded: Served, method: str, path: str, permission: Permission, make: Any
) -> None:
    outcomes = {role: _call(seeded, method, path, seeded.keys[role], make) for role in ROLES}
    expected = {role: "2xx" if permission in GRANTS[Role(role)] else 403 for role in ROLES}
    got = {role: "2xx" if 200 <= s < 300 else s for role, s in outcomes.items()}
    assert got == expected


@pytest.mark.parametrize(
    ("method", "path", "permission", "make"), ROUTES, ids=[r[1] for r in ROUTES]
)
@pytest.mark.parametrize(
    "key", [None, "tsk_00000000_forged", "not-a-key"], ids=["no key", "unknown key", "malformed"]
)
def test_without_a_valid_key_every_route_is_401(
    seeded: Served, method: str, path: str, permission: Permission, make: Any, key: str | None
) -> None:
    assert _call(seeded, method, path, key, make) == 401


def test_a_revoked_key_is_401(seeded: Served) -> None:
    record, key = seeded.ctx.keys.create(name="short-lived", role=Role.reader)
    assert _call(seeded, "GET", "/v1/negotiations", key, None) == 200
    seeded.ctx.keys.revoke(record.key_id)
    assert _call(seeded, "GET", "/v1/negotiations", key, None) == 401


@pytest.mark.parametrize("path", OPEN_PATHS)
def test_operations_paths_need_no_key(seeded: Served, path: str) -> None:
    with httpx.Client(base_url=seeded.url, timeout=10) as client:
        assert client.get(path).status_code == 200


def test_the_publishers_name_is_recorded_as_recorded_by(seeded: Served) -> None:
    with seeded.client("publisher") as client:
        written = client.post(f"/v1/negotiations/{NID}/events", json=_note()).json()
    with seeded.client("auditor") as client:
        page = client.get(
            "/v1/audit/events", params={"after": written["position"] - 1, "limit": 1}
        ).json()
    (event,) = page["events"]
    assert event["event_id"] == written["event_id"]
    assert event["recorded_by"] == "publisher-1"
