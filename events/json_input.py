"""Reading published JSON text: the one parser every entry point uses (HTTP bodies, intake
entries, import lines, ``record --json``), so that they all accept and refuse the same input.

Beyond plain JSON it refuses, naming where:
- a key twice in one object (``duplicate_key``): most parsers keep the last value silently,
  so two readers of the same bytes could disagree on what was published;
- an integer outside ±(2**53 - 1) (``number_out_of_range``): the I-JSON range (RFC 7493) that
  every JSON reader holds exactly. Beyond it readers round it to a float or fail (the workers'
  orjson does both), and Python refuses to convert one of more than 4,300 digits at all.

The common case costs one ``json.loads`` with two cheap hooks; only a refused document is
parsed a second time, with markers in place of the problems, to find where they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from events.exceptions import InvalidJson

MAX_SAFE_INTEGER = 2**53 - 1
_MAX_INTEGER_CHARS = len(str(-MAX_SAFE_INTEGER))
_SHOWN_KEY_CHARS = 64


class _Refusal(Exception):
    """Raised by the parse hooks to stop at the first problem; located afterwards. A private
    signal: ``parse_json`` always turns it into ``InvalidJson``."""


def parse_json(raw: bytes | str, *, document: str) -> Any:
    """The value of a JSON text; ``document`` names it in errors (``body``, ``event``, ...)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as e:
        raise InvalidJson("invalid_json", f"not UTF-8 (byte {e.start})", field=document) from None
    try:
        return _loads(text, document, _unique_keys, _safe_integer)
    except _Refusal:
        marked = _loads(text, document, _marking_keys, _marking_integer)
        raise _first_problem(marked, document) from None


def _loads(
    text: str,
    document: str,
    object_hook: Callable[[list[tuple[str, Any]]], Any],
    int_hook: Callable[[str], Any],
) -> Any:
    try:
        return json.loads(text, object_pairs_hook=object_hook, parse_int=int_hook)
    except RecursionError:
        raise InvalidJson("invalid_json", "JSON nested too deeply", field=document) from None
    except json.JSONDecodeError as e:
        raise InvalidJson(
            "invalid_json",
            f"not JSON ({e.msg} at line {e.lineno} column {e.colno})",
            field=document,
        ) from None


def out_of_range(value: int) -> bool:
    return not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER


def range_message(digits: str) -> str:
    shown = digits if len(digits) <= 24 else f"{digits[:12]}… ({len(digits)} characters)"
    return f"integer {shown} is out of range: at most ±{MAX_SAFE_INTEGER} (2**53 - 1)"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Refusal
    return obj


def _safe_integer(digits: str) -> int:
    # The length check comes first: int() of more than 4,300 digits raises ValueError.
    if len(digits) > _MAX_INTEGER_CHARS or out_of_range(value := int(digits)):
        raise _Refusal
    return value


class _Duplicate:
    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                self.key = key
                return
            seen.add(key)
        raise AssertionError("no duplicate key")


class _Huge:
    def __init__(self, digits: str) -> None:
        self.digits = digits


def _marking_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Duplicate:
    obj = dict(pairs)
    return obj if len(obj) == len(pairs) else _Duplicate(pairs)


def _marking_integer(digits: str) -> int | _Huge:
    if len(digits) > _MAX_INTEGER_CHARS or out_of_range(value := int(digits)):
        return _Huge(digits)
    return value


def _first_problem(value: Any, document: str) -> InvalidJson:
    """The first marker in a document parsed with markers in place of the problems."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, _Huge):
            return InvalidJson(
                "number_out_of_range", range_message(item.digits), field=path or document
            )
        if isinstance(item, _Duplicate):
            where = f"in {path}" if path else "at the top level"
            key = _shown(item.key)
            return InvalidJson(
                "duplicate_key",
                f"duplicate key {key!r} {where}",
                field=_join(path, key),
            )
        if isinstance(item, dict):
            children = [(_join(path, _shown(k)), v) for k, v in item.items()]
        elif isinstance(item, list):
            children = [(_join(path, str(i)), v) for i, v in enumerate(item)]
        else:
            continue
        stack.extend(reversed(children))
    raise AssertionError("a refused document holds a duplicate key or a huge integer")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _shown(key: str) -> str:
    return key if len(key) <= _SHOWN_KEY_CHARS else key[:_SHOWN_KEY_CHARS] + "…"
