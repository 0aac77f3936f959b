"""API fixtures: the FastAPI app on a real SQLite file and the test Redis, in process
(``http``, no workers) or served by uvicorn with the relay, intake and projection workers
(``served``), with one key per role."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from projections.live.worker import appliers
from services.api.app import create_app
from services.api.context import ApiContext
from services.api.keys import Role
from services.relay.relay import Relay
from services.runtime.bootstrap import build_api_context
from services.runtime.server import build_app, uvicorn_config, workers_for
from services.settings import Settings
from tests.ports import free_port
from tests.redis_keys import owned_prefix

ROLES = [r.value for r in Role]
STOP_WITHIN = 45  # seconds: the longest the workers may take to stop, with the server


def bearer(key: str | None) -> dict[str, str]:
    return {} if key is None else {"Authorization": f"Bearer {key}"}


def catch_up(ctx: ApiContext) -> None:
    """Relays every stored event and applies it to every view (what the workers would do)."""
    Relay(ctx.app, ctx.redis, stream=ctx.streams.events).catch_up()
    for applier in appliers(ctx.redis, ctx.settings.prefix).values():
        applier.apply_through()


def role_keys(ctx: ApiContext) -> dict[str, str]:
    return {role: ctx.keys.create(name=f"{role}-1", role=Role(role))[1] for role in ROLES}


@pytest.fixture
def api_settings(redis_settings: Settings) -> Settings:
    return redis_settings.model_copy(update={"api_wait_max": 0.5})


@pytest.fixture
def ctx(api_settings: Settings, redis_url: str) -> Iterator[ApiContext]:
    ctx = build_api_context(api_settings, redis_url)
    yield ctx
    ctx.app.close()
    ctx.redis.close()


@pytest.fixture
def keys(ctx: ApiContext) -> dict[str, str]:
    return role_keys(ctx)


@pytest.fixture
def http(ctx: ApiContext) -> Iterator[TestClient]:
    """The app in process, without workers: writes reach the store only."""
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        yield client


@dataclass
class Served:
    url: str
    ctx: ApiContext
    keys: dict[str, str]
    server: uvicorn.Server

    def stop(self) -> None:
        """Asks the server to shut down (as Ctrl-C would); the fixture waits for it."""
        self.server.should_exit = True

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def client(self, role: str | None = "admin", timeout: float = 10.0) -> httpx.Client:
        key = self.keys[role] if role else None
        return httpx.Client(base_url=self.url, headers=bearer(key), timeout=timeout)


@contextmanager
def serve_in_thread(ctx: ApiContext, redis_url: str) -> Iterator[str]:
    with serving(ctx, redis_url) as (url, _):
        yield url


@contextmanager
def serving(
    ctx: ApiContext, redis_url: str, *, workers: bool = True
) -> Iterator[tuple[str, uvicorn.Server]]:
    """uvicorn configured as ``talkstream up`` configures it, in a thread; yields its URL
    and the server."""
    port = free_port()
    app = build_app(ctx, workers_for(ctx, redis_url) if workers else None)
    config = uvicorn_config(app, ctx.settings, "127.0.0.1", port)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        # the workers' bound (services/runtime/server.py): 10 s for the subscribers, then
        # 10 s for each thread at once, the webhook deliverer's last attempt (10 s) beside it
        thread.join(timeout=STOP_WITHIN)
        assert not thread.is_alive(), f"the API and its workers did not stop in {STOP_WITHIN} s"


@contextmanager
def served_api(
    home: Path, redis_url: str, *, workers: bool = True, **overrides: object
) -> Iterator[Served]:
    """uvicorn on a free port (with the relay, intake and projections unless ``workers`` is
    off) under a key prefix of its own, with settings ``overrides``."""
    with owned_prefix(redis_url) as prefix:
        values: dict[str, object] = {"api_wait_max": 5.0, "sse_heartbeat": 0.5, **overrides}
        settings = Settings(home=home, store="sqlite", redis_url=redis_url, prefix=prefix, **values)  # type: ignore[arg-type]
        ctx = build_api_context(settings, redis_url)
        try:
            with serving(ctx, redis_url, workers=workers) as (url, server):
                yield Served(url, ctx, role_keys(ctx), server)
        finally:
            ctx.app.close()
            ctx.redis.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Served]:
    """uvicorn on a free port with the relay, intake and projections (one per module)."""
    with served_api(tmp_path_factory.mktemp("api") / "home", redis_url) as served:
        yield served
