"""Reading and forging audit bundles (docs/audit.md) for the offline verifiers' tests: a forger
who rewrites members, recomputes the digests, the leaves and the tiles, and signs what he can."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from events import canonical_json
from events.tlog import (
    TILE_WIDTH,
    Checkpoint,
    Ed25519Signer,
    append_leaves,
    entry_bundle,
    event_leaf_hash,
    leaf,
    parse_entries_path,
    parse_entry_bundle,
    parse_leaf,
    reader_from_mapping,
    sign_checkpoint,
    tile_bytes,
    tiles_for_size,
    tree_hash,
)

Members = dict[str, bytes]


def read(path: Path) -> Members:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: f.read() for m in tar.getmembers() if (f := tar.extractfile(m)) is not None}


def write(members: Members, path: Path, *, digests: bool = True) -> Path:
    """The members as a bundle; with ``digests``, the manifest's digests made to fit."""
    manifest = json.loads(members["manifest.json"])
    if digests:
        manifest["members"] = {
            name: hashlib.sha256(data).hexdigest()
            for name, data in members.items()
            if name != "manifest.json"
        }
    members = members | {"manifest.json": json.dumps(manifest).encode()}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def events(members: Members) -> list[bytes]:
    return members["events.jsonl"].splitlines()


def leaves(members: Members) -> list[tuple[int, str]]:
    names = [n for n in members if n.startswith("tiles/tile/entries/")]
    found = []
    for name in sorted(names, key=lambda n: parse_entries_path(n.removeprefix("tiles/"))):
        found.extend(parse_leaf(e) for e in parse_entry_bundle(members[name]))
    return found


def with_events(members: Members, lines: list[bytes], positions: list[int]) -> Members:
    """The bundle re-made around other events: events.jsonl, the leaves, every tile and the
    tree size (the checkpoints are left as they are)."""
    hashes = [hashlib.sha256(line).hexdigest() for line in lines]
    pairs = list(zip(positions, hashes, strict=True))
    kept = {n: d for n, d in members.items() if not n.startswith("tiles/")}
    kept["events.jsonl"] = b"".join(line + b"\n" for line in lines)
    kept |= tree_members(pairs)
    manifest = json.loads(members["manifest.json"])
    manifest["tree_size"] = manifest["events"] = len(lines)
    kept["manifest.json"] = json.dumps(manifest).encode()
    return kept


def tree_members(pairs: list[tuple[int, str]]) -> Members:
    stored: dict[tuple[int, int], bytes] = {}
    leaf_hashes = [event_leaf_hash(p, h) for p, h in pairs]
    stored.update(append_leaves(0, leaf_hashes, reader_from_mapping(stored)))
    read = reader_from_mapping(stored)
    out: Members = {}
    for tile in tiles_for_size(len(pairs)):
        out[f"tiles/{tile.path}"] = tile_bytes(tile, read)
        if tile.level == 0:
            first = tile.index * TILE_WIDTH
            chunk = pairs[first : first + tile.width]
            name = f"tiles/{tile.path.replace('tile/0/', 'tile/entries/', 1)}"
            out[name] = entry_bundle([leaf(p, h) for p, h in chunk])
    return out


def signed(members: Members, signer: Ed25519Signer) -> Members:
    """Checkpoints for the bundle's whole tree signed by ``signer``, installed as the key."""
    pairs = leaves(members)
    stored: dict[tuple[int, int], bytes] = {}
    stored.update(
        append_leaves(0, [event_leaf_hash(p, h) for p, h in pairs], reader_from_mapping(stored))
    )
    root = tree_hash(len(pairs), reader_from_mapping(stored))
    note = sign_checkpoint(Checkpoint(signer.name, len(pairs), root), [signer])
    out = {n: d for n, d in members.items() if not n.startswith("checkpoints/")}
    out[f"checkpoints/{len(pairs)}"] = note.encode()
    out["verifier.key"] = (signer.verifier.key_text + "\n").encode()
    manifest = json.loads(members["manifest.json"])
    manifest["verifier_key"] = signer.verifier.key_text
    out["manifest.json"] = json.dumps(manifest).encode()
    return out


def altered(line: bytes) -> bytes:
    """The line with the case of its first source outlet's first letter swapped."""
    marker = b'"outlet":"'
    at = line.index(marker) + len(marker)
    return line[:at] + bytes([line[at] ^ 0x20]) + line[at + 1 :]


def rechained(lines: list[bytes], start: int) -> list[bytes]:
    """Every event after ``start`` of the same negotiation chained again to the (altered)
    event at ``start``, as a forger who recomputes hashes does."""
    out = list(lines)
    negotiation = json.loads(out[start])["negotiation_id"]
    previous = hashlib.sha256(out[start]).hexdigest()
    for i in range(start + 1, len(out)):
        event = json.loads(out[i])
        if event["negotiation_id"] != negotiation:
            continue
        event["prev_hash"] = previous
        out[i] = canonical_json(event)
        previous = hashlib.sha256(out[i]).hexdigest()
    return out
