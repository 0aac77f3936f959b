"""Who may read the page: the API's rules (keys, roles, anonymous reads only where the API
serves them), a key given once and kept in an HttpOnly session cookie, no write forms."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from services.api.context import ApiContext
from services.runtime.server import build_app
from services.settings import Settings
from tests.integration.web.conftest import PAGE, page_context, sign_in


def test_without_anonymous_reads_the_page_asks_for_a_key_and_keeps_one_given_once(
    browser: TestClient, keys: dict[str, str]
) -> None:
    asked = browser.get(PAGE)
    assert asked.status_code == 401
    assert 'action="/session"' in asked.text and 'name="key"' in asked.text
    assert "U.S.–Iraq Joint Security Cooperation Dialogue" not in asked.text

    kept = browser.post(
        "/session", data={"key": keys["reader"], "next": PAGE}, follow_redirects=False
    )
    assert kept.status_code == 303
    assert kept.headers["location"] == PAGE
    cookie = kept.headers["set-cookie"]
    assert cookie.startswith(f"talkstream_key={keys['reader']};")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()

    for path in (PAGE, "/", f"{PAGE}/diff"):
        answer = browser.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert "Reading as <strong>reader-1</strong> (reader)" in answer.text


def test_a_wrong_key_is_refused_and_nothing_is_kept(browser: TestClient) -> None:
    answer = browser.post("/session", data={"key": "tsk_00000000_nope"}, follow_redirects=False)
    assert answer.status_code == 401
    assert "invalid_key" in answer.text
    assert "set-cookie" not in answer.headers
    assert browser.get(PAGE).status_code == 401


def test_a_publisher_key_may_not_read_the_page(browser: TestClient, keys: dict[str, str]) -> None:
    answer = browser.post("/session", data={"key": keys["publisher"]}, follow_redirects=False)
    assert answer.status_code == 403
    assert "the publisher role may not read here" in answer.text


def test_revoking_the_key_ends_the_session_and_forgetting_it_clears_the_cookie(
    browser: TestClient, ctx: ApiContext, keys: dict[str, str]
) -> None:
    sign_in(browser, keys["reader"])
    assert browser.get(PAGE).status_code == 200
    ctx.keys.revoke("reader-1")
    revoked = browser.get(PAGE)
    assert revoked.status_code == 401
    assert "Forget the kept key" in revoked.text

    forgotten = browser.post("/session/end", follow_redirects=False)
    assert forgotten.status_code == 303
    assert 'talkstream_key=""' in forgotten.headers["set-cookie"]
    assert "Forget the kept key" not in browser.get(PAGE).text


def test_the_session_returns_only_to_a_local_path(
    browser: TestClient, keys: dict[str, str]
) -> None:
    for target, expected in (("//elsewhere.example/x", "/"), ("https://x.example", "/")):
        answer = browser.post(
            "/session", data={"key": keys["reader"], "next": target}, follow_redirects=False
        )
        assert answer.headers["location"] == expected


def test_anonymous_reads_are_served_where_the_api_serves_them(
    redis_settings: Settings, redis_url: str
) -> None:
    settings = redis_settings.model_copy(update={"anonymous_reads": True})
    ctx = page_context(settings, redis_url)
    try:
        with TestClient(build_app(ctx, None)) as client:
            page = client.get(PAGE)
            api = client.get("/v1/negotiations/us-iraq-jscd")
    finally:
        ctx.app.close()
        ctx.redis.close()
    assert api.status_code == 200
    assert page.status_code == 200
    assert "Use an API key" in page.text  # anonymous, and offered to give one


def test_the_page_has_no_write_forms(browser: TestClient, keys: dict[str, str]) -> None:
    sign_in(browser, keys["admin"])
    for path in ("/", PAGE, f"{PAGE}/diff?from=2024-01&to=2024-12"):
        html = browser.get(path).text
        forms = re.findall(r"<form[^>]*>", html)
        assert forms, path
        posts = [f for f in forms if 'method="post"' in f]
        assert all(re.search(r'action="/session(/end)?"', f) for f in posts), posts
        assert "/v1/" not in " ".join(forms)


def test_the_live_stream_is_refused_as_subscribe_refuses_it(browser: TestClient) -> None:
    answer = browser.get(f"{PAGE}/live")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"


def test_a_key_form_posted_from_another_site_is_refused(
    browser: TestClient, keys: dict[str, str]
) -> None:
    answer = browser.post(
        "/session",
        data={"key": keys["reader"]},
        headers={"Origin": "https://elsewhere.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "origin: a form from https://elsewhere.example may not give this server a key" in (
        answer.text
    )
    assert "set-cookie" not in answer.headers
    same = browser.post(
        "/session",
        data={"key": keys["reader"]},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert same.status_code == 303
