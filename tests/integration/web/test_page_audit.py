"""The audit panel against the API's signed checkpoints: before any checkpoint, positions and
hashes only; after one, each event's inclusion, proven by the API's proof leading to the
checkpoint's root; events recorded after it say so; a proof of another event, position or
path is not taken."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from events import parse_draft
from events.tlog import parse_checkpoint
from services.api.context import ApiContext
from services.runtime.ledger import build_log_writer
from services.web.audit import proves
from tests.factories import body
from tests.integration.api.conftest import bearer, catch_up
from tests.integration.web.conftest import PAGE, SCENARIO_ID, sign_in
from tests.tamper import change_view_field


def test_before_any_checkpoint_the_panel_shows_positions_and_hashes_only(
    browser: TestClient, keys: dict[str, str]
) -> None:
    sign_in(browser, keys["auditor"])
    html = browser.get(PAGE).text
    assert len(re.findall(r'<code class="hash">[0-9a-f]{64}</code>', html)) == 15
    assert "checkpoint" not in html.split('id="audit-title"')[1]


def test_after_a_checkpoint_each_event_is_shown_included_by_a_verified_proof(
    browser: TestClient, ctx: ApiContext, keys: dict[str, str]
) -> None:
    writer = build_log_writer(ctx.settings, ctx.app, None)
    checkpoint = writer.checkpoint_now()
    assert checkpoint.size == 15
    note = ctx.app.record(
        parse_draft(
            body("ContextNoted", {"topic": "T", "text": "After the checkpoint."}, SCENARIO_ID)
        ),
        principal="seed",
    )
    catch_up(ctx)
    sign_in(browser, keys["auditor"])
    html = browser.get(PAGE).text
    assert "Latest signed checkpoint: tree size 15." in html
    assert html.count("included in checkpoint of size 15") == 15
    row = re.search(rf'<li id="audit-{note.event_id}">.*?</li>', html, re.S)
    assert row is not None and "recorded after the latest checkpoint" in row[0]


def test_the_inclusion_check_takes_only_a_proof_of_this_event_to_this_root(
    browser: TestClient, ctx: ApiContext, keys: dict[str, str]
) -> None:
    build_log_writer(ctx.settings, ctx.app, None).checkpoint_now()
    auditor = bearer(keys["auditor"])
    proof = browser.get(
        "/v1/audit/proof/inclusion", params={"position": 3, "size": 15}, headers=auditor
    ).json()
    note = browser.get("/v1/audit/checkpoint", headers=auditor).text
    checkpoint = parse_checkpoint(note.split("\n\n", 1)[0] + "\n")
    wires = ctx.app.wires(SCENARIO_ID, after_version=0)
    real = next(w["hash"] for w in wires if w["position"] == 3)
    assert proves(proof, 3, real, checkpoint)
    assert not proves(proof, 3, "0" * 64, checkpoint)  # another hash at that position
    assert not proves(proof, 4, real, checkpoint)  # the proof of another position
    forged = {**proof, "proof": list(reversed(proof["proof"]))}
    assert not proves(forged, 3, real, checkpoint)


def test_a_failed_verification_names_its_first_finding(
    browser: TestClient, ctx: ApiContext, keys: dict[str, str]
) -> None:
    catch_up(ctx)
    sign_in(browser, keys["auditor"])
    assert "Last verification passed" in browser.get(PAGE).text
    ctx.app.record(
        parse_draft(body("ContextNoted", {"topic": "T", "text": "Later."}, SCENARIO_ID)),
        principal="seed",
    )
    catch_up(ctx)
    change_view_field(ctx.redis, ctx.settings, SCENARIO_ID)
    html = browser.get(PAGE).text
    assert "Last verification failed" in html
    assert re.search(rf"the first: view_drift at position \d+ \({SCENARIO_ID}\)", html)
