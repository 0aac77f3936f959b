"""What the page shows, read through the API's views and folds: the server-rendered HTML
holds the content (readable without JavaScript), filters, time travel with errors that name
the field, the diff with its causing events, the sections again for live updates, and the
audit panel per role."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from events import parse_draft
from services.api.context import ApiContext
from tests.factories import body
from tests.integration.api.conftest import catch_up
from tests.integration.web.conftest import PAGE, SCENARIO_ID, sign_in


@pytest.fixture
def reader(browser: TestClient, keys: dict[str, str]) -> TestClient:
    sign_in(browser, keys["reader"])
    return browser


def rows(html: str) -> list[str]:
    """The timeline's rows, as their type attributes."""
    return re.findall(r'data-type="(\w+)"', html)


def test_the_html_holds_header_timeline_commitments_positions_and_audit(
    reader: TestClient,
) -> None:
    html = reader.get(PAGE).text
    assert '<h1 id="title">U.S.–Iraq Joint Security Cooperation Dialogue' in html
    assert ">implementation<" in html  # the joint statement is in force
    assert 'joint statement · framework partial · <span class="status">in_force</span>' in html
    assert '15</span> events from <span id="count-sources">5</span> distinct sources' in html
    assert "Thabit al-Abbasi" in html  # a delegation's head
    assert len(rows(html)) == 15
    assert "<time>22–23 Jul 2024</time>" in html  # a span of days
    assert '<h3 class="month">2024</h3>' in html  # a date given as a year
    assert "<time>Jul 2024</time>" in html  # a date given as a month
    assert "due by 30 Sep 2025" in html and "due by Sep 2026" in html
    assert '<svg class="chart"' in html and 'class="today"' in html
    assert 'class="stance s-support">support</span>' in html
    assert re.search(r'<code class="hash">[0-9a-f]{64}</code>', html)


def test_the_filters_keep_only_matching_developments(reader: TestClient) -> None:
    assert set(rows(reader.get(f"{PAGE}?kind=meeting").text)) == {"MeetingHeld"}
    reported = reader.get(f"{PAGE}?verification=reported").text
    assert set(rows(reported)) == {"ContextNoted", "PositionStated", "DemandMade"}
    us = rows(reader.get(f"{PAGE}?party=United States").text)
    assert "PartyJoined" in us and "DemandMade" in us  # the U.S. is its target
    assert "ContextNoted" not in us and "PositionStated" not in us  # Iraq's position


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ("kind=treaties", 422, "kind: unknown kind"),
        ("party=Atlantis", 422, "party: no party named"),
        ("verification=rumour", 422, "verification: unknown level"),
        ("as_of=yesterday", 422, "as_of: &#39;yesterday&#39; is not a valid date"),
        ("known_at=2024-13", 422, "known_at:"),
        ("as_of=2020", 404, "had not opened as of 2020"),
    ],
)
def test_bad_points_and_filters_are_refused_naming_the_field(
    reader: TestClient, query: str, status: int, says: str
) -> None:
    answer = reader.get(f"{PAGE}?{query}")
    assert answer.status_code == status
    assert says in answer.text


def test_an_unknown_negotiation_is_a_404_page(reader: TestClient) -> None:
    answer = reader.get("/n/no-such-talks")
    assert answer.status_code == 404
    assert "has not been opened" in answer.text


def test_as_of_hides_what_had_not_happened_and_known_at_what_was_not_recorded(
    reader: TestClient, ctx: ApiContext
) -> None:
    before = reader.get(f"{PAGE}?as_of=2024-08-01").text
    assert "AgreementReached" not in rows(before) and "No agreement yet" in before
    assert "Live updates are off" in before and "live.js" not in before

    note = next(
        e for e in ctx.app.wires(SCENARIO_ID, after_version=0) if e["type"] == "ContextNoted"
    )
    known = ctx.app.wires(SCENARIO_ID, after_version=0)[-1]["recorded_at"]
    fix = body(
        "EventCorrected",
        {"target_event_id": note["event_id"], "patch": {"text": "About 2,600."}, "reason": "r"},
        SCENARIO_ID,
        occurred_at="2024-10-01",
    )
    ctx.app.record(parse_draft(fix), principal="seed")
    catch_up(ctx)
    now = reader.get(PAGE).text
    then = reader.get(f"{PAGE}?known_at={known}").text
    assert "About 2,600." in now and "change-corrected" in now
    assert "About 2,600." not in then and "2,500 U.S. troops" in then


def test_the_diff_lists_each_change_with_the_events_that_caused_it(reader: TestClient) -> None:
    html = reader.get(f"{PAGE}/diff?from=2024-08-01&to=2024-10-01").text
    assert re.search(r"<h2>\d+ changes from 2024-08-01 to 2024-10-01</h2>", html)
    assert "agreements · joint-statement-2024-09-27</strong> added" in html
    assert ">AgreementReached</a>" in html and ">MilestoneScheduled</a>" in html
    record = reader.get(f"{PAGE}/diff?from=2000&to=2100&clock=record").text
    assert "changes from 2000 to 2100" in record
    bad = reader.get(f"{PAGE}/diff?from=soon&to=2024")
    assert bad.status_code == 422 and "from:" in bad.text


def test_the_sections_come_again_with_digests_and_news_for_live_updates(
    reader: TestClient, ctx: ApiContext
) -> None:
    page = reader.get(PAGE).text
    first = reader.get(f"{PAGE}/parts?after=15").json()
    assert first["news"] == [] and first["position"] == 15
    for name, digest in first["digests"].items():
        assert f'data-part="{name}" id="part-{name}" data-digest="{digest}"' in page

    said = {
        "statement_id": "s-new",
        "speaker": {"name": "A Spokesperson", "country": "USA", "office": "Spokesperson"},
        "quote": "Talks continue next week.",
        "stances": [],
    }
    ctx.app.record(parse_draft(body("StatementIssued", said, SCENARIO_ID)), principal="seed")
    catch_up(ctx)
    second = reader.get(f"{PAGE}/parts?after=15").json()
    assert second["position"] == 16
    assert [line.split(":")[0] for line in second["news"]] == ["StatementIssued"]
    changed = {n for n in first["digests"] if first["digests"][n] != second["digests"][n]}
    assert {"header", "timeline", "audit"} <= changed
    assert not changed & {"positions", "commitments"}  # the same content, the same digest
    assert "Talks continue next week." in second["sections"]["timeline"]
    assert "Talks continue next week." in second["news"][0]


def test_the_audit_panel_shows_the_verification_to_auditors_only(
    browser: TestClient, keys: dict[str, str]
) -> None:
    sign_in(browser, keys["reader"])
    assert "shown to auditor and admin keys" in browser.get(PAGE).text
    sign_in(browser, keys["auditor"])
    html = browser.get(PAGE).text
    assert "Last verification passed</span>: 15 events checked up to position 15" in html


def test_a_source_with_a_url_is_linked_and_one_without_is_named(
    reader: TestClient, ctx: ApiContext
) -> None:
    source = {"outlet": "Wire <One>", "kind": "wire", "url": "https://example.org/a?b=1&c=2"}
    noted = body("ContextNoted", {"topic": "T", "text": "Linked."}, SCENARIO_ID, sources=[source])
    ctx.app.record(parse_draft(noted), principal="seed")
    catch_up(ctx)
    html = reader.get(PAGE).text
    link = (
        '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">Wire &lt;One&gt;</a>'
    )
    assert link in html
    assert "Sources: U.S. Department of Defense; News report" in html  # no URL: named only
