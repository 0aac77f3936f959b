"""Pauses of the cyclic garbage collector overlap and always end as they began."""

from __future__ import annotations

import gc

from projections.collector import collector_paused


def test_overlapping_pauses_resume_the_collector_when_the_last_ends() -> None:
    assert gc.isenabled()
    outer = collector_paused()
    inner = collector_paused()
    outer.__enter__()
    inner.__enter__()
    assert not gc.isenabled()
    outer.__exit__(None, None, None)
    assert not gc.isenabled()
    inner.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_inside_a_pause_resumes_the_collector() -> None:
    try:
        with collector_paused():
            raise ValueError("a reducer failed")
    except ValueError:
        pass
    assert gc.isenabled()
