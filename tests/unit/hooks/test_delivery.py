"""A delivery's request verifies with the hook's secret per Standard Webhooks and carries the
change as a structured CloudEvent whose id is the webhook-id; a wrong secret does not verify;
backoff doubles up to its cap; the SSRF guard refuses loopback, link-local and private
addresses unless allowed."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.hooks.deliverer import Policy
from services.hooks.delivery import signed_request
from services.wire.exceptions import HookRefused
from services.wire.hooks import Hook, check_secret, check_target, new_secret

CHANGE = {"negotiation_id": "talks-a", "projection": "negotiation", "position": 4}


def _hook(**fields: object) -> Hook:
    base = {"id": "hook_1", "url": "http://x/", "secret": new_secret(), "created_at": "now"}
    return Hook.model_validate({**base, **fields})


def test_a_signed_request_verifies_with_the_secret_and_not_without() -> None:
    hook = _hook()
    headers, body = signed_request(hook, "17-0", CHANGE)
    event = Webhook(hook.secret).verify(body, headers)
    assert (headers["webhook-id"], event["id"]) == ("17-0", "17-0")
    assert event["data"] == CHANGE
    assert headers["content-type"] == "application/cloudevents+json"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    tampered = json.dumps({**json.loads(body), "subject": "other"})
    with pytest.raises(WebhookVerificationError):
        Webhook(hook.secret).verify(tampered, headers)


def test_a_hook_wants_only_its_negotiation_and_view() -> None:
    assert _hook().wants(CHANGE)
    assert _hook(negotiation="talks-a", view="negotiation").wants(CHANGE)
    assert not _hook(negotiation="talks-b").wants(CHANGE)
    assert not _hook(view="timeline").wants(CHANGE)


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = Policy(
        timeout=1,
        retry_for=10,
        backoff_initial=1,
        backoff_max=5,
        poll_interval=1,
        allow_private=False,
    )
    assert [policy.backoff(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8080/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://172.16.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_private_targets_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(HookRefused) as caught:
        check_target(url, allow_private=False)
    assert caught.value.code == "private_address"
    assert check_target(url, allow_private=True) == url


def test_public_addresses_pass_and_other_schemes_do_not() -> None:
    assert check_target("https://93.184.216.34/hook", allow_private=False)
    for url in ("ftp://93.184.216.34/", "file:///etc/passwd", "http:///nohost"):
        with pytest.raises(HookRefused, match="url"):
            check_target(url, allow_private=True)


def test_secrets_are_whsec_base64_of_enough_bytes() -> None:
    assert check_secret(new_secret()).startswith("whsec_")
    for bad in ("whsec_short", "nope", "whsec_!!!!"):
        with pytest.raises(HookRefused):
            check_secret(bad)
