"""Importing published events from JSON Lines: validate every line before anything is
written, then record them all in one transaction or none; a refusal names its line."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from events import ContractError, Envelope, InvalidJson, parse_draft, parse_json
from services.recorder.application import Negotiations
from services.recorder.batch import Policy, Refused, Written, store_failed
from services.recorder.exceptions import ConflictError, LineRejected

SCENARIO = "us-iraq-jscd-2024.jsonl"


def parse_lines(lines: Iterable[str]) -> tuple[list[Envelope], list[int]]:
    """All events of a JSON Lines text and their line numbers; blank lines are skipped."""
    drafts: list[Envelope] = []
    numbers: list[int] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        document = f"line {number}"
        try:
            drafts.append(parse_draft(parse_json(line, document=document)))
        except InvalidJson as e:
            # A problem of the whole line names no field: "line N: not JSON (...)".
            raise LineRejected(
                number, e.code, e.message if e.field == document else str(e)
            ) from None
        except ContractError as e:
            raise LineRejected(number, e.code, str(e)) from None
        numbers.append(number)
    return drafts, numbers


def record_lines(
    app: Negotiations, drafts: list[Envelope], numbers: list[int], *, principal: str
) -> list[Written]:
    """Records the drafts of ``parse_lines`` all together or not at all. The first refused
    draft raises LineRejected naming its line; a line imported alone is refused as ``record``
    refuses one event, except that a failure of the store is raised as it is."""
    alone = len(drafts) == 1
    try:
        results = app.record_batch(drafts, principal=principal, policy=Policy.ALL_OR_NONE)
    except ConflictError as e:  # another writer won every retry
        if not alone:
            raise
        results = [Refused(e)]
    for number, result in zip(numbers, results, strict=True):
        if isinstance(result, Refused) and result.because_of is None:
            if alone and store_failed(result.error):
                raise result.error
            raise LineRejected(number, result.error.code, str(result.error))
    return [r for r in results if isinstance(r, Written)]


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
