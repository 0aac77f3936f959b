"""An import recorded in pieces of one transaction (services/recorder/bulk.py) on real stores:
the same answers as one batch, nothing stored when a late line is refused, corrections of
events whose text the slim facts dropped checked against the stored text."""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from events import Envelope
from projections.negotiation import fold
from services.recorder import bulk, domain
from services.recorder.application import Negotiations
from services.recorder.domain import Negotiation
from services.recorder.exceptions import LineRejected
from services.recorder.facts import INERT
from services.recorder.store import MEMORY_ENV
from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests.conftest import postgres_settings
from tests.factories import NID, correction, note, retraction, scenario, started, talks

PIECE = 3  # pieces of three events: every import below takes several


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "PIECE", PIECE)


def _numbered(drafts: list[Envelope]) -> Iterator[tuple[int, Envelope]]:
    return ((number, draft) for number, draft in enumerate(drafts, start=1))


def _fresh(settings: Settings, name: str) -> Negotiations:
    return build_application(settings.model_copy(update={"home": settings.home / name}))


def _views(app: Negotiations) -> list[str]:
    """Each negotiation's folded state and events, the server's stamps named by version (two
    stores give the same events other ids and times)."""
    out = []
    for nid in sorted(app.negotiation_ids()):
        wires = app.wires(nid)
        text = json.dumps([fold(None, wires), wires], default=str)
        for wire in wires:
            for stamp in ("event_id", "recorded_at", "hash"):
                text = text.replace(wire[stamp], f"{stamp}@{wire['version']}")
        out.append(json.dumps(json.loads(text), sort_keys=True))
    return out


def _mixed() -> list[Envelope]:
    """Two negotiations interleaved, long notes and one re-sent draft."""
    a, b = started("talks-a"), started("talks-b")
    drafts = [a[0], b[0], a[1], b[1], a[2], b[2]]
    for i in range(7):
        drafts.append(note("x" * 400 + str(i), "talks-a"))
        drafts.append(note("y" * 400 + str(i), "talks-b"))
    return [*scenario(), *drafts]


def test_an_import_in_pieces_answers_as_one_batch_did(store_settings: Settings) -> None:
    drafts = _mixed()
    whole, pieces = Negotiations(env=MEMORY_ENV), _fresh(store_settings, "pieces")
    try:
        whole.record_many(drafts, principal="p")
        imported = pieces.record_stream(_numbered(drafts), principal="p")
        assert imported.new == len(drafts)
        assert imported.pieces > len(drafts) // PIECE - 1  # the bounded path: many pieces
        assert _views(pieces) == _views(whole)
        assert pieces.max_position() == whole.max_position() == len(drafts)
    finally:
        whole.close()
        pieces.close()


def test_a_line_refused_after_pieces_were_written_leaves_nothing_stored(
    store_settings: Settings,
) -> None:
    app = _fresh(store_settings, "refused")
    drafts = [*_mixed(), talks("TalksResumed", "talks-a")]  # not suspended: refused
    try:
        with pytest.raises(LineRejected) as refused:
            app.record_stream(_numbered(drafts), principal="p")
        assert refused.value.line == len(drafts)
        assert refused.value.code == "talks_not_suspended"
        assert app.max_position() == 0
        assert app.negotiation_ids() == []
    finally:
        app.close()


def test_a_correction_of_a_note_whose_text_was_dropped_is_checked_against_the_stored_text(
    store_settings: Settings,
) -> None:
    app = _fresh(store_settings, "corrected")
    try:
        app.record_many(started(), principal="p")
        noted = app.record(note("About 2,500 troops."), principal="p")
        drafts = [note("z" * 400) for _ in range(PIECE * 2)]
        drafts.append(correction(noted.event_id, {"topic": "Troop levels"}))
        app.record_stream(_numbered(drafts), principal="p")
        last = app.history("talks-a")[-1]
        assert last.draft.type == "EventCorrected"
        state = fold(None, app.wires("talks-a"))
        texts = json.dumps(state, default=str)
        assert "Troop levels" in texts and "About 2,500 troops." in texts
        bad = correction(noted.event_id, {"text": ""})  # the whole must still validate
        with pytest.raises(LineRejected) as refused:
            app.record_stream(_numbered([*drafts[:PIECE], bad]), principal="p")
        assert "payload.patch" in str(refused.value)
    finally:
        app.close()


def test_slim_facts_hold_no_event_fact_per_inert_event(store_settings: Settings) -> None:
    app = _fresh(store_settings, "slim")
    try:
        app.record_stream(_numbered(_mixed()), principal="p")
        negotiation = app.negotiation("talks-a")
        assert negotiation is not None
        notes = [e for e, f in negotiation.facts.events.items() if f.type in INERT]
        negotiation.facts.slim(lambda version: {})
        facts = negotiation.facts
        assert len(facts.inert) == len(notes) > PIECE
        assert not any(f.type in INERT for f in facts.events.values())
        assert all(type(code) is int for code in facts.inert.values())
        kept = facts.event(notes[-1])
        assert kept is not None and kept.type == "ContextNoted" and kept.payload is None
    finally:
        app.close()


