"""``talkstream bench all`` and ``bench scale`` at tiny sizes, as a user runs them (the real
command, each bench in its own process): every bench listed with numbers and ratios, a failing
bench reported in the table with a non-zero exit, and a row per (P, processes) whose views
equal a rebuild of what was recorded. Never a timing assertion."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.bench.catalog import NAMES

TALKSTREAM = str(Path(sys.executable).parent / "talkstream")
TIMEOUT = 900  # seconds; `bench all --scale 0.01` takes one to three minutes on two cores


def _talkstream(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The command to its end (at most ``TIMEOUT`` s, then it and all it started are killed),
    its output read from files: a process it leaves running cannot keep the test waiting."""
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [TALKSTREAM, *args],
            env={**os.environ, "TALKSTREAM_HOME": str(tmp_path / "home"), **env},
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{args} ran over {TIMEOUT} s; its stderr ends:\n{err.read_text()[-4000:]}")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return subprocess.CompletedProcess(args, process.returncode, out.read_text(), err.read_text())


def _finite(value: Any) -> bool:
    return isinstance(value, float | int) and math.isfinite(value)


@pytest.mark.slow
def test_bench_all_lists_every_bench_with_numbers_and_ratios(
    tmp_path: Path, redis_url: str
) -> None:
    done = _talkstream(
        ["bench", "all", "--json", "--scale", "0.01"], tmp_path, TALKSTREAM_REDIS_URL=redis_url
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert [b["bench"] for b in report["benches"]] == list(NAMES)
    assert report["failed"] == []
    for bench in report["benches"]:
        assert bench["error"] is None, bench
        assert bench["figures"], bench["bench"]
        for figure in bench["figures"]:
            assert _finite(figure["value"]), (bench["bench"], figure)
            if figure["baseline_value"] is not None:
                assert figure["baseline_value"] > 0, (bench["bench"], figure)
                assert figure["ratio"] == pytest.approx(figure["value"] / figure["baseline_value"])
    with_ratio = {b["bench"] for b in report["benches"] if any(f["ratio"] for f in b["figures"])}
    assert with_ratio == set(NAMES) - {"latency"}  # save → view has a target, no baseline
    for name in NAMES:
        assert f"[{name}] done in" in done.stderr  # progress per bench, on stderr
    assert "left processes running" not in done.stderr  # each stopped all it started


def test_a_failing_bench_is_a_row_with_its_error_and_the_exit_is_not_zero(
    tmp_path: Path,
) -> None:
    unreachable = {"TALKSTREAM_POSTGRES_HOST": "127.0.0.1", "TALKSTREAM_POSTGRES_PORT": "1"}
    args = ["bench", "all", "--only", "record,asof", "--store", "postgres", "--scale", "0.01"]
    done = _talkstream(args, tmp_path, **unreachable)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = [line.split(" | ") for line in done.stdout.splitlines() if line.startswith("| ")]
    failed = [row for row in rows if row[0] == "| record"]
    assert len(failed) == 1 and failed[0][1] == "FAILED"
    assert "BenchStoreUnreachable" in failed[0][2] and "port 1" in failed[0][2]
    assert any(row[0] == "| asof" and row[1] != "FAILED" for row in rows)  # the others still ran
    assert "failed: record" in done.stdout


def test_a_bench_over_its_time_limit_is_stopped_and_reported(tmp_path: Path) -> None:
    done = _talkstream(["bench", "all", "--only", "growth", "--timeout", "1", "--json"], tmp_path)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["failed"] == ["growth"]
    assert report["benches"][0]["error"] == "did not finish within 1 s (stopped)"


def test_unknown_bench_names_are_refused_with_the_list(tmp_path: Path) -> None:
    done = _talkstream(["bench", "all", "--only", "relay,nope"], tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: invalid_option: --only: unknown bench nope")
    assert "relay" in done.stderr


@pytest.mark.slow
def test_bench_scale_has_a_row_per_partitions_and_processes_with_views_equal_a_rebuild(
    tmp_path: Path, redis_url: str
) -> None:
    args = ["bench", "scale", "--json", "--events", "120", "--partitions", "1,2"]
    done = _talkstream([*args, "--processes", "1,3"], tmp_path, TALKSTREAM_REDIS_URL=redis_url)
    assert done.returncode == 0, done.stdout + done.stderr
    runs = json.loads(done.stdout)["runs"]
    assert [(r["partitions"], r["processes"]) for r in runs] == [(1, 1), (1, 3), (2, 1), (2, 3)]
    for run in runs:
        assert run["events"] == 120  # the store's last position: every view tracked it
        assert run["views_equal_rebuild"] is True, run
        assert run["rate"] > 0 and run["raw_rate"] > 0
        assert run["ratio"] == pytest.approx(run["rate"] / run["raw_rate"])
    assert runs[1]["layout"].count("p0:") == 3  # P = 1: three processes split the views
    assert runs[3]["layout"].count("p1:") == 1  # P = 2: partition 1 followed by one process
