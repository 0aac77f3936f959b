"""Verifying an exported bundle with no store and no Redis (docs/audit.md says what a bundle
holds): every member's digest, every checkpoint's signature, every event's bytes against the
hash its leaf carries, every chain link, the tree rebuilt from the leaves against every
checkpoint's root and every served tile, and optionally a checkpoint the auditor kept."""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from events.tlog import (
    TILE_WIDTH,
    Checkpoint,
    Ed25519Verifier,
    Tile,
    TlogError,
    leaf,
    leaf_hash,
    node_hash,
    open_checkpoint,
    parse_entries_path,
    parse_entry_bundle,
    parse_leaf,
    tiles_for_size,
)
from services.audit.bundle import (
    CHECKPOINTS_DIR,
    EVENTS,
    FORMAT,
    KEY,
    MANIFEST,
    TILES_DIR,
)
from services.audit.exceptions import BadBundle
from services.recorder.audit import (
    ALTERED_BYTES,
    BAD_SIGNATURE,
    BROKEN_LINK,
    EXTRA_EVENT,
    MISSING_EVENT,
    REORDERED,
    AuditReport,
    Finding,
)

LIMIT = 100


class Frontier:
    """The tree grown leaf by leaf with O(log n) memory: the perfect subtrees of the right
    edge. Reports each completed node at a tile level (``8 * L``) to ``on_node``."""

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[tuple[int, bytes]] = []  # (level, hash), highest level first
        self.completed: list[tuple[int, int, bytes]] = []  # (level, index, hash) at tile levels

    def push(self, value: bytes) -> None:
        level, index = 0, self.size
        self.completed.append((0, index, value))
        while self.stack and self.stack[-1][0] == level:
            value = node_hash(self.stack.pop()[1], value)
            level, index = level + 1, index >> 1
            if level % 8 == 0:
                self.completed.append((level, index, value))
        self.stack.append((level, value))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return hashlib.sha256(b"").digest()
        value = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            value = node_hash(left, value)
        return value


@dataclass
class _Chain:
    version: int = 0
    last_hash: str | None = None


@dataclass
class _State:
    report: AuditReport = field(default_factory=AuditReport)
    found: dict[str, list[Finding]] = field(default_factory=dict)

    def add(self, part: str, kind: str, position: int | None, nid: str | None, why: str) -> None:
        bucket = self.found.setdefault(part, [])
        if len(bucket) < LIMIT:
            bucket.append(Finding(kind, position, nid, why))


def verify_bundle(path: Path, pinned: str | None = None) -> AuditReport:
    """The bundle's verdict; ``pinned``: a checkpoint note the auditor kept."""
    state = _State()
    with _open(path) as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        manifest = _manifest(tar, members)
        blobs = {
            name: _read(tar, members[name]) for name in members if name not in (EVENTS, MANIFEST)
        }
        _check_digests(state, manifest, blobs, members)
        verifier = _verifier(manifest, blobs)
        checkpoints = _checkpoints(state, verifier, manifest, blobs)
        leaves = _leaves(manifest, blobs)
        pin = _pin(state, verifier, pinned)
        sizes = {c.size for c in checkpoints} | ({pin.size} if pin else set())
        tiles = TileCheck(state, blobs, leaves)
        lines = _Lines(tar, members[EVENTS])
        roots = _events(state, lines, leaves, sizes, tiles)
        if lines.digest.hexdigest() != manifest["members"].get(EVENTS):
            state.add("members", ALTERED_BYTES, None, None, f"{EVENTS} differs from its digest")
    _check_roots(state, checkpoints, roots, len(leaves))
    if pin is not None:
        _check_pin(state, pin, roots, len(leaves))
    tiles.finish()
    report = state.report
    report.checked = len(leaves)
    report.last_position = leaves[-1][0] if leaves else 0
    for part in ("members", "checkpoints", "events", "tree", "tiles", "pinned checkpoint"):
        if part == "pinned checkpoint" and pinned is None:
            continue
        report.add(part, state.found.get(part, []))
    return report


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:gz")
    except (OSError, tarfile.TarError) as e:
        raise BadBundle(f"{path}: not a readable tar.gz bundle ({e})") from e


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    f = tar.extractfile(member)
    if f is None:
        raise BadBundle(f"{member.name}: not a regular file")
    return f.read()


def _manifest(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo]) -> dict[str, Any]:
    for name in (MANIFEST, EVENTS, KEY):
        if name not in members:
            raise BadBundle(f"the bundle has no {name}")
    try:
        manifest = json.loads(_read(tar, members[MANIFEST]))
    except ValueError as e:
        raise BadBundle(f"{MANIFEST}: not JSON ({e})") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadBundle(f"{MANIFEST}: format is not {FORMAT}")
    for name, kind in (("tree_size", int), ("members", dict), ("origin", str)):
        if not isinstance(manifest.get(name), kind):
            raise BadBundle(f"{MANIFEST}: {name} missing or not a {kind.__name__}")
    return manifest


