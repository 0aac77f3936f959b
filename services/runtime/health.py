"""``talkstream health ROLE``: whether this host's process of a role is alive and not degraded,
as a container healthcheck asks it (one line; Unhealthy when it is not).

The worker roles answer from their heartbeats in Redis (services/runtime/heartbeat.py); the API
answers for itself on ``/readyz`` (store writable, Redis reachable, lags within bounds)."""

from __future__ import annotations

import httpx

from services.runtime.exceptions import Unhealthy
from services.runtime.heartbeat import check_alive
from services.runtime.redis_server import registered_url
from services.settings import Settings

API_TIMEOUT = 5.0
# A server listening on every address is asked on loopback.
WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


def check(settings: Settings, role: str) -> str:
    """One line saying what is healthy; Unhealthy with the reason otherwise."""
    if role == "api":
        return check_api(settings)
    url = settings.redis_url or registered_url(settings)
    if url is None:
        raise Unhealthy("no Redis: TALKSTREAM_REDIS_URL is unset and no embedded one runs here")
    return check_alive(settings, url, role)


def readyz_url(settings: Settings) -> str:
    host = WILDCARDS.get(settings.host, settings.host)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{settings.port}/readyz"


def check_api(settings: Settings) -> str:
    url = readyz_url(settings)
    try:
        answer = httpx.get(url, timeout=API_TIMEOUT)
    except httpx.HTTPError as e:
        raise Unhealthy(f"{url} does not answer ({e})") from None
    if answer.status_code == 200:
        return f"api ready at {url}"
    try:
        body = answer.json()
    except ValueError:
        body = None
    problems = body.get("problems") or [] if isinstance(body, dict) else []
    reason = "; ".join(str(p) for p in problems) or answer.text[:200]
    raise Unhealthy(f"{url} answers {answer.status_code}: {reason}")
