"""The store against the log: the tree rebuilt from the events as stored must have, at every
stored checkpoint's size, that checkpoint's root, and every checkpoint must carry a valid
signature by the log's key.

The checkpoints are the anchor: only a signature can tell a rewritten history. The log's own
leaves (the positions and hashes in ``talkstream_tree``) only help to say where and how the
store went wrong: walking the store and the logged leaves side by side by position names a
position the store lost
(``missing_event``), one it gained (``extra_event``), one whose event changed
(``altered_bytes``) and two that traded places (``reordered``). A checkpoint larger than the
store (the newest rows deleted: no chain can see that) is ``missing_event``; a checkpoint whose
root the rebuilt tree does not reach, with nothing located before it (the leaves rewritten
too), is ``altered_bytes`` after the last checkpoint that still matched.

``TreeCheck`` is fed one stored event at a time, so a verifier that reads the store anyway
(``talkstream audit verify``) makes one pass; ``compare_checkpoints`` makes its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from hashlib import sha256

from eventsourcing.persistence import Notification

from events.tlog import TlogError, open_checkpoint
from events.tlog.exceptions import MalformedHash
from events.tlog.merkle import EMPTY_ROOT, HASH_SIZE, fold, node_hash
from events.tlog.note import NoteVerifier
from services.recorder.application import Negotiations
from services.recorder.integrity import UNDECODABLE
from services.recorder.ledger.log import Ledger
from services.recorder.ledger.tables import StoredCheckpoint

KINDS = ("bad_signature", "missing_event", "extra_event", "altered_bytes", "reordered")
MAX_FINDINGS = 1000
_PAGE = 5000
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_LEAF = sha256(b"\x00")  # the RFC 9162 leaf prefix, copied per leaf hashed alone


def subtree_hash(leaf_hashes: list[bytes]) -> bytes:
    """MTH of a perfect subtree (a power-of-two count of leaf hashes), level by level."""
    level = leaf_hashes
    while len(level) > 1:
        pairs = zip(level[::2], level[1::2], strict=True)
        level = [sha256(b"\x01" + left + right).digest() for left, right in pairs]
    return level[0]


@dataclass
class LogFinding:
    """One thing wrong between the store and the log."""

    kind: str
    position: int | None
    negotiation_id: str | None
    message: str
    checkpoint_size: int | None = None


@dataclass
class TreeReport:
    leaves: int = 0  # stored events the tree was rebuilt from
    checkpoints: int = 0  # stored checkpoints checked
    findings: list[LogFinding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # findings per kind, none left out

    @property
    def ok(self) -> bool:
        return not self.findings


class _LoggedLeaves:
    """The log's leaves in order, ``(index, position, event hash)``, read a page at a time."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._page: list[tuple[int, int, bytes]] = []
        self._at = 0
        self._first = 0  # the index of the first leaf not read yet
        self._ended = False

    def head(self) -> tuple[int, int, bytes] | None:
        """The next leaf, if any."""
        if self._at == len(self._page) and not self._read():
            return None
        return self._page[self._at]

    def advance(self, count: int = 1) -> None:
        self._at += count

    def ahead(self, count: int) -> list[tuple[int, int, bytes]]:
        """The next ``count`` leaves (fewer at the end of the log), without passing them."""
        while len(self._page) - self._at < count and self._read():
            pass
        return self._page[self._at : self._at + count]

    def _read(self) -> bool:
        if self._ended:
            return False
        page = self._ledger.leaf_rows(self._first, _PAGE)
        if not page:
            self._ended = True
            return False
        self._page = self._page[self._at :] + page
        self._at = 0
        self._first = page[-1][0] + 1
        return True


