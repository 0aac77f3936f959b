"""Models that document the intake's output streams in the AsyncAPI file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IntakeResult(BaseModel):
    """An entry of the reply stream (``reply_to``) or ``<prefix>:intake:results``."""

    entry_id: str = Field(description="The intake entry this answers.")
    status: str = Field(description="`recorded` or `refused`.")
    event_id: str | None = None
    negotiation_id: str | None = None
    position: str | None = Field(default=None, description="Global position in the store.")
    version: str | None = Field(default=None, description="Version within the negotiation.")
    hash: str | None = None
    duplicate: str | None = Field(
        default=None, description="`true` when the idempotency key was already recorded."
    )
    code: str | None = Field(default=None, description="Why it was refused (a stable code).")
    message: str | None = Field(default=None, description="Why it was refused, readable.")


class DeadLetter(BaseModel):
    """An entry of ``<prefix>:intake:dead``: the original fields plus the reason. An entry
    refused as ``entry_too_large`` is not copied: it keeps ``event_sha256``, ``event_bytes``,
    ``event_head`` and ``entry_bytes`` instead of ``event`` (and ``reply_to`` and
    ``idempotency_key`` cut to a kilobyte)."""

    model_config = ConfigDict(extra="allow")
    entry_id: str = Field(description="The original intake entry's ID.")
    error_code: str = Field(
        description="e.g. invalid_json, duplicate_key, number_out_of_range, invalid_event, "
        "entry_too_large, delivery_limit."
    )
    error_message: str
    event_sha256: str | None = Field(
        default=None, description="entry_too_large only: SHA-256 (hex) of the `event` field."
    )
    event_bytes: str | None = Field(
        default=None, description="entry_too_large only: size of the `event` field in bytes."
    )
    event_head: str | None = Field(
        default=None, description="entry_too_large only: the first 1,024 bytes of `event`."
    )
    entry_bytes: str | None = Field(
        default=None, description="entry_too_large only: size of the whole entry in bytes."
    )
