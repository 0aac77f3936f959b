"""A witness of a talkstream log: keeps the last checkpoint it accepted (in a state folder),
fetches the latest, checks its signature with the key it trusts and a consistency proof from
the old one, and accepts it only if the new tree extends the old. A different key, a bad
signature, a smaller tree, or an inconsistent one (a rewritten history, or a view split between
readers) is refused with the reason; optionally the witness cosigns what it accepted
(C2SP tlog-cosignature).

State folder: ``verifier.key`` (the trusted key, pinned on the first run), ``checkpoint`` (the
last accepted note), ``cosigned`` (that note with the witness's cosignature, when cosigning).
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events.tlog import (
    Checkpoint,
    Cosigner,
    Ed25519Verifier,
    InvalidProof,
    TlogError,
    UnverifiedNote,
    cosign_note,
    open_checkpoint,
    verify_consistency,
)
from services.audit.exceptions import SplitView, WatchFailed

KEY_FILE = "verifier.key"
CHECKPOINT_FILE = "checkpoint"
COSIGNED_FILE = "cosigned"
TIMEOUT = 30.0


@dataclass(frozen=True)
class Watched:
    old_size: int | None  # None: the first checkpoint this witness accepts
    new_size: int
    cosigned: str | None

    def line(self) -> str:
        was = "first checkpoint" if self.old_size is None else f"consistent with {self.old_size}"
        return f"accepted checkpoint {self.new_size} ({was})"


class Log:
    """The watched log's HTTP API (an auditor key, when it asks for one)."""

    def __init__(self, url: str, api_key: str | None = None) -> None:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise WatchFailed(f"not an http(s) URL: {url!r}")
        self.url = url.rstrip("/")
        self.api_key = api_key

    def get(self, path: str, params: dict[str, int] | None = None) -> bytes:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(f"{self.url}{path}{query}")  # noqa: S310 (http(s) only)
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
                body: bytes = answer.read()
                return body
        except urllib.error.HTTPError as e:
            raise WatchFailed(f"GET {path} answered {e.code}: {_error_of(e.read())}") from None
        except (urllib.error.URLError, OSError) as e:
            raise WatchFailed(f"cannot reach {self.url}: {e}") from None

    def checkpoint(self) -> str:
        return self.get("/v1/audit/checkpoint").decode("utf-8", errors="replace")

    def consistency(self, old: int, new: int) -> list[bytes]:
        data = _json(self.get("/v1/audit/proof/consistency", {"from": old, "to": new}))
        try:
            return [base64.b64decode(h, validate=True) for h in data["proof"]]
        except (KeyError, TypeError, ValueError) as e:
            raise WatchFailed(f"the consistency proof is not a list of base64 hashes ({e})") from e


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as e:
        raise WatchFailed(f"the log answered something that is not JSON ({e})") from e
    if not isinstance(data, dict):
        raise WatchFailed("the log answered JSON that is not an object")
    return data


def _error_of(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", errors="replace")


def trusted_key(state: Path, given: str | None) -> Ed25519Verifier:
    """The key this witness trusts: pinned in the state folder on the first run."""
    path = state / KEY_FILE
    pinned = path.read_text("utf-8").strip() if path.exists() else None
    if pinned is None and given is None:
        raise WatchFailed(
            f"no trusted key yet in {state}: pass --key (from `talkstream audit key`)"
        )
    if pinned is not None and given is not None and given.strip() != pinned:
        raise SplitView(
            "different_key", f"--key differs from the key this witness pinned in {path}"
        )
    text = pinned or (given or "").strip()
    try:
        verifier = Ed25519Verifier.parse(text)
    except TlogError as e:
        raise WatchFailed(f"the trusted key: {e}") from e
    if pinned is None:
        state.mkdir(parents=True, exist_ok=True)
        _write(path, text + "\n")
    return verifier


def watch(log: Log, state: Path, *, key: str | None, cosigner: Cosigner | None) -> Watched:
    """One round: fetch, check, accept (or raise ``SplitView``)."""
    verifier = trusted_key(state, key)
    note = log.checkpoint()
    new = _opened(note, verifier)
    old = _accepted(state, verifier)
    if old is not None:
        _extends(log, old, new)
    _write(state / CHECKPOINT_FILE, note)
    cosigned = None
    if cosigner is not None:
        cosigned = cosign_note(note, cosigner)
        _write(state / COSIGNED_FILE, cosigned)
    return Watched(old.size if old else None, new.size, cosigned)


def _opened(note: str, verifier: Ed25519Verifier) -> Checkpoint:
    try:
        checkpoint, _ = open_checkpoint(note, [verifier], origin=verifier.name)
    except TlogError as e:
        raise SplitView(
            "different_key" if isinstance(e, UnverifiedNote) else "bad_signature",
            f"the latest checkpoint is not signed by the key this witness trusts "
            f"({verifier.name}+{verifier.key_id:08x}): {e.message}. A different key means a "
            "rewritten or forged log",
        ) from None
    return checkpoint


def _accepted(state: Path, verifier: Ed25519Verifier) -> Checkpoint | None:
    path = state / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        checkpoint, _ = open_checkpoint(path.read_text("utf-8"), [verifier])
    except (OSError, TlogError) as e:
        raise WatchFailed(f"the accepted checkpoint in {path} cannot be read: {e}") from e
    return checkpoint


def _extends(log: Log, old: Checkpoint, new: Checkpoint) -> None:
    if new.size < old.size:
        raise SplitView(
            "rewritten_history",
            f"the log's latest tree ({new.size} events) is smaller than the one this witness "
            f"accepted ({old.size}): events were removed",
        )
    if new.size == old.size:
        if new.root != old.root:
            raise SplitView(
                "split_view",
                f"two checkpoints of size {new.size} with different roots: the log shows "
                "different histories",
            )
        return
    proof = log.consistency(old.size, new.size) if old.size else []
    try:
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    except InvalidProof as e:
        raise SplitView(
            "rewritten_history",
            f"checkpoint {new.size} does not extend the accepted checkpoint {old.size} "
            f"({e.message}): the history was rewritten",
        ) from None


def _write(path: Path, text: str) -> None:
    """Atomically: the state never holds half a checkpoint."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
