"""One delivery attempt: a change as a structured-mode CloudEvent, signed with the hook's
secret per Standard Webhooks (``webhook-id`` is the change entry's ID, stable across attempts;
``webhook-timestamp`` and ``webhook-signature`` are fresh for each attempt)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from events import cloudevent
from services.wire.exceptions import HookRefused
from services.wire.hooks import Hook, check_target


@dataclass(frozen=True)
class Outcome:
    """How an attempt went: delivered, or why not."""

    delivered: bool
    reason: str = ""


def signed_request(
    hook: Hook, change_id: str, change: dict[str, Any]
) -> tuple[dict[str, str], bytes]:
    """The headers and body of one attempt."""
    body = cloudevent.structured(cloudevent.of_change(change_id, change))
    now = datetime.fromtimestamp(int(time.time()), tz=UTC)
    headers = {
        "content-type": cloudevent.STRUCTURED,
        "webhook-id": change_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(hook.secret).sign(change_id, now, body.decode()),
        "user-agent": "talkstream-webhooks",
    }
    return headers, body


def attempt(
    client: httpx.Client, hook: Hook, change_id: str, change: dict[str, Any], *, allow_private: bool
) -> Outcome:
    """POSTs the change once; a 2xx answer is delivered, anything else is a reason to retry.
    The target's address is checked again (its DNS may have changed since it was added)."""
    try:
        check_target(hook.url, allow_private=allow_private)
    except HookRefused as e:
        return Outcome(False, f"{e.code}: {e.message}")
    headers, body = signed_request(hook, change_id, change)
    try:
        answer = client.post(hook.url, content=body, headers=headers)
    except httpx.TimeoutException:
        return Outcome(False, "timed out")
    except httpx.TransportError as e:
        return Outcome(False, f"{type(e).__name__}: {e}")
    if 200 <= answer.status_code < 300:
        return Outcome(True)
    return Outcome(False, f"answered {answer.status_code}")
