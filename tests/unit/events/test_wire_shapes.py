"""The typed wire shapes (events/wire.py) follow the pydantic models they describe: the same
fields, present unless their default is None."""

from __future__ import annotations

from typing import NotRequired, get_origin, get_type_hints

import pytest
from pydantic import BaseModel

from events import PAYLOAD_OF, Envelope, Stamp, wire
from events.parts import Actor, Codes, Due, Issue, Quantity, Source, Stance, Term


def _keys(shape: type) -> tuple[set[str], set[str]]:
    """(required, optional) keys; read from the hints, since postponed annotations hide
    NotRequired from ``__optional_keys__`` on Python 3.11."""
    hints = get_type_hints(shape, include_extras=True)
    optional = {name for name, hint in hints.items() if get_origin(hint) is NotRequired}
    return set(hints) - optional, optional


def _dumped(*models: type[BaseModel]) -> tuple[set[str], set[str]]:
    """(always present, may be absent) fields when dumped with exclude_none=True."""
    fields = {name: f for model in models for name, f in model.model_fields.items()}
    optional = {name for name, f in fields.items() if not f.is_required() and f.default is None}
    return set(fields) - optional, optional


SHAPES: list[tuple[type, tuple[type[BaseModel], ...]]] = [
    (wire.ActorWire, (Actor,)),
    (wire.SourceWire, (Source,)),
    (wire.CodesWire, (Codes,)),
    (wire.IssueWire, (Issue,)),
    (wire.StanceWire, (Stance,)),
    (wire.DueWire, (Due,)),
    (wire.TermWire, (Term,)),
    (wire.QuantityWire, (Quantity,)),
    (wire.Wire, (Envelope, Stamp)),
    *(
        (getattr(wire, f"{model.__name__}Wire"), (model,))
        for model in sorted(set(PAYLOAD_OF.values()), key=lambda m: m.__name__)
        if hasattr(wire, f"{model.__name__}Wire")  # a missing one fails the test below
    ),
]


@pytest.mark.parametrize(("shape", "models"), SHAPES, ids=lambda s: getattr(s, "__name__", ""))
def test_wire_shape_has_the_fields_of_its_model(
    shape: type, models: tuple[type[BaseModel], ...]
) -> None:
    assert _keys(shape) == _dumped(*models)


def test_every_payload_model_has_a_wire_shape() -> None:
    missing = [m.__name__ for m in PAYLOAD_OF.values() if not hasattr(wire, f"{m.__name__}Wire")]
    assert missing == []
