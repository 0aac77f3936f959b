"""``bench http``'s baseline for reads: a bare Starlette route answering
``GET /v1/negotiations/{id}`` with the bytes ``talkstream up`` answered for the same
negotiation, served by uvicorn configured as ``up`` configures it (``uvicorn_config``). The
ratio of the API's GET latency to this route's is what the API's own work costs per read.

Run as ``python -m services.bench.bare <port> <bodies.json>`` (negotiation id -> body text).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, cast

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.runtime.server import uvicorn_config
from services.settings import Settings

JSON = "application/json"


def bare_app(bodies: dict[str, bytes]) -> Starlette:
    """One route serving ``bodies`` as they are, and ``/healthz``."""

    async def negotiation(request: Request) -> Response:
        body = bodies.get(request.path_params["negotiation_id"])
        if body is None:
            return Response(b'{"error":"not_found"}', 404, media_type=JSON)
        return Response(body, media_type=JSON)

    async def healthz(_: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    return Starlette(
        routes=[
            Route("/v1/negotiations/{negotiation_id}", negotiation),
            Route("/healthz", healthz),
        ]
    )


def main() -> None:
    port, path = int(sys.argv[1]), Path(sys.argv[2])
    bodies = {nid: text.encode() for nid, text in orjson.loads(path.read_bytes()).items()}
    settings = Settings(home=path.parent)
    app = cast(Any, bare_app(bodies))  # uvicorn_config names the API's FastAPI app
    uvicorn.Server(uvicorn_config(app, settings, "127.0.0.1", port)).run()


if __name__ == "__main__":
    main()
