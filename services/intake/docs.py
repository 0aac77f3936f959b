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
    """An entry of ``<prefix>:intake:dead``: the original fields plus the reason."""

    model_config = ConfigDict(extra="allow")
    entry_id: str = Field(description="The original intake entry's ID.")
    error_code: str = Field(description="e.g. invalid_json, invalid_event, delivery_limit.")
    error_message: str
