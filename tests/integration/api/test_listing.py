"""``GET /v1/negotiations``: every negotiation the live view holds, by id, a page at a time,
with title and status from the view's headline."""

from __future__ import annotations

from fastapi.testclient import TestClient

from events import parse_draft
from services.api.context import ApiContext
from tests.factories import opening_body
from tests.integration.api.conftest import bearer, catch_up

IDS = [f"talks-{n:02d}" for n in range(7)]


def test_pages_cover_every_negotiation_once_in_id_order(
    ctx: ApiContext, http: TestClient, keys: dict[str, str]
) -> None:
    drafts = [
        parse_draft(
            {
                **opening_body(),
                "negotiation_id": nid,
                "payload": {**opening_body()["payload"], "title": f"Talks {nid}"},
            }
        )
        for nid in reversed(IDS)
    ]
    ctx.app.record_many(drafts, principal="seed")
    catch_up(ctx)
    seen, after, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"after": after} if after else {})}
        page = http.get("/v1/negotiations", params=params, headers=bearer(keys["reader"])).json()
        seen += page["negotiations"]
        pages += 1
        after = page["next_after"]
        if after is None:
            break
    assert pages == 3
    assert [row["negotiation_id"] for row in seen] == IDS
    assert {row["title"] for row in seen} == {f"Talks {nid}" for nid in IDS}
    assert {row["status"] for row in seen} == {"pre_negotiation"}


def test_an_empty_view_lists_nothing_and_has_no_next_page(
    http: TestClient, keys: dict[str, str]
) -> None:
    page = http.get("/v1/negotiations", headers=bearer(keys["reader"])).json()
    assert page == {"position": 0, "negotiations": [], "next_after": None}
