"""The coded fields of schema version 2: Admiralty grades and the publisher's copy on sources,
places, BCP 47 languages and labelled translations of quotes, PA-X stages and external ids,
PAM degrees. Each is accepted when well formed and refused, naming the field, when not."""

from __future__ import annotations

from typing import Any

import pytest

from events import InvalidEvent, parse_draft
from events.language import well_formed_tag
from tests.unit.events.conftest import minimal_event

SOURCE = {"outlet": "U.S. Department of Defense", "kind": "briefing"}
SHA = "a" * 64
PENTAGON = {"name": "The Pentagon", "country": "USA", "lat": 38.871, "lon": -77.056}


def with_source(**fields: Any) -> dict[str, Any]:
    return minimal_event("MeetingHeld", sources=[{**SOURCE, **fields}])


def with_payload(event_type: str, **fields: Any) -> dict[str, Any]:
    event = minimal_event(event_type)
    event["payload"] = {**event["payload"], **fields}
    return event


def refused(event: dict[str, Any]) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        parse_draft(event)
    return info.value


class TestSourceGrades:
    def test_a_graded_source_with_its_archived_copy_is_kept(self) -> None:
        archived = "https://archive.example.org/2024/readout"
        draft = parse_draft(
            with_source(reliability="B", credibility=2, archived_url=archived, content_sha256=SHA)
        )
        source = draft.sources[0]
        assert (source.reliability, source.credibility) == ("B", 2)
        assert (source.archived_url, source.content_sha256) == (archived, SHA)

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"reliability": "G"}, "sources.0.reliability"),
            ({"reliability": "b"}, "sources.0.reliability"),
            ({"credibility": 0}, "sources.0.credibility"),
            ({"credibility": 7}, "sources.0.credibility"),
            ({"credibility": "2"}, "sources.0.credibility"),
            ({"archived_url": "ftp://example.org/x"}, "sources.0.archived_url"),
            ({"content_sha256": "A" * 64}, "sources.0.content_sha256"),
            ({"content_sha256": "a" * 63}, "sources.0.content_sha256"),
        ],
    )
    def test_a_bad_grade_or_copy_is_refused_naming_the_field(
        self, fields: dict[str, Any], field: str
    ) -> None:
        assert refused(with_source(**fields)).field == field


class TestPlaces:
    def test_a_place_with_ids_coordinates_and_precision_is_kept(self) -> None:
        place = {**PENTAGON, "geonames_id": 4781530, "wikidata": "Q1", "precision": 2}
        draft = parse_draft(with_payload("MeetingHeld", place=place))
        assert draft.payload.place.model_dump(exclude_none=True) == place

    def test_a_place_is_exact_unless_said_otherwise(self) -> None:
        draft = parse_draft(with_payload("ContextNoted", place={"name": "Baghdad"}))
        assert draft.payload.place.precision == 1

    @pytest.mark.parametrize(
        ("place", "field", "reason"),
        [
            ({**PENTAGON, "lat": 200}, "payload.place.lat", "less than or equal to 90"),
            ({**PENTAGON, "lon": -180.5}, "payload.place.lon", "greater than or equal to -180"),
            ({"name": "Baghdad", "lat": 33.3}, "payload.place", "both lat and lon"),
            ({"name": "Baghdad", "precision": 4}, "payload.place.precision", ""),
            ({"name": "Baghdad", "wikidata": "1234"}, "payload.place.wikidata", ""),
            ({"name": "Baghdad", "geonames_id": 0}, "payload.place.geonames_id", ""),
            ({"name": "Baghdad", "country": "IQ"}, "payload.place.country", ""),
            ({"name": ""}, "payload.place.name", ""),
        ],
    )
    def test_a_bad_place_is_refused_naming_the_field(
        self, place: dict[str, Any], field: str, reason: str
    ) -> None:
        error = refused(with_payload("MeetingHeld", place=place))
        assert error.field == field
        assert reason in error.message

    def test_a_location_string_is_no_longer_taken_at_the_current_version(self) -> None:
        assert refused(with_payload("MeetingHeld", location="Baghdad")).field == (
            "payload.location"
        )


