"""Partial dates: a year, a month, a day, or a timestamp with a zone.

A partial date names an interval of world time: ``2024`` covers the whole year, ``2024-09``
the month, ``2024-09-27`` the day (UTC), and a timestamp the single instant it names.

Ordering (documented in docs/dates.md and relied on by timelines): partial dates sort by the
start of their interval; when two start together, the coarser one comes first. So
``2024 < 2024-09 < 2024-09-01 < 2024-09-01T00:00:00Z < 2024-09-27``. Two partial dates are
equal only when they have the same precision and the same start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from functools import total_ordering
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from events.exceptions import ContractError, InvalidPartialDate

_YEAR = re.compile(r"^([0-9]{4})$")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_DAY = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_INSTANT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}"
    r"(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
PATTERN = (
    r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2}"
    r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2}))?)?)?$"
)


class Precision(IntEnum):
    YEAR = 0
    MONTH = 1
    DAY = 2
    INSTANT = 3


@total_ordering
@dataclass(frozen=True)
class PartialDate:
    """An interval of world time given at year, month, day or instant precision."""

    text: str
    precision: Precision
    start: datetime
    end: datetime

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        if not isinstance(text, str):
            raise InvalidPartialDate(f"expected a string, got {type(text).__name__}")
        try:
            return _parse(text)
        except (ValueError, OverflowError) as e:
            raise InvalidPartialDate(f"{text!r} is not a valid date ({e})") from None

    def sort_key(self) -> tuple[datetime, int]:
        return (self.start, int(self.precision))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self.sort_key() < other.sort_key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self.sort_key() == other.sort_key()

    def __hash__(self) -> int:
        return hash(self.sort_key())

    def __str__(self) -> str:
        return self.text

    def reaches(self, instant: datetime) -> bool:
        """True when ``instant`` is at or before the end of this date, which is how ``as_of``
        and ``known_at`` bounds include: ``as_of=2024-09`` includes all of September."""
        if self.precision is Precision.INSTANT:
            return instant <= self.start
        return instant < self.end

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": PATTERN,
            "description": "YYYY, YYYY-MM, YYYY-MM-DD, or an ISO 8601 timestamp with a zone",
            "examples": ["2024", "2024-09", "2024-09-27", "2024-09-27T14:00:00Z"],
        }


def _validate(value: Any) -> PartialDate:
    if isinstance(value, PartialDate):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a string date, got {type(value).__name__}")
    try:
        return PartialDate.parse(value)
    except InvalidPartialDate as e:
        raise ValueError(str(e)) from None


def _parse(text: str) -> PartialDate:
    if m := _YEAR.fullmatch(text):
        start = datetime(int(m[1]), 1, 1, tzinfo=UTC)
        return PartialDate(text, Precision.YEAR, start, start.replace(year=start.year + 1))
    if m := _MONTH.fullmatch(text):
        start = datetime(int(m[1]), int(m[2]), 1, tzinfo=UTC)
        end = (start + timedelta(days=32)).replace(day=1)
        return PartialDate(text, Precision.MONTH, start, end)
    if m := _DAY.fullmatch(text):
        start = datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
        return PartialDate(text, Precision.DAY, start, start + timedelta(days=1))
    if _INSTANT.fullmatch(text):
        instant = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
        return PartialDate(text, Precision.INSTANT, instant, instant)
    raise ValueError("use YYYY, YYYY-MM, YYYY-MM-DD or a timestamp with a zone")


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_utc(instant: datetime) -> str:
    """The one textual form of a server timestamp: UTC, microseconds, a trailing Z."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def optional_date(text: str | None, field: str) -> PartialDate | None:
    """A point in time given as an option or a query parameter (``as_of``, ``--known-at``):
    None when absent; a ContractError naming ``field`` when it is not a date."""
    if text is None:
        return None
    try:
        return PartialDate.parse(text)
    except ValueError as e:
        raise ContractError("invalid_option", str(e), field=field) from None
