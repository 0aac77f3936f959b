"""The visitor's key, given once in a form and kept in an HttpOnly, SameSite=Strict cookie
(never readable by the page's scripts); each request is checked with it as the API checks a
bearer key, so revoking the key ends the session."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from services.web.exceptions import CrossSiteForm

COOKIE = "talkstream_key"
MAX_AGE = 8 * 3600
MAX_FORM = 4096


def key_of(request: Request) -> str | None:
    key = request.cookies.get(COOKIE)
    return key or None


def bearer(request: Request) -> dict[str, str]:
    """The headers an in-process API request carries for this visitor."""
    key = key_of(request)
    return {} if key is None else {"Authorization": f"Bearer {key}"}


async def form(request: Request) -> dict[str, str]:
    """An url-encoded form's first values (small: a key and where to go back)."""
    body = await request.body()
    fields = parse_qs(body[:MAX_FORM].decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def keep(response: Response, request: Request, key: str) -> None:
    response.set_cookie(
        COOKIE,
        key,
        max_age=MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def forget(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def back_to(target: str | None) -> str:
    """A local path to return to (anything else: the index)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def same_origin(request: Request) -> None:
    """Refuses a form posted from another site: a browser names the page that posted it in
    ``Origin``, and it must be this server."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return
    if urlsplit(origin).netloc != request.headers.get("host"):
        raise CrossSiteForm(
            "cross_site_form", f"origin: a form from {origin} may not give this server a key"
        )
