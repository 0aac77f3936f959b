"""Building blocks shared by event payloads: actors, sources, terms, dues and limits."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from events.dates import PartialDate
from events.language import well_formed_tag

MAX_LIST = 100
MAX_SOURCES = 20

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
Ident = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$", max_length=128)
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2000)]
Wikidata = Annotated[str, StringConstraints(pattern=r"^Q[0-9]{1,12}$")]


class Part(BaseModel):
    """Base of every contract model: immutable, and unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, strict=True)


Sector = Literal["GOV", "MIL", "LEG", "IGO", "PRM", "REB", "OPP", "CVL", "BUS", "MED", "JUD"]


class Actor(Part):
    """A state, an organisation or a person; a person is an actor with an office."""

    name: Name
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    sector: Sector | None = None
    office: Label | None = None
    wikidata: Wikidata | None = None


SourceKind = Literal[
    "official_readout", "joint_statement", "briefing", "wire", "press", "social", "other"
]


Reliability = Literal["A", "B", "C", "D", "E", "F"]
"""Admiralty (NATO) code, the source's reliability: A completely reliable, B usually
reliable, C fairly reliable, D not usually reliable, E unreliable, F cannot be judged."""
Credibility = Annotated[int, Field(ge=1, le=6)]
"""Admiralty (NATO) code, the information's credibility: 1 confirmed by other sources,
2 probably true, 3 possibly true, 4 doubtful, 5 improbable, 6 cannot be judged."""
RELIABILITY_ORDER: tuple[Reliability, ...] = ("A", "B", "C", "D", "E", "F")
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
LanguageTag = Annotated[str, StringConstraints(max_length=64), AfterValidator(well_formed_tag)]
"""A BCP 47 (RFC 5646) language tag, e.g. ``ar``, ``en-US``, ``ar-IQ``."""


class Source(Part):
    url: Url | None = None
    outlet: Name
    published_at: PartialDate | None = None
    kind: SourceKind
    excerpt: Text | None = None
    reliability: Reliability | None = None
    credibility: Credibility | None = None
    archived_url: Url | None = None
    content_sha256: Sha256 | None = None


Precision = Literal[1, 2, 3]
"""How exactly a place is known (after ACLED's geo-precision): 1 the exact place, 2 near it
(a part of the town or the town), 3 only the wider region."""


class Place(Part):
    """Where something happened: a name, and when known its gazetteer ids and coordinates."""

    name: Label
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    geonames_id: Annotated[int, Field(ge=1, le=10**10)] | None = None
    wikidata: Wikidata | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    precision: Precision = 1

    @model_validator(mode="after")
    def _both_coordinates(self) -> Place:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class ExternalIds(Part):
    """Ids of the same thing in external datasets: PA-X (agreement id), UCDP (conflict or
    peace agreement id) and Wikidata."""

    pax: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,8}$")] | None = None
    ucdp: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,8}$")] | None = None
    wikidata: Wikidata | None = None


class Translation(Part):
    """A labelled translation of a quote: its language, its text, and who translated it."""

    lang: LanguageTag
    text: Text
    by: Name | None = None


class Codes(Part):
    cameo: Annotated[str, StringConstraints(pattern=r"^[0-9]{2,4}$")] | None = None
    plover: Annotated[str, StringConstraints(pattern=r"^[A-Z_]{2,40}$")] | None = None


class Issue(Part):
    issue_id: Ident
    title: Label


Position = Literal["support", "oppose", "conditional", "neutral"]


class Stance(Part):
    issue_id: Ident
    position: Position


DueKind = Literal["on", "not_later_than", "relative", "conditional"]


class Due(Part):
    kind: DueKind
    date: PartialDate | None = None
    anchor_milestone: Ident | None = None
    offset_days: Annotated[int, Field(ge=-36500, le=36500)] | None = None
    condition: Text | None = None

    @model_validator(mode="after")
    def _complete(self) -> Due:
        needs = {
            "on": ("date",),
            "not_later_than": ("date",),
            "relative": ("anchor_milestone", "offset_days"),
            "conditional": ("condition",),
        }[self.kind]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a due of kind {self.kind!r} needs {', '.join(missing)}")
        return self


class Term(Part):
    term_id: Ident
    issue_id: Ident
    text: Text
    due: Due | None = None


class Quantity(Part):
    """A counted quantity, e.g. ``{"value": 2500, "unit": "U.S. troops", "approximate": true}``."""

    value: float
    unit: Label | None = None
    approximate: bool = False
