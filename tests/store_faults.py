"""Real store faults for tests: a talkstream server process whose output is kept, a file-size
limit set on (and lifted from) that running process, store files made immutable, a TCP proxy
that makes PostgreSQL vanish and come back, and direct reads and writes of stored rows."""

from __future__ import annotations

import random
import re
import resource
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

from services.settings import Settings
from tests.ports import free_port
from tests.processes import stop_process, talkstream_env

TALKSTREAM = Path(sys.executable).parent / "talkstream"


def store_env(settings: Settings) -> dict[str, str]:
    """The environment of a talkstream process on the same store, Redis and prefix."""
    overrides = {"TALKSTREAM_STORE": settings.store}
    if settings.partitions != 1:
        overrides["TALKSTREAM_PARTITIONS"] = str(settings.partitions)
    if settings.store == "postgres":
        for name in ("host", "port", "dbname", "user", "password", "schema"):
            overrides[f"TALKSTREAM_POSTGRES_{name.upper()}"] = settings.postgres_value(name)
    env = talkstream_env(settings, **overrides)
    if settings.redis_url is None:
        del env["TALKSTREAM_REDIS_URL"]
    return env


def run_cli(settings: Settings, *args: object, **popen: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TALKSTREAM), *(str(a) for a in args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=settings.home.parent,
        env=store_env(settings) | {"COLUMNS": "200"},
        check=False,
        **popen,
    )


def admin_key(settings: Settings) -> str:
    created = run_cli(settings, "keys", "create", "--role", "admin", "--name", "faults")
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


class Server:
    """``talkstream up`` (or ``api``) on a free port; its merged output is read continuously
    (a full pipe would stall it) and kept in ``lines``."""

    def __init__(self, settings: Settings, command: str = "up") -> None:
        settings.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [str(TALKSTREAM), command, "--port", str(self.port)],
            cwd=settings.home.parent,
            env=store_env(settings),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._wait_healthy()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, "\n".join(self.lines)
            assert time.monotonic() < deadline, "no /healthz in 60 s:\n" + "\n".join(self.lines)
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )

    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> None:
        stop_process(self.process)
        self._reader.join(timeout=10)


@contextmanager
def serving(settings: Settings, command: str = "up") -> Iterator[Server]:
    server = Server(settings, command)
    try:
        yield server
    finally:
        server.stop()


STORE_FRAMES = ("services/recorder", "eventsourcing", "psycopg", "sqlite3", "Exception in ASGI")


def store_tracebacks(output: str) -> list[str]:
    """The tracebacks in a server's output that come from the store or answer a request with
    a 500 (a Redis hiccup of the shared test server is another matter)."""
    blocks = re.split(r"\n(?=\d{4}-\d\d-\d\d )", output)
    return [b for b in blocks if "Traceback" in b and any(f in b for f in STORE_FRAMES)]


# A full store: the running process may write no byte to any file (EFBIG; Python ignores
# SIGXFSZ). Only the soft limit is lowered, so it can be raised again without privileges.


def limit_file_size(pid: int) -> None:
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))


def lift_file_size_limit(pid: int) -> None:
    unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, unlimited)


# A read-only store file, also for root: the immutable attribute. Never on the -shm file,
# which SQLite maps into memory (a write to it would then be a SIGBUS).


def store_files(settings: Settings) -> list[Path]:
    db = settings.events_db
    return [p for p in (db, db.with_name(db.name + "-wal")) if p.exists()]


def can_make_immutable(directory: Path) -> bool:
    probe = directory / "immutable-probe"
    probe.write_text("x")
    try:
        made = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, check=False)
        return made.returncode == 0
    except FileNotFoundError:
        return False
    finally:
        subprocess.run(["chattr", "-i", str(probe)], capture_output=True, check=False)
        probe.unlink()


@contextmanager
def immutable(paths: list[Path]) -> Iterator[None]:
    names = [str(p) for p in paths]
    subprocess.run(["chattr", "+i", *names], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *names], check=True)


# Stored rows, read and written around the application (as a disk fault or a hand would).


def _pg_table(settings: Settings) -> str:
    return f'"{settings.postgres_schema}".negotiations_events'


def _pg_connect(settings: Settings) -> Any:
    import psycopg

    from tests.conftest import PG

    return psycopg.connect(**PG, autocommit=True)  # type: ignore[arg-type]


def stored_state(settings: Settings, position: int) -> bytes:
    if settings.store == "sqlite":
        with sqlite3.connect(settings.events_db) as db:
            row = db.execute("SELECT state FROM stored_events WHERE rowid=?", (position,))
            return bytes(row.fetchone()[0])
    with _pg_connect(settings) as conn:
        sql = f"SELECT state FROM {_pg_table(settings)} WHERE notification_id=%s"
        return bytes(conn.execute(sql, (position,)).fetchone()[0])


def write_state(settings: Settings, position: int, state: bytes) -> None:
    if settings.store == "sqlite":
        with sqlite3.connect(settings.events_db) as db:
            db.execute("UPDATE stored_events SET state=? WHERE rowid=?", (state, position))
        return
    with _pg_connect(settings) as conn:
        sql = f"UPDATE {_pg_table(settings)} SET state=%s WHERE notification_id=%s"
        conn.execute(sql, (state, position))


def max_position(settings: Settings) -> int:
    if settings.store == "sqlite":
        with sqlite3.connect(settings.events_db) as db:
            return int(db.execute("SELECT max(rowid) FROM stored_events").fetchone()[0] or 0)
    with _pg_connect(settings) as conn:
        sql = f"SELECT max(notification_id) FROM {_pg_table(settings)}"
        return int(conn.execute(sql).fetchone()[0] or 0)


def flip_random_byte(rng: random.Random, state: bytes) -> tuple[bytes, int]:
    """``state`` with one byte, chosen by ``rng``, changed to any other value; and its offset."""
    at = rng.randrange(len(state))
    mutated = bytearray(state)
    mutated[at] ^= rng.randrange(1, 256)
    return bytes(mutated), at


def flip_letter(state: bytes, word: bytes) -> tuple[bytes, int]:
    """``state`` with one byte changed inside the first occurrence of ``word`` (a letter's case
    flipped): still valid JSON, so only the hash can tell. Returns the state and the offset."""
    at = state.index(word) + 1
    changed = bytearray(state)
    changed[at] ^= 0x20
    return bytes(changed), at


def flip_structure(state: bytes) -> tuple[bytes, int]:
    """``state`` with its first byte (the ``{`` that opens it) changed: undecodable."""
    changed = bytearray(state)
    changed[0] ^= 0x01
    return bytes(changed), 0


class TcpProxy:
    """Forwards a local port to PostgreSQL. ``cut`` closes every connection and stops
    listening (the server has vanished: connections are refused); ``restore`` listens on the
    same port again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listening = threading.Event()
        self._acceptor: threading.Thread | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listening.set()
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while self._listening.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                try:
                    upstream = socket.create_connection(self.upstream, timeout=5)
                except OSError:
                    client.close()
                    continue
                client.settimeout(None)
                upstream.settimeout(None)
                with self._lock:
                    self._sockets |= {client, upstream}
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self._listening.clear()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for s in sockets:
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.start()