class TestLanguages:
    @pytest.mark.parametrize("tag", ["ar", "en", "en-US", "ar-IQ", "zh-Hant-TW", "de-CH-1996"])
    def test_a_valid_bcp_47_tag_is_kept(self, tag: str) -> None:
        assert parse_draft(with_payload("StatementIssued", lang=tag)).payload.lang == tag

    @pytest.mark.parametrize("tag", ["english", "en_US", "en-", "-en", "zz", "", "ar IQ"])
    def test_a_bad_bcp_47_tag_is_refused_naming_the_field(self, tag: str) -> None:
        error = refused(with_payload("StatementIssued", lang=tag))
        assert error.field == "payload.lang"
        assert "BCP 47" in error.message

    def test_the_check_itself_names_why(self) -> None:
        with pytest.raises(ValueError, match="joined by '-'"):
            well_formed_tag("en_US")
        with pytest.raises(ValueError, match="not a valid BCP 47"):
            well_formed_tag("zz")

    def test_translations_are_labelled_and_the_quote_stays_as_said(self) -> None:
        translations = [{"lang": "en", "text": "The mission ends.", "by": "Analyst desk"}]
        event = with_payload(
            "StatementIssued", quote="تنتهي المهمة", lang="ar", translations=translations
        )
        payload = parse_draft(event).payload
        assert (payload.quote, payload.lang) == ("تنتهي المهمة", "ar")
        assert payload.translations[0].lang == "en"
        assert payload.translations[0].by == "Analyst desk"

    def test_a_translation_in_a_bad_language_is_refused(self) -> None:
        translations = [{"lang": "eng_GB", "text": "x"}]
        error = refused(with_payload("StatementIssued", lang="ar", translations=translations))
        assert error.field == "payload.translations.0.lang"

    def test_a_language_without_a_quote_is_refused(self) -> None:
        event = minimal_event("StatementIssued")
        event["payload"] = {**event["payload"], "paraphrase": "Talks go on.", "lang": "ar"}
        del event["payload"]["quote"]
        assert "belong to a quote" in refused(event).message


class TestStagesAndExternalIds:
    def test_stage_status_and_external_ids_are_kept(self) -> None:
        ids = {"pax": "2412", "ucdp": "310", "wikidata": "Q42"}
        event = with_payload(
            "AgreementReached", stage="framework_partial", status="adopted", external_ids=ids
        )
        payload = parse_draft(event).payload
        assert (payload.stage, payload.status) == ("framework_partial", "adopted")
        assert payload.external_ids.model_dump() == ids

    def test_negotiations_carry_external_ids_too(self) -> None:
        event = with_payload("NegotiationOpened", external_ids={"wikidata": "Q42"})
        assert parse_draft(event).payload.external_ids.wikidata == "Q42"

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"stage": "peace"}, "payload.stage"),
            ({"status": "announced"}, "payload.status"),
            ({"form": "communique"}, "payload.form"),
            ({"external_ids": {"pax": "PA-X 12"}}, "payload.external_ids.pax"),
            ({"external_ids": {"wikidata": "q42"}}, "payload.external_ids.wikidata"),
            ({"external_ids": {"acled": "1"}}, "payload.external_ids.acled"),
        ],
    )
    def test_a_bad_stage_or_id_is_refused_naming_the_field(
        self, fields: dict[str, Any], field: str
    ) -> None:
        assert refused(with_payload("AgreementReached", **fields)).field == field


class TestDegrees:
    @pytest.mark.parametrize("degree", [0, 1, 2, 3])
    def test_each_pam_degree_is_kept(self, degree: int) -> None:
        event = with_payload("MilestoneProgressed", degree=degree)
        assert parse_draft(event).payload.degree == degree

    @pytest.mark.parametrize("degree", [4, -1, 1.5, "2", True])
    def test_a_degree_outside_0_to_3_is_refused(self, degree: Any) -> None:
        assert refused(with_payload("MilestoneProgressed", degree=degree)).field == (
            "payload.degree"
        )
