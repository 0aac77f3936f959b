"""Eight threads writing to one negotiation: no accepted event is lost, every refusal is a
conflict error."""

from __future__ import annotations

import threading

from services.recorder.application import Negotiations, Written
from services.recorder.audit import verify
from services.recorder.exceptions import ConflictError
from tests.factories import note, started

THREADS = 8
EACH = 25


def _writer(
    app: Negotiations,
    n: int,
    *,
    pinned: bool,
    out: list[Written],
    errors: list[Exception],
    go: threading.Barrier,
) -> None:
    go.wait()
    for i in range(EACH):
        try:
            expected = app.history("talks-a")[-1].stamp.version if pinned else None
            out.append(
                app.record(
                    note(f"thread {n} note {i}"), principal=f"t{n}", expected_version=expected
                )
            )
        except Exception as e:  # collected and asserted on below
            errors.append(e)


def _run(app: Negotiations, pinned: bool) -> tuple[list[Written], list[Exception]]:
    app.record_many(started(), principal="setup")
    accepted: list[Written] = []
    errors: list[Exception] = []
    go = threading.Barrier(THREADS)
    threads = [
        threading.Thread(
            target=_writer,
            args=(app, n),
            kwargs={"pinned": pinned, "out": accepted, "errors": errors, "go": go},
        )
        for n in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return accepted, errors


def _stored_ids(app: Negotiations) -> list[str]:
    return [e.event_id for e in app.history("talks-a")[3:]]


def test_concurrent_writers_lose_no_accepted_event(store_app: Negotiations) -> None:
    accepted, errors = _run(store_app, pinned=False)
    assert all(isinstance(e, ConflictError) for e in errors), [
        repr(e) for e in errors if not isinstance(e, ConflictError)
    ][:3]
    assert len(accepted) + len(errors) == THREADS * EACH
    assert sorted(_stored_ids(store_app)) == sorted(w.event_id for w in accepted)
    assert verify(store_app).ok


def test_pinned_versions_turn_races_into_conflicts_not_losses(store_app: Negotiations) -> None:
    accepted, errors = _run(store_app, pinned=True)
    assert errors, "eight writers pinning versions should collide at least once"
    assert all(isinstance(e, ConflictError) for e in errors), [
        repr(e) for e in errors if not isinstance(e, ConflictError)
    ][:3]
    assert {e.code for e in errors} <= {"version_conflict", "concurrent_write"}
    assert sorted(_stored_ids(store_app)) == sorted(w.event_id for w in accepted)
    versions = [e.stamp.version for e in store_app.history("talks-a")]
    assert versions == list(range(1, len(versions) + 1))
    assert verify(store_app).ok
