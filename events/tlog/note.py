"""C2SP signed-note: Ed25519 keys, key texts, and signing and opening notes.

Why: checkpoints are signed notes, the format transparency-log tools and witnesses already
read. A note is UTF-8 text ending in a newline, a blank line, then lines
``— <key name> base64(key ID || signature)``. Opening a note ignores signatures by unknown keys,
rejects the whole note if a trusted key's signature fails, and requires at least one trusted
signature. Keys are written as the Go ``golang.org/x/mod/sumdb/note`` texts: verifier
``<name>+<hex key ID>+base64(0x01 || public key)`` and signer
``PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || seed)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from events.tlog.exceptions import (
    AmbiguousKey,
    InvalidSignature,
    MalformedKey,
    MalformedNote,
    UnverifiedNote,
)

ALG_ED25519 = 0x01
ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
MAX_SIGNATURES = 100
SIGNATURE_PREFIX = "— "
SIGNER_KEY_PREFIX = "PRIVATE+KEY+"


class NoteVerifier(Protocol):
    """A trusted key: its name and ID pick the signature lines it checks."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...


class NoteSigner(Protocol):
    """A private key that signs note texts under a name and key ID."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, text: bytes) -> bytes: ...


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key ID, and the signature bytes after the ID."""

    name: str
    key_id: int
    signature: bytes

    @property
    def line(self) -> str:
        encoded = base64.b64encode(self.key_id.to_bytes(4, "big") + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {encoded}"


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the signatures trusted keys verified, and the others."""

    text: str
    signatures: tuple[Signature, ...]
    unverified: tuple[Signature, ...]


@dataclass(frozen=True)
class KeyText:
    """The parts of a verifier key text ``<name>+<hex ID>+base64(type || key)``."""

    name: str
    key_id: int
    algorithm: int
    key: bytes


@dataclass(frozen=True)
class NamedPublicKey:
    """An Ed25519 public key under a name, for one signature type (``ALGORITHM``), which goes
    into its key ID and its verifier key text."""

    ALGORITHM: ClassVar[int]

    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> Self:
        check_key_name(name)
        if len(public_key) != ED25519_KEY_SIZE:
            raise MalformedKey(f"an Ed25519 public key is 32 bytes, not {len(public_key)}")
        return cls(name, key_id(name, cls.ALGORITHM, public_key), public_key)

    @property
    def key_text(self) -> str:
        return format_key_text(self.name, self.key_id, self.ALGORITHM, self.public_key)


@dataclass(frozen=True)
class Ed25519Verifier(NamedPublicKey):
    """A trusted Ed25519 note key (signature type 0x01)."""

    ALGORITHM = ALG_ED25519

    @classmethod
    def parse(cls, text: str) -> Ed25519Verifier:
        """Read a verifier key text, checking its key ID against its name and key."""
        parts = parse_key_text(text)
        if parts.algorithm != ALG_ED25519:
            raise MalformedKey(f"signature type {parts.algorithm:#04x} is not Ed25519 (0x01)")
        verifier = cls.from_public_key(parts.name, parts.key)
        if verifier.key_id != parts.key_id:
            raise MalformedKey("the key ID does not match the key name and public key")
        return verifier

    def verify(self, text: bytes, signature: bytes) -> bool:
        return verify_ed25519(self.public_key, text, signature)


class NamedPrivateKey:
    """A private key known by its verifier's name and key ID."""

    verifier: NamedPublicKey

    @property
    def name(self) -> str:
        return self.verifier.name

    @property
    def key_id(self) -> int:
        return self.verifier.key_id


class Ed25519Signer(NamedPrivateKey):
    """An Ed25519 note signing key; its repr never shows the private key."""

    verifier: Ed25519Verifier

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        check_key_name(name)
        self._private_key = private_key
        self.verifier = Ed25519Verifier.from_public_key(name, public_key_bytes(private_key))

    @classmethod
    def generate(cls, name: str) -> Ed25519Signer:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, text: str) -> Ed25519Signer:
        """Read a ``PRIVATE+KEY+<name>+<hex ID>+base64(0x01 || seed)`` signer key text."""
        if not text.startswith(SIGNER_KEY_PREFIX):
            raise MalformedKey(f"a signer key starts with {SIGNER_KEY_PREFIX}")
        parts = parse_key_text(text.removeprefix(SIGNER_KEY_PREFIX))
        if parts.algorithm != ALG_ED25519 or len(parts.key) != ED25519_KEY_SIZE:
            raise MalformedKey("a signer key holds 0x01 and a 32-byte Ed25519 seed")
        signer = cls(parts.name, Ed25519PrivateKey.from_private_bytes(parts.key))
        if signer.key_id != parts.key_id:
            raise MalformedKey("the key ID does not match the key name and public key")
        return signer

    @property
    def private_key(self) -> Ed25519PrivateKey:
        return self._private_key

    @property
    def key_text(self) -> str:
        """The secret signer key text; whoever holds it can sign as this key."""
        seed = self._private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return SIGNER_KEY_PREFIX + format_key_text(self.name, self.key_id, ALG_ED25519, seed)

    def sign(self, text: bytes) -> bytes:
        return self._private_key.sign(text)

    def __repr__(self) -> str:
        return f"Ed25519Signer({self.name}+{self.key_id:08x})"