class TreeCheck:
    """Feed it every stored event in position order, then ``finish``.

    The leaf hashes are gathered a tile (256 leaves) at a time and each full tile is reduced
    to its subtree hash level by level; a tile is cut short at a checkpoint's size, whose root
    is then taken from the stack of perfect subtrees (RFC 9162 MTH either way)."""

    def __init__(self, ledger: Ledger, verifiers: Iterable[NoteVerifier]) -> None:
        self.ledger = ledger
        self.report = TreeReport()
        self._stack: list[tuple[int, bytes]] = []
        self._tile: list[bytes] = []  # leaf hashes not yet on the stack
        self._flush_at = 0  # the leaf count at which the tile goes onto the stack
        self._targets = self._signed_checkpoints(list(verifiers))
        self._next_target = 0
        self._logged = _LoggedLeaves(ledger)
        self._last_logged = ledger.last_position()
        self._located_before: int | None = None  # leaf count when the first problem was found
        self._good_size = 0  # the largest checkpoint size that matched
        self._mismatched_logged: dict[bytes, LogFinding] = {}
        self._mismatched_stored: dict[bytes, LogFinding] = {}
        self._check_targets()  # a checkpoint of the empty tree
        self._plan_flush()

    def _signed_checkpoints(self, verifiers: list[NoteVerifier]) -> list[StoredCheckpoint]:
        """The stored checkpoints whose signature verifies; a finding for each other one."""
        good: list[StoredCheckpoint] = []
        after = -1
        while page := self.ledger.checkpoints(after, _PAGE):
            for stored in page:
                self.report.checkpoints += 1
                try:
                    checkpoint, _ = open_checkpoint(
                        stored.note, verifiers, origin=self.ledger.origin
                    )
                except TlogError as e:
                    self._add(
                        LogFinding(
                            "bad_signature",
                            None,
                            None,
                            f"checkpoint of size {stored.size} does not verify: {e.message}",
                            stored.size,
                        )
                    )
                    continue
                good.append(
                    StoredCheckpoint(checkpoint.size, checkpoint.root, stored.note, stored.made_at)
                )
            after = page[-1].size
        return sorted(good, key=lambda c: c.size)

    def feed(self, position: int, event_hash_hex: str, negotiation_id: str | None) -> None:
        """One stored event: its position, the SHA-256 of its stored body (hex), and its
        negotiation when it can be told."""
        self.feed_digest(position, bytes.fromhex(event_hash_hex), negotiation_id)

    def feed_all(
        self, positions: list[int], digests: list[bytes], negotiation_ids: list[str | None]
    ) -> None:
        """``feed_digest`` for each of a run of stored events, at once when the log's leaves
        are exactly these events (the usual case; otherwise one by one, finding what
        differs)."""
        count = len(positions)
        logged = self._logged.ahead(count)
        if (
            len(logged) != count
            or [leaf[1] for leaf in logged] != positions
            or [leaf[2] for leaf in logged] != digests
            or any(len(digest) != HASH_SIZE for digest in digests)
        ):
            for event in zip(positions, digests, negotiation_ids, strict=True):
                self.feed_digest(*event)
            return
        self._logged.advance(count)
        hashes = [
            sha256(b"\x00" + position.to_bytes(8, "big") + digest).digest()
            for position, digest in zip(positions, digests, strict=True)
        ]
        done = 0
        while done < count:
            take = min(count - done, self._flush_at - self.report.leaves)
            self._tile.extend(hashes[done : done + take])
            self.report.leaves += take
            done += take
            if self.report.leaves == self._flush_at:
                self._flush()

    def feed_digest(self, position: int, digest: bytes, negotiation_id: str | None) -> None:
        """``feed`` with the SHA-256 of the stored body as its 32 bytes."""
        pending = self._logged.head()
        if pending is not None and pending[1] == position and pending[2] == digest:
            self._logged.advance()  # the usual case: the log agrees
        else:
            self._compare_logged(position, digest, negotiation_id)
        if len(digest) != HASH_SIZE:
            raise MalformedHash("an event hash is 32 bytes", field="hash")
        hashed = _LEAF.copy()
        hashed.update(position.to_bytes(8, "big"))
        hashed.update(digest)
        self._tile.append(hashed.digest())
        self.report.leaves += 1
        if self.report.leaves == self._flush_at:
            self._flush()

    def _flush(self) -> None:
        """The gathered leaf hashes onto the stack: a whole aligned tile as one subtree."""
        tile, self._tile = self._tile, []
        if len(tile) == TILE_WIDTH and self.report.leaves % TILE_WIDTH == 0:
            self._push(subtree_hash(tile), TILE_HEIGHT)
        else:
            for value in tile:
                self._push(value)
        self._check_targets()
        self._plan_flush()

    def _plan_flush(self) -> None:
        leaves = self.report.leaves
        self._flush_at = (leaves // TILE_WIDTH + 1) * TILE_WIDTH
        if self._next_target < len(self._targets):
            self._flush_at = min(self._flush_at, self._targets[self._next_target].size)

    def finish(self) -> TreeReport:
        if self._tile:
            self._flush()
        while (pending := self._logged.head()) is not None:
            self._missing(pending)
            self._logged.advance()
        for target in self._targets[self._next_target :]:
            if target.size > self.report.leaves:
                self._add(
                    LogFinding(
                        "missing_event",
                        self._position_of_leaf(self.report.leaves),
                        None,
                        f"checkpoint of size {target.size} is larger than the store, which "
                        f"holds {self.report.leaves} events: the newest events were removed",
                        target.size,
                    )
                )
                break
        self.report.findings.sort(key=lambda f: (f.position is None, f.position or 0))
        return self.report

    def _compare_logged(self, position: int, stored: bytes, negotiation_id: str | None) -> None:
        while (pending := self._logged.head()) is not None and pending[1] < position:
            self._missing(pending)
            self._logged.advance()
        if pending is None or pending[1] > position:
            if position <= self._last_logged:
                self._add(
                    LogFinding(
                        "extra_event",
                        position,
                        negotiation_id,
                        f"the store holds an event at position {position} that the log never had",
                    )
                )
            return
        self._logged.advance()
        if stored == pending[2]:
            return
        self._altered(position, pending[2], stored, negotiation_id)

    def _altered(self, position: int, logged: bytes, stored: bytes, nid: str | None) -> None:
        partner = self._mismatched_logged.pop(stored, None) or self._mismatched_stored.pop(
            logged, None
        )
        if partner is not None:
            partner.kind = "reordered"
            partner.message = (
                f"the events at positions {partner.position} and {position} traded places"
            )
            self._add(LogFinding("reordered", position, nid, partner.message))
            return
        finding = LogFinding(
            "altered_bytes",
            position,
            nid,
            f"the event at position {position} is not the one the log holds there",
        )
        self._add(finding)
        if len(self._mismatched_logged) < MAX_FINDINGS:
            self._mismatched_logged[logged] = finding
            self._mismatched_stored[stored] = finding

    def _missing(self, logged: tuple[int, int, bytes]) -> None:
        position = logged[1]
        self._add(
            LogFinding(
                "missing_event",
                position,
                None,
                f"the log holds an event at position {position} that the store lacks",
            )
        )

    def _push(self, value: bytes, level: int = 0) -> None:
        while self._stack and self._stack[-1][0] == level:
            value = node_hash(self._stack.pop()[1], value)
            level += 1
        self._stack.append((level, value))

    def _root(self) -> bytes:
        return fold([value for _, value in self._stack]) if self._stack else EMPTY_ROOT

    def _check_targets(self) -> None:
        while (
            self._next_target < len(self._targets)
            and self._targets[self._next_target].size <= self.report.leaves
        ):
            target = self._targets[self._next_target]
            self._next_target += 1
            if self._root() == target.root:
                self._good_size = target.size
            elif self._located_before is None:
                self._add(
                    LogFinding(
                        "altered_bytes",
                        self._position_of_leaf(self._good_size),
                        None,
                        f"the tree rebuilt from the store differs from checkpoint {target.size}, "
                        f"after matching checkpoint {self._good_size}",
                        target.size,
                    )
                )

    def _position_of_leaf(self, index: int) -> int | None:
        found = self.ledger.leaves(index, 1)
        return found[0].position if found else None

    def _add(self, finding: LogFinding) -> None:
        self.report.counts[finding.kind] = self.report.counts.get(finding.kind, 0) + 1
        if finding.position is not None and self._located_before is None:
            self._located_before = self.report.leaves
        if len(self.report.findings) < MAX_FINDINGS:
            self.report.findings.append(finding)


def stored_event(app: Negotiations, n: Notification) -> tuple[str, str | None]:
    """SHA-256 (hex) of a stored event's hashed body, and its negotiation; of the raw row (and
    no negotiation) when it does not decode."""
    try:
        unpacked = app.checked_mapper.unpack(n)
        digest = sha256(unpacked.body).hexdigest()
        wire = unpacked.wire
    except UNDECODABLE:
        return sha256(n.state).hexdigest(), None
    negotiation_id = wire.get("negotiation_id") if isinstance(wire, dict) else None
    return digest, negotiation_id if isinstance(negotiation_id, str) else None


def compare_checkpoints(
    app: Negotiations,
    ledger: Ledger,
    verifiers: Iterable[NoteVerifier],
    *,
    progress: Callable[[int], None] | None = None,
) -> TreeReport:
    """Rebuilds the tree from every stored event and checks it against every checkpoint."""
    check = TreeCheck(ledger, verifiers)
    for n in app.notifications():
        check.feed(n.id, *stored_event(app, n))
        if progress is not None and check.report.leaves % 1000 == 0:
            progress(check.report.leaves)
    return check.finish()
