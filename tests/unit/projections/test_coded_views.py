"""The views show the coded fields: external ids of the negotiation and the agreement, the
agreement's stage and initial status, a meeting's place, a quote's language and its labelled
translations, each entry's source grades (only when graded), and the timeline's graded
sources; the read filters by grade and verification."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from events import Envelope
from events.wire import SourceWire
from projections.grades import grade_of, passes, source_grades
from projections.negotiation import fold
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.recorder.store import MEMORY_ENV
from tests import factories as f

TODAY = date(2026, 1, 1)
GRADED = [
    {"outlet": "Ministry", "kind": "official_readout", "reliability": "B", "credibility": 2},
    {"outlet": "Unnamed", "kind": "press", "reliability": "F"},
]


def recorded(*drafts: Envelope, opening: Envelope | None = None) -> list[Any]:
    app = Negotiations(env=MEMORY_ENV)
    start = f.started()
    if opening is not None:
        start[0] = opening
    app.record_many([*start, *drafts], principal="p")
    return app.history(f.NID)


def test_the_view_shows_external_ids_stage_place_and_language() -> None:
    ids = {"pax": "123", "wikidata": "Q42"}
    opening = f.draft(
        "NegotiationOpened",
        {**f.opening_body()["payload"], "external_ids": {"ucdp": "77"}},
        occurred_at="2023-08",
    )
    agreement = {
        "agreement_id": "ag-1",
        "title": "Statement",
        "form": "political_commitment",
        "parties": [f.IRAQ],
        "status": "adopted",
        "stage": "ceasefire",
        "external_ids": ids,
    }
    place = {"name": "Baghdad", "country": "IRQ", "lat": 33.3, "lon": 44.4, "precision": 3}
    translations = [{"lang": "en", "text": "We agree.", "by": "Desk"}]
    statement = {**f.quote("نتفق"), "lang": "ar", "translations": translations}
    view = fold(
        None,
        recorded(
            f.draft("AgreementReached", agreement),
            f.draft("MeetingHeld", {**f.MEETING, "place": place}),
            f.draft("StatementIssued", statement),
            opening=opening,
        ),
    )["view"]
    assert view["external_ids"] == {"ucdp": "77"}
    entry = view["agreements"]["ag-1"]
    assert (entry["status"], entry["stage"], entry["external_ids"]) == ("adopted", "ceasefire", ids)
    assert [step["status"] for step in entry["history"]] == ["adopted"]
    assert view["meetings"]["round-1"]["place"] == place
    said = view["statements"]["s-1"]
    assert (said["quote"], said["lang"], said["translations"]) == ("نتفق", "ar", translations)


def test_entries_carry_the_grades_of_their_sources_only_when_graded() -> None:
    events = recorded(
        f.draft("ContextNoted", f.NOTE, sources=GRADED),
        f.draft("ContextNoted", {**f.NOTE, "topic": "Plain"}),
    )
    notes = list(fold(None, events)["view"]["context"].values())
    assert notes[0]["grades"] == ["B2", "F"]
    assert "grades" not in notes[1]
    timeline = PROJECTIONS["timeline"]
    rows = {r["event_id"]: r for r in timeline.render(timeline.apply(None, events), TODAY)}
    graded = rows[events[-2].event_id]
    assert graded["grades"] == ["B2", "F"]
    assert [s["outlet"] for s in graded["source_details"]] == ["Ministry", "Unnamed"]
    assert rows[events[-1].event_id]["grades"] == []


@pytest.mark.parametrize(
    ("source", "grade"),
    [
        ({"reliability": "A", "credibility": 1}, "A1"),
        ({"reliability": "C"}, "C"),
        ({"credibility": 4}, "4"),
        ({}, None),
    ],
)
def test_a_grade_reads_as_the_admiralty_rating(source: dict[str, Any], grade: str | None) -> None:
    full: SourceWire = {"outlet": "X", "kind": "wire", **source}  # type: ignore[typeddict-item]
    assert grade_of(full) == grade
    assert source_grades([full]) == ([grade] if grade else [])


@pytest.mark.parametrize(
    ("minimum", "kept"),
    [("A", False), ("B", True), ("C", True), ("F", True)],
)
def test_min_reliability_needs_one_source_that_good(minimum: Any, kept: bool) -> None:
    sources: list[SourceWire] = GRADED  # type: ignore[assignment]
    assert passes(sources, "confirmed", min_reliability=minimum) is kept


def test_an_ungraded_source_never_passes_a_minimum_and_verification_filters() -> None:
    plain: list[SourceWire] = [{"outlet": "X", "kind": "wire"}]
    assert passes(plain, "confirmed")
    assert not passes(plain, "confirmed", min_reliability="F")
    assert passes(plain, "reported", verifications=["reported", "denied"])
    assert not passes(plain, "confirmed", verifications=["reported"])
