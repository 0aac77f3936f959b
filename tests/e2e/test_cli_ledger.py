"""``talkstream audit key|checkpoint|prove`` and the log writer of ``talkstream relay``: the
verifier key auditors trust, a signed checkpoint on demand (stored, published, printed as the
note), proofs checked against it, and clean one-line refusals."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

from redis import Redis

from events.tlog import (
    Ed25519Verifier,
    open_checkpoint,
    verify_consistency,
    verify_inclusion,
)
from tests.e2e.helpers import TALKSTREAM, Runner, as_json, ok, one_error_line
from tests.processes import stop_process
from tests.waiting import wait_for


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def demo(tmp_path: Path, env: dict[str, str]) -> Runner:
    runner = Runner(tmp_path)
    ok(
        runner(
            "import",
            str(Path(__file__).parents[2] / "services/recorder/scenarios/us-iraq-jscd-2024.jsonl"),
            env=env,
        )
    )
    return runner


def test_key_checkpoint_and_proofs_from_the_command_line(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    env = {"TALKSTREAM_REDIS_URL": redis_url, "TALKSTREAM_PREFIX": prefix}
    cli = demo(tmp_path, env)
    assert one_error_line(cli("audit", "prove", "3", env=env)).startswith("error: no_checkpoint:")

    key_text = ok(cli("audit", "key", env=env)).stdout.strip()
    verifier = Ed25519Verifier.parse(key_text)
    assert verifier.name == "talkstream.local/log"
    assert (cli.home / "log.key").stat().st_mode & 0o777 == 0o600

    note = ok(cli("audit", "checkpoint", env=env)).stdout
    checkpoint, _ = open_checkpoint(note, [verifier], origin="talkstream.local/log")
    assert checkpoint.size == 15
    client = Redis.from_url(redis_url)
    published: Any = client.xrange(f"{prefix}:checkpoints")
    client.close()
    assert [(i, f[b"note"].decode()) for i, f in published] == [(b"15-0", note)]

    human = ok(cli("audit", "prove", "7", env=env)).stdout
    assert "included: position 7 is leaf 6 of the tree of 15" in human
    assert "signed checkpoint 15" in human
    proof = as_json(cli("audit", "prove", "7", "--json", env=env))
    verify_inclusion(
        6, 15, b64(proof["leaf_hash"]), [b64(h) for h in proof["proof"]], checkpoint.root
    )

    (tmp_path / "later.jsonl").write_text(_note_line(), encoding="utf-8")
    ok(cli("import", str(tmp_path / "later.jsonl"), env=env))
    later = open_checkpoint(ok(cli("audit", "checkpoint", env=env)).stdout, [verifier])[0]
    assert later.size == 16
    consistency = as_json(cli("audit", "prove", "--consistency", "15", "16", "--json", env=env))
    assert consistency["verified_against"] == "signed checkpoints 15, 16"
    hashes = [b64(h) for h in consistency["proof"]]
    verify_consistency(15, 16, checkpoint.root, later.root, hashes)


def _note_line() -> str:
    return (
        json.dumps(
            {
                "type": "ContextNoted",
                "negotiation_id": "us-iraq-jscd",
                "occurred_at": "2024-10",
                "sources": [{"outlet": "Test Wire", "kind": "wire"}],
                "verification": "reported",
                "payload": {"topic": "Later", "text": "Another note."},
            }
        )
        + "\n"
    )


def test_proofs_the_log_cannot_give_are_one_line_refusals(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    env = {"TALKSTREAM_REDIS_URL": redis_url, "TALKSTREAM_PREFIX": prefix}
    cli = demo(tmp_path, env)
    ok(cli("audit", "checkpoint", env=env))
    cases = {
        ("audit", "prove", "99"): "error: position_not_logged:",
        ("audit", "prove", "3", "--size", "16"): "error: invalid_tree_range:",
        ("audit", "prove", "--consistency", "9", "3"): "error: invalid_tree_range:",
        ("audit", "prove"): "error: invalid_option: give either POSITION or --consistency",
        ("audit", "prove", "3", "--consistency", "1", "2"): "error: invalid_option:",
    }
    for args, start in cases.items():
        result = cli(*args, env=env)
        assert result.returncode == 1, args
        assert one_error_line(result).startswith(start), args


def test_a_log_key_that_cannot_be_used_stops_the_command_with_exit_3(tmp_path: Path) -> None:
    cli = Runner(tmp_path)
    result = cli("audit", "key", env={"TALKSTREAM_LOG_KEY": "PRIVATE+KEY+garbage"})
    assert result.returncode == 3
    assert one_error_line(result).startswith("error: log_key_invalid: TALKSTREAM_LOG_KEY:")
    other = cli(
        "audit",
        "key",
        env={"TALKSTREAM_LOG_ORIGIN": "example.org/log"},  # the file's key is named otherwise
    )
    assert other.returncode == 0  # first use: a key named example.org/log is made
    assert other.stdout.startswith("example.org/log+")
    renamed = cli("audit", "key", env={"TALKSTREAM_LOG_ORIGIN": "example.net/log"})
    assert renamed.returncode == 3
    assert "example.org/log" in one_error_line(renamed)


def test_the_relay_process_logs_and_publishes_checkpoints(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    env = {
        "TALKSTREAM_REDIS_URL": redis_url,
        "TALKSTREAM_PREFIX": prefix,
        "TALKSTREAM_CHECKPOINT_EVERY": "5",
    }
    cli = demo(tmp_path, env)
    relay = subprocess.Popen(
        [str(TALKSTREAM), "relay"],
        cwd=tmp_path,
        env=cli.environment(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = Redis.from_url(redis_url)
    try:
        wait_for(lambda: client.xlen(f"{prefix}:checkpoints") >= 3, 60, "3 checkpoints")
    finally:
        assert stop_process(relay) == 0
    published: Any = client.xrange(f"{prefix}:checkpoints")
    client.close()
    assert [entry_id for entry_id, _ in published] == [b"5-0", b"10-0", b"15-0"]
    verifier = Ed25519Verifier.parse(ok(cli("audit", "key", env=env)).stdout.strip())
    for _, fields in published:
        open_checkpoint(fields[b"note"], [verifier])


def test_the_log_benchmarks_print_their_figures(tmp_path: Path) -> None:
    cli = Runner(tmp_path)
    proofs = ok(cli("bench", "verify", "--events", "300", "--samples", "10")).stdout
    assert "inclusion proof over 300 leaves: p50" in proofs
    assert "consistency proof over 300 leaves: p50" in proofs
    recorded = ok(cli("bench", "record", "--with-log", "--events", "200", "--batch", "20")).stdout
    assert "with the log writer" in recorded
    assert "ratio" in recorded


def test_a_checkpoint_on_demand_is_stored_even_when_redis_is_unreachable(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    env = {"TALKSTREAM_REDIS_URL": redis_url, "TALKSTREAM_PREFIX": prefix}
    cli = demo(tmp_path, env)
    away = {**env, "TALKSTREAM_REDIS_URL": "redis://127.0.0.1:1/0"}
    result = ok(cli("audit", "checkpoint", env=away))
    assert "checkpoint 15 stored, not published yet: Redis unreachable" in result.stderr
    assert result.stdout.startswith("talkstream.local/log\n15\n")
    assert "included" in ok(cli("audit", "prove", "2", env=away)).stdout
