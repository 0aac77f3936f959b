"""Settings come from TALKSTREAM_* variables; PostgreSQL falls back to eventsourcing's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.exceptions import InvalidSettings
from services.recorder.store import eventsourcing_env
from services.settings import Settings, load_settings


def test_defaults_to_an_sqlite_file_under_the_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TALKSTREAM_HOME", str(tmp_path / "data"))
    env = eventsourcing_env(Settings())
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == str(tmp_path / "data" / "events.db")


def test_postgres_settings_come_from_talkstream_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALKSTREAM_STORE", "postgres")
    monkeypatch.setenv("TALKSTREAM_POSTGRES_HOST", "db.internal")
    monkeypatch.setenv("TALKSTREAM_POSTGRES_DBNAME", "talks")
    monkeypatch.setenv("POSTGRES_DBNAME", "ignored")
    env = eventsourcing_env(Settings())
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_DBNAME"]) == ("db.internal", "talks")


def test_eventsourcing_postgres_variables_fill_unset_talkstream_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TALKSTREAM_STORE", "postgres")
    monkeypatch.setenv("POSTGRES_USER", "es_user")
    monkeypatch.delenv("TALKSTREAM_POSTGRES_USER", raising=False)
    assert eventsourcing_env(Settings())["POSTGRES_USER"] == "es_user"


def test_rejects_an_unknown_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALKSTREAM_STORE", "mongo")
    with pytest.raises(ValueError, match="store"):
        Settings()


def test_the_relay_lease_lasts_five_seconds_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TALKSTREAM_RELAY_LEASE_MS", raising=False)
    assert Settings().relay_lease_ms == 5000
    monkeypatch.setenv("TALKSTREAM_RELAY_LEASE_MS", "1500")
    assert Settings().relay_lease_ms == 1500


@pytest.mark.parametrize(
    ("value", "reason"),
    [("soon", "valid integer"), ("100", "greater than or equal to 300"), ("-5", "greater")],
)
def test_a_bad_relay_lease_is_one_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("TALKSTREAM_RELAY_LEASE_MS", value)
    with pytest.raises(InvalidSettings, match=f"^TALKSTREAM_RELAY_LEASE_MS: .*{reason}"):
        load_settings()
