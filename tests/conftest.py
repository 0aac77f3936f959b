"""Shared fixtures: settings per store (SQLite file, real PostgreSQL), applications, drafts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis as redis_py

from services.recorder.application import Negotiations
from services.recorder.store import MEMORY_ENV
from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests.ports import DEFAULT_PORT, held
from tests.redis_keys import owned_prefix
from tests.redis_servers import PrivateRedis

REQUIRE_POSTGRES = os.environ.get("TALKSTREAM_REQUIRE_POSTGRES", "") not in ("", "0")
PG = {
    "host": os.environ.get("TALKSTREAM_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("TALKSTREAM_TEST_PG_PORT", "5432")),
    "dbname": os.environ.get("TALKSTREAM_TEST_PG_DBNAME", "test"),
    "user": os.environ.get("TALKSTREAM_TEST_PG_USER", "postgres"),
    "password": os.environ.get("TALKSTREAM_TEST_PG_PASSWORD", ""),
}


def _postgres_or_skip() -> None:
    import psycopg

    try:
        psycopg.connect(**PG, connect_timeout=3).close()  # type: ignore[arg-type]
    except psycopg.OperationalError as e:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required here (TALKSTREAM_REQUIRE_POSTGRES) but: {e}")
        pytest.skip(f"no PostgreSQL server reachable: {e}")


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema in the test database, dropped afterwards."""
    _postgres_or_skip()
    import psycopg

    schema = f"ts_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**PG, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(**PG, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", store="sqlite")


def postgres_settings(tmp_path: Path, schema: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        store="postgres",
        postgres_host=PG["host"],
        postgres_port=PG["port"],
        postgres_dbname=PG["dbname"],
        postgres_user=PG["user"],
        postgres_password=PG["password"],
        postgres_schema=schema,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a fresh store: a real SQLite file, or a fresh schema on real PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_settings(tmp_path)
    schema = request.getfixturevalue("pg_schema")
    return postgres_settings(tmp_path, schema)


@pytest.fixture
def store_app(store_settings: Settings) -> Iterator[Negotiations]:
    app = build_application(store_settings)
    yield app
    app.close()


@pytest.fixture
def memory_app() -> Iterator[Negotiations]:
    """An application on eventsourcing's in-memory store: for unit tests (no I/O)."""
    app = Negotiations(env=MEMORY_ENV)
    yield app
    app.close()


# Redis: the shared server at 127.0.0.1:6379 when it answers, else one bundled redis-server
# started for the test session. Each test gets its own key prefix and deletes only its keys.

SHARED_REDIS = os.environ.get("TALKSTREAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if _answers(SHARED_REDIS):
        yield SHARED_REDIS
        return
    from services.runtime.redis_server import redis_for

    home = tmp_path_factory.mktemp("session-redis")
    with redis_for(Settings(home=home, redis_url=None)) as url:
        yield url


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own."""
    with owned_prefix(redis_url) as name:
        yield name


@pytest.fixture
def redis_settings(tmp_path: Path, redis_url: str, prefix: str) -> Settings:
    """Settings for a fresh SQLite store and this test's prefix on the test Redis."""
    return Settings(home=tmp_path / "home", store="sqlite", redis_url=redis_url, prefix=prefix)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis_py.Redis]:
    """A client on the test Redis that returns bytes (the streams' exact contents)."""
    client = redis_py.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def stream(prefix: str) -> str:
    """This test's ``<prefix>:events`` stream."""
    return f"{prefix}:events"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test's own, started, for a test that stops or restarts its Redis;
    killed whatever the test did."""
    server = PrivateRedis(tmp_path / "private-redis")
    try:
        server.start()
        yield server
    finally:
        server.kill()


@pytest.fixture
def sqlite_app(redis_settings: Settings) -> Iterator[Negotiations]:
    """An application on this test's SQLite file (``redis_settings``)."""
    app = build_application(redis_settings)
    yield app
    app.close()


def pytest_configure(config: pytest.Config) -> None:
    """Every test that starts a server must pick a free port: the default one is taken for the
    whole run, by the process that outlives every test (with pytest-xdist, the controller, so
    the port stays held until the last worker's last test; the workers leave it alone)."""
    if hasattr(config, "workerinput"):
        return
    guard = ExitStack()
    guard.enter_context(held(DEFAULT_PORT))
    config.add_cleanup(guard.close)
