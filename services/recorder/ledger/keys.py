"""The log's signing key, from settings: ``TALKSTREAM_LOG_KEY`` (a signer key text), else the
file ``TALKSTREAM_LOG_KEY_FILE``, else ``$TALKSTREAM_HOME/log.key``, created on first use with
a fresh Ed25519 key, readable by its owner only (mode 0600). The key is named after the log's
origin (``TALKSTREAM_LOG_ORIGIN``), as C2SP tlog-checkpoint asks."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from events.tlog import Ed25519Signer, Ed25519Verifier, MalformedKey
from services.recorder.exceptions import LogKeyProblem
from services.settings import Settings

log = logging.getLogger("talkstream.ledger")
KEY_FILE_MODE = 0o600


def load_signer(settings: Settings) -> Ed25519Signer:
    """The log's signer; creates the key file on first use when no key is set."""
    if settings.log_key is not None:
        return _parsed(settings.log_key.get_secret_value(), settings, "TALKSTREAM_LOG_KEY")
    path = settings.log_key_path
    if settings.log_key_file is None and not path.exists():
        _create(path, settings.log_origin)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise LogKeyProblem(
            "log_key_unreadable", f"cannot read the log key file {path}: {e.strerror}"
        ) from None
    return _parsed(text.strip(), settings, str(path))


def load_verifier(settings: Settings) -> Ed25519Verifier:
    """The verifier key of the log's signer (what auditors trust)."""
    return load_signer(settings).verifier


def _parsed(text: str, settings: Settings, where: str) -> Ed25519Signer:
    try:
        signer = Ed25519Signer.parse(text)
    except MalformedKey as e:
        raise LogKeyProblem("log_key_invalid", f"{where}: {e.message}") from None
    if signer.name != settings.log_origin:
        raise LogKeyProblem(
            "log_key_invalid",
            f"{where}: the key is named {signer.name!r}, but the log's origin "
            f"(TALKSTREAM_LOG_ORIGIN) is {settings.log_origin!r}",
        )
    return signer


def _create(path: Path, origin: str) -> None:
    """Writes a fresh key, mode 0600; another process creating it first wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    signer = Ed25519Signer.generate(origin)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(signer.key_text + "\n")
    log.info("created the log's signing key %s (%s)", path, signer.verifier.key_text)
