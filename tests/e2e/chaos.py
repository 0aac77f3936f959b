"""The parts of the chaos test: HTTP writers that remember every acknowledged event (and every
event a 503 refused), the fleet of ``talkstream`` processes that is killed and restarted at
random, and the faults' phases the writers' answers are counted under."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.factories import NOTE, body, opening_body
from tests.ports import free_port
from tests.processes import TalkstreamProcess
from tests.waiting import wait_for

NOTES_PER_BATCH = 100
NEGOTIATIONS_PER_WRITER = 8
REDIS_STOPPED = "redis stopped"
POSTGRES_CUT = "postgres cut"
ACKNOWLEDGED, REFUSED, UNSETTLED = "acknowledged", "refused", "unsettled"


@dataclass
class Tally:
    """What the writers were told, shared by their threads. ``phase`` names the fault under way
    (``""``, ``"redis stopped"`` or ``"postgres cut"``); answers are counted under it."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # idempotency key -> event id
    refused: set[str] = field(default_factory=set)  # keys refused (503) and never sent again
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)  # (phase, status)
    written_in: Counter[str] = field(default_factory=Counter)  # phase -> events acknowledged
    duplicates: int = 0  # events a resent batch found stored already (answered 200)
    phase: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, phase: str, status: int) -> None:
        with self.lock:
            self.answers[(phase, status)] += 1

    def acknowledge(self, phase: str, keys: list[str], results: list[dict[str, Any]]) -> None:
        with self.lock:
            for key, result in zip(keys, results, strict=True):
                self.acknowledged[key] = result["result"]["event_id"]
            self.written_in[phase] += len(keys)
            self.duplicates += sum(1 for r in results if r["status"] == 200)

    def refuse(self, keys: list[str]) -> None:
        with self.lock:
            self.refused.update(keys)

    def count(self, phase: str, status: int) -> int:
        with self.lock:
            return self.answers[(phase, status)]


def negotiation_ids(writer: int) -> list[str]:
    return [f"chaos-{writer}-{k}" for k in range(NEGOTIATIONS_PER_WRITER)]


def opening(nid: str) -> dict[str, Any]:
    return opening_body() | {"negotiation_id": nid}


class Writer:
    """One client thread: batches of notes, each note with an idempotency key of its own, over
    the API processes in turn. A batch refused with 503 at its first attempt, sent while
    PostgreSQL was cut off, is never sent again: it cannot have reached the store, so its keys
    must be absent. A batch whose outcome is unknown is sent again with the same keys until it
    is acknowledged (the keys make it count once): at once when the connection to the API
    broke, after the cut when the API answered 503 for a batch already in flight as
    PostgreSQL went away (its commit may have happened)."""

    def __init__(self, index: int, urls: list[str], key: str, quota: int, tally: Tally) -> None:
        self.index = index
        self.urls = urls
        self.quota = quota
        self.tally = tally
        self.headers = {"Authorization": f"Bearer {key}"}
        self.turn = index
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"writer-{index}", daemon=True)

    def _run(self) -> None:
        try:
            with httpx.Client(headers=self.headers, timeout=30) as client:
                self._write(client)
        except BaseException as e:  # reported by join()
            self.error = e

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"writer {self.index} still runs"
        if self.error is not None:
            raise self.error

    def _write(self, client: httpx.Client) -> None:
        acknowledged = 0
        batch = 0
        unsettled: list[list[dict[str, Any]]] = []  # resent once PostgreSQL is back
        nids = negotiation_ids(self.index)
        while acknowledged < self.quota:
            if unsettled and self.tally.phase != POSTGRES_CUT:
                events = unsettled.pop()
            else:
                size = min(NOTES_PER_BATCH, self.quota - acknowledged - _count(unsettled))
                if size == 0:
                    time.sleep(0.2)
                    continue
                events = self._notes(nids[batch % len(nids)], batch, size)
                batch += 1
            outcome = self._deliver(client, events)
            if outcome == ACKNOWLEDGED:
                acknowledged += len(events)
            elif outcome == UNSETTLED:
                unsettled.append(events)

    def _notes(self, nid: str, batch: int, size: int) -> list[dict[str, Any]]:
        return [
            body(
                "ContextNoted",
                {**NOTE, "text": f"writer {self.index} batch {batch} note {k}"},
                nid=nid,
                idempotency_key=f"w{self.index}-b{batch}-n{k}",
            )
            for k in range(size)
        ]

    def _url(self) -> str:
        self.turn += 1
        return self.urls[self.turn % len(self.urls)]

    def _deliver(self, client: httpx.Client, events: list[dict[str, Any]]) -> str:
        """Sends the batch until the API answers (again on a broken connection, with the
        same keys); ACKNOWLEDGED, REFUSED or UNSETTLED."""
        keys = [e["idempotency_key"] for e in events]
        first = True
        while True:
            phase = self.tally.phase
            try:
                answer = client.post(f"{self._url()}/v1/events:batch", json={"events": events})
            except httpx.TransportError:
                self.tally.answered(phase, 0)
                first = False
                time.sleep(0.1)
                continue
            self.tally.answered(phase, answer.status_code)
            if answer.status_code == 503:
                assert answer.json()["error"]["code"] == "store_unavailable", answer.text
                time.sleep(0.2)
                if first and phase == POSTGRES_CUT:
                    self.tally.refuse(keys)
                    return REFUSED
                return UNSETTLED
            assert answer.status_code == 200, answer.text
            results = answer.json()["results"]
            assert all(r["status"] in (200, 201) for r in results), answer.text
            self.tally.acknowledge(phase if phase == self.tally.phase else "", keys, results)
            return ACKNOWLEDGED


