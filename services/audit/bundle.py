"""Exporting the log as a bundle an auditor verifies offline (docs/audit.md).

A tar.gz holding ``manifest.json`` (format, origin, verifier key, tree size, counts, the
SHA-256 of every other member), ``events.jsonl`` (leaf i's stored bytes exactly as hashed, one
per line, in position order), ``checkpoints/<size>`` (each signed note as served),
``tiles/tile/...`` (every hash tile and entry bundle of the tree, paths as served) and
``verifier.key`` (the log's note verifier key).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from events.tlog import Tile, tiles_for_size
from services.recorder.application import Negotiations

FORMAT = "talkstream-audit-bundle/1"
MANIFEST = "manifest.json"
EVENTS = "events.jsonl"
KEY = "verifier.key"
CHECKPOINTS_DIR = "checkpoints/"
TILES_DIR = "tiles/"


class SignedCheckpoint(Protocol):
    @property
    def size(self) -> int: ...

    @property
    def note(self) -> str: ...


class LogSource(Protocol):
    """What the export reads of the log (``services.recorder.ledger.Ledger`` is one)."""

    def size(self) -> int: ...

    def checkpoints(self, after: int = 0, limit: int = 1000) -> Iterable[SignedCheckpoint]: ...

    def tile(self, tile: Tile) -> bytes: ...

    def entries(self, tile: Tile) -> bytes: ...


@dataclass(frozen=True)
class Exported:
    path: Path
    events: int
    checkpoints: int
    tiles: int
    bytes: int


def export(
    app: Negotiations,
    log: LogSource,
    origin: str,
    verifier_key: str,
    out: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> Exported:
    """Writes the bundle of the tree as the log holds it now (its first ``log.size()``
    events); the file appears complete or not at all."""
    size = log.size()
    out.parent.mkdir(parents=True, exist_ok=True)
    members: dict[str, str] = {}
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as tmp:
        events_path = Path(tmp) / EVENTS
        members[EVENTS] = _write_events(app, size, events_path, progress)
        notes = _notes(log, size)
        tiles = tiles_for_size(size)
        partial = Path(tmp) / "bundle.tar.gz"
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(events_path, arcname=EVENTS)
            _add(tar, members, KEY, (verifier_key.strip() + "\n").encode())
            for checkpoint_size, note in notes:
                _add(tar, members, f"{CHECKPOINTS_DIR}{checkpoint_size}", note.encode())
            for tile in tiles:
                _add(tar, members, f"{TILES_DIR}{tile.path}", log.tile(tile))
                if tile.level == 0:
                    path = f"{TILES_DIR}{tile.path.replace('tile/0/', 'tile/entries/', 1)}"
                    _add(tar, members, path, log.entries(tile))
            manifest = {
                "format": FORMAT,
                "origin": origin,
                "verifier_key": verifier_key.strip(),
                "tree_size": size,
                "events": size,
                "checkpoints": len(notes),
                "tiles": len(tiles),
                "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "members": members,
            }
            _add(tar, {}, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        os.replace(partial, out)
    return Exported(out, size, len(notes), len(tiles), out.stat().st_size)


def _write_events(
    app: Negotiations, size: int, path: Path, progress: Callable[[int], None] | None
) -> str:
    """Leaf i's stored bytes as hashed, one per line; returns the file's SHA-256."""
    digest = hashlib.sha256()
    written = 0
    with path.open("wb") as f:
        for n in app.notifications(page=1000):
            if written == size:
                break
            line = app.checked_mapper.unpack(n).body + b"\n"
            digest.update(line)
            f.write(line)
            written += 1
            if progress is not None and written % 1000 == 0:
                progress(written)
    return digest.hexdigest()


def _notes(log: LogSource, size: int) -> list[tuple[int, str]]:
    notes: list[tuple[int, str]] = []
    after = -1
    while True:
        page = list(log.checkpoints(after=after, limit=1000))
        notes.extend((c.size, c.note) for c in page if c.size <= size)
        if len(page) < 1000:
            return notes
        after = page[-1].size


def _add(tar: tarfile.TarFile, members: dict[str, str], name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
    members[name] = hashlib.sha256(data).hexdigest()
