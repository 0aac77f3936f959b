"""The store pass names each chain problem by its kind: a gap is a missing event, unless a
lower version turns up later (then both are a reordering); a wrong prev_hash is a broken link;
every finding keeps one per kind and position, and the first is the lowest position."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import Notification

from services.recorder.application import Negotiations
from services.recorder.audit import AuditReport, Finding, verify_notifications
from tests.factories import scenario

Rows = list[Notification]


@pytest.fixture
def notifications(memory_app: Negotiations) -> Rows:
    memory_app.record_many(scenario()[:8], principal="tester")
    return list(memory_app.notifications())


def _kinds(app: Negotiations, rows: Rows) -> list[tuple[str, int | None]]:
    return [(f.kind, f.position) for f in verify_notifications(app, rows).findings]


def test_an_untouched_history_has_no_findings(
    memory_app: Negotiations, notifications: Rows
) -> None:
    report = verify_notifications(memory_app, notifications)
    assert report.ok and report.checked == 8 and report.checks == {"store": "ok"}


def test_a_gap_is_a_missing_event(memory_app: Negotiations, notifications: Rows) -> None:
    assert _kinds(memory_app, notifications[:3] + notifications[4:]) == [("missing_event", 5)]


def test_a_gap_filled_later_is_a_reordering(memory_app: Negotiations, notifications: Rows) -> None:
    rows = [*notifications[:2], notifications[3], notifications[2], *notifications[4:]]
    assert _kinds(memory_app, rows) == [("reordered", 4), ("reordered", 3)]


def test_the_first_finding_is_the_lowest_position() -> None:
    report = AuditReport()
    report.add("stream", [Finding("stream_mismatch", 9, "n", "x")])
    report.add(
        "log", [Finding("bad_signature", None, None, "y"), Finding("altered_bytes", 4, None, "z")]
    )
    report.add("again", [Finding("altered_bytes", 4, None, "z")])
    first = report.first
    assert first is not None and (first.kind, first.position) == ("altered_bytes", 4)
    assert len(report.findings) == 3 and report.checks["again"] == "failed"
    assert [f["position"] for f in report.as_json()["findings"]] == [4, 9, None]
