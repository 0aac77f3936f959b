"""The log's part of the audit: the tree rebuilt from the store's events, fed by the store
pass, against every signed checkpoint and the log's own leaves
(``services.recorder.ledger.TreeCheck``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from events.tlog.note import NoteVerifier
from services.recorder.audit import UNKNOWN, Finding, Seen
from services.recorder.ledger import Ledger, TreeCheck


class LogCheck:
    name = "log"

    def __init__(self, ledger: Ledger, verifiers: Iterable[NoteVerifier]) -> None:
        self.check = TreeCheck(ledger, verifiers)

    def see(self, seen: Seen) -> None:
        self.see_all([seen])

    def see_all(self, seen: Sequence[Seen]) -> None:
        self.check.feed_all(
            [one.position for one in seen],
            [one.body_digest or one.digest for one in seen],
            [one.negotiation_id if one.negotiation_id != UNKNOWN else None for one in seen],
        )

    def finish(self) -> list[Finding] | str:
        report = self.check.finish()
        return [Finding(f.kind, f.position, f.negotiation_id, f.message) for f in report.findings]