def _check_digests(
    state: _State,
    manifest: dict[str, Any],
    blobs: dict[str, bytes],
    members: dict[str, tarfile.TarInfo],
) -> None:
    listed: dict[str, Any] = manifest["members"]
    for name in sorted(set(members) - {MANIFEST} - set(listed)):
        state.add("members", EXTRA_EVENT, None, None, f"{name} is not in the manifest")
    for name in sorted(set(listed) - set(members)):
        state.add("members", MISSING_EVENT, None, None, f"{name} is listed but missing")
    for name, data in blobs.items():
        if name in listed and hashlib.sha256(data).hexdigest() != listed[name]:
            state.add("members", ALTERED_BYTES, None, None, f"{name} differs from its digest")


def _verifier(manifest: dict[str, Any], blobs: dict[str, bytes]) -> Ed25519Verifier:
    text = blobs[KEY].decode("utf-8", errors="replace").strip()
    if manifest.get("verifier_key") != text:
        raise BadBundle(f"{KEY} differs from the manifest's verifier_key")
    try:
        return Ed25519Verifier.parse(text)
    except TlogError as e:
        raise BadBundle(f"{KEY}: {e}") from e


def _checkpoints(
    state: _State, verifier: Ed25519Verifier, manifest: dict[str, Any], blobs: dict[str, bytes]
) -> list[Checkpoint]:
    out: list[Checkpoint] = []
    for name in sorted(n for n in blobs if n.startswith(CHECKPOINTS_DIR)):
        try:
            checkpoint, _ = open_checkpoint(blobs[name], [verifier], origin=manifest["origin"])
        except TlogError as e:
            state.add("checkpoints", BAD_SIGNATURE, None, None, f"{name}: {e}")
            continue
        if name != f"{CHECKPOINTS_DIR}{checkpoint.size}":
            why = f"{name} holds the checkpoint of size {checkpoint.size}"
            state.add("checkpoints", BAD_SIGNATURE, None, None, why)
        out.append(checkpoint)
    return out


def _leaves(manifest: dict[str, Any], blobs: dict[str, bytes]) -> list[tuple[int, str]]:
    """(position, hash) of every leaf, from the entry bundles in tile order."""
    bundles: list[tuple[Tile, bytes]] = []
    for name, data in blobs.items():
        if name.startswith(f"{TILES_DIR}tile/entries/"):
            try:
                bundles.append((parse_entries_path(name[len(TILES_DIR) :]), data))
            except TlogError as e:
                raise BadBundle(f"{name}: {e}") from e
    leaves: list[tuple[int, str]] = []
    for tile, data in sorted(bundles):
        if tile.index * TILE_WIDTH != len(leaves):
            raise BadBundle(f"entry bundle {tile.path} is out of sequence")
        try:
            entries = parse_entry_bundle(data)
            leaves.extend(parse_leaf(entry) for entry in entries)
        except TlogError as e:
            raise BadBundle(f"entry bundle {tile.path}: {e}") from e
        if len(entries) != tile.width:
            raise BadBundle(f"entry bundle {tile.path} holds {len(entries)} entries")
    if len(leaves) != manifest["tree_size"]:
        raise BadBundle(f"the entry bundles hold {len(leaves)} leaves, not the tree size")
    return leaves


def _pin(state: _State, verifier: Ed25519Verifier, pinned: str | None) -> Checkpoint | None:
    if pinned is None:
        return None
    try:
        checkpoint, _ = open_checkpoint(pinned, [verifier])
    except TlogError as e:
        why = f"the checkpoint you kept does not verify with the bundle's key ({e})"
        state.add("pinned checkpoint", BAD_SIGNATURE, None, None, why)
        return None
    return checkpoint


