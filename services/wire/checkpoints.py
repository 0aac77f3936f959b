"""The entry of ``<prefix>:checkpoints``: one per signed checkpoint of the verifiable log, with
the entry ID ``<tree size>-0`` (so a checkpoint is published once, in size order)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field

from services.wire.entries import text


class CheckpointEntry(BaseModel):
    """An entry of ``<prefix>:checkpoints``: the log signed a checkpoint."""

    origin: str = Field(description="The log's origin (TALKSTREAM_LOG_ORIGIN).")
    size: str = Field(description="The tree size, in decimal (also the entry ID's first part).")
    root: str = Field(description="The root hash, standard base64.")
    note: str = Field(
        description="The C2SP tlog-checkpoint signed note, exactly as GET /v1/audit/checkpoint "
        "serves it; verify it with the log's verifier key (`talkstream audit key`)."
    )
    made_at: str = Field(description="When the checkpoint was made, UTC ISO 8601.")

    def encode(self) -> dict[str, str]:
        return self.model_dump()

    @classmethod
    def decode(cls, fields: Mapping[bytes | str, bytes | str]) -> CheckpointEntry:
        return cls.model_validate({text(k): text(v) for k, v in fields.items()})


def checkpoint_entry_id(size: int) -> str:
    return f"{size}-0"
