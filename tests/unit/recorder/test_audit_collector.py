"""The store pass pauses the cyclic garbage collector only while a pass runs: it is running
again after a pass, after a pass that failed, and after passes that overlapped; and a
collector the caller had switched off stays off."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from services.recorder.application import Negotiations
from services.recorder.audit import collector_paused, verify
from tests.factories import scenario


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()


def test_a_pass_runs_without_the_collector_and_turns_it_back_on(memory_app: Negotiations) -> None:
    memory_app.record_many(scenario()[:4], principal="tester")
    during: list[bool] = []

    class Watching:
        def see_all(self, seen: object) -> None:
            during.append(gc.isenabled())

    gc.enable()
    report = verify(memory_app, observers=[Watching()])
    assert report.ok and during == [False] and gc.isenabled()


def test_a_failed_pass_turns_it_back_on() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("store down")
    assert gc.isenabled()


def test_overlapping_passes_turn_it_on_when_the_last_one_ends() -> None:
    gc.enable()
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()
