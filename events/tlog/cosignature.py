"""C2SP tlog-cosignature v1: timestamped Ed25519 cosignatures (signature type 0x04).

Why: a witness that has checked a checkpoint's consistency with the last one it accepted states
so by adding its own signature line to the checkpoint note. The signature covers
``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint text, and its bytes are the
big-endian uint64 timestamp followed by the 64-byte Ed25519 signature. The key ID uses type 0x04,
so the same key can never be mistaken for a plain note key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from events.tlog.exceptions import MalformedCosignature, MalformedKey
from events.tlog.note import (
    ALG_ED25519,
    ED25519_SIGNATURE_SIZE,
    Ed25519Signer,
    Ed25519Verifier,
    NamedPrivateKey,
    NamedPublicKey,
    Signature,
    key_id,
    parse_key_text,
    parse_note,
    public_key_bytes,
    sign_note,
    verify_ed25519,
)

ALG_COSIGNATURE_V1 = 0x04
MAX_TIMESTAMP = 2**63 - 1
COSIGNATURE_SIZE = 8 + ED25519_SIGNATURE_SIZE


def cosigned_message(text: str | bytes, timestamp: int) -> bytes:
    """The bytes a v1 cosignature signs: header line, time line, the checkpoint text."""
    _check_timestamp(timestamp)
    body = text.encode() if isinstance(text, str) else text
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body


def cosignature_timestamp(signature: Signature) -> int:
    """The POSIX time a v1 cosignature carries."""
    if len(signature.signature) != COSIGNATURE_SIZE:
        raise MalformedCosignature(
            f"a v1 cosignature is {COSIGNATURE_SIZE} bytes after the key ID, "
            f"not {len(signature.signature)}"
        )
    timestamp = int.from_bytes(signature.signature[:8], "big")
    _check_timestamp(timestamp)
    return timestamp


@dataclass(frozen=True)
class CosignatureVerifier(NamedPublicKey):
    """A trusted witness key: verifies v1 cosignature lines in a note."""

    ALGORITHM = ALG_COSIGNATURE_V1

    @classmethod
    def parse(cls, text: str) -> CosignatureVerifier:
        """Read a witness verifier key ``<name>+<hex ID>+base64(0x04 || public key)``.

        A plain Ed25519 note key (type 0x01) of the same key pair is accepted too, and mapped to
        its cosignature key ID, as witness operators often publish only that one.
        """
        parts = parse_key_text(text)
        if parts.algorithm not in (ALG_COSIGNATURE_V1, ALG_ED25519):
            raise MalformedKey(f"signature type {parts.algorithm:#04x} is not a cosignature key")
        if key_id(parts.name, parts.algorithm, parts.key) != parts.key_id:
            raise MalformedKey("the key ID does not match the key name and public key")
        return cls.from_public_key(parts.name, parts.key)

    @classmethod
    def from_note_verifier(cls, verifier: Ed25519Verifier) -> CosignatureVerifier:
        return cls.from_public_key(verifier.name, verifier.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != COSIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        message = cosigned_message(text, timestamp)
        return verify_ed25519(self.public_key, message, signature[8:])


def _now() -> int:
    return int(time.time())


class Cosigner(NamedPrivateKey):
    """A witness signing key; ``clock`` gives the POSIX time written into each cosignature."""

    verifier: CosignatureVerifier

    def __init__(
        self, name: str, private_key: Ed25519PrivateKey, clock: Callable[[], int] = _now
    ) -> None:
        self._private_key = private_key
        self._clock = clock
        self.verifier = CosignatureVerifier.from_public_key(name, public_key_bytes(private_key))

    @classmethod
    def generate(cls, name: str, clock: Callable[[], int] = _now) -> Cosigner:
        return cls(name, Ed25519PrivateKey.generate(), clock)

    @classmethod
    def from_signer_key(cls, text: str, clock: Callable[[], int] = _now) -> Cosigner:
        """A cosigner from a ``PRIVATE+KEY+...`` Ed25519 signer key text."""
        signer = Ed25519Signer.parse(text)
        return cls(signer.name, signer.private_key, clock)

    def sign(self, text: bytes) -> bytes:
        timestamp = self._clock()
        signature = self._private_key.sign(cosigned_message(text, timestamp))
        return timestamp.to_bytes(8, "big") + signature

    def __repr__(self) -> str:
        return f"Cosigner({self.name}+{self.key_id:08x})"


def cosign_note(message: str | bytes, cosigner: Cosigner) -> str:
    """Add (or replace) this witness's cosignature line on a signed note.

    Checks syntax only: a witness opens and checks the checkpoint before it cosigns.
    """
    text, signatures = parse_note(message)
    return sign_note(text, [cosigner], keep=signatures)


def _check_timestamp(timestamp: int) -> None:
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise MalformedCosignature("a cosignature timestamp is between 0 and 2^63-1")
