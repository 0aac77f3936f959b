"""The interactive API docs (``/docs``, Swagger UI; ``/redoc``, ReDoc) work offline: every
script, style sheet, icon and the spec they load come from the server itself, and each answers
200 with its content type."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

PAGES = ["/docs", "/redoc"]
ANY_EXTERNAL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+", re.IGNORECASE)
SPEC = re.compile(r"""(?:url:\s*|spec-url=)['"]([^'"]+)['"]""")
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")
CONTENT_TYPES = {
    ".js": "javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


class _References(HTMLParser):
    """Every URL a browser would load for the page: src and href attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def _references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls + SPEC.findall(html)


def _same_origin(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and url.startswith("/")


@pytest.mark.parametrize("page", PAGES)
def test_the_docs_page_loads_nothing_from_another_origin(http: TestClient, page: str) -> None:
    answer = http.get(page)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    urls = _references(answer.text)
    assert urls, f"{page} references no script or style at all:\n{answer.text}"
    assert [u for u in urls if not _same_origin(u)] == []
    assert ANY_EXTERNAL.findall(answer.text) == [], answer.text


@pytest.mark.parametrize("page", PAGES)
def test_every_asset_of_the_docs_page_answers_with_its_content_type(
    http: TestClient, page: str
) -> None:
    urls = _references(http.get(page).text)
    suffixes = {"." + urlsplit(u).path.rsplit(".", 1)[-1] for u in urls}
    assert ".js" in suffixes and ".json" in suffixes, urls
    for url in urls:
        answer = http.get(url)
        assert answer.status_code == 200, f"{url}: {answer.status_code}"
        suffix = "." + urlsplit(url).path.rsplit(".", 1)[-1]
        assert CONTENT_TYPES[suffix] in answer.headers["content-type"], (url, answer.headers)
        assert len(answer.content) > 0, url


def test_the_swagger_ui_style_sheet_loads_nothing_from_another_origin(http: TestClient) -> None:
    sheets = [u for u in _references(http.get("/docs").text) if u.endswith(".css")]
    assert sheets
    for sheet in sheets:
        refs = CSS_URL.findall(http.get(sheet).text)
        assert [r for r in refs if not (r.startswith("data:") or _same_origin(r))] == []


def test_the_docs_pages_need_no_key(http: TestClient) -> None:
    for page in PAGES:
        for url in [page, *_references(http.get(page).text)]:
            assert http.get(url).status_code == 200, url
