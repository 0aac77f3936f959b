"""What a benchmark runs against: the configured Redis or an embedded one, under a fresh key
prefix whose keys are all deleted afterwards; and a fresh event store of the kind asked, an
SQLite file or a schema of its own in the configured PostgreSQL database, dropped
afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis

from services.bench.exceptions import BenchStoreUnreachable
from services.runtime.redis_server import redis_for
from services.settings import Settings, load_settings

STORES = ("sqlite", "postgres")


@contextmanager
def bench_redis(
    tmp: Path, redis_url: str | None = None, prefix: str | None = None
) -> Iterator[tuple[str, str]]:
    prefix = prefix or f"bench-{uuid.uuid4().hex[:8]}"
    configured = redis_url or load_settings().redis_url
    with redis_for(Settings(home=tmp / "redis-home", redis_url=configured)) as url:
        try:
            yield url, prefix
        finally:
            delete_prefix(url, prefix)


def delete_prefix(url: str, prefix: str) -> None:
    client = Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.unlink(*keys[start : start + 500])
    client.close()


@contextmanager
def bench_store(home: Path, store: str) -> Iterator[Settings]:
    """Settings for a fresh store under ``home``: ``sqlite``, or ``postgres`` in a new schema
    of the database the settings (TALKSTREAM_POSTGRES_*) name, dropped afterwards."""
    if store == "sqlite":
        yield Settings(home=home, store="sqlite")
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    settings = load_settings().model_copy(
        update={"home": home, "store": "postgres", "postgres_schema": schema}
    )
    _on_postgres(settings, f'CREATE SCHEMA "{schema}"')
    try:
        yield settings
    finally:
        _on_postgres(settings, f'DROP SCHEMA "{schema}" CASCADE')


def postgres_env(settings: Settings) -> dict[str, str]:
    """The settings' PostgreSQL store as TALKSTREAM_* variables (for a served process)."""
    env: dict[str, str] = {"TALKSTREAM_STORE": settings.store}
    if settings.store == "postgres":
        for name in ("dbname", "host", "port", "user", "password", "schema"):
            env[f"TALKSTREAM_POSTGRES_{name.upper()}"] = settings.postgres_value(name)
    return env


def _on_postgres(settings: Settings, statement: str) -> None:
    import psycopg

    value = settings.postgres_value
    try:
        with psycopg.connect(
            dbname=value("dbname"),
            host=value("host"),
            port=value("port"),
            user=value("user"),
            password=value("password") or None,
            autocommit=True,
            connect_timeout=5,
        ) as conn:
            conn.execute(statement.encode())
    except psycopg.OperationalError as e:
        raise BenchStoreUnreachable(str(e).strip().splitlines()[0]) from None
