"""The log's part of the audit: the tree rebuilt from the store's events, fed by the store
pass, against every signed checkpoint and the log's own leaves
(``services.recorder.ledger.TreeCheck``)."""

from __future__ import annotations

from collections.abc import Iterable

from events.tlog.note import NoteVerifier
from services.recorder.audit import UNKNOWN, Finding, Seen
from services.recorder.ledger import Ledger, TreeCheck


class LogCheck:
    name = "log"

    def __init__(self, ledger: Ledger, verifiers: Iterable[NoteVerifier]) -> None:
        self.check = TreeCheck(ledger, verifiers)

    def see(self, seen: Seen) -> None:
        nid = seen.negotiation_id if seen.negotiation_id != UNKNOWN else None
        self.check.feed_digest(seen.position, seen.digest, nid)

    def finish(self) -> list[Finding] | str:
        report = self.check.finish()
        return [Finding(f.kind, f.position, f.negotiation_id, f.message) for f in report.findings]
