"""Request and response bodies of the HTTP API (events themselves are the models in events/)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_POSITION = 2**53 - 1  # positions and versions stay exact as JSON numbers


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable reason, e.g. invalid_event.")
    message: str = Field(description="What was wrong, naming the field where there is one.")
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class WriteResult(BaseModel):
    event_id: str
    negotiation_id: str
    position: int = Field(description="Global position: the event stream's entry ID.")
    version: int = Field(description="The event's version within its negotiation.")
    hash: str
    duplicate: bool = Field(
        default=False, description="True when an idempotency key matched an earlier write."
    )


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[dict[str, Any]] = Field(
        min_length=1, description="Published events; each negotiation's share is atomic."
    )


class BatchItem(BaseModel):
    index: int
    status: int = Field(description="201 recorded, 200 duplicate, or the error's status.")
    result: WriteResult | None = None
    error: ErrorDetail | None = None


class BatchResult(BaseModel):
    recorded: int
    duplicates: int
    refused: int
    results: list[BatchItem]


class NegotiationSummary(BaseModel):
    negotiation_id: str
    title: str | None
    status: str | None


class NegotiationList(BaseModel):
    position: int = Field(description="The stream position the listing reflects.")
    negotiations: list[NegotiationSummary]
    next_after: str | None = Field(
        description="Pass as after= for the next page; null on the last page."
    )


class ViewAnswer(BaseModel):
    negotiation_id: str
    position: int = Field(description="The last position the answer includes.")
    as_of: str | None = None
    known_at: str | None = None
    source: str = Field(description="live (the Redis view) or store (a fold of the events).")
    view: Any


class DiffAnswer(BaseModel):
    negotiation_id: str
    clock: str
    start: str = Field(serialization_alias="from")
    end: str = Field(serialization_alias="to")
    changes: list[dict[str, Any]]


class AuditPage(BaseModel):
    after: int
    next_after: int | None = Field(description="Pass as after= for the next page; null at end.")
    events: list[dict[str, Any]]


class AuditFinding(BaseModel):
    kind: str = Field(
        description="altered_bytes, broken_link, missing_event, extra_event, reordered, "
        "bad_signature, stream_mismatch or view_drift."
    )
    position: int | None = Field(description="The first bad position (null: the log as a whole).")
    negotiation_id: str | None
    reason: str


class AuditVerdict(BaseModel):
    ok: bool
    checked: int = Field(description="Stored events checked.")
    last_position: int
    checks: dict[str, str] = Field(
        description="Each part checked (store, log, stream, view <name>) and its outcome: ok, "
        "failed or skipped: <why>."
    )
    first: AuditFinding | None = Field(description="The finding at the lowest position.")
    findings: list[AuditFinding] = Field(description="In position order; at most 100.")


class Health(BaseModel):
    status: str


class StreamDivergence(BaseModel):
    position: int = Field(description="The first position where the stream and the store differ.")
    store_hash: str | None = Field(description="The store's hash there (null: no event).")
    stream_hash: str | None = Field(description="The stream's hash there (null: no entry).")
    detected_at: str


class Readiness(BaseModel):
    ready: bool
    store_position: int | None
    stream_position: int | None
    projections: dict[str, int]
    problems: list[str]
    stream_diverged: StreamDivergence | None = Field(
        default=None,
        description="Set while the event stream holds another history than the store "
        "(`talkstream relay --rebuild-stream` repairs it).",
    )
    degraded: list[str] = Field(
        default_factory=list,
        description="What works only in part while writes are still stored: "
        "`redis_unavailable` (views, the change feed and the stream catch up once Redis is "
        "back), `stream_diverged` (writes are stored but not published).",
    )
    relay_lease: Literal["holder", "standby"] | None = Field(
        default=None,
        description="This process's relay: `holder` publishes, `standby` waits to take over "
        "(both are ready); absent when the process runs no relay.",
    )
