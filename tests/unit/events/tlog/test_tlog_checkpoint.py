"""C2SP tlog-checkpoint texts: the spec's example, the Go checksum database's tree vector, and
validation of every line."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from events.tlog.checkpoint import (
    Checkpoint,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from events.tlog.exceptions import (
    InvalidSignature,
    MalformedCheckpoint,
    UnverifiedNote,
)
from events.tlog.merkle import EMPTY_ROOT, leaf_hash
from events.tlog.note import Ed25519Signer, parse_note

# c2sp.org/tlog-checkpoint, the example's note text.
SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
ROOT = bytes(range(32))
ROOT_B64 = base64.b64encode(ROOT).decode()


def test_the_spec_example_reads_as_origin_size_and_root() -> None:
    checkpoint = parse_checkpoint(SPEC_TEXT)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert base64.b64encode(checkpoint.root).decode() == (
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    )
    assert checkpoint.extensions == ()
    assert checkpoint.text == SPEC_TEXT


def test_the_go_checksum_database_tree_text_is_reproduced() -> None:
    # golang.org/x/mod/sumdb/tlog TestFormatTree.
    checkpoint = Checkpoint("go.sum database tree", 123456789012, leaf_hash(b"hello world"))
    assert checkpoint.text == (
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
    )


def test_extension_lines_follow_the_root_and_read_back() -> None:
    checkpoint = Checkpoint("example.com/log", 7, ROOT, ("a note", "another"))
    assert checkpoint.text == f"example.com/log\n7\n{ROOT_B64}\na note\nanother\n"
    assert parse_checkpoint(checkpoint.text) == checkpoint


def test_an_empty_tree_has_size_zero_and_the_empty_root() -> None:
    checkpoint = Checkpoint("example.com/log", 0, EMPTY_ROOT)
    assert checkpoint.text.splitlines()[1] == "0"
    assert parse_checkpoint(checkpoint.text) == checkpoint


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (f"example.com/log\n7\n{ROOT_B64}", "checkpoint"),
        ("example.com/log\n7\n", "checkpoint"),
        (f"\n7\n{ROOT_B64}\n", "origin"),
        (f"example.com/log\n07\n{ROOT_B64}\n", "size"),
        (f"example.com/log\n-34\n{ROOT_B64}\n", "size"),
        (f"example.com/log\n+7\n{ROOT_B64}\n", "size"),
        (f"example.com/log\nbananas\n{ROOT_B64}\n", "size"),
        (f"example.com/log\n{2**64}\n{ROOT_B64}\n", "size"),
        (f"example.com/log\n 7\n{ROOT_B64}\n", "size"),
        ("example.com/log\n7\nThisIsn'tBase64\n", "root"),
        ("example.com/log\n7\nYmFuYW5hcw==\n", "root"),
        (f"example.com/log\n7\n{ROOT_B64.rstrip('=')}\n", "root"),
        # The spec example's root with non-zero padding bits: same bytes, another spelling.
        ("example.com/log\n7\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n", "root"),
        (f"example.com/log\n7\n{ROOT_B64}\n\n", "extension"),
        (f"example.com/log\n7\n{ROOT_B64}\nok\n\n", "extension"),
        (f"example\x07.com/log\n7\n{ROOT_B64}\n", "origin"),
    ],
)
def test_malformed_checkpoint_texts_are_refused(text: str, field: str) -> None:
    with pytest.raises(MalformedCheckpoint) as caught:
        parse_checkpoint(text)
    assert caught.value.code == "malformed_checkpoint"
    assert caught.value.field == field


def test_the_largest_uint64_size_is_accepted() -> None:
    assert parse_checkpoint(f"example.com/log\n{2**64 - 1}\n{ROOT_B64}\n").size == 2**64 - 1


@pytest.mark.parametrize(
    "build",
    [
        lambda: Checkpoint("", 1, ROOT),
        lambda: Checkpoint("two\nlines", 1, ROOT),
        lambda: Checkpoint("example.com/log", -1, ROOT),
        lambda: Checkpoint("example.com/log", 1, ROOT[:31]),
        lambda: Checkpoint("example.com/log", 1, ROOT, ("",)),
    ],
)
def test_an_invalid_checkpoint_cannot_be_built(build: Callable[[], Checkpoint]) -> None:
    with pytest.raises(MalformedCheckpoint):
        build()


def test_a_signed_checkpoint_opens_with_the_log_key_and_its_origin() -> None:
    signer = Ed25519Signer.generate("example.com/log")
    checkpoint = Checkpoint("example.com/log", 12, ROOT)
    message = sign_checkpoint(checkpoint, [signer])
    assert message.startswith(checkpoint.text + "\n— example.com/log ")
    opened, note = open_checkpoint(message, [signer.verifier], origin="example.com/log")
    assert opened == checkpoint
    assert [s.name for s in note.signatures] == ["example.com/log"]


def test_a_checkpoint_for_another_origin_is_refused() -> None:
    signer = Ed25519Signer.generate("example.com/log")
    message = sign_checkpoint(Checkpoint("example.com/log", 12, ROOT), [signer])
    with pytest.raises(MalformedCheckpoint) as caught:
        open_checkpoint(message, [signer.verifier], origin="example.com/other")
    assert caught.value.field == "origin"


def test_a_checkpoint_whose_size_was_edited_after_signing_is_refused() -> None:
    signer = Ed25519Signer.generate("example.com/log")
    message = sign_checkpoint(Checkpoint("example.com/log", 12, ROOT), [signer])
    with pytest.raises(InvalidSignature):
        open_checkpoint(message.replace("\n12\n", "\n11\n", 1), [signer.verifier])


def test_a_checkpoint_signed_by_a_new_key_is_not_trusted() -> None:
    old, new = Ed25519Signer.generate("example.com/log"), Ed25519Signer.generate("example.com/log")
    message = sign_checkpoint(Checkpoint("example.com/log", 12, ROOT), [new])
    with pytest.raises(UnverifiedNote):
        open_checkpoint(message, [old.verifier])
    _, signatures = parse_note(message)
    assert signatures[0].key_id == new.key_id != old.key_id
