"""``talkstream audit watch URL --state DIR``: a witness against a real API process on SQLite
and PostgreSQL. It accepts a first checkpoint and every consistent one after it (cosigning
them when asked), and exits 1 naming why when the history is rewritten and re-signed with a
new key, rewritten with the log's own key, or cut short."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from events.tlog import CosignatureVerifier, Ed25519Signer, open_note
from services.recorder.ledger import load_verifier
from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests import tamper
from tests.factories import note
from tests.store_faults import Server, run_cli, serving


@pytest.fixture
def logged(store_settings: Settings, redis_url: str, prefix: str) -> Settings:
    settings = store_settings.model_copy(update={"redis_url": redis_url, "prefix": prefix})
    tamper.logged_store(settings)
    return settings


@pytest.fixture
def api(logged: Settings) -> Iterator[Server]:
    with serving(logged, "api") as server:
        yield server


KEYS: dict[Path, str] = {}


def auditor_key(settings: Settings) -> str:
    """One auditor key per store, created on first use."""
    if settings.home not in KEYS:
        created = run_cli(settings, "keys", "create", "--role", "auditor", "--name", "witness")
        assert created.returncode == 0, created.stderr
        KEYS[settings.home] = created.stdout.strip()
    return KEYS[settings.home]


def watch(
    settings: Settings, server: Server, state: Path, *extra: object
) -> subprocess.CompletedProcess[str]:
    done = run_cli(
        settings,
        "audit",
        "watch",
        server.url,
        "--state",
        state,
        "--api-key",
        auditor_key(settings),
        *extra,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def log_key(settings: Settings) -> str:
    shown = run_cli(settings, "audit", "key")
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip()


def grow(settings: Settings) -> int:
    """One more event recorded, logged and checkpointed."""
    app = build_application(settings)
    try:
        app.record(note("One more development.", nid="us-iraq-jscd"), principal="tester")
    finally:
        app.close()
    return tamper.checkpoint(settings)


def test_the_witness_accepts_a_consistent_log_and_cosigns_it(
    logged: Settings, api: Server, tmp_path: Path
) -> None:
    state = tmp_path / "witness"
    first = watch(logged, api, state, "--key", log_key(logged))
    assert first.returncode == 0, first.stderr
    assert "accepted checkpoint 15 (first checkpoint)" in first.stdout
    assert (state / "checkpoint").read_text().startswith("talkstream.local/log\n15\n")

    size = grow(logged)
    witness = Ed25519Signer.generate("witness.example/w1")
    (tmp_path / "w1.key").write_text(witness.key_text)
    second = watch(logged, api, state, "--cosign-key", tmp_path / "w1.key")
    assert second.returncode == 0, second.stderr
    assert f"accepted checkpoint {size} (consistent with 15)" in second.stdout
    cosigned = (state / "cosigned").read_text()
    cosigner = CosignatureVerifier.from_public_key(witness.name, witness.verifier.public_key)
    opened = open_note(cosigned, [load_verifier(logged), cosigner])
    assert {s.name for s in opened.signatures} == {"talkstream.local/log", "witness.example/w1"}


def test_a_history_rewritten_and_signed_with_a_new_key_is_caught(
    logged: Settings, api: Server, tmp_path: Path
) -> None:
    state = tmp_path / "witness"
    assert watch(logged, api, state, "--key", log_key(logged)).returncode == 0
    tamper.forge(logged, 3)
    tamper.rewrite_log(logged, Ed25519Signer.generate(logged.log_origin).key_text)
    assert run_cli(logged, "audit", "verify").returncode == 1  # the stream still tells
    caught = watch(logged, api, state)
    assert caught.returncode == 1
    assert "error: different_key: the latest checkpoint is not signed by the key" in caught.stderr
    assert (state / "checkpoint").read_text().startswith("talkstream.local/log\n15\n")


def test_a_history_rewritten_with_the_logs_own_key_is_caught(
    logged: Settings, api: Server, tmp_path: Path
) -> None:
    state = tmp_path / "witness"
    assert watch(logged, api, state, "--key", log_key(logged)).returncode == 0
    tamper.forge(logged, 3)
    app = build_application(logged)
    try:
        app.record(note("Forged.", nid="us-iraq-jscd"), principal="intruder")
    finally:
        app.close()
    tamper.rewrite_log(logged)
    caught = watch(logged, api, state)
    assert caught.returncode == 1
    assert "error: rewritten_history: checkpoint 16 does not extend" in caught.stderr


def test_a_log_cut_short_is_caught(logged: Settings, api: Server, tmp_path: Path) -> None:
    state = tmp_path / "witness"
    assert watch(logged, api, state, "--key", log_key(logged)).returncode == 0
    tamper.delete(logged, 14, 15)
    tamper.rewrite_log(logged)
    caught = watch(logged, api, state)
    assert caught.returncode == 1
    assert "error: rewritten_history: the log's latest tree (13 events)" in caught.stderr


def test_the_witness_needs_a_key_to_trust_on_its_first_run(
    logged: Settings, api: Server, tmp_path: Path
) -> None:
    refused = watch(logged, api, tmp_path / "witness")
    assert refused.returncode == 3
    assert "error: watch_failed: no trusted key" in refused.stderr
