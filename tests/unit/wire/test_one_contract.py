"""The Redis wire contract is written once: the helpers every adapter shares have one
definition, in ``services/wire``, and no module outside it spells a key of the contract."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.wire.streams import Streams

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("events", "services", "projections")
WIRE = ROOT / "services" / "wire"
# A key built in an f-string: ``f"{prefix}:events"``, ``f"{stream}:diverged"``, ...
KEY_SPELLING = re.compile(
    r"\{[^{}]*\}:(events|diverged|intake|recorders|proj|view|changes|checkpoints)\b"
)


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def definitions(name: str) -> list[Path]:
    pattern = re.compile(rf"^\s*(async )?def {name}\(", re.M)
    return [p for p in sources() if pattern.search(p.read_text("utf-8"))]


@pytest.mark.parametrize("name", ["position_of", "entry_id", "ensure_group", "recorded_event"])
def test_a_shared_wire_helper_is_defined_once_in_the_wire_package(name: str) -> None:
    found = definitions(name)
    assert len(found) == 1, [str(p.relative_to(ROOT)) for p in found]
    assert found[0].parent == WIRE


def test_only_the_wire_package_creates_consumer_groups() -> None:
    creating = [p for p in sources() if "xgroup_create(" in p.read_text("utf-8")]
    assert [p.relative_to(ROOT) for p in creating] == [Path("services/wire/groups.py")]


def test_no_module_outside_the_wire_package_spells_a_key_of_the_contract() -> None:
    spelled = {
        str(p.relative_to(ROOT)): KEY_SPELLING.findall(p.read_text("utf-8"))
        for p in sources()
        if p.parent != WIRE
    }
    assert {path: keys for path, keys in spelled.items() if keys} == {}


def test_every_key_starts_with_the_prefix() -> None:
    streams = Streams("tenant-7")
    view = streams.view("timeline")
    keys = [
        streams.events,
        streams.events_diverged,
        streams.events_moved_aside("20250101T000000Z"),
        streams.intake,
        streams.intake_dead,
        streams.intake_results,
        streams.intake_failures,
        streams.intake_group,
        streams.intake_reply("me"),
        streams.projection_group("timeline"),
        streams.changes,
        streams.checkpoints,
        view.generation,
        view.tracked("g1"),
        view.state("g1", "talks"),
        view.negotiations("g1"),
        view.parked("g1"),
        view.waiting("g1", "talks"),
    ]
    assert all(k.startswith("tenant-7:") for k in keys)
    assert len(set(keys)) == len(keys)


def test_a_view_generation_holds_every_key_of_it() -> None:
    view = Streams().view("audit")
    of_generation = [
        view.tracked("g1"),
        view.state("g1", "talks"),
        view.negotiations("g1"),
        view.parked("g1"),
        view.waiting("g1", "talks"),
    ]
    assert all(k.startswith(view.of("g1")) for k in of_generation)
    assert not view.generation.startswith(view.of("g1"))


@pytest.mark.parametrize(
    ("stream", "is_reply"),
    [
        ("talkstream:intake:reply:me", True),
        ("talkstream:intake:reply:a.b_c-d:e", True),
        ("talkstream:intake:reply:", False),
        ("talkstream:intake:reply:two words", False),
        ("talkstream:intake:reply:" + "x" * 201, False),
        ("talkstream:intake:results", False),
        ("talkstream:events", False),
        ("other:intake:reply:me", False),
    ],
)
def test_a_reply_stream_is_named_in_the_reply_namespace(stream: str, is_reply: bool) -> None:
    assert Streams().is_intake_reply(stream) is is_reply
