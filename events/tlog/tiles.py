"""C2SP tlog-tiles: tile paths, the tiles of a tree, stored hashes, and incremental appends.

Why: the tree is kept as the hashes of its perfect subtrees, appended by one writer and never
rewritten. Appending k leaves to a tree of n yields exactly the k leaf hashes plus every perfect
subtree they complete (O(k + log n) hashes, after reading at most log n old ones), so a writer
never recomputes the tree. The same stored hashes are served as static 256-hash tiles that any
client can fetch to compute proofs itself. The dense ``stored_hash_index`` numbering (the order
in which an appending writer produces the hashes) suits stores that key hashes by one integer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from events.tlog.exceptions import (
    HashReadError,
    InvalidTreeRange,
    MalformedHash,
    MalformedTile,
    MalformedTilePath,
)
from events.tlog.merkle import (
    HASH_SIZE,
    HashReader,
    NodeId,
    node_hash,
    read_nodes,
    root,
)

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_TILE_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF
_INDEX_GROUP = re.compile(r"[0-9]{3}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")

TileReader = Callable[[Sequence["Tile"]], Sequence[bytes]]
"""Returns the bytes of each tile asked for, in the order asked."""


@dataclass(frozen=True, order=True)
class Tile:
    """Tile ``index`` at tile level ``level``, holding ``width`` hashes (256 when full).

    Hash i is the node at Merkle level ``8 * level``, index ``index * 256 + i``.
    """

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_TILE_LEVEL:
            raise MalformedTilePath(f"tile level must be 0..{MAX_TILE_LEVEL}, not {self.level}")
        if self.index < 0:
            raise MalformedTilePath("tile index must not be negative")
        if not 1 <= self.width <= TILE_WIDTH:
            raise MalformedTilePath(f"tile width must be 1..{TILE_WIDTH}, not {self.width}")

    @property
    def is_full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def path(self) -> str:
        """``tile/<L>/<N>[.p/<W>]``, relative to the log's prefix."""
        return f"tile/{self.level}/{encode_tile_index(self.index)}{_width_suffix(self.width)}"

    def nodes(self) -> list[NodeId]:
        """The stored hashes this tile holds, in tile order."""
        first = self.index * TILE_WIDTH
        return [(self.level * TILE_HEIGHT, first + i) for i in range(self.width)]


def encode_tile_index(index: int) -> str:
    """``<N>`` of a tile path: 3-digit groups, all but the last prefixed ``x`` (5 -> 005)."""
    if index < 0:
        raise MalformedTilePath("tile index must not be negative")
    digits = str(index)
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*(f"x{group}" for group in groups[:-1]), groups[-1]])


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]``: the entry bundle beside level-0 tile ``index``."""
    tile = Tile(0, index, width)
    return f"tile/entries/{encode_tile_index(tile.index)}{_width_suffix(tile.width)}"


def parse_tile_path(path: str) -> Tile:
    """The hash tile a ``tile/<L>/<N>[.p/<W>]`` path names; canonical spellings only."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile" or parts[1] == "entries":
        raise MalformedTilePath(f"not a hash tile path: {path!r}")
    level = _parse_decimal(parts[1], "tile level")
    index, width = _parse_index_and_width(parts[2:])
    return Tile(level, index, width)


