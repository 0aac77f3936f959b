"""`talkstream bench all`: every benchmark of the catalog in turn, each in a fresh process of
its own, so one bench's memory (the rebuild's peak RSS is its process's) and threads never
leak into the next, and a bench that fails, even by killing its process, is reported as that
bench's error while the others still run."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from services.bench.catalog import Options, bench_named
from services.bench.figures import Figure

Progress = Callable[[str], object]
STOP_GRACE = 60.0  # seconds a stopped bench has to close its servers and delete its keys
LINGER = 5.0  # seconds the processes a bench started may outlive it before they are stopped


class _Stopped(BaseException):
    """Raised in a bench's process when ``bench all`` stops it at its time limit, so the
    bench's context managers still stop the servers it started and delete its keys."""


@dataclass(frozen=True)
class Outcome:
    """One bench's figures, or the error it ended with (``figures`` then empty)."""

    bench: str
    seconds: float
    figures: tuple[Figure, ...] = ()
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "seconds": self.seconds,
            "error": self.error,
            "figures": [f.as_json() for f in self.figures],
        }


def run_all(
    names: Iterable[str], options: Options, timeout: float, progress: Progress
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for name in names:
        progress(f"[{name}] starting (scale {options.scale:g}, store {options.store})")
        outcome = run_one(name, options, timeout)
        state = f"failed: {outcome.error}" if outcome.error else "done"
        progress(f"[{name}] {state} in {outcome.seconds:.1f} s")
        outcomes.append(outcome)
    return outcomes


def run_one(name: str, options: Options, timeout: float) -> Outcome:
    """The bench ``name`` in a spawned process, stopped after ``timeout`` seconds; its
    progress goes to this process's stderr."""
    context = multiprocessing.get_context("spawn")
    reader, writer = context.Pipe(duplex=False)
    started = time.perf_counter()
    child = context.Process(target=_child, args=(name, options, writer), name=f"bench-{name}")
    child.start()
    writer.close()
    answer: tuple[str, Any] = ("error", None)
    try:
        if reader.poll(timeout):
            with contextlib.suppress(EOFError):  # the process ended without answering
                answer = reader.recv()
            child.join(STOP_GRACE)
        else:
            answer = ("error", f"did not finish within {timeout:g} s (stopped)")
    finally:
        _stop_group(name, child)
    seconds = time.perf_counter() - started
    kind, body = answer
    if kind == "figures":
        return Outcome(name, seconds, tuple(Figure.from_json(f) for f in body))
    if body is None:
        body = f"its process ended with exit code {child.exitcode} and no result"
    return Outcome(name, seconds, error=str(body))


def _stop_group(name: str, child: BaseProcess, grace: float = STOP_GRACE) -> None:
    """Ends the bench's process and whatever it started and left running (its process group):
    a server a bench forgot would outlive ``bench all`` and hold its output open."""
    if child.is_alive():
        child.terminate()  # the bench's own context managers stop its servers, delete its keys
        child.join(grace)
    if child.is_alive():
        child.kill()
        child.join()
    group = child.pid
    # A helper such as multiprocessing's resource tracker ends on its own just after the bench:
    # only what still runs after LINGER was left behind.
    if group is None or not _group_lingers(group, LINGER):
        return
    print(f"[{name}] left processes running; stopping them", file=sys.stderr, flush=True)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
        if _group_lingers(group, grace):
            os.killpg(group, signal.SIGKILL)


def _group_lingers(group: int, seconds: float) -> bool:
    """Whether a process of ``group`` still runs after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.05)


def _stop(signum: int, frame: object) -> None:
    raise _Stopped


def _child(name: str, options: Options, answer: Connection) -> None:
    os.setpgid(0, 0)  # a group of its own, so that ``_stop_group`` ends what it leaves behind
    signal.signal(signal.SIGTERM, _stop)

    def progress(line: str) -> None:
        print(f"[{name}] {line}", file=sys.stderr, flush=True)

    try:
        figures = bench_named(name).run(options, progress)
    except _Stopped:
        return
    except Exception as e:  # noqa: BLE001 (the run's whole point: the error goes in the table)
        traceback.print_exc()  # the whole story, notes included, beside the table's one line
        answer.send(("error", f"{type(e).__name__}: {_first_line(e)}"))
        return
    answer.send(("figures", [f.as_json() for f in figures]))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "(no message)"
