"""Hostile JSON for the fuzz tests of every entry point: any shape, huge numbers, deep nesting,
duplicate keys, odd types in every envelope field, and mutations of the valid events of the
bundled scenario.

A generated document is a ``Case``: its JSON text and whether it is surely invalid (a
duplicate key, an integer beyond 2**53 - 1 or a float beyond the double range, nesting
deeper than any event, a server-set field, not an object at all). Other mutations may or may
not leave a valid event; the server decides, and a fuzz test checks only that its answer and
the store agree.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from events import MAX_SAFE_INTEGER, SERVER_FIELDS
from services.recorder.jsonl import scenario_lines

SCENARIO_ID = "us-iraq-jscd"
ENVELOPE_FIELDS = [
    "type",
    "negotiation_id",
    "schema_version",
    "occurred_at",
    "occurred_until",
    "sources",
    "verification",
    "confidence",
    "modality",
    "codes",
    "correlation_id",
    "causation_id",
    "idempotency_key",
    "payload",
]
# JSON number tokens no event may carry: beyond ±(2**53 - 1), or beyond the double range.
HUGE_NUMBERS = [
    "9" * 5000,
    "-" + "1" * 4301,
    str(MAX_SAFE_INTEGER + 1),
    str(-MAX_SAFE_INTEGER - 1),
    "1" + "0" * 400,
    "1e400",
    "-2.5e999",
]
ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "\x1b]0;title\x07",
    "\u202e",
    "NaN",
    "2024-02-30",
    "0000",
    "us-iraq-jscd",
    "MeetingHeld",
    "x" * 5000,
]
_fresh = itertools.count()


@dataclass(frozen=True)
class Raw:
    """A JSON token written as is (e.g. a 5,000-digit integer that json.dumps refuses)."""

    token: str


@dataclass(frozen=True)
class Pairs:
    """An object written with these keys in this order, duplicates included."""

    items: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Case:
    value: Any
    surely_invalid: bool
    why: str

    @property
    def text(self) -> str:
        return to_text(self.value)


def to_text(value: Any) -> str:
    """JSON text of a value that may hold ``Raw`` tokens and ``Pairs`` objects."""
    if isinstance(value, Raw):
        return value.token
    if isinstance(value, Pairs | dict):
        items = value.items if isinstance(value, Pairs) else value.items()
        return "{" + ",".join(f"{json.dumps(k)}:{to_text(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def scenario_events() -> list[dict[str, Any]]:
    return [json.loads(line) for line in scenario_lines() if line.strip()]


def fresh_key() -> str:
    return f"fuzz-{next(_fresh)}"


def fresh_slug() -> str:
    return f"fuzz-talks-{next(_fresh)}"


def deep(depth: int, as_object: bool) -> Raw:
    """Nested arrays or objects, written as text (too deep for a recursive writer)."""
    if as_object:
        return Raw('{"a":' * depth + '"bottom"' + "}" * depth)
    return Raw("[" * depth + '"bottom"' + "]" * depth)


def odd_values() -> st.SearchStrategy[Any]:
    """Any JSON value an odd publisher might send in a field (all within the JSON rules)."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=30)
        | st.sampled_from(ODD_STRINGS)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.text(max_size=12) | st.sampled_from(ENVELOPE_FIELDS), inner, max_size=4
            )
        ),
        max_leaves=10,
    )


def any_json() -> st.SearchStrategy[Case]:
    """Any document at all: mostly invalid as an event."""
    return odd_values().map(lambda v: Case(v, not isinstance(v, dict), "any JSON"))