def parse_entries_path(path: str) -> Tile:
    """The level-0 tile whose entry bundle a ``tile/entries/<N>[.p/<W>]`` path names."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile" or parts[1] != "entries":
        raise MalformedTilePath(f"not an entry bundle path: {path!r}")
    index, width = _parse_index_and_width(parts[2:])
    return Tile(0, index, width)


def tiles_for_size(size: int) -> list[Tile]:
    """Every tile (full ones, then the partial one) at every level of a tree of ``size``."""
    return new_tiles(0, size)


def new_tiles(old_size: int, new_size: int) -> list[Tile]:
    """Tiles of a tree of ``new_size`` that a tree of ``old_size`` does not have, as is."""
    if not 0 <= old_size <= new_size:
        raise InvalidTreeRange(f"cannot grow a tree from size {old_size} to {new_size}")
    tiles: list[Tile] = []
    level = 0
    while new_size >> (TILE_HEIGHT * level):
        old_count = old_size >> (TILE_HEIGHT * level)
        new_count = new_size >> (TILE_HEIGHT * level)
        if new_count != old_count:
            tiles.extend(_level_tiles(level, old_count // TILE_WIDTH, new_count))
        level += 1
    return tiles


def tile_bytes(tile: Tile, read: HashReader) -> bytes:
    """The bytes of a tile, read from the stored hashes."""
    stored = read_nodes(read, tile.nodes())
    return b"".join(stored[node] for node in tile.nodes())


def tile_hashes(tile: Tile, data: bytes) -> list[bytes]:
    """Split a tile's bytes into its hashes, checking the length its width implies."""
    if len(data) != tile.width * HASH_SIZE:
        raise MalformedTile(f"{tile.path} must be {tile.width * HASH_SIZE} bytes, not {len(data)}")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def tile_for_node(node: NodeId, size: int) -> Tile:
    """The tile of a tree of ``size`` from which the stored hash ``node`` can be computed."""
    level, index = node
    if level < 0 or index < 0 or (index + 1) << level > size:
        raise InvalidTreeRange(f"node {node} is not in a tree of size {size}")
    tile_level, height_in_tile = divmod(level, TILE_HEIGHT)
    tile_index = (index << height_in_tile) // TILE_WIDTH
    available = size >> (TILE_HEIGHT * tile_level)
    return Tile(tile_level, tile_index, min(TILE_WIDTH, available - tile_index * TILE_WIDTH))


def tile_hash_reader(size: int, read_tiles: TileReader) -> HashReader:
    """A ``HashReader`` for a tree of ``size`` that computes stored hashes from fetched tiles.

    Tiles are not trusted: a proof made from them proves something only once it verifies
    against a root taken from a signed checkpoint.
    """

    def read(nodes: Sequence[NodeId]) -> list[bytes]:
        holders = [tile_for_node(node, size) for node in nodes]
        wanted = sorted(set(holders))
        answered = list(read_tiles(wanted))
        if len(answered) != len(wanted):
            raise HashReadError(f"asked for {len(wanted)} tiles, got {len(answered)}")
        fetched = zip(wanted, answered, strict=True)
        hashes = {tile: tile_hashes(tile, data) for tile, data in fetched}
        return [_node_in_tile(n, t, hashes[t]) for n, t in zip(nodes, holders, strict=True)]

    return read


def stored_hash_index(node: NodeId) -> int:
    """Position of ``node`` in the order an appending writer stores hashes.

    Appending leaf j stores its leaf hash, then each perfect subtree it completes, lowest
    first; 2j - popcount(j) hashes precede leaf j's.
    """
    level, index = node
    if level < 0 or index < 0:
        raise InvalidTreeRange(f"node {node} does not exist")
    completing_leaf = ((index + 1) << level) - 1
    return _hashes_before_leaf(completing_leaf) + level


def split_stored_hash_index(stored_index: int) -> NodeId:
    """The node at a stored hash index (inverse of ``stored_hash_index``)."""
    if stored_index < 0:
        raise InvalidTreeRange("stored hash index must not be negative")
    lo, hi = 0, stored_index + 1
    while hi - lo > 1:
        middle = (lo + hi) // 2
        lo, hi = (middle, hi) if _hashes_before_leaf(middle) <= stored_index else (lo, middle)
    level = stored_index - _hashes_before_leaf(lo)
    return level, ((lo + 1) >> level) - 1


def stored_hash_count(size: int) -> int:
    """How many hashes a tree of ``size`` leaves stores."""
    if size < 0:
        raise InvalidTreeRange("tree size must not be negative")
    return _hashes_before_leaf(size)


def right_edge_nodes(size: int) -> list[NodeId]:
    """The perfect subtrees that make up a tree of ``size`` (one per set bit), largest first."""
    return [
        (level, (size >> level) - 1)
        for level in reversed(range(size.bit_length()))
        if size >> level & 1
    ]


