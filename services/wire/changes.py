"""The entry of ``<prefix>:changes``: one per negotiation whose view a projection batch changed.

The projection workers write it inside their commit scripts (projections/live/store.py), which
spell these three fields in this order; a unit test holds the two to agreement."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field

from services.wire.entries import text


class ChangeEntry(BaseModel):
    """An entry of ``<prefix>:changes``: a projection changed a negotiation's view."""

    negotiation_id: str
    projection: str = Field(description="negotiation, timeline, positions, commitments, audit")
    position: str = Field(description="The stream position the view now reflects.")

    def encode(self) -> dict[str, str]:
        return self.model_dump()

    @classmethod
    def decode(cls, fields: Mapping[bytes | str, bytes | str]) -> ChangeEntry:
        return cls.model_validate({text(k): text(v) for k, v in fields.items()})


FIELDS = tuple(ChangeEntry.model_fields)
