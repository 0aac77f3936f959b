"""API keys: created once and shown once, kept only as SHA-256 digests in a JSON file under the
data directory (``TALKSTREAM_KEYS_FILE``, default ``<home>/keys.json``, mode 0600).

A key reads ``tsk_<id>_<secret>``: the id finds the record, the digest of the whole key must
match. Keys carry 256 random bits, so a plain digest is enough (no password stretching).

A running process checks whether the file changed at most once every ``RECHECK_SECONDS`` (a
key it does not know yet, at once): a revocation by another process applies within that
interval, and a request's look-up is a dict access, with no ``stat()`` of the file.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from services.api.exceptions import KeyProblem

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,63}$"
RECHECK_SECONDS = 1.0

Stamp = tuple[int, int] | None  # the file's (mtime_ns, size); None: no file


class Role(StrEnum):
    publisher = "publisher"
    reader = "reader"
    auditor = "auditor"
    admin = "admin"


class Permission(StrEnum):
    write = "write"
    read = "read"
    audit = "audit"
    manage = "manage"  # webhooks (admin only)


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.publisher: frozenset({Permission.write}),
    Role.reader: frozenset({Permission.read}),
    Role.auditor: frozenset({Permission.read, Permission.audit}),
    Role.admin: frozenset(Permission),
}


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role | None  # None: anonymous

    def may(self, permission: Permission) -> bool:
        if self.role is None:
            return permission is Permission.read
        return permission in GRANTS[self.role]


ANONYMOUS = Principal("anonymous", None)


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    name: str
    role: Role
    digest: str
    created_at: str
    revoked_at: str | None = None

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "digest"}


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyRing:
    def __init__(
        self,
        path: Path,
        *,
        recheck: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.recheck = recheck
        self._clock = clock
        self._cache: tuple[Stamp, dict[str, KeyRecord]] | None = None
        self._checked_at = -math.inf
        self._lock = threading.Lock()

    def create(self, *, name: str, role: Role) -> tuple[KeyRecord, str]:
        """A new key for ``name``; the clear key is returned here and never again."""
        with self._locked() as records:
            if any(r.name == name and r.revoked_at is None for r in records.values()):
                raise KeyProblem(
                    "key_name_taken", f"an active key is already named {name!r}; revoke it first"
                )
            key_id = secrets.token_hex(4)
            key = f"tsk_{key_id}_{secrets.token_urlsafe(32)}"
            record = KeyRecord(key_id, name, role, _digest(key), _now())
            records[key_id] = record
        return record, key

    def revoke(self, name_or_id: str) -> list[KeyRecord]:
        """Revokes the active keys with this id or name; returns them."""
        with self._locked() as records:
            hits = [
                r
                for r in records.values()
                if r.revoked_at is None and name_or_id in (r.key_id, r.name)
            ]
            if not hits:
                raise KeyProblem("unknown_key", f"no active key has the id or name {name_or_id!r}")
            for r in hits:
                records[r.key_id] = KeyRecord(**{**asdict(r), "revoked_at": _now()})
            return [records[r.key_id] for r in hits]

    def revoke_if_present(self, name: str) -> int:
        """Revokes the active keys named ``name``, if any (the demo's key is re-issued on each
        start, since a key is shown only once)."""
        try:
            return len(self.revoke(name))
        except KeyProblem:
            return 0

    def records(self) -> list[KeyRecord]:
        return sorted(self._read().values(), key=lambda r: r.created_at)

    def authenticate(self, key: str) -> Principal | None:
        """The principal of an active key, else None."""
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != "tsk":
            return None
        record = self._read().get(parts[1]) or self._read(fresh=True).get(parts[1])
        if record is None or record.revoked_at is not None:
            return None
        if not hmac.compare_digest(record.digest, _digest(key)):
            return None
        return Principal(record.name, record.role)

    def _read(self, *, fresh: bool = False) -> dict[str, KeyRecord]:
        """The file's records: those last read while the file was checked less than
        ``recheck`` seconds ago (unless ``fresh``), else re-read if the file changed."""
        with self._lock:
            now = self._clock()
            if self._cache is not None and not fresh and now - self._checked_at < self.recheck:
                return self._cache[1]
            stamp = self._stamp()
            if self._cache is None or self._cache[0] != stamp:
                self._cache = (stamp, _parse(self.path) if stamp is not None else {})
            self._checked_at = now
            return self._cache[1]

    def _stamp(self) -> Stamp:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    @contextmanager
    def _locked(self) -> Iterator[dict[str, KeyRecord]]:
        """The records for changing, under an exclusive lock; written back atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = _parse(self.path) if self.path.exists() else {}
            yield records
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"keys": [asdict(r) for r in records.values()]}, f, indent=2)
            os.replace(tmp, self.path)
        with self._lock:
            self._checked_at = -math.inf  # this process sees its own change at once


def _parse(path: Path) -> dict[str, KeyRecord]:
    try:
        data = json.loads(path.read_text("utf-8"))
        return {r["key_id"]: KeyRecord(**{**r, "role": Role(r["role"])}) for r in data["keys"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise KeyProblem("keys_file_unreadable", f"cannot read the keys file {path}: {e}") from e


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