def append_leaves(
    size: int, leaf_hashes: Sequence[bytes], read: HashReader
) -> list[tuple[NodeId, bytes]]:
    """The stored hashes that appending ``leaf_hashes`` to a tree of ``size`` adds.

    Reads at most log2(size) old hashes (the right edge), in one call, and returns every new
    leaf hash and completed subtree hash in stored-hash-index order.
    """
    if size < 0:
        raise InvalidTreeRange("tree size must not be negative")
    for value in leaf_hashes:
        if len(value) != HASH_SIZE:
            raise MalformedHash(f"a leaf hash is {HASH_SIZE} bytes, not {len(value)}")
    if not leaf_hashes:
        return []
    edge = read_nodes(read, right_edge_nodes(size))
    pending = {level: value for (level, _), value in edge.items()}
    added: list[tuple[NodeId, bytes]] = []
    for offset, value in enumerate(leaf_hashes):
        added.extend(_store_leaf(size + offset, value, pending))
    return added


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length, then its bytes."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise MalformedTile(f"an entry bundle holds 1..{TILE_WIDTH} entries, not {len(entries)}")
    parts: list[bytes] = []
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise MalformedTile(f"an entry is at most {MAX_ENTRY_SIZE} bytes, not {len(entry)}")
        parts.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(parts)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    """The entries of an entry bundle; raises on a truncated one."""
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise MalformedTile("entry bundle ends inside a length prefix")
        length = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        if offset + length > len(data):
            raise MalformedTile("entry bundle ends inside an entry")
        entries.append(data[offset : offset + length])
        offset += length
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise MalformedTile(f"an entry bundle holds 1..{TILE_WIDTH} entries, not {len(entries)}")
    return entries


def _hashes_before_leaf(leaf_index: int) -> int:
    return 2 * leaf_index - leaf_index.bit_count()


def _store_leaf(index: int, value: bytes, pending: dict[int, bytes]) -> list[tuple[NodeId, bytes]]:
    """Leaf ``index``'s hash and the subtrees it completes; ``pending`` is the right edge."""
    added: list[tuple[NodeId, bytes]] = [((0, index), value)]
    level, position, current = 0, index, value
    while position & 1:
        current = node_hash(pending.pop(level), current)
        level, position = level + 1, position >> 1
        added.append(((level, position), current))
    pending[level] = current
    return added


def _level_tiles(level: int, first_tile: int, hash_count: int) -> list[Tile]:
    full_tiles, partial_width = divmod(hash_count, TILE_WIDTH)
    tiles = [Tile(level, index) for index in range(first_tile, full_tiles)]
    if partial_width:
        tiles.append(Tile(level, full_tiles, partial_width))
    return tiles


def _node_in_tile(node: NodeId, tile: Tile, hashes: list[bytes]) -> bytes:
    level, index = node
    height_in_tile = level % TILE_HEIGHT
    first = (index << height_in_tile) - tile.index * TILE_WIDTH
    return root(hashes[first : first + (1 << height_in_tile)])


def _width_suffix(width: int) -> str:
    return "" if width == TILE_WIDTH else f".p/{width}"


def _parse_decimal(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise MalformedTilePath(f"{what} must be a decimal number without leading zeros")
    return int(text)


def _parse_index_and_width(parts: list[str]) -> tuple[int, int]:
    """Parse ``x001/x234/067[.p/<W>]`` split at slashes."""
    width = TILE_WIDTH
    if len(parts) >= 2 and parts[-2].endswith(".p"):
        width = _parse_decimal(parts[-1], "tile width")
        if not 1 <= width < TILE_WIDTH:
            raise MalformedTilePath(f"partial tile width must be 1..{TILE_WIDTH - 1}")
        parts = [*parts[:-2], parts[-2][:-2]]
    *upper, last = parts
    if not _INDEX_GROUP.fullmatch(last) or not all(
        group[:1] == "x" and _INDEX_GROUP.fullmatch(group[1:]) for group in upper
    ):
        raise MalformedTilePath("tile index must be 3-digit groups, all but the last after x")
    index = int("".join(group[1:] for group in upper) + last)
    if encode_tile_index(index) != "/".join(parts):
        raise MalformedTilePath("tile index has a leading all-zero group")
    return index, width
