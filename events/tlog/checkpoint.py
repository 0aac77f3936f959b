"""C2SP tlog-checkpoint: the signed statement of a log's size and root hash.

Why: a checkpoint is what an auditor keeps. Its text is the log's origin, the tree size in
decimal, the base64 root hash, and optional non-empty extension lines, each ending in a newline;
it is signed as a C2SP signed note. Anyone holding an older checkpoint can demand a consistency
proof to the newer one, so deleting or rewriting history, the newest events included, shows.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from events.tlog.exceptions import MalformedCheckpoint, MalformedNote
from events.tlog.merkle import HASH_SIZE, MAX_POSITION
from events.tlog.note import (
    Note,
    NoteSigner,
    NoteVerifier,
    check_note_text,
    decode_base64,
    open_note,
    sign_note,
)

MAX_TREE_SIZE = MAX_POSITION
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True)
class Checkpoint:
    """A log's origin, tree size and root hash, with any extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedCheckpoint("tree size must be between 0 and 2^64-1", field="size")
        if len(self.root) != HASH_SIZE:
            raise MalformedCheckpoint(f"root hash must be {HASH_SIZE} bytes", field="root")
        for line in self.extensions:
            _check_line(line, "extension")

    @property
    def text(self) -> str:
        """The note text: one line each for origin, size, root, then the extensions."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "".join(line + "\n" for line in [*lines, *self.extensions])


def parse_checkpoint(text: str) -> Checkpoint:
    """Read a checkpoint's note text (signatures already split off)."""
    if not text.endswith("\n"):
        raise MalformedCheckpoint("a checkpoint text ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedCheckpoint("a checkpoint has an origin, a size and a root hash line")
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.fullmatch(size_text):
        raise MalformedCheckpoint("tree size must be decimal without leading zeros", field="size")
    root = decode_base64(root_text)
    if root is None:
        raise MalformedCheckpoint("root hash must be standard base64", field="root")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Iterable[NoteSigner]) -> str:
    """The checkpoint as a signed note."""
    return sign_note(checkpoint.text, signers)


def open_checkpoint(
    message: str | bytes, verifiers: Iterable[NoteVerifier], *, origin: str | None = None
) -> tuple[Checkpoint, Note]:
    """Verify a signed checkpoint against trusted keys, and optionally its origin."""
    note = open_note(message, verifiers)
    checkpoint = parse_checkpoint(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise MalformedCheckpoint(
            f"checkpoint is for origin {checkpoint.origin!r}, not {origin!r}", field="origin"
        )
    return checkpoint, note


def _check_line(line: str, what: str) -> None:
    if not line or "\n" in line:
        raise MalformedCheckpoint(f"{what} line must be non-empty and one line", field=what)
    try:
        check_note_text(line + "\n")
    except MalformedNote as error:
        raise MalformedCheckpoint(f"{what} line: {error.message}", field=what) from None
