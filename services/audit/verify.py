"""Full verification in one pass over the store: the store's own checks (hashes, chains), and
beside them every part handed in (the log's checkpoints, the event stream, each live view),
each fed the same events in position order. A part that cannot be read (Redis down) is
skipped with the reason, never counted as passed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Protocol, runtime_checkable

from redis.exceptions import RedisError

from services.recorder.application import Negotiations
from services.recorder.audit import AuditReport, Finding, Seen, verify


class Part(Protocol):
    """One check beside the store pass."""

    @property
    def name(self) -> str: ...

    def see(self, seen: Seen) -> None: ...

    def finish(self) -> list[Finding] | str:
        """Its findings, or why it could not check (a skip)."""
        ...


@runtime_checkable
class RunPart(Part, Protocol):
    """A part that takes a run of events at once."""

    def see_all(self, seen: Sequence[Seen]) -> None: ...


class _Guarded:
    """Feeds a part until it fails to read what it compares with; then it is skipped."""

    def __init__(self, part: Part) -> None:
        self.part = part
        self.failed: str | None = None

    def see_all(self, seen: Sequence[Seen]) -> None:
        if self.failed is None:
            try:
                if isinstance(self.part, RunPart):
                    self.part.see_all(seen)
                else:
                    for one in seen:
                        self.part.see(one)
            except RedisError as e:
                self.failed = f"Redis unreachable ({' '.join(str(e).split())})"

    def finish(self) -> list[Finding] | str:
        if self.failed is not None:
            return self.failed
        try:
            return self.part.finish()
        except RedisError as e:
            return f"Redis unreachable ({' '.join(str(e).split())})"


def verify_all(
    app: Negotiations,
    parts: Iterable[Part],
    *,
    skipped: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """The store pass with every part beside it; ``skipped`` names parts not even started."""
    guarded = [_Guarded(p) for p in parts]
    report = verify(app, observers=guarded, progress=progress)
    for g in guarded:
        outcome = g.finish()
        if isinstance(outcome, str):
            report.skip(g.part.name, outcome)
        else:
            report.add(g.part.name, outcome)
    for name, why in (skipped or {}).items():
        report.skip(name, why)
    report.findings = _located(report.findings)
    return report


def _located(findings: list[Finding]) -> list[Finding]:
    """A finding that could not name its negotiation (the log knows positions only) takes it
    from another finding at the same position (the stream's entry names it)."""
    known = {f.position: f.negotiation_id for f in findings if f.negotiation_id}
    return [
        replace(f, negotiation_id=known[f.position])
        if f.negotiation_id is None and f.position in known
        else f
        for f in findings
    ]
