"""Every failure answers ``{"error": {"code", "message", "details?"}}`` with its status."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException

from events import ContractError
from services.api.exceptions import ApiError
from services.recorder.exceptions import RecorderError

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def _api_error(request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, ApiError)
    return error_response(e.status, e.code, e.message, e.details, e.headers)


async def _contract_error(request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, ContractError)
    details = e.details
    if e.field is not None:
        details = {"field": e.field, **(details if isinstance(details, dict) else {})}
    return error_response(422, e.code, str(e), details)


async def _recorder_error(request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, RecorderError)
    return error_response(e.status, e.code, e.message, e.details)


async def _store_down(request: Request, e: Exception) -> JSONResponse:
    """A store failure that reached a route without the application's own translation."""
    return error_response(503, "store_unavailable", f"the event store is unavailable: {e}")


async def _redis_down(request: Request, e: Exception) -> JSONResponse:
    request.app.state.ctx.redis_outage.down(e)  # one log line per outage, not one per request
    return error_response(503, "redis_unavailable", f"Redis cannot be reached: {e}")


async def _validation(request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, RequestValidationError)
    first = e.errors()[0]
    where = ".".join(str(p) for p in first["loc"][1:]) or str(first["loc"][0])
    problems = [
        {"field": ".".join(str(p) for p in err["loc"]), "reason": err["msg"]}
        for err in e.errors()[:20]
    ]
    return error_response(422, "invalid_request", f"{where}: {first['msg']}", problems)


async def _http(request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, HTTPException)
    code = HTTP_CODES.get(e.status_code, f"http_{e.status_code}")
    message = str(e.detail) if e.status_code != 404 else f"no such path: {request.url.path}"
    return error_response(e.status_code, code, message, headers=dict(e.headers or {}))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ContractError, _contract_error)
    app.add_exception_handler(RecorderError, _recorder_error)
    app.add_exception_handler(PersistenceError, _store_down)
    app.add_exception_handler(RedisConnectionError, _redis_down)
    app.add_exception_handler(RedisTimeoutError, _redis_down)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
