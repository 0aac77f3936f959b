"""The per-principal token bucket: a burst passes, the next request is refused with a
Retry-After, and each principal has its own bucket."""

from __future__ import annotations

import pytest

from services.api.errors import status_of
from services.api.exceptions import RateLimited
from services.api.limits import RateLimiter


def test_a_burst_passes_and_the_next_request_is_told_when_to_retry() -> None:
    limiter = RateLimiter(rate=0.5, burst=3)
    for _ in range(3):
        limiter.take("a")
    with pytest.raises(RateLimited) as refused:
        limiter.take("a")
    assert status_of(refused.value) == 429
    assert refused.value.headers["Retry-After"] == "2"


def test_principals_do_not_share_a_bucket() -> None:
    limiter = RateLimiter(rate=0.1, burst=1)
    limiter.take("a")
    limiter.take("b")
    with pytest.raises(RateLimited):
        limiter.take("a")
