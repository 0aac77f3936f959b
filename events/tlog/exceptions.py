"""Errors of the transparency-log formats.

They subclass the contract's ``ContractError`` so the HTTP layer and the CLI already know how to
report them (code, message, field): most are bad input from outside (a malformed note, key,
checkpoint, tile path or proof); a hash store that answers the wrong number of hashes is a
server fault (``HashReadError``). The edges decide how each is answered.
"""

from __future__ import annotations

from events.exceptions import ContractError


class TlogError(ContractError):
    """Root of every transparency-log format error."""


class MalformedNote(TlogError):
    """A signed note whose text or signature lines break the signed-note syntax."""

    def __init__(self, message: str) -> None:
        super().__init__("malformed_note", message, field="note")


class MalformedKey(TlogError):
    """A signer or verifier key text that cannot be used."""

    def __init__(self, message: str, *, field: str = "key") -> None:
        super().__init__("malformed_key", message, field=field)


class AmbiguousKey(TlogError):
    """Two different trusted keys share one key name and key ID."""

    def __init__(self, name: str, key_id: int) -> None:
        super().__init__(
            "ambiguous_key", f"two trusted keys are named {name}+{key_id:08x}", field="key"
        )


class InvalidSignature(TlogError):
    """A signature by a trusted key that does not verify: the whole note is rejected."""

    def __init__(self, name: str, key_id: int) -> None:
        super().__init__(
            "invalid_signature", f"signature by {name}+{key_id:08x} does not verify", field="note"
        )


class UnverifiedNote(TlogError):
    """A well-formed note that no trusted key has signed."""

    def __init__(self) -> None:
        super().__init__("unverified_note", "no trusted key signed this note", field="note")


class MalformedCheckpoint(TlogError):
    """A checkpoint text that breaks the tlog-checkpoint format."""

    def __init__(self, message: str, *, field: str = "checkpoint") -> None:
        super().__init__("malformed_checkpoint", message, field=field)


class MalformedCosignature(TlogError):
    """A cosignature whose bytes are not a timestamped Ed25519 signature."""

    def __init__(self, message: str) -> None:
        super().__init__("malformed_cosignature", message, field="cosignature")


class MalformedHash(TlogError):
    """A hash that is not 32 bytes, or an event hash that is not 64 lowercase hex digits."""

    def __init__(self, message: str, *, field: str = "hash") -> None:
        super().__init__("malformed_hash", message, field=field)


class InvalidTreeRange(TlogError):
    """A leaf index or tree size outside the tree it refers to."""

    def __init__(self, message: str, *, field: str = "size") -> None:
        super().__init__("invalid_tree_range", message, field=field)


class InvalidProof(TlogError):
    """An inclusion or consistency proof that does not verify."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_proof", message, field="proof")


class MalformedTilePath(TlogError):
    """A tile or entry-bundle path that is not in the tlog-tiles form."""

    def __init__(self, message: str) -> None:
        super().__init__("malformed_tile_path", message, field="path")


class MalformedTile(TlogError):
    """Tile or entry-bundle bytes of the wrong length or shape."""

    def __init__(self, message: str) -> None:
        super().__init__("malformed_tile", message, field="tile")


class HashReadError(TlogError):
    """The hash store answered a different number of hashes than asked for, or a bad hash: a
    fault of the server, not of the input."""

    def __init__(self, message: str) -> None:
        super().__init__("tree_read_failed", message)
