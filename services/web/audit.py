"""The audit panel's reads: the last verification (``GET /v1/audit/verify``, run again only
when the store has grown) and, where the API serves signed checkpoints, the latest
checkpoint's size and each event's inclusion proof in it. All go through the API's routes
in-process, with the visitor's key, so the auditor role is checked as the API checks it."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

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
    refused: str | None = None


@dataclass
class Panel:
    verdict: Verdict
    checkpoint: int | None  # the latest signed checkpoint's size; None: none served
    included: dict[int, bool]  # position -> in that checkpoint (proof served)

    def key(self) -> tuple[object, ...]:
        """What the panel shows, as a value (pages are rendered again when it changes)."""
        return (self.verdict, self.checkpoint, tuple(sorted(self.included.items())))


class AuditReads:
    """The page's audit reads with what they found last, shared by the process's pages."""

    def __init__(self) -> None:
        self._verdict: tuple[int, Verdict] | None = None
        self._included: dict[tuple[int, int], bool] = {}
        self._lock = threading.Lock()

    async def panel(
        self,
        request: Request,
        headers: dict[str, str],
        may_audit: bool,
        positions: list[int],
        last: int,
    ) -> Panel:
        if not may_audit:
            return Panel(Verdict(None, refused=NEEDS_AUDITOR), None, {})
        verdict = await self.verdict(request, headers, last)
        if verdict.refused is not None:
            return Panel(verdict, None, {})
        size = await self.checkpoint_size(request, headers)
        included: dict[int, bool] = {}
        if size is not None:
            for p in positions:
                included[p] = p <= size and await self.included(request, headers, p, size)
        return Panel(verdict, size, included)

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
            problems=len(body.get("problems") or []),
        )
        with self._lock:
            self._verdict = (last, verdict)
        return verdict

    async def checkpoint_size(self, request: Request, headers: dict[str, str]) -> int | None:
        """The latest signed checkpoint's tree size (a C2SP checkpoint's second line); None
        when the API serves no checkpoint."""
        answer = await inprocess.get(request, CHECKPOINT, {}, headers)
        if answer.status != 200:
            return None
        lines = answer.body.decode("utf-8", "replace").split("\n")
        return int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else None

    async def included(
        self, request: Request, headers: dict[str, str], position: int, size: int
    ) -> bool:
        key = (position, size)
        with self._lock:
            if key in self._included:
                return self._included[key]
        query = {"position": str(position), "size": str(size)}
        answer = await inprocess.get(request, INCLUSION, query, headers)
        found = answer.status == 200
        with self._lock:
            self._included[key] = found
        return found


def _reason(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return "the audit routes did not answer"
