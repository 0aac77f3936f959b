"""The log's signing key: created on first use under TALKSTREAM_HOME with mode 0600 and
reused after, or taken from TALKSTREAM_LOG_KEY / TALKSTREAM_LOG_KEY_FILE; a key that cannot
sign for the log's origin is refused with a readable reason."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from events.tlog import Ed25519Signer, Ed25519Verifier
from services.recorder.exceptions import LogKeyProblem
from services.recorder.ledger import load_signer, load_verifier
from services.settings import Settings


def test_the_key_is_created_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    first = load_signer(settings)
    path = tmp_path / "home" / "log.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first.key_text
    assert load_signer(settings).key_text == first.key_text
    verifier = load_verifier(settings)
    assert Ed25519Verifier.parse(verifier.key_text) == first.verifier
    assert verifier.name == "talkstream.local/log"


def test_a_key_given_in_the_settings_is_used_and_no_file_is_made(tmp_path: Path) -> None:
    given = Ed25519Signer.generate("audit.example/log")
    settings = Settings(
        home=tmp_path / "home", log_origin="audit.example/log", log_key=given.key_text
    )
    assert load_signer(settings).key_text == given.key_text
    assert not (tmp_path / "home" / "log.key").exists()
    assert given.key_text not in repr(settings)  # a secret


def test_a_key_file_named_in_the_settings_is_read(tmp_path: Path) -> None:
    given = Ed25519Signer.generate("talkstream.local/log")
    path = tmp_path / "elsewhere.key"
    path.write_text(given.key_text + "\n")
    assert load_signer(Settings(home=tmp_path, log_key_file=path)).key_text == given.key_text


def test_a_missing_key_file_named_in_the_settings_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.key"
    with pytest.raises(LogKeyProblem, match="cannot read the log key file") as refused:
        load_signer(Settings(home=tmp_path, log_key_file=path))
    assert refused.value.code == "log_key_unreadable"
    assert not path.exists()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (Ed25519Signer.generate("other.example/log").key_text, "origin"),
        ("PRIVATE+KEY+talkstream.local/log+00000000+AQ==", "base64 of a signature type"),
        ("not a key", "PRIVATE"),
    ],
    ids=["another origin", "short seed", "not a key"],
)
def test_a_key_that_cannot_sign_for_the_log_is_refused(
    tmp_path: Path, text: str, reason: str
) -> None:
    with pytest.raises(LogKeyProblem, match=reason) as refused:
        load_signer(Settings(home=tmp_path, log_key=text))
    assert refused.value.code == "log_key_invalid"
    assert "TALKSTREAM_LOG_KEY" in refused.value.message