def key_id(name: str, algorithm: int, public_key: bytes) -> int:
    """SHA-256(name || 0x0A || signature type || public key)[:4] as a big-endian uint32."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([algorithm]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def is_valid_key_name(name: str) -> bool:
    """Non-empty, no Unicode space, no ``+``, no control character."""
    return bool(name) and "+" not in name and not any(c.isspace() or c < " " for c in name)


def check_key_name(name: str) -> None:
    if not is_valid_key_name(name):
        raise MalformedKey(
            "a key name must be non-empty, without spaces, '+' or control characters",
            field="name",
        )


def parse_key_text(text: str) -> KeyText:
    """Split ``<name>+<8 hex digits>+base64(type || key)``; the caller checks the key ID."""
    name, _, rest = text.partition("+")
    id_hex, _, encoded = rest.partition("+")
    check_key_name(name)
    if len(id_hex) != 8 or not all(c in "0123456789abcdefABCDEF" for c in id_hex):
        raise MalformedKey("the key ID must be 8 hex digits")
    raw = decode_base64(encoded)
    if raw is None or len(raw) < 2:
        raise MalformedKey("the key must be base64 of a signature type byte and key material")
    return KeyText(name, int(id_hex, 16), raw[0], raw[1:])


def format_key_text(name: str, key_id_value: int, algorithm: int, key: bytes) -> str:
    encoded = base64.b64encode(bytes([algorithm]) + key).decode()
    return f"{name}+{key_id_value:08x}+{encoded}"


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != ED25519_SIGNATURE_SIZE:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except _CryptoInvalidSignature:
        return False
    return True


def decode_base64(text: str) -> bytes | None:
    """Standard padded base64 in its one canonical spelling, else None."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode() == text else None


def check_note_text(text: str) -> None:
    """A note text is UTF-8, ends in a newline, and has no control character but newline."""
    if not text.endswith("\n"):
        raise MalformedNote("the note text must end with a newline")
    _check_characters(text)


def sign_note(text: str, signers: Iterable[NoteSigner], keep: Iterable[Signature] = ()) -> str:
    """The signed note: ``text``, a blank line, the kept signatures, then the new ones.

    A kept signature by the same key name and ID as a new signer is replaced.
    """
    check_note_text(text)
    message = text.encode()
    fresh = [_sign_with(signer, message) for signer in signers]
    replaced = {(s.name, s.key_id) for s in fresh}
    signatures = [s for s in keep if (s.name, s.key_id) not in replaced] + fresh
    if not 1 <= len(signatures) <= MAX_SIGNATURES:
        raise MalformedNote(f"a note carries 1..{MAX_SIGNATURES} signatures")
    for signature in signatures:
        check_key_name(signature.name)
    return text + "\n" + "".join(s.line + "\n" for s in signatures)


def parse_note(message: str | bytes) -> tuple[str, list[Signature]]:
    """Split a signed note into its text and signature lines, checking syntax only."""
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNote("the note is not valid UTF-8") from None
    _check_characters(message)
    split = message.rfind("\n\n")
    if split < 0:
        raise MalformedNote("no blank line separates the text from the signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block.endswith("\n"):
        raise MalformedNote("the signature lines must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
    return text, [_parse_signature_line(line) for line in lines]


def open_note(message: str | bytes, verifiers: Iterable[NoteVerifier]) -> Note:
    """Parse a note and check it against trusted keys (see the module docstring for rules)."""
    text, signatures = parse_note(message)
    trusted = _index_verifiers(verifiers)
    verified: list[Signature] = []
    unverified: list[Signature] = []
    for signature in signatures:
        verifier = trusted.get((signature.name, signature.key_id))
        if verifier is None:
            _append_new(unverified, signature)
        elif not verifier.verify(text.encode(), signature.signature):
            raise InvalidSignature(signature.name, signature.key_id)
        elif all((s.name, s.key_id) != (signature.name, signature.key_id) for s in verified):
            verified.append(signature)
    if not verified:
        raise UnverifiedNote
    return Note(text, tuple(verified), tuple(unverified))


def _sign_with(signer: NoteSigner, message: bytes) -> Signature:
    check_key_name(signer.name)
    return Signature(signer.name, signer.key_id, signer.sign(message))


def _check_characters(text: str) -> None:
    for character in text:
        if character < " " and character != "\n":
            raise MalformedNote(f"control character {ord(character):#04x} in the note")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedNote("the note is not valid UTF-8") from None


def _parse_signature_line(line: str) -> Signature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNote("a signature line must start with an em dash and a space")
    name, _, encoded = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
    raw = decode_base64(encoded)
    if not is_valid_key_name(name) or raw is None or len(raw) < 5:
        raise MalformedNote("a signature line is '— <key name> base64(key ID || signature)'")
    return Signature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def _index_verifiers(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, int], NoteVerifier]:
    index: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        key = (verifier.name, verifier.key_id)
        if key in index and index[key] != verifier:
            raise AmbiguousKey(*key)
        index[key] = verifier
    return index


def _append_new(signatures: list[Signature], signature: Signature) -> None:
    if signature not in signatures:
        signatures.append(signature)
