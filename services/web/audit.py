"""The audit panel's reads: the last verification (``GET /v1/audit/verify``, run again only
when the store has grown) and, where the API serves signed checkpoints, the latest
checkpoint and each event's inclusion in it: the proof the API serves
(``/v1/audit/proof/inclusion``) must name the event's own position and hash and lead to the
checkpoint's root (RFC 9162, ``events.tlog``). All go through the API's routes in-process,
with the visitor's key, so the auditor role is checked as the API checks it; where the API
serves no checkpoint (404), the panel shows positions and hashes only."""

from __future__ import annotations

import base64
import binascii
import json
import threading
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request

from events.tlog import (
    Checkpoint,
    InvalidProof,
    MalformedCheckpoint,
    leaf,
    leaf_hash,
    parse_checkpoint,
    verify_inclusion,
)
from services.web import inprocess

VERIFY = "/v1/audit/verify"
CHECKPOINT = "/v1/audit/checkpoint"
INCLUSION = "/v1/audit/proof/inclusion"
NEEDS_AUDITOR = "the verification is shown to auditor and admin keys"


@dataclass(frozen=True)
class Verdict:
    """The verification's answer, or why the visitor cannot see it (``refused``)."""

    ok: bool | None
    checked: int = 0
    last_position: int = 0
    problems: int = 0
    first: str | None = None  # the first finding: its kind, position and negotiation
    refused: str | None = None


Inclusion = Literal["included", "later", "unproven"]
"""In the checkpoint, with a proof that verifies; after it; or no proof leads to its root."""


@dataclass
class Panel:
    verdict: Verdict
    checkpoint: int | None  # the latest signed checkpoint's size; None: none served
    included: dict[int, Inclusion]  # position -> its inclusion in that checkpoint

    def key(self) -> tuple[object, ...]:
        """What the panel shows, as a value (pages are rendered again when it changes)."""
        return (self.verdict, self.checkpoint, tuple(sorted(self.included.items())))


class AuditReads:
    """The page's audit reads with what they found last, shared by the process's pages."""

    def __init__(self) -> None:
        self._verdict: tuple[int, Verdict] | None = None
        self._included: dict[tuple[int, str, int, bytes], Inclusion] = {}
        self._lock = threading.Lock()

    async def panel(
        self,
        request: Request,
        headers: dict[str, str],
        may_audit: bool,
        events: list[tuple[int, str]],
        last: int,
    ) -> Panel:
        """The panel for ``events`` (position, hash) when the store's last position is
        ``last``."""
        if not may_audit:
            return Panel(Verdict(None, refused=NEEDS_AUDITOR), None, {})
        verdict = await self.verdict(request, headers, last)
        if verdict.refused is not None:
            return Panel(verdict, None, {})
        checkpoint = await self.checkpoint(request, headers)
        if checkpoint is None:
            return Panel(verdict, None, {})
        included: dict[int, Inclusion] = {}
        for position, event_hash in events:
            if position > checkpoint.size:
                included[position] = "later"
            else:
                included[position] = await self.inclusion(
                    request, headers, position, event_hash, checkpoint
                )
        return Panel(verdict, checkpoint.size, included)

    async def verdict(self, request: Request, headers: dict[str, str], last: int) -> Verdict:
        """The last verification when the store has not grown since (``last``, its last
        position), else a new one."""
        with self._lock:
            cached = self._verdict
        if cached is not None and cached[0] == last:
            return cached[1]
        answer = await inprocess.get(request, VERIFY, {}, headers)
        if answer.status != 200:
            return Verdict(None, refused=_reason(answer.body))
        body: dict[str, Any] = json.loads(answer.body)
        verdict = Verdict(
            ok=bool(body["ok"]),
            checked=int(body["checked"]),
            last_position=int(body.get("last_position") or 0),
            problems=len(body.get("findings") or []),
            first=_finding(body.get("first")),
        )
        with self._lock:
            self._verdict = (last, verdict)
        return verdict

    async def checkpoint(self, request: Request, headers: dict[str, str]) -> Checkpoint | None:
        """The latest signed checkpoint (its note's text; the signature is the auditor's to
        check with the log's key); None when the API serves none."""
        answer = await inprocess.get(request, CHECKPOINT, {}, headers)
        if answer.status != 200:
            return None
        text = answer.body.decode("utf-8", "replace").split("\n\n", 1)[0] + "\n"
        try:
            return parse_checkpoint(text)
        except MalformedCheckpoint:
            return None

    async def inclusion(
        self,
        request: Request,
        headers: dict[str, str],
        position: int,
        event_hash: str,
        checkpoint: Checkpoint,
    ) -> Inclusion:
        """Whether the API's proof puts this event (position and hash) under the
        checkpoint's root; a proof once checked is not asked again."""
        key = (position, event_hash, checkpoint.size, checkpoint.root)
        with self._lock:
            if key in self._included:
                return self._included[key]
        query = {"position": str(position), "size": str(checkpoint.size)}
        answer = await inprocess.get(request, INCLUSION, query, headers)
        found: Inclusion = "unproven"
        if answer.status == 200 and proves(
            json.loads(answer.body), position, event_hash, checkpoint
        ):
            found = "included"
        with self._lock:
            self._included[key] = found
        return found


def proves(proof: dict[str, Any], position: int, event_hash: str, checkpoint: Checkpoint) -> bool:
    try:
        expected = leaf(position, event_hash)
        if base64.b64decode(proof["leaf"], validate=True) != expected:
            return False
        path = [base64.b64decode(h, validate=True) for h in proof["proof"]]
        verify_inclusion(
            int(proof["leaf_index"]), checkpoint.size, leaf_hash(expected), path, checkpoint.root
        )
    except (InvalidProof, KeyError, TypeError, ValueError, binascii.Error):
        return False
    return True


def _finding(first: dict[str, Any] | None) -> str | None:
    if not first:
        return None
    where = f" at position {first['position']}" if first.get("position") is not None else ""
    who = f" ({first['negotiation_id']})" if first.get("negotiation_id") else ""
    return f"{first['kind']}{where}{who}"


def _reason(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return "the audit routes did not answer"
