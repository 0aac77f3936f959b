"""Settings from ``TALKSTREAM_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.exceptions import InvalidSettings


def _default_principal() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TALKSTREAM_", extra="ignore")

    home: Path = Path(".talkstream")
    store: Literal["sqlite", "postgres"] = "sqlite"
    sqlite_path: Path | None = None
    postgres_dbname: str = "talkstream"
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str = "postgres"
    postgres_password: str = ""
    postgres_schema: str = ""
    redis_url: str | None = None
    # The events spread over this many streams by negotiation (services/wire/partitions.py).
    partitions: int = Field(default=1, ge=1, le=1024)
    redis_start_timeout: float = Field(default=10.0, gt=0)
    redis_stop_timeout: float = Field(default=10.0, gt=0)
    redis_owner_wait: float = Field(default=30.0, gt=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    via_make: bool = False  # set by `make demo`: messages then say how to run make instead
    prefix: str = Field(default="talkstream", pattern=r"^[A-Za-z0-9][A-Za-z0-9:_.-]{0,63}$")
    relay_batch: int = Field(default=500, ge=1, le=10_000)
    relay_poll_interval: float = Field(default=0.5, gt=0, le=5)
    # How long a relay's lease lasts unless renewed (a third of it apart): a standby relay
    # takes over within about this long after the holder dies.
    relay_lease_ms: int = Field(default=5000, ge=300, le=600_000)
    intake_max_deliveries: int = Field(default=5, ge=1)
    intake_claim_idle_ms: int = Field(default=30_000, ge=10)
    intake_max_bytes: int = Field(default=262_144, ge=1024)
    intake_trim_seconds: float = Field(default=60.0, ge=0)
    projection_batch: int = Field(default=500, ge=1, le=10_000)
    projection_claim_idle_ms: int = Field(default=30_000, ge=10)
    principal: str = Field(default_factory=_default_principal, min_length=1, max_length=200)
    keys_file: Path | None = None
    anonymous_reads: bool = False
    api_max_body: int = Field(default=1_048_576, ge=1024)
    api_rate_per_second: float = Field(default=100.0, gt=0)
    api_rate_burst: int = Field(default=200, ge=1)
    api_batch_max: int = Field(default=500, ge=1, le=10_000)
    api_wait_max: float = Field(default=10.0, gt=0, le=60)
    api_ready_max_lag: int = Field(default=1000, ge=0)
    sse_heartbeat: float = Field(default=15.0, gt=0, le=300)
    sse_max_subscribers: int = Field(default=2000, ge=1)
    sse_max_per_key: int = Field(default=500, ge=1)
    sse_queue: int = Field(default=1000, ge=1, le=1_000_000)
    api_max_connections: int = Field(default=4096, ge=1)
    api_header_timeout: float = Field(default=10.0, gt=0, le=300)
    api_body_timeout: float = Field(default=30.0, gt=0, le=3600)
    api_keep_alive_timeout: float = Field(default=5.0, gt=0, le=300)
    api_send_timeout: float = Field(default=60.0, gt=0, le=3600)
    log_origin: str = Field(default="talkstream.local/log", pattern=r"^[^\s+]{1,200}$")
    log_key: SecretStr | None = None  # signer key text (PRIVATE+KEY+...); else the key file
    log_key_file: Path | None = None
    checkpoint_every: int = Field(default=1000, ge=1)
    checkpoint_seconds: float = Field(default=60.0, gt=0)
    hooks_allow_private: bool = False  # webhooks to loopback/private addresses (SSRF guard off)
    hooks_timeout: float = Field(default=10.0, gt=0, le=300)  # one delivery attempt
    hooks_retry_for: float = Field(default=86_400.0, gt=0)  # then a change is parked
    hooks_backoff_initial: float = Field(default=1.0, gt=0)
    hooks_backoff_max: float = Field(default=3_600.0, gt=0)
    hooks_poll_interval: float = Field(default=0.5, gt=0, le=60)
    # A relay, intake, projector or deliverer counts as alive for this long after a heartbeat
    # (it beats three times as often); `talkstream health ROLE` reads it.
    heartbeat_seconds: float = Field(default=15.0, gt=0, le=3600)
    otlp_endpoint: str | None = None  # traces go to this OTLP/HTTP endpoint when set
    # The point-in-time cache's bound (events and folds of as-of questions), per API process.
    asof_cache_mb: float = Field(default=64.0, gt=0, le=65_536)
    # What each projection worker keeps of its states between batches, in records and entries.
    state_cache_events: int = Field(default=20_000, ge=0)

    @model_validator(mode="after")
    def _cluster_needs_partitions(self) -> Settings:
        if self.redis_url and self.redis_url.startswith("redis+cluster://") and self.partitions < 2:
            raise ValueError(
                "TALKSTREAM_PARTITIONS: Redis Cluster (a redis+cluster:// TALKSTREAM_REDIS_URL) "
                "needs at least 2 partitions"
            )
        return self

    @property
    def events_db(self) -> Path:
        return self.sqlite_path or self.home / "events.db"

    @property
    def keys_path(self) -> Path:
        return self.keys_file or self.home / "keys.json"

    @property
    def log_key_path(self) -> Path:
        """The log's signing key file (created on first start when no key is given)."""
        return self.log_key_file or self.home / "log.key"

    @property
    def loopback(self) -> bool:
        """Whether the API is bound to this machine only."""
        return self.host in {"127.0.0.1", "::1", "localhost"}

    @property
    def anonymous_reads_served(self) -> bool:
        """Whether requests without a key may read: asked for, and on a loopback host only."""
        return self.anonymous_reads and self.loopback

    def postgres_value(self, name: str) -> str:
        """A PostgreSQL setting: TALKSTREAM_POSTGRES_X if set, else eventsourcing's POSTGRES_X,
        else our default."""
        field = f"postgres_{name}"
        if field not in self.model_fields_set and f"POSTGRES_{name.upper()}" in os.environ:
            return os.environ[f"POSTGRES_{name.upper()}"]
        return str(getattr(self, field))


def load_settings() -> Settings:
    """Settings from the environment; a bad value is one readable InvalidSettings."""
    try:
        return Settings()
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        if not first["loc"]:  # a check of several settings names them in its message
            raise InvalidSettings(first["msg"].removeprefix("Value error, ")) from None
        name = "TALKSTREAM_" + "_".join(str(p) for p in first["loc"]).upper()
        raise InvalidSettings(f"{name}: {first['msg']}") from None