def _containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every object in a plain JSON value (the event and everything in it)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        found.append(path)
        for key, item in value.items():
            found.extend(_containers(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_containers(item, (*path, index)))
    return found


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _with(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """``value`` with the item at ``path`` replaced by ``new`` (copies along the path)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _with(value[head], rest, new)}
    copy = list(value)
    copy[head] = _with(value[head], rest, new)
    return copy


def _values_by_key(value: Any, found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            found.setdefault(key, {})[json.dumps(item, sort_keys=True)] = item
            _values_by_key(item, found)
    elif isinstance(value, list):
        for item in value:
            _values_by_key(item, found)
    return found


def _plausible(key: str) -> list[Any]:
    """Values the scenario holds under ``key`` anywhere (a change that may well stay valid)."""
    return list(_scenario_values().get(key, {}).values())


@functools.cache
def _scenario_values() -> dict[str, dict[str, Any]]:
    return _values_by_key(scenario_events(), {})


@st.composite
def _field_change(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Sets a field of some object in the event (an envelope field most often) to a value
    the scenario has under that key or to an odd one, or deletes it."""
    path = draw(st.sampled_from(_containers(event)))
    target = _get(event, path)
    keys = sorted(set(target) | (set(ENVELOPE_FIELDS) if not path else set()))
    key = draw((st.sampled_from(keys) if keys else st.nothing()) | st.text(max_size=10))
    if key in target and draw(st.booleans()) and draw(st.booleans()):
        changed = {k: v for k, v in target.items() if k != key}
        return _with(event, path, changed), f"deleted {path}/{key!r}"
    seen = _plausible(key)
    plausible = st.sampled_from(seen) if seen else st.nothing()
    value = draw(st.one_of(plausible, plausible, plausible, odd_values()))
    return _with(event, path, {**target, key: value}), f"set {path}/{key!r}"


@st.composite
def _poison(draw: st.DrawFn, event: dict[str, Any]) -> tuple[Any, str]:
    """A change that surely makes the event invalid, somewhere in it."""
    path = draw(st.sampled_from(_containers(event)))
    target = _get(event, path)
    key = draw(st.sampled_from(sorted(target)) if target else st.just("k"))
    kind = draw(st.sampled_from(["huge", "duplicate", "deep", "server"]))
    if kind == "huge":
        new: Any = {**target, key: Raw(draw(st.sampled_from(HUGE_NUMBERS)))}
    elif kind == "duplicate":
        again = draw(st.just(target.get(key, 1)) | odd_values())
        new = Pairs((*target.items(), *([] if key in target else [(key, 0)]), (key, again)))
    elif kind == "deep":
        depth = draw(st.sampled_from([33, 200, 900, 5000]))
        new = {**target, key: deep(depth, draw(st.booleans()))}
    else:
        return {**event, draw(st.sampled_from(sorted(SERVER_FIELDS))): draw(odd_values())}, kind
    return _with(event, path, new), f"{kind} at {path}/{key!r}"


@st.composite
def mutated_event(
    draw: st.DrawFn, seeds: list[dict[str, Any]], *, poison: bool | None = None
) -> Case:
    """A valid event of ``seeds`` with up to three odd fields, and (``poison``: always, None:
    sometimes) a change that surely makes it invalid. Most get a fresh idempotency key, so
    that a still valid event is recorded rather than answered as a re-send."""
    event = dict(draw(st.sampled_from(seeds)))
    if draw(st.integers(0, 9)):
        event["idempotency_key"] = fresh_key()
    whys = []
    for _ in range(draw(st.integers(0 if poison is not False else 1, 3))):
        event, why = draw(_field_change(event))
        whys.append(why)
    case = Case(event, False, "; ".join(whys) or "unchanged")
    if poison or (poison is None and draw(st.booleans())):
        value, why = draw(_poison(event))
        case = Case(value, True, f"{case.why}; {why}")
    return case


def hostile_events(seeds: list[dict[str, Any]]) -> st.SearchStrategy[Case]:
    """What a fuzz test sends as one event: mostly mutated seeds, some anything at all."""
    return st.one_of(mutated_event(seeds), mutated_event(seeds), mutated_event(seeds), any_json())


@st.composite
def hostile_batches(draw: st.DrawFn, seeds: list[dict[str, Any]]) -> tuple[Case, list[Case]]:
    """A batch request (``{"events": [...]}``, sometimes an odd one) and its events; the
    request is surely invalid when it must be refused whole."""
    events = draw(st.lists(hostile_events(seeds), min_size=1, max_size=5))
    body: Any = {"events": [e.value for e in events]}
    kind = draw(st.sampled_from(["plain"] * 6 + ["duplicate", "huge", "extra", "odd"]))
    if kind == "duplicate":
        body = Pairs((("events", []), ("events", body["events"])))
    elif kind == "huge":
        body = {**body, "n": Raw(draw(st.sampled_from(HUGE_NUMBERS)))}
    elif kind == "extra":
        body = {**body, draw(st.text(max_size=8).filter(lambda k: k != "events")): 1}
    elif kind == "odd":  # not a list of objects: refused whole, or item by item
        odd = draw(odd_values())
        body = {"events": odd}
        items = odd if isinstance(odd, list) else []
        events = [Case(e, not isinstance(e, dict), "odd batch item") for e in items]
    return Case(body, kind in ("duplicate", "huge", "extra"), kind), events


def opening(seed: dict[str, Any]) -> dict[str, Any]:
    """The scenario's opening for a fresh negotiation id (a valid opening to mutate)."""
    return {**seed, "negotiation_id": fresh_slug(), "idempotency_key": fresh_key()}


class Tracebacks(logging.Handler):
    """Collects every log record that carries a traceback or is an error."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)

    def assert_none(self, since: int = 0) -> None:
        new = self.records[since:]
        shown = [f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}" for r in new[:3] if r.exc_info]
        assert not new, f"{len(new)} tracebacks or errors logged: {shown}"