def _count(batches: list[list[dict[str, Any]]]) -> int:
    return sum(len(b) for b in batches)


class Fleet:
    """The ``talkstream`` processes by name (``api-0``, ``relay-1``, ``project-2``...), each
    restartable with the same arguments (an API on the same port)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.commands: dict[str, tuple[str, list[str]]] = {}
        self.processes: dict[str, TalkstreamProcess] = {}
        self.urls: dict[str, str] = {}  # API name -> its URL
        self.kills: Counter[str] = Counter()
        self.exits: Counter[str] = Counter()  # ended by themselves, started again

    def add(self, name: str, command: str, *args: str) -> None:
        self.commands[name] = (command, list(args))
        self.start(name)

    def add_api(self, name: str) -> str:
        port = free_port()
        self.urls[name] = f"http://127.0.0.1:{port}"
        self.add(name, "api", "--port", str(port))
        return self.urls[name]

    def start(self, name: str) -> None:
        command, args = self.commands[name]
        log = self.logs / f"{name}.log"
        self.processes[name] = TalkstreamProcess(command, self.env, log, args)

    def kill_and_restart(self, name: str) -> None:
        self.processes[name].kill()
        self.kills[name.split("-", maxsplit=1)[0]] += 1
        self.start(name)

    def restart_exited(self) -> None:
        """Starts again the processes that ended by themselves (as a container's restart
        policy would); counted in ``exits``."""
        for name in self.dead():
            self.exits[name.split("-", maxsplit=1)[0]] += 1
            self.start(name)

    def dead(self) -> list[str]:
        return [name for name, p in self.processes.items() if not p.alive()]

    def output(self, name: str) -> str:
        return self.processes[name].tail(4000)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.alive():
                process.terminate()


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def wait_healthy(url: str, timeout: float = 120.0) -> None:
    wait_for(lambda: healthy(url), timeout, f"{url}/healthz")


class Killer:
    """Every few seconds, SIGKILLs a random process of the fleet and starts it again; holds
    still while ``paused`` is set (the Redis and PostgreSQL faults run alone). An API is killed
    only while the other one answers (as a load balancer would keep one serving), else a
    worker is. A process that ended by itself is started again."""

    def __init__(self, fleet: Fleet, rng: random.Random, every: tuple[float, float]) -> None:
        self.fleet = fleet
        self.rng = rng
        self.every = every
        self.paused = threading.Event()
        self.stopped = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="killer", daemon=True)

    def _run(self) -> None:
        try:
            while not self.stopped.wait(self.rng.uniform(*self.every)):
                self.fleet.restart_exited()
                if not self.paused.is_set():
                    self._kill(self.rng.choice(sorted(self.fleet.commands)))
        except BaseException as e:  # reported by stop()
            self.error = e

    def _kill(self, name: str) -> None:
        """Kills ``name``; a worker chosen at random instead when it is an API and the other
        one does not answer."""
        others = [url for api, url in self.fleet.urls.items() if api != name]
        if name in self.fleet.urls and not all(healthy(url) for url in others):
            name = self.rng.choice(sorted(set(self.fleet.commands) - set(self.fleet.urls)))
        self.fleet.kill_and_restart(name)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(150)
        assert not self.thread.is_alive(), "the killer still runs"
        if self.error is not None:
            raise self.error
