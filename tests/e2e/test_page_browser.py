"""The page in a real browser (headless Chromium from the system's packages), against
``talkstream up`` on a free port with the scenario loaded and anonymous reads off: the key is
given once in the page's form and kept in the session. Each test saves a screenshot."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from services.recorder.jsonl import scenario_lines
from tests.e2e.browser import (
    axe_violations,
    browser_or_skip,
    chromium,
    loaded_urls,
    phone,
    screenshot,
)
from tests.e2e.helpers import SCENARIO_ID, Runner, Served, bearer_client, ok, serving

LIVE_WAIT = 2.0  # the bound: a recorded development shows on an open page within 2 s
PAGE = f"/n/{SCENARIO_ID}"


@pytest.fixture(scope="module")
def site(make_demo: Any) -> Iterator[tuple[Served, dict[str, str]]]:
    browser_or_skip()
    cli: Runner = make_demo("page")
    keys = {
        role: ok(cli("keys", "create", "--role", role, "--name", f"page-{role}")).stdout.strip()
        for role in ("reader", "auditor", "publisher")
    }
    ok(cli("audit", "checkpoint"))  # a signed checkpoint of the scenario's 15 events
    # no other checkpoint while the tests run: the panel is checked against this one
    with serving(cli.base, cli.environment({"TALKSTREAM_CHECKPOINT_SECONDS": "86400"})) as served:
        yield served, keys


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    return tmp_path_factory.mktemp("screenshots") / f"{name}.png"


def signed_in(driver: Any, url: str, key: str, path: str = PAGE) -> None:
    """Opens ``path``: the page asks for a key (no anonymous reads here); gives it once."""
    driver.get(url + path)
    assert "401" in driver.find_element(By.ID, "error-title").text
    field = driver.find_element(By.ID, "key-main")
    field.send_keys(key)
    field.submit()
    WebDriverWait(driver, 10).until(
        lambda d: "Reading as" in d.find_element(By.TAG_NAME, "header").text
    )
    assert not driver.find_elements(By.ID, "error-title")


def timeline_text(driver: Any) -> str:
    return str(driver.find_element(By.ID, "part-timeline").text)


def event_row(driver: Any, event_id: str) -> Any:
    return driver.find_element(By.ID, f"ev-{event_id}")


def _post(url: str, key: str, event: dict[str, Any]) -> dict[str, Any]:
    with bearer_client(url, key) as client:
        answer = client.post(f"/v1/negotiations/{SCENARIO_ID}/events", json=event)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _scenario_event(kind: str) -> dict[str, Any]:
    for line in scenario_lines():
        event: dict[str, Any] = json.loads(line)
        if event["type"] == kind:
            event.pop("idempotency_key", None)
            event.pop("schema_version", None)
            return event
    raise AssertionError(kind)


def test_the_timeline_shows_the_pentagon_meeting_and_the_joint_statement(
    site: tuple[Served, dict[str, str]], shots: Path
) -> None:
    served, keys = site
    with chromium() as driver:
        signed_in(driver, served.url, keys["reader"])
        text = timeline_text(driver)
        screenshot(driver, shots)
        scripts_see = driver.execute_script("return document.cookie;")
        driver.get(served.url + "/")
        session = driver.find_element(By.CLASS_NAME, "session").text
    assert re.search(r"22–23 Jul 2024.*\n.*Meeting jscd-2 held at The Pentagon", text), text
    assert re.search(r"27 Sep 2024.*\n.*Agreement reached: U\.S\.–Iraq joint statement", text)
    assert "Sep 2024" in text and "Aug 2023" in text  # grouped by month
    # the key is kept for the session, where the page's scripts cannot read it
    assert "page-reader (reader)" in session
    assert keys["reader"] not in scripts_see


def test_as_of_before_the_agreement_hides_it(
    site: tuple[Served, dict[str, str]], shots: Path
) -> None:
    served, keys = site
    with chromium() as driver:
        signed_in(driver, served.url, keys["reader"])
        driver.find_element(By.ID, "as_of").send_keys("2024-08-01")
        driver.find_element(By.ID, "as_of").submit()
        WebDriverWait(driver, 10).until(lambda d: "as_of=2024-08-01" in d.current_url)
        text = timeline_text(driver)
        commitments = driver.find_element(By.ID, "part-commitments").text
        screenshot(driver, shots)
    assert "Meeting jscd-2 held at The Pentagon" in text
    assert "Agreement reached" not in text
    assert "No agreement yet" in commitments


def test_known_at_before_a_correction_shows_the_old_value(
    site: tuple[Served, dict[str, str]], shots: Path
) -> None:
    served, keys = site
    with bearer_client(served.url, keys["reader"]) as client:
        rows = client.get(f"/v1/negotiations/{SCENARIO_ID}/timeline").json()["view"]
    note = next(r for r in rows if r["type"] == "ContextNoted" and not r["corrected_by"])
    before = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    time.sleep(0.01)
    new_text = "Approximately 2,600 U.S. troops are stationed in Iraq."
    correction = {
        **_scenario_event("ContextNoted"),
        "type": "EventCorrected",
        "occurred_at": "2024-10-01",
        "payload": {
            "target_event_id": note["event_id"],
            "patch": {"text": new_text},
            "reason": "A later count",
        },
    }
    written = _post(served.url, keys["publisher"], correction)
    with bearer_client(served.url, keys["reader"]) as client:
        caught_up = client.get(
            f"/v1/negotiations/{SCENARIO_ID}", params={"min_position": written["position"]}
        )
        assert caught_up.status_code == 200, caught_up.text
    with chromium() as driver:
        signed_in(driver, served.url, keys["reader"])
        row = event_row(driver, note["event_id"])
        now = row.text
        row.find_element(By.CSS_SELECTOR, ".change-corrected summary").click()
        opened = row.find_element(By.CSS_SELECTOR, ".change-corrected").text
        row.find_element(By.LINK_TEXT, "open the event").click()  # in the closed audit list
        correction_entry = driver.find_element(By.ID, f"audit-{written['event_id']}")
        WebDriverWait(driver, 5).until(lambda d: correction_entry.is_displayed())
        assert "EventCorrected" in correction_entry.text
        driver.get(f"{served.url}{PAGE}?known_at={before}")
        then = event_row(driver, note["event_id"]).text
        screenshot(driver, shots)
    assert new_text in now and "corrected" in now
    assert "EventCorrected recorded" in opened and "text: A later count" in opened
    assert "2,500 U.S. troops" in then and new_text not in then and "corrected" not in then


def test_a_statement_recorded_over_http_appears_live_and_its_retraction_marks_it(
    site: tuple[Served, dict[str, str]], shots: Path
) -> None:
    served, keys = site
    statement = _scenario_event("StatementIssued")
    statement["payload"] = {
        **statement["payload"],
        "statement_id": "live-check",
        "quote": "The page follows what is recorded.",
    }
    with chromium() as driver:
        signed_in(driver, served.url, keys["reader"])
        WebDriverWait(driver, 10).until(
            lambda d: d.execute_script("return document.documentElement.dataset.live") == "open"
        )
        written = _post(served.url, keys["publisher"], statement)
        WebDriverWait(driver, LIVE_WAIT, poll_frequency=0.05).until(
            lambda d: d.find_elements(By.ID, f"ev-{written['event_id']}")
        )
        notice = driver.find_element(By.ID, "notice").text
        assert "New: StatementIssued" in notice and "The page follows" in notice
        retraction = {
            **_scenario_event("StatementIssued"),
            "type": "EventRetracted",
            "occurred_at": "2024-10-01",
            "payload": {"target_event_id": written["event_id"], "reason": "Never said"},
        }
        _post(served.url, keys["publisher"], retraction)
        # the issue bounds the new development's arrival, not the retraction's: wait for it
        # the live update replaces the row, so its text and class are read in one script
        row_id = f"ev-{written['event_id']}"
        read_row = (
            "const r = document.getElementById(arguments[0]);"
            " return r && [r.textContent, r.className];"
        )
        WebDriverWait(driver, 10, poll_frequency=0.05).until(
            lambda d: "retracted" in ((d.execute_script(read_row, row_id) or [""])[0])
        )
        text, classes = driver.execute_script(read_row, row_id)
        assert "retracted" in text and "is-retracted" in classes
        assert (
            driver.execute_script("return performance.getEntriesByType('navigation').length") == 1
        )
        screenshot(driver, shots)


@pytest.mark.parametrize("path", ["/", PAGE])
def test_axe_finds_no_serious_or_critical_violation(
    site: tuple[Served, dict[str, str]], shots: Path, path: str
) -> None:
    served, keys = site
    with chromium() as driver:
        signed_in(driver, served.url, keys["auditor"], path)
        for details in driver.find_elements(By.TAG_NAME, "details"):
            driver.execute_script("arguments[0].open = true;", details)
        violations = axe_violations(driver)
        screenshot(driver, shots)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == []


@pytest.mark.parametrize("path", ["/", PAGE, f"{PAGE}/diff?from=2024-07-01&to=2024-10-01"])
def test_a_phone_viewport_does_not_scroll_sideways_and_nothing_loads_from_elsewhere(
    site: tuple[Served, dict[str, str]], shots: Path, path: str
) -> None:
    served, keys = site
    with chromium() as driver:
        phone(driver)
        signed_in(driver, served.url, keys["auditor"], path)
        for details in driver.find_elements(By.TAG_NAME, "details"):
            driver.execute_script("arguments[0].open = true;", details)
        width = driver.execute_script("return document.documentElement.clientWidth")
        scroll = driver.execute_script("return document.documentElement.scrollWidth")
        urls = loaded_urls(driver)
        screenshot(driver, shots)
    assert width == 375
    assert scroll <= width, f"{path} is {scroll} px wide at {width} px"
    assert any(u.endswith("/assets/page.css") for u in urls), urls  # the loads are seen
    outside = [u for u in urls if not u.startswith(served.url + "/")]
    assert outside == []


def test_the_audit_panel_shows_positions_hashes_and_the_last_verification(
    site: tuple[Served, dict[str, str]], shots: Path
) -> None:
    served, keys = site
    with bearer_client(served.url, keys["auditor"]) as client:
        verdict = client.get("/v1/audit/verify").json()
        checkpoint = client.get("/v1/audit/checkpoint")
    with chromium() as driver:
        signed_in(driver, served.url, keys["auditor"])
        driver.find_element(By.CSS_SELECTOR, ".audit-events summary").click()
        panel = driver.find_element(By.ID, "part-audit").text
        screenshot(driver, shots)
    assert f"{verdict['checked']} events checked up to position {verdict['last_position']}" in panel
    assert "Last verification passed" in panel
    assert re.search(r"#1 NegotiationOpened\s+[0-9a-f]{64}", panel), panel
    assert checkpoint.status_code == 200, checkpoint.text
    assert checkpoint.text.split("\n")[1] == "15"
    assert "Latest signed checkpoint: tree size 15." in panel
    assert re.search(
        r"#1 NegotiationOpened\s+[0-9a-f]{64}\s+included in checkpoint of size 15", panel
    )


def test_dark_mode_follows_the_system_setting_and_stays_accessible(
    site: tuple[Served, dict[str, str]], shots: Path
) -> None:
    served, keys = site
    background = "return getComputedStyle(document.body).backgroundColor;"
    with chromium() as driver:
        signed_in(driver, served.url, keys["auditor"])
        light = driver.execute_script(background)
        driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
        )
        dark = driver.execute_script(background)
        violations = axe_violations(driver)
        screenshot(driver, shots)
    assert light == "rgb(255, 255, 255)"
    assert dark == "rgb(22, 24, 28)"
    assert [v["id"] for v in violations if v["impact"] in ("serious", "critical")] == []


def test_the_page_is_usable_with_the_keyboard(
    site: tuple[Served, dict[str, str]], shots: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    served, keys = site
    with chromium() as driver:
        signed_in(driver, served.url, keys["reader"])
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        first = driver.switch_to.active_element
        assert first.text == "Skip to content"
        first.send_keys(Keys.ENTER)
        assert driver.switch_to.active_element.get_attribute("id") == "main"
        reached = []
        for _ in range(12):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            reached.append(driver.switch_to.active_element.get_attribute("id"))
            if reached[-1] == "as_of":
                break
        assert reached[-1] == "as_of", reached  # the time-travel control, by Tab from the top
        driver.switch_to.active_element.send_keys("2024-08-01" + Keys.ENTER)
        WebDriverWait(driver, 10).until(lambda d: "as_of=2024-08-01" in d.current_url)
        screenshot(driver, shots)
        assert "Agreement reached" not in timeline_text(driver)
