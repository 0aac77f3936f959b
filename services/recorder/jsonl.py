"""Importing published events from JSON Lines: each line parsed and validated as it is read,
then recorded with the others in one transaction or none; a refusal names its line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib import resources

from events import ContractError, Envelope, InvalidJson, parse_draft, parse_json
from services.recorder.exceptions import LineRejected

SCENARIO = "us-iraq-jscd-2024.jsonl"


def parse_lines(lines: Iterable[str]) -> tuple[list[Envelope], list[int]]:
    """All events of a JSON Lines text and their line numbers; blank lines are skipped."""
    drafts: list[Envelope] = []
    numbers: list[int] = []
    for number, draft in numbered_drafts(lines):
        drafts.append(draft)
        numbers.append(number)
    return drafts, numbers


def numbered_drafts(lines: Iterable[str]) -> Iterator[tuple[int, Envelope]]:
    """Each event of a JSON Lines text with its line number, parsed as it is reached (one
    line in memory at a time); blank lines are skipped, a bad line raises LineRejected."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        document = f"line {number}"
        try:
            yield number, parse_draft(parse_json(line, document=document))
        except InvalidJson as e:
            # A problem of the whole line names no field: "line N: not JSON (...)".
            raise LineRejected(
                number, e.code, e.message if e.field == document else str(e)
            ) from None
        except ContractError as e:
            raise LineRejected(number, e.code, str(e)) from None


def jsonl_lines(text: str) -> list[str]:
    """The lines of a JSON Lines text: split at "\\n" only (``str.splitlines`` would also split
    at U+2028, U+0085 and other characters a JSON string may hold as they are)."""
    lines = text.split("\n")
    if lines[-1] == "":  # the newline that ends the last line starts no other
        lines.pop()
    return lines


def scenario_lines() -> list[str]:
    text = resources.files("services.recorder").joinpath("scenarios", SCENARIO).read_text("utf-8")
    return jsonl_lines(text)
