"""Redis outages as a component reports them: one line when Redis goes away, one when it is
back, whatever the number of failed attempts; a call that fails only briefly (a connection
broken by a restart) is no outage; errors that are not about reaching Redis are raised."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from services.wire import outages
from services.wire.outages import Backoff, Outage, until_done

LOGGER = "talkstream.test-outages"


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


class FailingCall:
    """An async call that fails ``failures`` times (Redis away), then answers ``result``."""

    def __init__(self, failures: int, result: str = "done") -> None:
        self.failures = failures
        self.calls = 0
        self.result = result

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise RedisConnectionError("Connection refused")
        return self.result


def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    outage = Outage("worker", logging.getLogger(LOGGER))
    for _ in range(50):
        outage.down(RedisConnectionError("Connection refused"))
    assert outage.ongoing
    outage.up()
    outage.up()
    assert not outage.ongoing
    lines = _lines(caplog)
    assert len(lines) == 2, lines
    assert lines[0].startswith("worker: Redis unavailable (ConnectionError: Connection refused)")
    assert lines[1].startswith("worker: Redis is back after ")


def test_a_probe_ends_the_outage_once_redis_answers_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    answered = threading.Event()
    attempts = [0]

    def probe() -> None:
        attempts[0] += 1
        if attempts[0] < 3:
            raise RedisConnectionError("Connection refused")
        answered.set()

    outage = Outage("api", logging.getLogger(LOGGER), probe=probe)
    outage.down(RedisConnectionError("Connection refused"))
    assert answered.wait(10), "the probe never got through"
    deadline = time.monotonic() + 10
    while len(_lines(caplog)) < 2:
        assert time.monotonic() < deadline, "the outage did not end after the probe answered"
        time.sleep(0.01)
    assert not outage.ongoing
    assert [line.split(" (")[0].split(" after")[0] for line in _lines(caplog)] == [
        "api: Redis unavailable",
        "api: Redis is back",
    ]


def test_a_call_is_retried_until_redis_answers_and_the_outage_logged_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    monkeypatch.setattr(outages, "REPORT_AFTER", 0.0)
    call = FailingCall(failures=4)
    outage = Outage("intake", logging.getLogger(LOGGER))
    assert asyncio.run(until_done(call, outage)) == "done"
    assert call.calls == 5
    lines = _lines(caplog)
    assert len(lines) == 2, lines
    assert "intake: Redis unavailable" in lines[0] and "intake: Redis is back" in lines[1]


def test_a_call_that_fails_only_briefly_is_no_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    outage = Outage("projections", logging.getLogger(LOGGER))
    assert asyncio.run(until_done(FailingCall(failures=1), outage)) == "done"
    assert _lines(caplog) == []


def test_errors_that_are_not_about_reaching_redis_are_raised() -> None:
    async def broken() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        asyncio.run(until_done(broken, Outage("x", logging.getLogger(LOGGER))))


def test_backoff_doubles_up_to_its_cap_and_starts_again_after_a_reset() -> None:
    backoff = Backoff(0.1, 0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next() == 0.1