class _Lines:
    """events.jsonl line by line, hashing the whole file as it goes."""

    def __init__(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        f: IO[bytes] | None = tar.extractfile(member)
        if f is None:
            raise BadBundle(f"{EVENTS}: not a regular file")
        self.file = f
        self.digest = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for line in self.file:
            self.digest.update(line)
            yield line


def _events(
    state: _State, lines: _Lines, leaves: list[tuple[int, str]], sizes: set[int], tiles: TileCheck
) -> dict[int, bytes]:
    """One pass over events.jsonl: bytes against leaves, chains, the tree's roots at the
    checkpoints' sizes, and its nodes at tile levels against the served tiles."""
    frontier = Frontier()
    roots: dict[int, bytes] = {0: frontier.root()} if 0 in sizes else {}
    chains: dict[str, _Chain] = {}
    count = 0
    for line in lines:
        if count >= len(leaves):
            state.add("events", EXTRA_EVENT, None, None, f"{EVENTS} holds more lines than leaves")
            break
        position, leaf_hash_hex = leaves[count]
        _event(state, line, position, leaf_hash_hex, chains)
        frontier.push(leaf_hash(leaf(position, leaf_hash_hex)))
        for level, index, value in frontier.completed:
            tiles.see(level, index, value)
        frontier.completed.clear()
        count += 1
        if count in sizes:
            roots[count] = frontier.root()
    if count < len(leaves):
        why = f"{EVENTS} ends after {count} of {len(leaves)} events"
        state.add("events", MISSING_EVENT, leaves[count][0], None, why)
    return roots


def _event(
    state: _State, line: bytes, position: int, leaf_hash_hex: str, chains: dict[str, _Chain]
) -> None:
    body = line[:-1] if line.endswith(b"\n") else line
    if hashlib.sha256(body).hexdigest() != leaf_hash_hex:
        state.add("events", ALTERED_BYTES, position, None, "the bytes differ from the leaf's hash")
        return
    try:
        event = json.loads(body)
        nid, version = str(event["negotiation_id"]), int(event["version"])
    except (ValueError, KeyError, TypeError) as e:
        state.add("events", ALTERED_BYTES, position, None, f"not an event ({type(e).__name__})")
        return
    chain = chains.setdefault(nid, _Chain())
    if version <= chain.version:
        why = f"version {version} comes after version {chain.version}"
        state.add("events", REORDERED, position, nid, why)
        return
    if version != chain.version + 1:
        why = f"version {version} follows {chain.version}: events are missing"
        state.add("events", MISSING_EVENT, position, nid, why)
    elif event.get("prev_hash") != chain.last_hash:
        why = "prev_hash does not match the previous event's hash"
        state.add("events", BROKEN_LINK, position, nid, why)
    chain.version, chain.last_hash = version, leaf_hash_hex


def _check_roots(
    state: _State,
    checkpoints: list[Checkpoint],
    roots: dict[int, bytes],
    size: int,
) -> None:
    for c in checkpoints:
        if c.size > size:
            why = f"checkpoint {c.size} covers more events than the bundle's {size}"
            state.add("tree", MISSING_EVENT, None, None, why)
        elif roots.get(c.size) != c.root:
            why = f"the tree of the first {c.size} events differs from checkpoint {c.size}'s root"
            state.add("tree", ALTERED_BYTES, None, None, why)


def _check_pin(state: _State, pin: Checkpoint, roots: dict[int, bytes], size: int) -> None:
    if pin.size > size:
        why = f"the checkpoint you kept covers {pin.size} events, the bundle only {size}"
        state.add("pinned checkpoint", MISSING_EVENT, None, None, why)
    elif roots.get(pin.size) != pin.root:
        why = f"the bundle's first {pin.size} events differ from the checkpoint you kept"
        state.add("pinned checkpoint", ALTERED_BYTES, None, None, why)


class TileCheck:
    """The served tiles against the nodes the tree completes, compared as they complete."""

    def __init__(self, state: _State, blobs: dict[str, bytes], leaves: list[tuple[int, str]]):
        self.state = state
        self.leaves = leaves
        self.expected = {f"{TILES_DIR}{t.path}": t for t in tiles_for_size(len(leaves))}
        self.served = {n for n in blobs if n.startswith(TILES_DIR) and "/entries/" not in n}
        self.data = {
            (t.level, t.index): (name, blobs[name], t)
            for name, t in self.expected.items()
            if name in self.served
        }
        self.bad: set[str] = set()

    def see(self, level: int, index: int, value: bytes) -> None:
        found = self.data.get((level // 8, index // TILE_WIDTH))
        if found is None:
            return
        name, data, tile = found
        slot = index % TILE_WIDTH
        if slot < tile.width and name not in self.bad and data[32 * slot : 32 * slot + 32] != value:
            self.bad.add(name)
            first_leaf = index << level
            position = self.leaves[first_leaf][0] if first_leaf < len(self.leaves) else None
            self.state.add("tiles", ALTERED_BYTES, position, None, f"{name}: hash {slot} differs")

    def finish(self) -> None:
        for name in sorted(set(self.expected) - self.served):
            self.state.add("tiles", MISSING_EVENT, None, None, f"tile {name} is missing")
        for name in sorted(self.served - set(self.expected)):
            self.state.add("tiles", EXTRA_EVENT, None, None, f"{name} does not belong to the tree")
        for name, data, tile in self.data.values():
            if len(data) != 32 * tile.width and name not in self.bad:
                self.state.add("tiles", ALTERED_BYTES, None, None, f"{name}: {len(data)} bytes")
