"""``--store postgres`` runs the store benchmarks on a fresh schema of the configured
PostgreSQL database and drops it afterwards; an unreachable one is one clear error (never a
timing assertion)."""

from __future__ import annotations

import math
from pathlib import Path

import psycopg
import pytest

from services.bench.exceptions import BenchStoreUnreachable
from services.bench.record import bench_record
from services.bench.target import bench_store
from tests.conftest import PG


def _schemas() -> set[str]:
    with psycopg.connect(**PG, autocommit=True) as conn:  # type: ignore[arg-type]
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench_%'")
        return {r[0] for r in rows}


@pytest.fixture
def postgres_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PG.items():
        monkeypatch.setenv(f"TALKSTREAM_POSTGRES_{name.upper()}", str(value))


@pytest.mark.postgres
@pytest.mark.usefixtures("pg_schema", "postgres_env")  # skips unless PostgreSQL answers
def test_bench_record_runs_on_a_fresh_postgres_schema_and_drops_it(tmp_path: Path) -> None:
    before = _schemas()
    with bench_store(tmp_path / "probe", "postgres") as settings:
        assert settings.store == "postgres"
        assert settings.postgres_schema in _schemas() - before
    assert _schemas() == before
    result = bench_record(20, 5, tmp_path, "postgres")
    assert set(result) == {"app_single", "raw_single", "app_batch", "raw_batch"}
    assert all(math.isfinite(v) and v > 0 for v in result.values()), result
    assert _schemas() == before


def test_an_unreachable_postgres_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALKSTREAM_POSTGRES_HOST", "127.0.0.1")
    monkeypatch.setenv("TALKSTREAM_POSTGRES_PORT", "1")  # nothing listens there
    with pytest.raises(BenchStoreUnreachable) as caught, bench_store(tmp_path, "postgres"):
        pass
    assert caught.value.code == "bench_store_unreachable"
    assert caught.value.message.startswith("--store postgres: the configured PostgreSQL")
