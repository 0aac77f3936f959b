"""docs/operations.md's "Rebuilding Redis entirely from the store", done as written: the
talkstream processes stop, every key under the prefix goes, they start again; the relay
republishes the store, the projectors fold every view again, and ``talkstream audit verify``
passes with the views as they were."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import redis

from tests.e2e.helpers import SCENARIO_ID, Runner, as_json, ok
from tests.processes import TalkstreamProcess, stop_process
from tests.redis_keys import delete_prefix
from tests.waiting import wait_for


def _workers(cli: Runner, env: dict[str, str], logs: Path) -> list[TalkstreamProcess]:
    full = cli.environment(env)
    return [TalkstreamProcess(role, full, logs / f"{role}.log") for role in ("relay", "project")]


def _stop(workers: list[TalkstreamProcess]) -> None:
    for worker in workers:
        assert stop_process(worker.proc, signal.SIGINT) == 0, worker.tail()


def _verified(cli: Runner, env: dict[str, str]) -> bool:
    """``audit verify`` passes with every part checked: an empty stream or view is skipped,
    not failed, so a skipped part means not yet rebuilt."""
    result = cli("audit", "verify", env=env)
    return result.returncode == 0 and "skipped" not in result.stdout + result.stderr


def _timeline(cli: Runner, env: dict[str, str]) -> Any:
    """The live timeline view; None while it cannot be read (not rebuilt yet)."""
    result = cli("view", "timeline", SCENARIO_ID, env=env)
    return as_json(result) if result.returncode == 0 else None


def test_an_emptied_redis_is_rebuilt_from_the_store(
    cli: Runner, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    env = {"TALKSTREAM_REDIS_URL": redis_url, "TALKSTREAM_PREFIX": prefix}
    ok(cli("demo", "--no-serve", env=env))
    workers = _workers(cli, env, tmp_path)
    try:
        wait_for(lambda: _verified(cli, env), 120, "the stream and views to follow the store")
        before = _timeline(cli, env)
        _stop(workers)
        delete_prefix(redis_url, prefix)
        with redis.Redis.from_url(redis_url) as client:
            assert list(client.scan_iter(f"{prefix}:*")) == []
        assert not _verified(cli, env)  # nothing in Redis: the stream and views are skipped
        workers = _workers(cli, env, tmp_path)
        wait_for(
            lambda: _verified(cli, env) and _timeline(cli, env) == before,
            120,
            "Redis to be rebuilt from the store",
        )
        assert before is not None and before["position"] > 0 and before["view"]
    finally:
        for worker in workers:
            worker.kill()
