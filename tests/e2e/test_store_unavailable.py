"""A store that fails under a running ``talkstream up``: a full file (no byte may be written), a
read-only file, a PostgreSQL that vanishes. Writes answer 503 ``store_unavailable`` (never a
500) and store nothing, ``/readyz`` answers 503 naming the store, and the same process serves
again by itself once the store is back. The CLI says so in one ``error:`` line."""

from __future__ import annotations

import json
import resource
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.recorder.jsonl import scenario_lines
from services.settings import Settings
from tests.conftest import PG, postgres_settings
from tests.e2e.helpers import SCENARIO_ID, one_error_line, the_error, write_jsonl
from tests.store_faults import (
    TcpProxy,
    admin_key,
    can_make_immutable,
    free_port,
    immutable,
    lift_file_size_limit,
    limit_file_size,
    max_position,
    run_cli,
    serving,
    store_files,
    store_tracebacks,
)
from tests.waiting import wait_for

EVENTS = [json.loads(line) for line in scenario_lines()]
EVENTS_PATH = f"/v1/negotiations/{SCENARIO_ID}/events"


def _is_store_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["code"] == "store_unavailable", error
    assert error["message"], error


def _not_ready_because_of_the_store(http: httpx.Client) -> None:
    readiness = http.get("/readyz")
    assert readiness.status_code == 503, readiness.text
    problems = readiness.json()["problems"]
    assert any(p.startswith("store") for p in problems), problems


def _ready(http: httpx.Client) -> bool:
    return http.get("/readyz").status_code == 200


def _outage_logged_once(output: str) -> None:
    assert store_tracebacks(output) == []
    said = [line for line in output.splitlines() if "logger=talkstream.store" in line]
    assert [line.count("store unavailable") for line in said] == [1, 0], said
    assert "store available again" in said[1], said


def _opened_and_ready(http: httpx.Client) -> None:
    opened = http.post("/v1/negotiations", json=EVENTS[0])
    assert opened.status_code == 201, opened.text
    wait_for(lambda: _ready(http), 60, "/readyz 200 before the fault")


def _recovers(http: httpx.Client, settings: Settings, before: int) -> None:
    """Ready again, and the refused event is recorded now, right after the last one."""
    wait_for(lambda: _ready(http), 90, "/readyz 200 after the store came back")
    again = http.post(EVENTS_PATH, json=EVENTS[1])
    assert again.status_code == 201, again.text
    assert again.json()["version"] == 2
    assert again.json()["position"] == before + 1 == max_position(settings)


def test_a_full_store_file_answers_503_and_serves_again_without_a_restart(
    redis_settings: Settings,
) -> None:
    key = admin_key(redis_settings)
    with serving(redis_settings) as server, server.client(key) as http:
        _opened_and_ready(http)
        before = max_position(redis_settings)
        limit_file_size(server.pid)
        try:
            _is_store_unavailable(http.post(EVENTS_PATH, json=EVENTS[1]))
            _is_store_unavailable(http.post("/v1/events:batch", json={"events": EVENTS[1:4]}))
            _not_ready_because_of_the_store(http)
            assert max_position(redis_settings) == before
        finally:
            lift_file_size_limit(server.pid)
        _recovers(http, redis_settings, before)
        assert server.process.poll() is None
    _outage_logged_once(server.output())


def test_a_read_only_store_file_answers_503_and_serves_again_without_a_restart(
    redis_settings: Settings, tmp_path: Path
) -> None:
    if not can_make_immutable(tmp_path):
        pytest.skip("this filesystem has no immutable attribute (chattr +i)")
    key = admin_key(redis_settings)
    with serving(redis_settings) as server, server.client(key) as http:
        _opened_and_ready(http)
        before = max_position(redis_settings)
        with immutable(store_files(redis_settings)):
            # The second write finds connections opened while the file was read-only: they
            # must not stay read-only once it is writable again.
            for _ in range(2):
                _is_store_unavailable(http.post(EVENTS_PATH, json=EVENTS[1]))
            _not_ready_because_of_the_store(http)
            assert max_position(redis_settings) == before
        _recovers(http, redis_settings, before)
    _outage_logged_once(server.output())


