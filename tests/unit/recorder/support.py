"""Helpers for the recorder's unit tests: record drafts as one principal, assert refusals, read
the aggregate back."""

from __future__ import annotations

from typing import Any

import pytest

from events import Envelope
from services.recorder.application import Negotiations, Written
from services.recorder.domain import Negotiation, negotiation_uuid
from services.recorder.exceptions import InvariantViolation
from tests.factories import NID

PRINCIPAL = "analyst@example.org"


def given(app: Negotiations, *drafts: Envelope) -> list[Written]:
    """Records ``drafts`` as setup (one batch) and returns their results."""
    return app.record_many(list(drafts), principal=PRINCIPAL)


def record(app: Negotiations, *drafts: Envelope) -> None:
    """Records ``drafts`` one at a time (each its own batch)."""
    for draft in drafts:
        app.record(draft, principal=PRINCIPAL)


def refused(
    app: Negotiations,
    draft: Envelope,
    code: str,
    error: type[Exception] = InvariantViolation,
    **kwargs: Any,
) -> Any:
    """Records ``draft``, expects ``error`` with ``code``, and checks that nothing was stored."""
    before = app.max_position()
    with pytest.raises(error) as info:
        app.record(draft, principal=PRINCIPAL, **kwargs)
    assert getattr(info.value, "code", None) == code, info.value
    assert app.max_position() == before
    return info.value


def negotiation(app: Negotiations, nid: str = NID) -> Negotiation:
    aggregate: object = app.repository.get(negotiation_uuid(nid))
    assert isinstance(aggregate, Negotiation)
    return aggregate