def test_an_import_keeps_its_own_notes_apart_in_the_slim_facts(store_settings: Settings) -> None:
    app = _fresh(store_settings, "apart")
    held: list[Negotiation] = []
    taken = bulk._Session.take

    def take(session: Any, draft: Envelope) -> None:
        taken(session, draft)
        held[:] = list(session.held.values())

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(bulk._Session, "take", take)
            app.record_stream(_numbered(_mixed()), principal="p")
        facts = next(n.facts for n in held if n.facts.negotiation_id == "talks-a")
        assert len(facts.inert) >= 7
        assert not any(f.type in INERT for f in facts.events.values())
    finally:
        app.close()


NOTE_ID = str(uuid.UUID(int=4))
"""The event id of the note below: the fourth event of a file, ids counted from one."""


@pytest.fixture
def counted_ids(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Event ids counted from one again at each call, so that a file can target its own."""
    count = itertools.count(1)

    def restart() -> None:
        nonlocal count
        count = itertools.count(1)

    monkeypatch.setattr(domain.uuid, "uuid4", lambda: uuid.UUID(int=next(count)))
    return restart


def _noted() -> list[Envelope]:
    """A negotiation, its note (``NOTE_ID``), then enough long notes to write pieces."""
    return [*started(), note("About 2,500 troops."), *[note("z" * 400) for _ in range(PIECE * 2)]]


def _unplaced(views: list[str]) -> list[str]:
    """Views without the store's positions (PostgreSQL counts the refused imports' too)."""
    return [re.sub(r'"position": \d+', '"position"', view) for view in views]


def test_a_correction_and_a_retraction_of_a_note_of_the_same_file_are_checked(
    store_settings: Settings, counted_ids: Callable[[], None]
) -> None:
    app = _fresh(store_settings, "same-file")
    try:
        bad = [*_noted(), correction(NOTE_ID, {"text": ""})]  # the whole must still validate
        counted_ids()
        with pytest.raises(LineRejected) as refused:
            app.record_stream(_numbered(bad), principal="p")
        assert refused.value.line == len(bad) and "payload.patch" in str(refused.value)
        assert app.max_position() == 0
        twice = [*_noted(), retraction(NOTE_ID), correction(NOTE_ID, {"topic": "Again"})]
        counted_ids()
        with pytest.raises(LineRejected) as refused:
            app.record_stream(_numbered(twice), principal="p")
        assert refused.value.line == len(twice)
        assert refused.value.code == "correction_target_retracted"
        assert app.max_position() == 0
        fixed = [*_noted(), correction(NOTE_ID, {"topic": "Troop levels"}), retraction(NOTE_ID)]
        whole = Negotiations(env=MEMORY_ENV)
        try:
            counted_ids()
            whole.record_many(fixed, principal="p")
            counted_ids()
            app.record_stream(_numbered(fixed), principal="p")
            assert _unplaced(_views(app)) == _unplaced(_views(whole))
            assert "Troop levels" in json.dumps(fold(None, app.wires(NID)), default=str)
        finally:
            whole.close()
    finally:
        app.close()


def test_a_note_corrected_or_retracted_before_the_import_is_checked_as_it_now_stands(
    store_settings: Settings,
) -> None:
    app = _fresh(store_settings, "corrected-before")
    try:
        app.record_many(started(), principal="p")
        noted = app.record(note(), principal="p")
        app.record(correction(noted.event_id, {"topic": "Troop levels"}), principal="p")
        again = correction(noted.event_id, {"text": "3,000"})
        app.record_stream(_numbered([again]), principal="p")
        negotiation = app.negotiation(NID)
        assert negotiation is not None
        negotiation.facts.slim(lambda version: {})
        kept = negotiation.facts.event(noted.event_id)
        assert kept is not None
        assert kept.payload == {"topic": "Troop levels", "text": "3,000"}
        gone = app.record(note(), principal="p")
        app.record(retraction(gone.event_id), principal="p")
        with pytest.raises(LineRejected) as refused:
            app.record_stream(_numbered([retraction(gone.event_id)]), principal="p")
        assert refused.value.code == "correction_target_retracted"
    finally:
        app.close()


def test_an_import_that_reads_slowly_between_pieces_is_not_cut_off_on_postgres(
    pg_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL ends a session idle in a transaction after eventsourcing's timeout (5 s by
    default); an import's transaction is idle while the next piece is read and checked."""
    monkeypatch.setenv("POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", "1")
    app = build_application(postgres_settings(tmp_path, pg_schema))
    drafts = _mixed()

    def slowly() -> Iterator[tuple[int, Envelope]]:
        for number, draft in _numbered(drafts):
            if number % (PIECE * 4) == 0:
                time.sleep(1.5)  # longer than the session may stay idle in its transaction
            yield number, draft

    try:
        imported = app.record_stream(slowly(), principal="p")
        assert imported.new == len(drafts)
        assert app.max_position() == len(drafts)
    finally:
        app.close()
