"""``talkstream bench growth``: what the system costs as the record grows. At each size the
same kind of record (1,000 negotiations opened with two parties, then ~400-byte context notes
spread over them) is imported, served cold by ``talkstream up`` until every view caught up,
asked live and point-in-time questions, rebuilt and verified; each step runs as its own
``talkstream`` process, whose peak memory is read from its own resource usage (``wait4``)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from redis import Redis

from services.api.keys import KeyRing, Role
from services.bench.process import running, talkstream_command
from services.bench.target import bench_redis

Progress = Callable[[str], None]
NEGOTIATIONS = 1000
PARTIES = ({"name": "Iraq", "country": "IRQ"}, {"name": "United States", "country": "USA"})
LIVE_GETS = 400
SAMPLED_KEYS = 200  # keys per family whose MEMORY USAGE is read (the rest extrapolated)
START_TIMEOUT = 1800.0  # `up` of a long record serves only once it has started its parts
CATCH_UP_TIMEOUT = 3600.0


@dataclass
class Step:
    seconds: float
    peak_rss_mb: float


@dataclass
class Size:
    events: int
    file_mb: float = 0.0
    imported: Step | None = None
    catch_up_s: float = 0.0
    redis_bytes: dict[str, float] = field(default_factory=dict)  # family -> bytes per event
    live_ms: tuple[float, float] = (0.0, 0.0)  # p50, p99
    asof_ms: tuple[float, float] = (0.0, 0.0)
    up_rss_mb: tuple[float, float] = (0.0, 0.0)  # caught up, after the as-of questions
    asof_questions: int = 0
    rebuilt: Step | None = None
    verified: Step | None = None


def write_record(path: Path, events: int, negotiations: int = NEGOTIATIONS) -> None:
    """The record of ``events`` events over ``negotiations`` negotiations, as JSON Lines."""
    rng = random.Random(events)
    words = [
        "talks",
        "troops",
        "withdrawal",
        "coalition",
        "advisers",
        "basing",
        "timeline",
        "security",
    ]
    with path.open("wb") as out:
        for i in range(negotiations):
            out.write(orjson.dumps(_opened(i)) + b"\n")
            for party in PARTIES:
                out.write(orjson.dumps(_joined(i, party)) + b"\n")
        for n in range(events - 3 * negotiations):
            text = " ".join(rng.choice(words) for _ in range(50))[:400]
            out.write(orjson.dumps(_note(n % negotiations, n, text)) + b"\n")


def _envelope(kind: str, i: int, occurred_at: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": kind,
        "negotiation_id": f"growth-{i}",
        "occurred_at": occurred_at,
        "sources": [{"outlet": "Wire service", "kind": "wire", "published_at": "2024-07-22"}],
        "verification": "reported",
        "payload": payload,
    }


def _opened(i: int) -> dict[str, Any]:
    issues = [{"issue_id": "transition", "title": "Transition"}]
    payload = {"title": f"Talks {i}", "format": "bilateral", "issues": issues}
    return _envelope("NegotiationOpened", i, "2023-08", payload)


def _joined(i: int, party: dict[str, str]) -> dict[str, Any]:
    payload = {"party": {**party, "sector": "GOV"}, "role": "party"}
    return _envelope("PartyJoined", i, "2023-09", payload)


def _note(i: int, n: int, text: str) -> dict[str, Any]:
    day = f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}"
    return _envelope("ContextNoted", i, day, {"topic": f"Note {n}", "text": text})


def run_talkstream(args: list[str], env: dict[str, str]) -> Step:
    """Runs one ``talkstream`` command to its end: its time and its own peak RSS."""
    script = str(Path(sys.executable).parent / "talkstream")
    started = time.perf_counter()
    process = subprocess.Popen(
        [script, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    if process.returncode != 0:
        raise RuntimeError(f"talkstream {args[0]} exited {process.returncode}: {errors[-500:]}")
    return Step(seconds, usage.ru_maxrss / 1024)  # Linux: kilobytes


def bench_growth(
    sizes: list[int],
    home: Path,
    progress: Progress,
    *,
    negotiations: int = NEGOTIATIONS,
    redis_url: str | None = None,
    measured: Callable[[list[Size]], object] = lambda _: None,
) -> list[Size]:
    """Each size measured in turn, on its own store and Redis prefix (deleted afterwards);
    ``measured`` is told the sizes measured so far after each one."""
    done: list[Size] = []
    for events in sizes:
        done.append(_one_size(events, home / f"size-{events}", progress, negotiations, redis_url))
        measured(done)
    return done


def _one_size(
    events: int, home: Path, progress: Progress, negotiations: int, redis_url: str | None
) -> Size:
    home.mkdir(parents=True)
    size = Size(events)
    record = home / "record.jsonl"
    write_record(record, events, negotiations)
    size.file_mb = record.stat().st_size / 1e6
    progress(f"{events} events: {size.file_mb:.0f} MB of JSON Lines; importing…")
    with bench_redis(home, redis_url) as (url, prefix):
        env = {
            **os.environ,
            "TALKSTREAM_HOME": str(home / "talkstream"),
            "TALKSTREAM_REDIS_URL": url,
            "TALKSTREAM_PREFIX": prefix,
            "TALKSTREAM_API_RATE_PER_SECOND": "1000000",
            "TALKSTREAM_API_RATE_BURST": "1000000",
        }
        size.imported = run_talkstream(["import", str(record)], env)
        record.unlink()
        progress(f"  imported in {size.imported.seconds:.1f} s; `up` from cold…")
        with _up(env, Path(env["TALKSTREAM_HOME"])) as (base, key, pid, started):
            size.catch_up_s = _caught_up(base, key, started)
            progress(f"  caught up in {size.catch_up_s:.1f} s; asking…")
            size.redis_bytes = redis_families(url, prefix, events)
            rss_before = _rss_mb(pid)
            live = f"{base}/v1/negotiations/growth-"
            size.live_ms = _gets(key, lambda n: f"{live}{n % negotiations}", LIVE_GETS)
            size.asof_questions = negotiations
            size.asof_ms = _gets(key, lambda n: f"{live}{n}?as_of=2024-06", negotiations)
            size.up_rss_mb = (rss_before, _rss_mb(pid))
        progress("  rebuilding the negotiation view…")
        size.rebuilt = run_talkstream(["replay", "--projection", "negotiation"], env)
        size.verified = run_talkstream(["audit", "verify"], env)
    return size


@contextmanager
def _up(env: dict[str, str], home: Path) -> Iterator[tuple[str, str, int, float]]:
    """``talkstream up`` on a free port, once it answers: its URL, a key, its pid and when it
    was started (``perf_counter``)."""

    _, key = KeyRing(home / "keys.json").create(name="bench", role=Role.admin)
    port = _free_port()
    started = time.perf_counter()
    base = f"http://127.0.0.1:{port}"
    with running(talkstream_command("up", "--port", str(port)), home / "up.log", env) as process:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(base):
            if process.poll() is not None:
                raise RuntimeError(f"talkstream up exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"talkstream up did not answer within {START_TIMEOUT:.0f} s")
            time.sleep(0.1)
        yield base, key, process.pid, started


def _healthy(base: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _caught_up(base: str, key: str, started: float) -> float:
    """Seconds from ``started`` (the process's start) until /readyz shows the stream and every
    view at the store's head."""
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    while time.perf_counter() - started < CATCH_UP_TIMEOUT:
        ready = httpx.get(f"{base}/readyz", headers=headers, timeout=30).json()
        head = ready.get("store_position", -1)
        if ready.get("stream_position") == head and all(
            at == head for at in ready.get("projections", {}).values()
        ):
            return time.perf_counter() - started
        time.sleep(0.2)
    raise RuntimeError("the views did not catch up in time")


def _gets(key: str, url: Callable[[int], str], count: int) -> tuple[float, float]:
    """p50 and p99 in ms of ``count`` GETs of ``url(n)``, one after another, on one connection."""
    import httpx

    latencies = []
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}) as client:
        for n in range(count):
            started = time.perf_counter()
            answer = client.get(url(n))
            latencies.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {url(n)} answered {answer.status_code}")
    cuts = sorted(latencies)
    return cuts[len(cuts) // 2] * 1000, cuts[min(len(cuts) - 1, len(cuts) * 99 // 100)] * 1000


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def family(key: str, prefix: str) -> str:
    """A key's family: its name after the prefix, each negotiation id and number as ``*``."""
    parts = key.removeprefix(f"{prefix}:").split(":")
    return ":".join("*" if p.startswith("growth-") or p.isdigit() else p for p in parts)


def redis_families(url: str, prefix: str, events: int) -> dict[str, float]:
    """Bytes per event of each key family: MEMORY USAGE of up to ``SAMPLED_KEYS`` keys of the
    family (every entry of a stream counted), scaled to the family's number of keys."""
    client = Redis.from_url(url, decode_responses=True)
    families: dict[str, list[str]] = {}
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        families.setdefault(family(key, prefix), []).append(key)
    out = {}
    for name, keys in sorted(families.items()):
        sample = random.Random(0).sample(keys, min(len(keys), SAMPLED_KEYS))
        used = sum(client.memory_usage(k, samples=0) or 0 for k in sample)
        out[name] = used * len(keys) / len(sample) / events
    client.close()
    return out


def rows(sizes: list[Size]) -> list[tuple[str, list[str]]]:
    """The table: one row per measure, one column per size."""

    def each(fmt: Callable[[Size], str]) -> list[str]:
        return [fmt(s) for s in sizes]

    families = sorted({f for s in sizes for f in s.redis_bytes})
    table = [
        ("events", each(lambda s: f"{s.events:,}")),
        ("import s", each(lambda s: f"{_step(s.imported).seconds:.1f}")),
        ("import µs/event", each(lambda s: f"{_step(s.imported).seconds / s.events * 1e6:.0f}")),
        ("import peak RSS MB", each(lambda s: f"{_step(s.imported).peak_rss_mb:.0f}")),
        ("cold catch-up s", each(lambda s: f"{s.catch_up_s:.1f}")),
        ("catch-up µs/event", each(lambda s: f"{s.catch_up_s / s.events * 1e6:.0f}")),
        ("Redis B/event, all", each(lambda s: f"{sum(s.redis_bytes.values()):.0f}")),
    ]
    table += [
        (f"Redis B/event, {f}", each(lambda s, f=f: f"{s.redis_bytes.get(f, 0.0):.1f}"))  # type: ignore[misc]
        for f in families
    ]
    table += [
        ("live GET p50/p99 ms", each(lambda s: f"{s.live_ms[0]:.1f} / {s.live_ms[1]:.1f}")),
        ("as-of GET p50/p99 ms", each(lambda s: f"{s.asof_ms[0]:.1f} / {s.asof_ms[1]:.1f}")),
        (
            "up RSS MB caught up / after as-of",
            each(lambda s: f"{s.up_rss_mb[0]:.0f} / {s.up_rss_mb[1]:.0f}"),
        ),
        ("rebuild s", each(lambda s: f"{_step(s.rebuilt).seconds:.1f}")),
        ("rebuild peak RSS MB", each(lambda s: f"{_step(s.rebuilt).peak_rss_mb:.0f}")),
        ("verify s", each(lambda s: f"{_step(s.verified).seconds:.1f}")),
        ("verify µs/event", each(lambda s: f"{_step(s.verified).seconds / s.events * 1e6:.0f}")),
    ]
    return table


def _step(step: Step | None) -> Step:
    return step if step is not None else Step(0.0, 0.0)
