"""The live projections on the shared test Redis: ``demo --no-serve``, then ``talkstream up``
(relay and projection workers) until the views reach the scenario's last position; then
``view``, ``replay``, ``dlq list`` and ``dlq retry`` as a user runs them."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from projections.live.store import ViewStore
from projections.views import PROJECTIONS
from tests.e2e.helpers import (
    SCENARIO_ID,
    Runner,
    as_json,
    ok,
    one_error_line,
    serving,
)
from tests.redis_keys import owned_prefix

LAST_POSITION = 15
MISSION = "coalition-mission-iraq-ends"
KURDISTAN = "kurdistan-syria-support-ends"


@dataclass(frozen=True)
class Live:
    cli: Runner
    env: dict[str, str]

    def __call__(self, *args: object) -> subprocess.CompletedProcess[str]:
        return self.cli(*args, env=self.env)


@pytest.fixture(scope="module")
def module_prefix(redis_url: str) -> Iterator[str]:
    """Like the ``prefix`` fixture, for the whole module: its keys are deleted afterwards."""
    with owned_prefix(redis_url) as name:
        yield name


def _caught_up(
    redis_url: str, prefix: str, up: subprocess.Popen[str], timeout: float = 30.0
) -> None:
    client = redis.Redis.from_url(redis_url)
    stores = [ViewStore(client, prefix, name) for name in PROJECTIONS]
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            assert up.poll() is None, f"talkstream up exited with {up.returncode}"
            if all(s.tracked(s.generation()) >= LAST_POSITION for s in stores):
                return
            time.sleep(0.1)
    finally:
        client.close()
    raise AssertionError(f"projections did not reach position {LAST_POSITION} in {timeout} s")


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory,
    make_cli: Callable[[Path], Runner],
    redis_url: str,
    module_prefix: str,
) -> Iterator[Live]:
    """The scenario recorded, and ``talkstream up`` running on the test Redis until the module
    ends."""
    base = tmp_path_factory.mktemp("live")
    cli = make_cli(base)
    env = {"TALKSTREAM_REDIS_URL": redis_url, "TALKSTREAM_PREFIX": module_prefix}
    ok(cli("demo", "--no-serve", env=env))
    with serving(base, cli.environment(env)) as up:
        _caught_up(redis_url, module_prefix, up.process)
        yield Live(cli, env)


def served(live: Live, projection: str) -> Any:
    answer = as_json(live("view", projection, SCENARIO_ID))
    assert answer["projection"] == projection
    assert answer["negotiation_id"] == SCENARIO_ID
    assert answer["position"] == LAST_POSITION
    return answer["view"]


def test_the_negotiation_view_reaches_the_last_position(live: Live) -> None:
    view = served(live, "negotiation")
    assert view["status"] == "implementation"
    assert view["agreements"]["joint-statement-2024-09-27"]["status"] == "in_force"
    today = datetime.now(UTC).date()
    assert view["milestones"][MISSION]["overdue"] is (today > date(2025, 9, 30))
    assert view["position"] == LAST_POSITION


def test_the_timeline_view_is_in_partial_date_order(live: Live) -> None:
    rows = served(live, "timeline")
    assert [r["position"] for r in rows] == [1, 2, 3, 9, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15]
    assert rows[3]["precision"] == "year"


def test_the_commitments_view_lists_both_milestones_with_their_last_days(live: Live) -> None:
    commitments = served(live, "commitments")
    rows = {r["milestone_id"]: r for r in commitments["milestones"]}
    assert {m: r["last_day"] for m, r in rows.items()} == {
        MISSION: "2025-09-30",
        KURDISTAN: "2026-09-30",
    }
    assert {r["status"] for r in rows.values()} == {"scheduled"}
    score = commitments["implementation"]["joint-statement-2024-09-27"]
    assert score["series"] == [{"occurred_at": "2024-09-27", "score": 0.0, "milestones": 2}]


def test_the_positions_and_audit_views_are_served(live: Live) -> None:
    positions = served(live, "positions")["positions"]
    assert [e["position"] for e in positions["Iraq"]["withdrawal-timeline"]] == ["support"]
    audit = served(live, "audit")
    assert [r["position"] for r in audit] == list(range(1, LAST_POSITION + 1))
    assert all(len(r["hash"]) == 64 for r in audit)


def test_an_unknown_negotiation_has_no_view(live: Live) -> None:
    answer = as_json(live("view", "negotiation", "no-such-talks"))
    assert answer["view"] is None


@pytest.mark.parametrize("workers", [(), ("--workers", "2")])
def test_replay_rebuilds_an_equal_view(live: Live, workers: tuple[str, ...]) -> None:
    done = ok(live("replay", "--projection", "negotiation", *workers))
    assert f"folded {LAST_POSITION}/{LAST_POSITION} entries" in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("negotiation: generation ")
    assert lines[0].endswith(f"serves position {LAST_POSITION}")
    fingerprint = lines[1].removeprefix("fingerprint ")
    assert len(fingerprint) == 64
    assert lines[2] == f"previous view fingerprint {fingerprint} (equal)"
    assert served(live, "negotiation")["position"] == LAST_POSITION


def test_dlq_list_shows_nothing_parked(live: Live) -> None:
    report = as_json(live("dlq", "list"))
    assert report == {"projections": {name: {} for name in PROJECTIONS}, "intake_dead_letters": 0}


def test_dlq_retry_with_nothing_parked_exits_zero_with_an_empty_list(live: Live) -> None:
    assert as_json(live("dlq", "retry")) == []


@pytest.mark.parametrize(
    "args",
    [
        ("view", "nonsense", SCENARIO_ID),
        ("replay", "--projection", "nonsense"),
        ("dlq", "retry", "--projection", "nonsense"),
    ],
)
def test_an_unknown_projection_is_one_error_line(live: Live, args: tuple[str, ...]) -> None:
    line = one_error_line(live(*args))
    assert "unknown_projection" in line
    assert "negotiation, timeline, positions, commitments" in line
