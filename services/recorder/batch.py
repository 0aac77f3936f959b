"""Recording a batch of drafts under a refusal policy.

An import file, an HTTP batch and a batch of intake entries are all "validate the drafts,
refuse the bad part, record the rest"; they differ only in what one refusal takes down with
it and in which failures are raised instead of answered. The policy says which:

- ``ALL_OR_NONE`` (import): one transaction; any refused draft refuses them all.
- ``PER_NEGOTIATION`` (HTTP batches): one transaction per negotiation's share, in the order
  the negotiations first appear; a refused draft refuses its share only. A store failure is
  raised while nothing of the batch is recorded yet, and answered per draft after that
  (the drafts already recorded stay recorded).
- ``PER_ENTRY`` (the intake): each refused draft is left out alone and the rest are recorded
  together. A failure that is not the drafts' fault (the store failed, another writer won
  every retry, a stored event no longer reads back) is raised: the entries stay pending and
  are tried again.

Every policy answers one result per draft, in the batch's order: ``Written`` or ``Refused``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from events import ContractError, Envelope
from services.recorder.exceptions import (
    BatchRejected,
    EventCorrupted,
    RecorderError,
    StoreUnavailable,
)


class Policy(Enum):
    ALL_OR_NONE = "all_or_none"
    PER_NEGOTIATION = "per_negotiation"
    PER_ENTRY = "per_entry"


@dataclass(frozen=True)
class Written:
    """The answer to a write: where the event now stands. ``duplicate`` marks a re-send."""

    event_id: str
    negotiation_id: str
    position: int
    version: int
    hash: str
    duplicate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InvalidDraft:
    """An input of the batch that did not validate: refused as it stands. Under
    ``PER_NEGOTIATION`` it also refuses the share of the negotiation it names, if it names one."""

    error: ContractError
    negotiation_id: str | None = None


@dataclass(frozen=True)
class Refused:
    """A draft that was not recorded: refused for ``error``, or, when ``because_of`` is set,
    left out because the draft at that index (refused for ``error``) was."""

    error: RecorderError | ContractError
    because_of: int | None = None


Result = Written | Refused


@dataclass(frozen=True)
class Stopped:
    """A unit of drafts not recorded because its draft at ``index`` was refused."""

    index: int
    error: RecorderError | ContractError


RecordUnit = Callable[[list[Envelope]], list[Written] | Stopped]
"""Records drafts in one transaction, or returns the first refused one (nothing recorded)."""


def store_failed(error: RecorderError | ContractError) -> bool:
    """The store, not the draft, is at fault: it failed, or a stored event it holds no longer
    reads back."""
    return isinstance(error, StoreUnavailable | EventCorrupted)


def record_batch(
    drafts: Sequence[Envelope | InvalidDraft], policy: Policy, record_unit: RecordUnit
) -> list[Result]:
    valid = {i: d for i, d in enumerate(drafts) if not isinstance(d, InvalidDraft)}
    invalid = {i: d for i, d in enumerate(drafts) if isinstance(d, InvalidDraft)}
    results = _POLICIES[policy](valid, invalid, record_unit)
    return [results[i] for i in range(len(drafts))]


Valid = dict[int, Envelope]
Invalid = dict[int, InvalidDraft]
Results = dict[int, Result]


def _all_or_none(valid: Valid, invalid: Invalid, record_unit: RecordUnit) -> Results:
    if invalid:
        first = min(invalid)
        results: Results = {i: Refused(invalid[first].error, first) for i in valid}
        return results | {i: Refused(d.error) for i, d in invalid.items()}
    return _record_unit(valid, record_unit)


def _per_entry(valid: Valid, invalid: Invalid, record_unit: RecordUnit) -> Results:
    results: Results = {i: Refused(d.error) for i, d in invalid.items()}
    remaining = dict(valid)
    while remaining:
        outcome = record_unit(list(remaining.values()))
        if not isinstance(outcome, Stopped):
            return results | dict(zip(remaining, outcome, strict=True))
        if store_failed(outcome.error):  # raised as record_many raises it (see there)
            if len(remaining) == 1:
                raise outcome.error
            raise BatchRejected(outcome.index, outcome.error) from outcome.error
        bad = list(remaining)[outcome.index]
        results[bad] = Refused(outcome.error)
        del remaining[bad]
    return results


def _per_negotiation(valid: Valid, invalid: Invalid, record_unit: RecordUnit) -> Results:
    results: Results = {i: Refused(d.error) for i, d in invalid.items()}
    first_invalid: dict[str, int] = {}
    for i, refused in sorted(invalid.items()):
        if refused.negotiation_id is not None:
            first_invalid.setdefault(refused.negotiation_id, i)
    shares: dict[str, Valid] = {}
    for i, draft in valid.items():
        shares.setdefault(draft.negotiation_id, {})[i] = draft
    for negotiation_id, share in shares.items():
        bad = first_invalid.get(negotiation_id)
        if bad is not None:
            results |= {i: Refused(invalid[bad].error, bad) for i in share}
            continue
        recorded_any = any(isinstance(r, Written) for r in results.values())
        results |= _record_share(share, record_unit, recorded_any=recorded_any)
    return results


def _record_share(share: Valid, record_unit: RecordUnit, *, recorded_any: bool) -> Results:
    try:
        return _record_unit(share, record_unit)
    except StoreUnavailable as e:
        if not recorded_any:
            raise  # nothing of the batch is recorded: the whole batch failed
        return {i: Refused(e) for i in share}
    except (RecorderError, ContractError) as e:  # another writer won every retry
        return {i: Refused(e) for i in share}


def _record_unit(unit: Valid, record_unit: RecordUnit) -> Results:
    """The unit recorded in one transaction; or, when one draft is refused, that draft
    refused for its error and the others for it."""
    outcome = record_unit(list(unit.values()))
    if not isinstance(outcome, Stopped):
        return dict(zip(unit, outcome, strict=True))
    bad = list(unit)[outcome.index]
    return {i: Refused(outcome.error, None if i == bad else bad) for i in unit}


_POLICIES: dict[Policy, Callable[[Valid, Invalid, RecordUnit], Results]] = {
    Policy.ALL_OR_NONE: _all_or_none,
    Policy.PER_NEGOTIATION: _per_negotiation,
    Policy.PER_ENTRY: _per_entry,
}
