"""The intake's entries: what publishers write to ``<prefix>:intake``, the result of each entry
(on ``<prefix>:intake:results`` or the entry's own reply stream) and the dead letter of a
refused one (on ``<prefix>:intake:dead``).

The intake itself reads its input field by field from the raw bytes (so that nothing fails
before it can dead-letter it); ``IntakeEntry`` is what a publisher writes and what the
AsyncAPI document describes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from services.wire.entries import text

TOO_LARGE = "entry_too_large"
HEAD_BYTES = 1024
KEPT_WHEN_TOO_LARGE = ("reply_to", "idempotency_key")
RECORDED = "recorded"
REFUSED = "refused"

# Bytes as they came, documented as strings (Redis stores every value as a string).
Binary = Annotated[bytes, WithJsonSchema({"type": "string"})]


class IntakeEntry(BaseModel):
    """An entry of ``<prefix>:intake`` (documentation for AsyncAPI; the intake itself checks
    entries field by field so that nothing fails before it can dead-letter it)."""

    model_config = ConfigDict(extra="allow")
    event: str | None = Field(
        default=None, description="The event as published: one JSON object (docs/events.md)."
    )
    reply_to: str | None = Field(
        default=None,
        description="A stream for the result, named <prefix>:intake:reply:<name>; "
        "default <prefix>:intake:results.",
    )
    idempotency_key: str | None = Field(
        default=None, description="Re-sending with the same key records once."
    )

    def encode(self) -> dict[str, str]:
        """The XADD fields: ``event``, ``reply_to``, ``idempotency_key`` (those given), then
        any others."""
        return {k: str(v) for k, v in self.model_dump(exclude_none=True).items()}

    @classmethod
    def decode(cls, fields: Mapping[bytes | str, bytes | str]) -> IntakeEntry:
        return cls.model_validate({text(k): text(v) for k, v in fields.items()})


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

    @classmethod
    def refusal(cls, entry_id: str, code: str, message: str) -> IntakeResult:
        return cls(entry_id=entry_id, status=REFUSED, code=code, message=message)

    @property
    def recorded(self) -> bool:
        return self.status == RECORDED

    def encode(self) -> dict[str, str]:
        """The XADD fields, in the order above, without those that do not apply."""
        return {k: v for k, v in self.model_dump(exclude_none=True).items()}

    @classmethod
    def decode(cls, fields: Mapping[bytes | str, bytes | str]) -> IntakeResult:
        return cls.model_validate({text(k): text(v) for k, v in fields.items()})


class DeadLetter(BaseModel):
    """An entry of ``<prefix>:intake:dead``: the original fields plus the reason. An entry
    refused as ``entry_too_large`` is not copied: it keeps ``event_sha256``, ``event_bytes``,
    ``event_head`` and ``entry_bytes`` instead of ``event`` (and ``reply_to`` and
    ``idempotency_key`` cut to a kilobyte)."""

    # On the wire it carries the refused entry's own fields too (``entry`` holds them).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"additionalProperties": True})
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
    event_head: Binary | None = Field(
        default=None, description="entry_too_large only: the first 1,024 bytes of `event`."
    )
    entry_bytes: str | None = Field(
        default=None, description="entry_too_large only: size of the whole entry in bytes."
    )
    # The refused entry's own fields, in their order: all of them, or those kept when it was
    # too large.
    entry: SkipJsonSchema[dict[str, bytes]] = Field(default_factory=dict, exclude=True)

    @classmethod
    def refusing(
        cls, fields: Mapping[str, bytes], entry_id: str, code: str, message: str
    ) -> DeadLetter:
        """The dead letter of a refused entry. An oversize entry keeps a summary instead of
        its fields, so that refusing it does not store it a second time."""
        if code != TOO_LARGE:
            return cls(entry_id=entry_id, error_code=code, error_message=message, entry=fields)
        event = fields.get("event", b"")
        return cls(
            entry_id=entry_id,
            error_code=code,
            error_message=message,
            event_sha256=hashlib.sha256(event).hexdigest(),
            event_bytes=str(len(event)),
            event_head=event[:HEAD_BYTES],
            entry_bytes=str(entry_size(fields)),
            entry={k: fields[k][:HEAD_BYTES] for k in KEPT_WHEN_TOO_LARGE if k in fields},
        )

    def encode(self) -> dict[str, str | bytes]:
        """The XADD fields: the entry's own, the summary of an oversize one, then why."""
        summary: dict[str, str | bytes] = {
            k: v for k in _SUMMARY if (v := getattr(self, k)) is not None
        }
        return {
            **self.entry,
            **summary,
            "entry_id": self.entry_id,
            "error_code": self.error_code,
            "error_message": self.error_message,
        }

    @classmethod
    def decode(cls, fields: Mapping[bytes | str, bytes | str]) -> DeadLetter:
        values = {text(k): v if isinstance(v, bytes) else v.encode() for k, v in fields.items()}
        named: dict[str, str | bytes] = {k: values.pop(k).decode() for k in _REASON}
        if named["error_code"] == TOO_LARGE:
            for k in _SUMMARY:
                if k in values:
                    value = values.pop(k)
                    named[k] = value if k == "event_head" else value.decode()
        return cls.model_validate({**named, "entry": values})


_REASON = ("entry_id", "error_code", "error_message")
_SUMMARY = ("event_sha256", "event_bytes", "event_head", "entry_bytes")


def entry_size(fields: Mapping[str, bytes]) -> int:
    """An intake entry's size: its field names and values, in bytes."""
    return sum(len(k) + len(v) for k, v in fields.items())
