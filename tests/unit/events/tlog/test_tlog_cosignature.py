"""C2SP tlog-cosignature v1: timestamped Ed25519 witness cosignatures (signature type 0x04)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from events.tlog.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from events.tlog.cosignature import (
    ALG_COSIGNATURE_V1,
    COSIGNATURE_SIZE,
    CosignatureVerifier,
    Cosigner,
    cosign_note,
    cosignature_timestamp,
    cosigned_message,
)
from events.tlog.exceptions import (
    InvalidSignature,
    MalformedCosignature,
    MalformedKey,
    UnverifiedNote,
)
from events.tlog.note import (
    Ed25519Signer,
    Ed25519Verifier,
    Signature,
    key_id,
    open_note,
    parse_note,
)

# c2sp.org/tlog-cosignature, the example checkpoint and its witness line.
SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_NOTE = (
    SPEC_TEXT + "\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcy"
    "v2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3"
    "b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)
# transparency-dev/formats note/note_cosigv1_test.go: a type 0x04 witness key, a type 0x01 key,
# a v1 cosignature and a plain Ed25519 signature.
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
TEST_ED25519_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
COSIG_B64 = (
    "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBY"
    "JXORmnFBOBA=="
)
ED25519_SIG_B64 = (
    "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY="
)
NOW = 1_700_000_000


def signature_from(encoded: str, name: str = "w") -> Signature:
    raw = base64.b64decode(encoded)
    return Signature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def log_and_witness() -> tuple[Ed25519Signer, Cosigner, str]:
    log = Ed25519Signer.generate("example.com/log")
    witness = Cosigner.generate("witness.example/w1", clock=lambda: NOW)
    message = sign_checkpoint(Checkpoint("example.com/log", 5, b"\x07" * 32), [log])
    return log, witness, message


def test_the_cosigned_message_is_header_time_line_then_the_checkpoint_text() -> None:
    assert cosigned_message(SPEC_TEXT, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + SPEC_TEXT.encode()
    )


def test_the_spec_example_cosignature_carries_its_timestamp() -> None:
    _, signatures = parse_note(SPEC_NOTE)
    witness = signatures[1]
    assert (witness.name, witness.key_id) == ("witness.example.com/w1", 0x8D66CF3F)
    assert len(witness.signature) == COSIGNATURE_SIZE == 72
    assert cosignature_timestamp(witness) == 1679315147


def test_the_formats_library_cosignature_vector_carries_its_timestamp() -> None:
    assert cosignature_timestamp(signature_from(COSIG_B64)) == 1727964367


def test_a_plain_ed25519_signature_is_not_a_cosignature() -> None:
    with pytest.raises(MalformedCosignature):
        cosignature_timestamp(signature_from(ED25519_SIG_B64))


def test_a_timestamp_beyond_2_63_minus_1_is_refused() -> None:
    with pytest.raises(MalformedCosignature):
        cosignature_timestamp(Signature("w", 1, (2**63).to_bytes(8, "big") + b"\x00" * 64))
    with pytest.raises(MalformedCosignature):
        cosigned_message(SPEC_TEXT, 2**63)


def test_a_published_witness_key_reads_and_writes_back_unchanged() -> None:
    verifier = CosignatureVerifier.parse(REMORA_VKEY)
    assert (verifier.name, verifier.key_id) == ("remora.n621.de", 0xDA77ADE7)
    assert key_id(verifier.name, ALG_COSIGNATURE_V1, verifier.public_key) == 0xDA77ADE7
    assert verifier.key_text == REMORA_VKEY


def test_a_plain_ed25519_key_becomes_a_witness_key_with_a_type_4_key_id() -> None:
    plain = Ed25519Verifier.parse(TEST_ED25519_VKEY)
    witness = CosignatureVerifier.parse(TEST_ED25519_VKEY)
    assert witness == CosignatureVerifier.from_note_verifier(plain)
    assert witness.public_key == plain.public_key
    assert witness.key_id == key_id("TEST", ALG_COSIGNATURE_V1, plain.public_key) != plain.key_id


@pytest.mark.parametrize(
    "bad",
    [
        "rekor.sigstore.dev+12345678+AwEB",
        "remora.n621.de+00000000+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw3",
        "bananas.sigstore.dev+12344556",
    ],
)
def test_malformed_witness_keys_are_refused(bad: str) -> None:
    with pytest.raises(MalformedKey):
        CosignatureVerifier.parse(bad)


def test_a_witness_cosignature_verifies_beside_the_log_signature() -> None:
    log, witness, message = log_and_witness()
    cosigned = cosign_note(message, witness)
    assert cosigned.startswith(message)
    note = open_note(cosigned, [log.verifier, witness.verifier])
    assert [s.name for s in note.signatures] == ["example.com/log", "witness.example/w1"]
    assert cosignature_timestamp(note.signatures[1]) == NOW
    checkpoint, _ = open_checkpoint(cosigned, [witness.verifier])
    assert checkpoint.size == 5


def test_the_cosignature_signs_the_header_time_and_text() -> None:
    _, witness, message = log_and_witness()
    text, _ = parse_note(message)
    raw = witness.sign(text.encode())
    assert raw[:8] == NOW.to_bytes(8, "big")
    verifier = Ed25519Verifier.from_public_key("any", witness.verifier.public_key)
    assert verifier.verify(cosigned_message(text, NOW), raw[8:])
    assert not verifier.verify(text.encode(), raw[8:])


def test_a_changed_timestamp_breaks_the_cosignature() -> None:
    _, witness, message = log_and_witness()
    text, _ = parse_note(message)
    raw = witness.sign(text.encode())
    shifted = (NOW + 1).to_bytes(8, "big") + raw[8:]
    assert witness.verifier.verify(text.encode(), raw)
    assert not witness.verifier.verify(text.encode(), shifted)


def test_the_same_key_as_a_plain_note_key_cannot_vouch_for_a_cosignature() -> None:
    _, witness, message = log_and_witness()
    cosigned = cosign_note(message, witness)
    plain = Ed25519Verifier.from_public_key(witness.name, witness.verifier.public_key)
    with pytest.raises(UnverifiedNote):
        open_note(cosigned, [plain])


def test_a_cosignature_covers_extension_lines() -> None:
    log = Ed25519Signer.generate("example.com/log")
    witness = Cosigner.generate("witness.example/w1", clock=lambda: NOW)
    checkpoint = Checkpoint("example.com/log", 5, b"\x07" * 32, ("Extendo",))
    cosigned = cosign_note(sign_checkpoint(checkpoint, [log]), witness)
    with pytest.raises(InvalidSignature):
        open_note(cosigned.replace("Extendo", "Extendi"), [witness.verifier])


def test_cosigning_again_replaces_the_witness_earlier_line() -> None:
    log, _, message = log_and_witness()
    key = Ed25519PrivateKey.generate()
    witness = Cosigner("witness.example/w1", key, clock=lambda: NOW)
    later = Cosigner("witness.example/w1", key, clock=lambda: NOW + 60)
    twice = cosign_note(cosign_note(message, witness), later)
    note = open_note(twice, [log.verifier, later.verifier])
    assert [cosignature_timestamp(s) for s in note.signatures[1:]] == [NOW + 60]
    assert twice.count("— witness.example/w1 ") == 1


def test_a_cosigner_made_from_a_note_signer_key_shares_its_public_key() -> None:
    signer = Ed25519Signer.generate("witness.example/w2")
    cosigner = Cosigner.from_signer_key(signer.key_text, clock=lambda: NOW)
    assert cosigner.verifier.public_key == signer.verifier.public_key
    assert cosigner.key_id != signer.key_id
    assert "PRIVATE" not in repr(cosigner)


def test_a_cosignature_with_a_timestamp_beyond_2_63_minus_1_does_not_verify() -> None:
    _, witness, message = log_and_witness()
    text, _ = parse_note(message)
    too_late = (2**63).to_bytes(8, "big") + b"\x00" * 64
    assert not witness.verifier.verify(text.encode(), too_late)
    assert not witness.verifier.verify(text.encode(), too_late[:-1])
