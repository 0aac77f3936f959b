"""C2SP signed-note: the spec's example, the Go note package's published vectors, and the
opening rules (unknown keys ignored, a failing trusted signature rejects, one trusted required)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from events.exceptions import ContractError
from events.tlog.exceptions import (
    AmbiguousKey,
    InvalidSignature,
    MalformedKey,
    MalformedNote,
    TlogError,
    UnverifiedNote,
)
from events.tlog.note import (
    ALG_ED25519,
    Ed25519Signer,
    Ed25519Verifier,
    Signature,
    is_valid_key_name,
    key_id,
    open_note,
    parse_note,
    sign_note,
)
from services.api.errors import status_of

# c2sp.org/signed-note, "Verifier keys / Example".
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n"
    "\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmR"
    "KuwHjG1Yu72IneyaQM=\n"
)
# c2sp.org/signed-note, the opening example (signed by a key the spec does not publish).
SPEC_POEM = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFS"
    "QU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)
# golang.org/x/mod/sumdb/note note_test.go.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpR"
    "Zb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox3"
    "3WWd1RvMc+QQ=\n"
)


def peter() -> Ed25519Verifier:
    return Ed25519Verifier.parse(PETER_VKEY)


def enoch() -> Ed25519Verifier:
    return Ed25519Verifier.parse(ENOCH_VKEY)


# --- the published vectors ------------------------------------------------------------------


def test_the_spec_example_verifies_with_its_verifier_key() -> None:
    verifier = Ed25519Verifier.parse(SPEC_VKEY)
    assert (verifier.name, verifier.key_id) == ("example.com/foo", 0x530D903A)
    note = open_note(SPEC_NOTE, [verifier])
    assert note.text == "This is an example message.\n"
    assert [(s.name, s.key_id) for s in note.signatures] == [("example.com/foo", 0x530D903A)]
    assert note.unverified == ()


def test_the_spec_example_fails_once_its_text_changes() -> None:
    forged = SPEC_NOTE.replace("example message", "example massage")
    with pytest.raises(InvalidSignature) as caught:
        open_note(forged, [Ed25519Verifier.parse(SPEC_VKEY)])
    assert caught.value.code == "invalid_signature"


def test_the_key_id_is_the_first_four_bytes_of_sha256_of_name_newline_type_and_key() -> None:
    verifier = Ed25519Verifier.parse(SPEC_VKEY)
    assert key_id("example.com/foo", ALG_ED25519, verifier.public_key) == 0x530D903A
    assert verifier.key_text == SPEC_VKEY


def test_signing_the_go_vector_text_gives_the_go_vector_note() -> None:
    signer = Ed25519Signer.parse(PETER_SKEY)
    assert signer.key_text == PETER_SKEY
    assert signer.verifier.key_text == PETER_VKEY
    assert sign_note(GO_TEXT, [signer]) == GO_TEXT + "\n" + PETER_SIG


def test_a_note_text_may_contain_blank_lines_the_last_one_separates_the_signatures() -> None:
    text, signatures = parse_note(SPEC_POEM)
    assert text.endswith("\n\ned è subito sera.\n")
    assert [s.name for s in signatures] == ["quasimodo.example/salvatore"]


# --- opening rules --------------------------------------------------------------------------


def test_signatures_by_unknown_keys_are_kept_apart_and_ignored() -> None:
    note = open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter()])
    assert note.text == GO_TEXT
    assert [s.name for s in note.signatures] == ["PeterNeumann"]
    assert [(s.name, s.key_id) for s in note.unverified] == [("EnochRoot", 0xAF0CFE78)]


def test_every_trusted_signature_is_verified() -> None:
    note = open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter(), enoch()])
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    assert note.unverified == ()


def test_a_note_no_trusted_key_signed_is_refused() -> None:
    with pytest.raises(UnverifiedNote) as caught:
        open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])
    assert caught.value.code == "unverified_note"


def test_a_failing_signature_by_a_trusted_key_rejects_the_whole_note() -> None:
    broken = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(InvalidSignature):
        open_note(GO_TEXT + "\n" + broken, [peter()])
    with pytest.raises(InvalidSignature):
        open_note(GO_TEXT + "\n" + ENOCH_SIG + PETER_SIG + broken, [peter(), enoch()])


def test_a_signature_sharing_only_the_name_of_a_trusted_key_is_ignored() -> None:
    other_id = PETER_SIG.replace("x08g", "xxxx")
    with pytest.raises(UnverifiedNote):
        open_note(GO_TEXT + "\n" + other_id, [peter()])
    note = open_note(GO_TEXT + "\n" + other_id + PETER_SIG, [peter()])
    assert len(note.signatures) == len(note.unverified) == 1


def test_repeated_signatures_are_listed_once() -> None:
    enoch_abcd = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    message = GO_TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_abcd
    note = open_note(message, [peter()])
    assert len(note.signatures) == 1
    assert len(note.unverified) == 2


def test_two_different_trusted_keys_with_one_name_and_id_are_ambiguous() -> None:
    impostor = Ed25519Verifier("PeterNeumann", 0xC74F20A3, enoch().public_key)
    with pytest.raises(AmbiguousKey):
        open_note(GO_TEXT + "\n" + PETER_SIG, [peter(), impostor])
    assert open_note(GO_TEXT + "\n" + PETER_SIG, [peter(), peter()]).text == GO_TEXT


def test_more_than_100_signatures_are_refused() -> None:
    with pytest.raises(MalformedNote):
        open_note(GO_TEXT + "\n" + PETER_SIG * 101, [peter()])
    assert len(open_note(GO_TEXT + "\n" + PETER_SIG * 100, [peter()]).signatures) == 1


@pytest.mark.parametrize(
    "message",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        GO_TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FF",
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + PETER_SIG.replace("—", "-"),
        GO_TEXT + "\n" + PETER_SIG.replace("=", ""),
        GO_TEXT + "\n" + "— PeterNeumann AAAA\n",
        GO_TEXT + "\n" + "— PeterNeumann\n",
        GO_TEXT.replace("\n", "\r\n", 1) + "\n" + PETER_SIG,
        GO_TEXT + "\n" + PETER_SIG + "\n",
        GO_TEXT + "\n" + PETER_SIG.replace("AM=", "AN="),
    ],
)
def test_malformed_notes_are_refused(message: str) -> None:
    # The first six are golang.org/x/mod/sumdb/note TestOpen's bad messages.
    with pytest.raises(MalformedNote) as caught:
        open_note(message, [peter()])
    assert caught.value.code == "malformed_note"
    assert status_of(caught.value) == 422


def test_notes_arrive_as_utf8_bytes_too() -> None:
    assert open_note((GO_TEXT + "\n" + PETER_SIG).encode(), [peter()]).text == GO_TEXT
    with pytest.raises(MalformedNote):
        open_note(b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode(), [peter()])


def test_note_errors_are_contract_errors_with_a_code() -> None:
    assert issubclass(TlogError, ContractError)
    with pytest.raises(ContractError) as caught:
        open_note("nonsense", [])
    assert caught.value.field == "note"


# --- keys -----------------------------------------------------------------------------------


def mangled(key: str) -> list[str]:
    """Every proper substring, and every one-character increment, of a key text."""
    substrings = {key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1)}
    substrings.discard(key)
    bumped = {key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))}
    return sorted(substrings | bumped)


def test_every_mangling_of_a_verifier_key_is_refused() -> None:
    # golang.org/x/mod/sumdb/note TestNewVerifier.
    for bad in mangled(PETER_VKEY):
        with pytest.raises(MalformedKey):
            Ed25519Verifier.parse(bad)


def test_every_mangling_of_a_signer_key_is_refused() -> None:
    # golang.org/x/mod/sumdb/note TestNewSigner.
    for bad in mangled(PETER_SKEY):
        with pytest.raises(MalformedKey):
            Ed25519Signer.parse(bad)


@pytest.mark.parametrize(
    "bad",
    [
        # golang.org/x/mod/sumdb/note: wrong key length, and unknown algorithm, with adjusted IDs.
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "rekor.sigstore.dev+12345678+AwEB",
        "bananas.sigstore.dev+12344556",
    ],
)
def test_verifier_keys_of_another_type_or_length_are_refused(bad: str) -> None:
    with pytest.raises(MalformedKey):
        Ed25519Verifier.parse(bad)


def test_a_generated_key_round_trips_through_its_key_texts() -> None:
    signer = Ed25519Signer.generate("talkstream.example/log")
    again = Ed25519Signer.parse(signer.key_text)
    verifier = Ed25519Verifier.parse(signer.verifier.key_text)
    assert (
        (again.name, again.key_id)
        == (signer.name, signer.key_id)
        == (
            verifier.name,
            verifier.key_id,
        )
    )
    message = sign_note("hello\n", [again])
    assert open_note(message, [verifier]).text == "hello\n"


def test_a_signer_never_shows_its_private_key() -> None:
    signer = Ed25519Signer.parse(PETER_SKEY)
    assert repr(signer) == "Ed25519Signer(PeterNeumann+c74f20a3)"
    assert "AYEKFALV" not in repr(signer) + str(signer)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("example.com/log42", True),
        ("PeterNeumann", True),
        ("ünïcode.example", True),
        ("", False),
        ("a b", False),
        ("a+b", False),
        ("a\u2003b", False),
        ("a\u00a0b", False),
        ("a\tb", False),
        ("a\x01b", False),
    ],
)
def test_key_names_are_non_empty_without_spaces_pluses_or_controls(name: str, valid: bool) -> None:
    assert is_valid_key_name(name) is valid
    if not valid:
        with pytest.raises(MalformedKey):
            Ed25519Signer(name, Ed25519PrivateKey.generate())


# --- signing --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["no final newline", "tab\there\n", "nul\x00\n", "\ud800\n"])
def test_only_valid_note_texts_can_be_signed(text: str) -> None:
    with pytest.raises(MalformedNote):
        sign_note(text, [Ed25519Signer.parse(PETER_SKEY)])


def test_a_note_needs_at_least_one_signature() -> None:
    with pytest.raises(MalformedNote):
        sign_note("hello\n", [])


def test_signing_again_keeps_other_signatures_and_replaces_the_signers_own() -> None:
    _, existing = parse_note(GO_TEXT + "\n" + ENOCH_SIG)
    stale = Signature("PeterNeumann", 0xC74F20A3, b"\x00" * 64)
    message = sign_note(GO_TEXT, [Ed25519Signer.parse(PETER_SKEY)], keep=[*existing, stale])
    assert message == GO_TEXT + "\n" + ENOCH_SIG + PETER_SIG
