"""Every entry of the Redis wire contract survives its fields: what ``encode`` writes,
``decode`` reads back as the same model from the bytes Redis returns; and the hot paths that
skip the models (the relay's script arguments, the projections' reading, the intake's answers,
the commit script's change entries) write and read exactly the models' fields."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

import orjson
from hypothesis import given
from hypothesis import strategies as st

from events import canonical_json
from projections.live.store import COMMIT, UNPARK
from services.wire import changes
from services.wire.changes import ChangeEntry
from services.wire.divergence import Divergence
from services.wire.entries import (
    EventEntry,
    entry_args,
    entry_fields,
    entry_id,
    position_of,
    recorded_event,
)
from services.wire.intake import HEAD_BYTES, TOO_LARGE, DeadLetter, IntakeEntry, IntakeResult

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
names = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)
positions = st.integers(min_value=0, max_value=2**63 - 1)
hashes = st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest())


def as_redis(fields: Mapping[str, str | bytes | int]) -> dict[bytes, bytes]:
    """The fields as a Redis client returns them: names and values as bytes."""
    return {k.encode(): v if isinstance(v, bytes) else str(v).encode() for k, v in fields.items()}


@st.composite
def stored_events(draw: st.DrawFn) -> tuple[int, str, str]:
    """A stored event as the relay reads it: position, canonical JSON body, hash."""
    event = {
        "type": draw(st.sampled_from(["MeetingHeld", "ContextNoted", "NegotiationOpened"])),
        "negotiation_id": draw(st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}", fullmatch=True)),
        "payload": {"text": draw(texts)},
    }
    body = canonical_json(event).decode()
    return draw(positions), body, hashlib.sha256(body.encode()).hexdigest()


@given(stored_events())
def test_an_event_entry_survives_its_redis_fields(stored: tuple[int, str, str]) -> None:
    entry = EventEntry.of(*stored)
    assert EventEntry.decode(as_redis(entry.encode())) == entry


@given(stored_events())
def test_the_relay_writes_the_event_entry_fields_in_order(stored: tuple[int, str, str]) -> None:
    position, body, hash = stored
    args = entry_args(position, body, hash)
    entry = EventEntry.of(position, body, hash)
    assert args[0] == entry.id == entry_id(position)
    assert list(entry_fields(args).items()) == list(entry.encode().items())


@given(stored_events())
def test_the_projections_read_the_event_an_entry_carries(stored: tuple[int, str, str]) -> None:
    entry = EventEntry.of(*stored)
    fields = as_redis(entry.encode())
    assert recorded_event(entry.id.encode(), fields) == entry.recorded_event()
    assert entry.recorded_event() == {
        **orjson.loads(entry.event),
        "hash": entry.hash,
        "position": entry.position,
    }


@given(positions)
def test_an_entry_id_gives_back_its_position(position: int) -> None:
    assert position_of(entry_id(position)) == position
    assert position_of(entry_id(position).encode()) == position


@given(
    st.builds(
        IntakeEntry,
        event=st.none() | texts,
        reply_to=st.none() | texts,
        idempotency_key=st.none() | texts,
    )
)
def test_an_intake_entry_survives_its_redis_fields(entry: IntakeEntry) -> None:
    assert IntakeEntry.decode(as_redis(entry.encode())) == entry


def test_an_intake_entry_keeps_the_fields_a_publisher_adds() -> None:
    entry = IntakeEntry.model_validate({"event": "{}", "source": "feed-7"})
    assert entry.encode() == {"event": "{}", "source": "feed-7"}
    assert IntakeEntry.decode(as_redis(entry.encode())) == entry


recorded_results = st.builds(
    IntakeResult,
    entry_id=texts,
    status=st.just("recorded"),
    event_id=texts,
    negotiation_id=texts,
    position=positions.map(str),
    version=positions.map(str),
    hash=hashes,
    duplicate=st.sampled_from(["true", "false"]),
)
refusals = st.builds(IntakeResult.refusal, texts, names, texts)


@given(recorded_results | refusals)
def test_an_intake_result_survives_its_redis_fields(result: IntakeResult) -> None:
    assert IntakeResult.decode(as_redis(result.encode())) == result


def test_a_refusal_answers_with_its_code_and_message_only() -> None:
    fields = IntakeResult.refusal("7-0", "invalid_json", "event: not JSON").encode()
    assert list(fields.items()) == [
        ("entry_id", "7-0"),
        ("status", "refused"),
        ("code", "invalid_json"),
        ("message", "event: not JSON"),
    ]


reserved = {"entry_id", "error_code", "error_message"}
entry_fields_bytes = st.dictionaries(
    names.filter(lambda n: n not in reserved), st.binary(max_size=64), max_size=5
)


@given(entry_fields_bytes, texts, names.filter(lambda c: c != TOO_LARGE), texts)
def test_a_dead_letter_survives_its_redis_fields(
    fields: dict[str, bytes], entry_id: str, code: str, message: str
) -> None:
    letter = DeadLetter.refusing(fields, entry_id, code, message)
    assert DeadLetter.decode(as_redis(letter.encode())) == letter


@given(entry_fields_bytes, st.binary(max_size=3 * HEAD_BYTES), texts)
def test_an_oversize_dead_letter_survives_its_redis_fields(
    fields: dict[str, bytes], event: bytes, entry_id: str
) -> None:
    letter = DeadLetter.refusing({**fields, "event": event}, entry_id, TOO_LARGE, "too big")
    assert DeadLetter.decode(as_redis(letter.encode())) == letter


def test_a_dead_letter_is_the_entry_then_why_it_was_refused() -> None:
    fields = {"event": b"\xff not json", "reply_to": b"talkstream:intake:reply:me"}
    letter = DeadLetter.refusing(fields, "5-0", "invalid_json", "event: not UTF-8")
    assert list(letter.encode().items()) == [
        ("event", b"\xff not json"),
        ("reply_to", b"talkstream:intake:reply:me"),
        ("entry_id", "5-0"),
        ("error_code", "invalid_json"),
        ("error_message", "event: not UTF-8"),
    ]


def test_an_oversize_entry_is_summed_up_not_copied() -> None:
    event = b"x" * (2 * HEAD_BYTES)
    fields = {"event": event, "reply_to": b"r" * (2 * HEAD_BYTES), "other": b"dropped"}
    letter = DeadLetter.refusing(fields, "6-0", TOO_LARGE, "entry is too large")
    assert list(letter.encode().items()) == [
        ("reply_to", b"r" * HEAD_BYTES),
        ("event_sha256", hashlib.sha256(event).hexdigest()),
        ("event_bytes", str(2 * HEAD_BYTES)),
        ("event_head", event[:HEAD_BYTES]),
        ("entry_bytes", str(sum(len(k) + len(v) for k, v in fields.items()))),
        ("entry_id", "6-0"),
        ("error_code", TOO_LARGE),
        ("error_message", "entry is too large"),
    ]


@given(st.builds(ChangeEntry, negotiation_id=texts, projection=names, position=positions.map(str)))
def test_a_change_entry_survives_its_redis_fields(change: ChangeEntry) -> None:
    assert ChangeEntry.decode(as_redis(change.encode())) == change


def test_the_commit_scripts_write_the_change_entry_fields_in_order() -> None:
    xadd = re.compile(r"'XADD', KEYS\[5\], [^\n]*'\*',(.*?)\)", re.S)
    for script in (COMMIT, UNPARK):
        (written,) = xadd.findall(script)
        assert tuple(re.findall(r"'(\w+)', (?:ARGV|view)", written)) == changes.FIELDS


@given(
    st.builds(
        Divergence,
        position=positions,
        store_hash=st.none() | hashes,
        stream_hash=st.none() | hashes,
        store_position=positions,
        stream_position=positions,
        detected_at=st.just("2025-01-01T00:00:00Z"),
    )
)
def test_a_divergence_record_survives_its_redis_fields(found: Divergence) -> None:
    assert Divergence.decode(as_redis(found.encode())) == found


def test_no_record_is_no_divergence() -> None:
    assert Divergence.decode({}) is None


def test_the_description_names_the_position_and_both_hashes() -> None:
    store = "b" * 64
    text = Divergence(8, store, None).describe()
    assert text == f"position 8 (store hash {store}, stream hash absent)"
