"""The relay never publishes a stored event that fails its integrity check: it publishes what
precedes it, stops there with one log line, and goes on by itself once the event is restored."""

from __future__ import annotations

import logging
import time

import pytest
from redis import Redis

from services.recorder.application import Negotiations
from services.relay.relay import Relay
from services.settings import Settings
from tests.integration.relay.helpers import (
    last_position,
    open_negotiations,
    relay_running,
    stream_problems,
    write_notes,
)
from tests.store_faults import flip_letter, stored_state, write_state
from tests.waiting import wait_for

CORRUPTED = 8  # the second note of talks-a (1-3: talks-a opened, 4-6: talks-b)


def test_the_relay_stops_before_a_corrupted_event_says_so_once_and_resumes_once_restored(
    sqlite_app: Negotiations,
    redis_settings: Settings,
    redis_url: str,
    client: Redis,
    stream: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    open_negotiations(sqlite_app, ["talks-a", "talks-b"])
    write_notes(sqlite_app, ["talks-a"], 4, 4)
    last = sqlite_app.max_position()
    state = stored_state(redis_settings, CORRUPTED)
    write_state(redis_settings, CORRUPTED, flip_letter(state, b"Troops")[0])

    relay = Relay(sqlite_app, Redis.from_url(redis_url), stream=stream, poll_interval=0.05)
    with caplog.at_level(logging.INFO, logger="talkstream.relay"), relay_running(relay):
        wait_for(lambda: last_position(client, stream) == CORRUPTED - 1, 30, "the events before it")
        time.sleep(1.0)  # many polls: none may publish it or log again
        assert last_position(client, stream) == CORRUPTED - 1
        write_state(redis_settings, CORRUPTED, state)
        wait_for(lambda: last_position(client, stream) == last, 30, "the rest once restored")
    assert stream_problems(client, stream, sqlite_app) == []
    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 1, [r.getMessage() for r in said]
    assert f"position {CORRUPTED}" in said[0].getMessage()
    assert "talks-" in said[0].getMessage()
    assert any("resumed" in r.getMessage() for r in caplog.records)