@pytest.fixture
def proxied_postgres(
    tmp_path: Path, pg_schema: str, redis_url: str, prefix: str
) -> Iterator[tuple[Settings, TcpProxy]]:
    """Settings on a fresh schema reached through a proxy that the test can cut."""
    proxy = TcpProxy((str(PG["host"]), int(PG["port"])))
    proxy.start()
    settings = postgres_settings(tmp_path, pg_schema).model_copy(
        update={"postgres_port": proxy.port, "redis_url": redis_url, "prefix": prefix}
    )
    try:
        yield settings, proxy
    finally:
        proxy.cut()


def _direct(settings: Settings) -> Settings:
    """The same schema without the proxy (for the test's own look at the store)."""
    return settings.model_copy(update={"postgres_port": int(PG["port"])})


@pytest.mark.postgres
def test_a_vanished_postgresql_answers_503_and_serves_again_without_a_restart(
    proxied_postgres: tuple[Settings, TcpProxy],
) -> None:
    settings, proxy = proxied_postgres
    key = admin_key(settings)
    with serving(settings) as server, server.client(key) as http:
        _opened_and_ready(http)
        before = max_position(_direct(settings))
        # The live view holds the negotiation before the store goes (the relay publishes
        # once it holds its lease): a live read must not need the store.
        live_at = {"min_position": before}
        wait_for(
            lambda: http.get(f"/v1/negotiations/{SCENARIO_ID}", params=live_at).is_success,
            60,
            "the live view",
        )
        proxy.cut()
        try:
            _is_store_unavailable(http.post(EVENTS_PATH, json=EVENTS[1]))
            _is_store_unavailable(http.post("/v1/events:batch", json={"events": EVENTS[1:4]}))
            _is_store_unavailable(
                http.get(f"/v1/negotiations/{SCENARIO_ID}", params={"as_of": "2024"})
            )
            live = http.get(f"/v1/negotiations/{SCENARIO_ID}")
            assert live.status_code == 200 and live.json()["source"] == "live", live.text
            _not_ready_because_of_the_store(http)
            assert max_position(_direct(settings)) == before
        finally:
            proxy.restore()
        _recovers(http, _direct(settings), before)
        # The relay lived through the outage: the views reach the new event.
        seen = http.get(f"/v1/negotiations/{SCENARIO_ID}", params={"min_position": before + 1})
        assert seen.status_code == 200, seen.text
        assert seen.json()["view"]["version"] == 2
    _outage_logged_once(server.output())


# The CLI


def _scenario_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "more.jsonl", EVENTS[1:3])


def _event_file(tmp_path: Path) -> Path:
    event = {k: v for k, v in EVENTS[1].items() if k not in ("type", "negotiation_id")}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    return path


def _cli_writes(settings: Settings, tmp_path: Path, **popen: Any) -> list[str]:
    """``record`` and ``import`` against ``settings``: each one error line (returned)."""
    record = run_cli(
        settings,
        *("record", EVENTS[1]["type"], "-n", SCENARIO_ID, "--json", _event_file(tmp_path)),
        **popen,
    )
    imported = run_cli(settings, "import", _scenario_file(tmp_path), **popen)
    return [one_error_line(record), the_error(imported)]


def _no_file_writes() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))


def test_cli_commands_on_a_full_store_file_print_store_unavailable(
    redis_settings: Settings, tmp_path: Path
) -> None:
    opened = run_cli(redis_settings, "import", write_jsonl(tmp_path / "open.jsonl", EVENTS[:1]))
    assert opened.returncode == 0, opened.stderr
    lines = _cli_writes(redis_settings, tmp_path, preexec_fn=_no_file_writes)
    # Opening an SQLite file in WAL mode writes its shared-memory index: reads fail too.
    shown = run_cli(redis_settings, "show", SCENARIO_ID, preexec_fn=_no_file_writes)
    for line in [*lines, one_error_line(shown)]:
        assert line.startswith("error: store_unavailable: "), line
    assert max_position(redis_settings) == 1


@pytest.mark.postgres
def test_cli_commands_against_a_vanished_postgresql_print_store_unavailable(
    tmp_path: Path, pg_schema: str
) -> None:
    settings = postgres_settings(tmp_path, pg_schema).model_copy(
        update={"postgres_port": free_port()}
    )
    lines = _cli_writes(settings, tmp_path)
    lines.append(one_error_line(run_cli(settings, "show", SCENARIO_ID)))
    for line in lines:
        assert line.startswith("error: store_unavailable: "), line
