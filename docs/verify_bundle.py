#!/usr/bin/env python3
"""Verify a talkstream audit bundle on your own, trusting nothing of talkstream.

    python docs/verify_bundle.py BUNDLE.tar.gz [--checkpoint NOTE]

Written from docs/audit.md alone: Python's standard library plus ``cryptography`` (Ed25519),
no import of talkstream. It checks every member's SHA-256 against the manifest, every
checkpoint's Ed25519 signature (C2SP signed-note) with the bundle's verifier key, every event's
bytes against the hash its leaf carries, each negotiation's hash chain, the RFC 9162 Merkle
tree of the leaves against every checkpoint's root, every tile (C2SP tlog-tiles) against the
tree, and, with --checkpoint, that a checkpoint you kept is signed by the same key and is a
prefix of the bundle's tree. Prints one line per problem; exit 0 only when everything verifies
(1: a problem found; 2: the bundle or the arguments cannot be read).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
import tarfile
from collections.abc import Iterator
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "talkstream-audit-bundle/1"
TILE_WIDTH = 256


class Unreadable(Exception):
    """The bundle cannot be read as one (exit 2)."""


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def b64(text: str) -> bytes:
    """Standard base64, canonical spelling only."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"bad base64 {text!r}") from e
    if base64.b64encode(data).decode() != text:
        raise ValueError(f"non-canonical base64 {text!r}")
    return data


# ---- signed notes (C2SP signed-note), checkpoints (C2SP tlog-checkpoint)


class Verifier:
    """A note verifier key: <name>+<key id, 8 hex>+<base64(0x01 || Ed25519 public key)>."""

    def __init__(self, text: str) -> None:
        name, key_id, key = text.strip().split("+", 2)
        raw = b64(key)
        if len(raw) != 33 or raw[0] != 0x01:
            raise ValueError("not an Ed25519 verifier key")
        computed = sha256(name.encode() + b"\n" + raw)[:4]
        if computed.hex() != key_id:
            raise ValueError("the key ID does not match the key")
        self.name, self.key_id = name, computed
        self.public = Ed25519PublicKey.from_public_bytes(raw[1:])


def open_note(note: str, verifier: Verifier) -> str:
    """The note's text, if ``verifier`` signed it; raises ValueError otherwise."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise ValueError("not a signed note")
    text, lines = note[: split + 1], note[split + 2 : -1].split("\n")
    found = False
    for line in lines:
        if not line.startswith("\u2014 "):
            raise ValueError(f"bad signature line {line!r}")
        name, _, encoded = line[2:].rpartition(" ")
        raw = b64(encoded)
        if name != verifier.name or raw[:4] != verifier.key_id:
            continue
        try:
            verifier.public.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise ValueError(f"the signature by {name} does not verify") from None
        found = True
    if not found:
        raise ValueError(f"no signature by the trusted key {verifier.name}")
    return text


def checkpoint_of(text: str, origin: str | None) -> tuple[int, bytes]:
    """(tree size, root) of a checkpoint's note text."""
    lines = text.split("\n")
    if len(lines) < 4 or not lines[1].isdigit() or (lines[1] != "0" and lines[1][0] == "0"):
        raise ValueError("not a checkpoint")
    if origin is not None and lines[0] != origin:
        raise ValueError(f"checkpoint of origin {lines[0]!r}, not {origin!r}")
    root = b64(lines[2])
    if len(root) != 32:
        raise ValueError("the root is not 32 bytes")
    return int(lines[1]), root


# ---- Merkle tree (RFC 9162 section 2.1) and tiles (C2SP tlog-tiles)


def leaf_hash(position: int, event_hash: bytes) -> bytes:
    return sha256(b"\x00" + position.to_bytes(8, "big") + event_hash)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


class Tree:
    """The tree grown leaf by leaf, holding only the right edge's perfect subtrees; each new
    node at a tile level (0, 8, 16, ...) is handed to ``on_node(level, index, hash)``."""

    def __init__(self, on_node: Any) -> None:
        self.size = 0
        self.edge: list[tuple[int, bytes]] = []
        self.on_node = on_node

    def push(self, value: bytes) -> None:
        level, index = 0, self.size
        self.on_node(0, index, value)
        while self.edge and self.edge[-1][0] == level:
            value = node_hash(self.edge.pop()[1], value)
            level, index = level + 1, index >> 1
            if level % 8 == 0:
                self.on_node(level, index, value)
        self.edge.append((level, value))
        self.size += 1

    def root(self) -> bytes:
        if not self.edge:
            return sha256(b"")
        value = self.edge[-1][1]
        for _, left in reversed(self.edge[:-1]):
            value = node_hash(left, value)
        return value


def tile_index_path(index: int) -> str:
    digits = str(index)
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


