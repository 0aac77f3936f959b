"""``record_batch`` under each refusal policy: which drafts are written, which refused and for
what, and what the store holds afterwards, over any mix of good and bad drafts across
negotiations; and which failures of the store each policy raises instead of answering."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from hypothesis import given, settings
from hypothesis import strategies as st

from events import ContractError, Envelope, parse_draft
from services.recorder.application import InvalidDraft, Negotiations, Policy, Refused, Written
from services.recorder.domain import negotiation_uuid
from services.recorder.exceptions import ConflictError, StoreUnavailable
from services.recorder.store import MEMORY_ENV
from tests.factories import body, note, started

OPENED = ("talks-a", "talks-b", "talks-c")
UNOPENED = "talks-z"
KINDS = ("good", "repeat", "future", "invalid")
PRINCIPAL = "p"


@dataclass(frozen=True)
class Case:
    """One draft of a generated batch: its negotiation and what kind of draft it is."""

    negotiation_id: str
    kind: str

    @property
    def bad(self) -> bool:
        return self.kind in ("future", "invalid") or self.negotiation_id == UNOPENED


cases = st.lists(
    st.builds(
        Case,
        st.sampled_from([*OPENED, UNOPENED]),
        st.sampled_from(KINDS),
    ).filter(lambda c: not (c.kind == "repeat" and c.negotiation_id == UNOPENED)),
    max_size=12,
)


def _app() -> Negotiations:
    app = Negotiations(env=MEMORY_ENV)
    for nid in OPENED:
        app.record_many([*started(nid), _keyed(nid)], principal=PRINCIPAL)
    return app


def _keyed(nid: str) -> Envelope:
    return note("Recorded before the batch.", nid, idempotency_key=f"key-{nid}")


def _invalid(nid: str) -> InvalidDraft:
    try:
        parse_draft({**body("ContextNoted", {"topic": "Troops"}, nid)})
    except ContractError as e:
        return InvalidDraft(e, nid)
    raise AssertionError("the draft was valid")


def _draft(index: int, case: Case) -> Envelope | InvalidDraft:
    nid = case.negotiation_id
    if case.kind == "invalid":
        return _invalid(nid)
    if case.kind == "repeat":
        return _keyed(nid)
    if case.kind == "future":
        return note(f"Draft {index}.", nid, occurred_at="2999")
    return note(f"Draft {index}.", nid)


Expected = dict[int, tuple[str, int | None]]
"""Per draft: "written", "duplicate" or "refused", and the draft whose refusal it shares."""


def _unit_outcome(indexes: list[int], batch: list[Case]) -> Expected:
    """One unit recorded all together or not at all: an invalid draft refuses it before the
    store is asked, else the first draft the rules refuse does."""
    invalid = [i for i in indexes if batch[i].kind == "invalid"]
    bad = invalid or [i for i in indexes if batch[i].bad]
    if not bad:
        return {i: ("duplicate" if batch[i].kind == "repeat" else "written", None) for i in indexes}
    first = bad[0]
    return {i: ("refused", None if i == first or i in invalid else first) for i in indexes}


def _expected(policy: Policy, batch: list[Case]) -> Expected:
    everything = list(range(len(batch)))
    if policy is Policy.ALL_OR_NONE:
        return _unit_outcome(everything, batch)
    if policy is Policy.PER_ENTRY:
        return {i: v for i in everything for v in _unit_outcome([i], batch).values()}
    expected: Expected = {}
    for nid in {c.negotiation_id for c in batch}:
        share = [i for i in everything if batch[i].negotiation_id == nid]
        expected |= _unit_outcome(share, batch)
    return expected


def _notes(app: Negotiations, nid: str) -> list[str]:
    return [w["payload"]["text"] for w in app.wires(nid) if w["type"] == "ContextNoted"]


@pytest.mark.parametrize("policy", list(Policy))
@settings(max_examples=60, deadline=None)
@given(batch=cases)
def test_each_policy_writes_and_refuses_exactly_its_share_of_a_mixed_batch(
    policy: Policy, batch: list[Case]
) -> None:
    app = _app()
    before = app.max_position()
    drafts = [_draft(i, c) for i, c in enumerate(batch)]
    results = app.record_batch(drafts, principal=PRINCIPAL, policy=policy)
    expected = _expected(policy, batch)

    assert len(results) == len(batch)
    for index, result in enumerate(results):
        outcome, because_of = expected[index]
        if outcome == "refused":
            assert isinstance(result, Refused), (index, result)
            assert result.because_of == because_of, (index, result)
            cause = batch[because_of if because_of is not None else index]
            assert result.error.code == _code(cause), (index, result)
        else:
            assert isinstance(result, Written), (index, result)
            assert result.duplicate == (outcome == "duplicate")
    written = {i: r for i, r in enumerate(results) if isinstance(r, Written) and not r.duplicate}
    assert app.max_position() == before + len(written)
    for nid in OPENED:
        texts = [f"Draft {i}." for i, r in written.items() if r.negotiation_id == nid]
        assert _notes(app, nid) == ["Recorded before the batch.", *texts]
    for result in written.values():
        stored = app.wires(result.negotiation_id, after_version=result.version - 1)[0]
        assert (stored["event_id"], stored["position"]) == (result.event_id, result.position)
    with pytest.raises(Exception, match="has not been opened"):
        app.history(UNOPENED)


def _code(case: Case) -> str:
    if case.kind == "invalid":
        return "invalid_event"
    if case.negotiation_id == UNOPENED:
        return "negotiation_not_found"
    return "occurred_after_recorded"


def test_a_repeat_answers_the_first_result() -> None:
    app = _app()
    first = app.wires("talks-a")[-1]
    (result,) = app.record_batch([_keyed("talks-a")], principal=PRINCIPAL, policy=Policy.PER_ENTRY)
    assert isinstance(result, Written) and result.duplicate
    assert (result.event_id, result.position) == (first["event_id"], first["position"])


# Failures of the store: raised or answered, by policy


@pytest.fixture
def app() -> Iterator[Negotiations]:
    app = _app()
    yield app
    app.close()


def _failing_save(app: Negotiations, failing: str, error: Exception) -> None:
    """Saves of the negotiation ``failing`` raise ``error``; others are saved."""
    save = app.save

    def save_unless_failing(*events: Any) -> Any:
        if any(e.originator_id == negotiation_uuid(failing) for e in events):
            raise error
        return save(*events)

    app.save = save_unless_failing  # type: ignore[method-assign]


def test_per_negotiation_raises_a_store_failure_while_nothing_is_recorded(
    app: Negotiations,
) -> None:
    _failing_save(app, "talks-a", OSError("disk full"))
    before = app.max_position()
    with pytest.raises(StoreUnavailable):
        app.record_batch(
            [note(nid="talks-a"), note(nid="talks-b")],
            principal=PRINCIPAL,
            policy=Policy.PER_NEGOTIATION,
        )
    assert app.max_position() == before


def test_per_negotiation_answers_a_store_failure_after_a_share_was_recorded(
    app: Negotiations,
) -> None:
    _failing_save(app, "talks-b", OSError("disk full"))
    results = app.record_batch(
        [note(nid="talks-a"), note(nid="talks-b"), note(nid="talks-b")],
        principal=PRINCIPAL,
        policy=Policy.PER_NEGOTIATION,
    )
    recorded, *refused = results
    assert isinstance(recorded, Written) and not recorded.duplicate
    assert all(isinstance(r, Refused) and r.error.code == "store_unavailable" for r in refused)
    assert all(isinstance(r, Refused) and r.because_of is None for r in refused)


def test_per_negotiation_answers_a_lost_race_for_that_share_only(app: Negotiations) -> None:
    _failing_save(app, "talks-a", IntegrityError("UNIQUE constraint failed"))
    lost, recorded = app.record_batch(
        [note(nid="talks-a"), note(nid="talks-b")],
        principal=PRINCIPAL,
        policy=Policy.PER_NEGOTIATION,
    )
    assert isinstance(lost, Refused) and lost.error.code == "concurrent_write"
    assert isinstance(recorded, Written)


@pytest.mark.parametrize("policy", [Policy.ALL_OR_NONE, Policy.PER_ENTRY])
@pytest.mark.parametrize(
    ("error", "raised"),
    [(OSError("disk full"), StoreUnavailable), (IntegrityError("UNIQUE"), ConflictError)],
)
def test_all_or_none_and_per_entry_raise_what_is_not_the_drafts_fault(
    app: Negotiations, policy: Policy, error: Exception, raised: type[Exception]
) -> None:
    _failing_save(app, "talks-a", error)
    before = app.max_position()
    with pytest.raises(raised):
        app.record_batch(
            [note(nid="talks-b"), note(nid="talks-a")], principal=PRINCIPAL, policy=policy
        )
    assert app.max_position() == before


def test_a_refused_draft_does_not_mark_a_failing_store_as_recovered(app: Negotiations) -> None:
    """A refusal reaches no write, so it proves nothing about the store."""
    app.health.failed("disk full")
    (refused,) = app.record_batch(
        [note(nid="talks-a", occurred_at="2999")], principal=PRINCIPAL, policy=Policy.PER_ENTRY
    )
    assert isinstance(refused, Refused)
    assert app.health.problem == "disk full"