def tiles_of(size: int) -> dict[tuple[int, int], tuple[str, int]]:
    """Every tile of a tree of ``size``: (level, index) -> (path, width)."""
    tiles: dict[tuple[int, int], tuple[str, int]] = {}
    level = 0
    while size >> (8 * level):
        count = size >> (8 * level)
        for index in range(-(-count // TILE_WIDTH)):
            width = min(TILE_WIDTH, count - index * TILE_WIDTH)
            suffix = "" if width == TILE_WIDTH else f".p/{width}"
            tiles[(level, index)] = (f"tile/{level}/{tile_index_path(index)}{suffix}", width)
        level += 1
    return tiles


def entries_of(data: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(data):
        length = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + length > len(data) or at + 2 > len(data):
            raise Unreadable("a truncated entry bundle")
        out.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    return out


# ---- the bundle


class Verification:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, kind: str, position: int | None, reason: str) -> None:
        where = f"position {position}" if position is not None else "the bundle"
        self.problems.append(f"{kind} at {where}: {reason}")


class Bundle:
    """The bundle's members in memory (but events.jsonl, read line by line)."""

    def __init__(self, path: str) -> None:
        try:
            with tarfile.open(path, "r:gz") as tar:
                self.blobs: dict[str, bytes] = {}
                for member in tar.getmembers():
                    f = tar.extractfile(member) if member.isfile() else None
                    if f is not None and member.name != "events.jsonl":
                        self.blobs[member.name] = f.read()
                names = {m.name for m in tar.getmembers() if m.isfile()}
        except (OSError, tarfile.TarError) as e:
            raise Unreadable(f"{path}: not a readable tar.gz ({e})") from e
        for name in ("manifest.json", "events.jsonl", "verifier.key"):
            if name not in names:
                raise Unreadable(f"the bundle has no {name}")
        try:
            self.manifest: dict[str, Any] = json.loads(self.blobs["manifest.json"])
        except ValueError as e:
            raise Unreadable(f"manifest.json is not JSON ({e})") from e
        if self.manifest.get("format") != FORMAT:
            raise Unreadable(f"manifest.json: format is not {FORMAT}")
        self.size = self.manifest.get("tree_size")
        if not isinstance(self.size, int):
            raise Unreadable("manifest.json: tree_size is not a number")
        self.members: dict[str, str] = self.manifest.get("members", {})
        self.path = path
        self.events_digest = hashlib.sha256()

    def events(self) -> Iterator[bytes]:
        """events.jsonl line by line (streamed, never all in memory), hashed as read."""
        with tarfile.open(self.path, "r:gz") as tar:
            f = tar.extractfile("events.jsonl")
            for line in f or []:
                self.events_digest.update(line)
                yield line


def check_members(v: Verification, b: Bundle) -> None:
    for name in sorted(set(b.blobs) - {"manifest.json"}):
        if name not in b.members:
            v.problem("extra_event", None, f"{name} is not in the manifest")
    for name, data in b.blobs.items():
        if name in b.members and hashlib.sha256(data).hexdigest() != b.members[name]:
            v.problem("altered_bytes", None, f"{name} differs from its digest")
    for name in b.members:
        if name not in b.blobs and name != "events.jsonl":
            v.problem("missing_event", None, f"{name} is listed but missing")


def verifier_of(b: Bundle) -> Verifier:
    key_text = b.blobs["verifier.key"].decode().strip()
    if key_text != b.manifest.get("verifier_key"):
        raise Unreadable("verifier.key differs from the manifest's verifier_key")
    try:
        return Verifier(key_text)
    except ValueError as e:
        raise Unreadable(f"verifier.key: {e}") from e


def signed_checkpoints(v: Verification, b: Bundle, verifier: Verifier) -> list[tuple[int, bytes]]:
    checkpoints: list[tuple[int, bytes]] = []
    for name in sorted(n for n in b.blobs if n.startswith("checkpoints/")):
        try:
            note = b.blobs[name].decode()
            size, root = checkpoint_of(open_note(note, verifier), b.manifest.get("origin"))
        except (ValueError, UnicodeDecodeError) as e:
            v.problem("bad_signature", None, f"{name}: {e}")
            continue
        if name != f"checkpoints/{size}":
            v.problem("bad_signature", None, f"{name} holds the checkpoint of size {size}")
        checkpoints.append((size, root))
    return checkpoints


def leaves_of(b: Bundle) -> list[tuple[int, bytes]]:
    leaves: list[tuple[int, bytes]] = []
    for (level, _), (path, width) in sorted(tiles_of(b.size).items()):
        if level != 0:
            continue
        name = "tiles/" + path.replace("tile/0/", "tile/entries/", 1)
        if name not in b.blobs:
            raise Unreadable(f"the entry bundle {name} is missing")
        entries = entries_of(b.blobs[name])
        if len(entries) != width or any(len(e) != 40 for e in entries):
            raise Unreadable(f"the entry bundle {name} does not hold {width} leaves")
        leaves.extend((int.from_bytes(e[:8], "big"), e[8:]) for e in entries)
    return leaves


class TileCheck:
    """Each tile hash against the node the tree completes there."""

    def __init__(self, v: Verification, b: Bundle, leaves: list[tuple[int, bytes]]) -> None:
        self.v, self.b, self.leaves = v, b, leaves
        self.tiles = tiles_of(b.size)
        self.bad: set[str] = set()
        paths = {p for p, _ in self.tiles.values()}
        for name in b.blobs:
            hash_tile = name.startswith("tiles/tile/") and "/entries/" not in name
            if hash_tile and name[len("tiles/") :] not in paths:
                v.problem("extra_event", None, f"{name} does not belong to the tree")

    def __call__(self, level: int, index: int, value: bytes) -> None:
        found = self.tiles.get((level // 8, index // TILE_WIDTH))
        if found is None or found[0] in self.bad:
            return
        path, width = found
        data = self.b.blobs.get("tiles/" + path)
        slot = index % TILE_WIDTH
        if data is None:
            self.bad.add(path)
            self.v.problem("missing_event", None, f"tile {path} is missing")
        elif slot < width and data[32 * slot : 32 * slot + 32] != value:
            self.bad.add(path)
            position = self.leaves[index << level][0]
            self.v.problem("altered_bytes", position, f"tile {path}: hash {slot} differs")


def grow(
    v: Verification, b: Bundle, leaves: list[tuple[int, bytes]], wanted: set[int]
) -> dict[int, bytes]:
    """Every event against its leaf and chain; the tree's roots at the ``wanted`` sizes."""
    tree = Tree(TileCheck(v, b, leaves))
    roots = {0: tree.root()}
    chains: dict[str, tuple[int, bytes]] = {}
    count = 0
    for line in b.events():
        if count == len(leaves):
            v.problem("extra_event", None, "events.jsonl holds more lines than the tree leaves")
            break
        count += 1
        position, event_hash = leaves[count - 1]
        check_event(v, line.rstrip(b"\n"), position, event_hash, chains)
        tree.push(leaf_hash(position, event_hash))
        if count in wanted:
            roots[count] = tree.root()
    if count < len(leaves):
        v.problem("missing_event", leaves[count][0], f"events.jsonl ends after {count} events")
    if b.events_digest.hexdigest() != b.members.get("events.jsonl"):
        v.problem("altered_bytes", None, "events.jsonl differs from its digest")
    return roots


def verify(path: str, pinned_note: str | None) -> list[str]:
    v = Verification()
    b = Bundle(path)
    check_members(v, b)
    verifier = verifier_of(b)
    checkpoints = signed_checkpoints(v, b, verifier)
    pinned: tuple[int, bytes] | None = None
    if pinned_note is not None:
        try:
            pinned = checkpoint_of(open_note(pinned_note, verifier), None)
        except ValueError as e:
            v.problem("bad_signature", None, f"the checkpoint you kept: {e}")
    leaves = leaves_of(b)
    wanted = {s for s, _ in checkpoints} | ({pinned[0]} if pinned else set())
    roots = grow(v, b, leaves, wanted)
    for size, root in checkpoints:
        if size > len(leaves):
            v.problem("missing_event", None, f"checkpoint {size} covers more than {len(leaves)}")
        elif roots.get(size) != root:
            v.problem("altered_bytes", None, f"the tree differs from checkpoint {size}'s root")
    if pinned is not None:
        if pinned[0] > len(leaves):
            v.problem("missing_event", None, f"the checkpoint you kept covers {pinned[0]} events")
        elif roots.get(pinned[0]) != pinned[1]:
            v.problem("altered_bytes", None, "the bundle differs from the checkpoint you kept")
    return v.problems


def check_event(
    v: Verification,
    body: bytes,
    position: int,
    event_hash: bytes,
    chains: dict[str, tuple[int, bytes]],
) -> None:
    if sha256(body) != event_hash:
        v.problem("altered_bytes", position, "the event's bytes differ from its leaf's hash")
        return
    try:
        event = json.loads(body)
        nid, version = str(event["negotiation_id"]), int(event["version"])
    except (ValueError, KeyError, TypeError):
        v.problem("altered_bytes", position, "not an event")
        return
    last_version, last_hash = chains.get(nid, (0, b""))
    if version <= last_version:
        v.problem("reordered", position, f"version {version} comes after {last_version}")
        return
    if version != last_version + 1:
        v.problem("missing_event", position, f"version {version} follows {last_version}")
    elif event.get("prev_hash") != (last_hash.hex() if last_hash else None):
        v.problem("broken_link", position, "prev_hash differs from the previous event's hash")
    chains[nid] = (version, event_hash)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle")
    parser.add_argument("--checkpoint", help="a checkpoint note you kept (a file)")
    args = parser.parse_args()
    try:
        pinned = None
        if args.checkpoint:
            with open(args.checkpoint, encoding="utf-8") as f:
                pinned = f.read()
        problems = verify(args.bundle, pinned)
    except (Unreadable, OSError, UnicodeDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"FAILED: {len(problems)} problems", file=sys.stderr)
        return 1
    print("OK: every event, link, checkpoint and tile verifies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
