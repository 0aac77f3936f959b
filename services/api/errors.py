"""Every failure answers ``{"error": {"code", "message", "details?"}}`` with its status.

``STATUS`` is the one place that decides the HTTP status of talkstream's errors: the contract,
the write side and the HTTP layer raise errors with a code and no status, and this table maps
each family (the nearest class in an error's MRO wins) to the status the API answers. A rejected
batch is answered as its refused event's cause. Errors the HTTP layer never answers are listed
in ``NOT_ANSWERED`` with the reason; other adapters' and the composition's errors never reach a
request.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException

from events.exceptions import ContractError, RegistryMismatch, TalkstreamError
from events.tlog.exceptions import HashReadError
from services.api.exceptions import (
    ApiError,
    ChangesUnavailable,
    Forbidden,
    InvalidRequest,
    NotCaughtUp,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    Unauthorized,
    UnsupportedMediaType,
)
from services.exceptions import InvalidSettings
from services.recorder.exceptions import (
    BatchRejected,
    ConflictError,
    EventCorrupted,
    InvariantViolation,
    LedgerNotFound,
    LineRejected,
    NegotiationNotFound,
    NothingYet,
    RecorderError,
    StoreUnavailable,
)
from services.wire.exceptions import HookRefused, HookUnknown, WireError

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}

STATUS: dict[type[TalkstreamError], int] = {
    # the event contract: bad input
    ContractError: 422,
    HashReadError: 500,  # the hash store answered wrongly: a server fault
    # the write side
    RecorderError: 400,
    BatchRejected: 422,  # answered as its cause when that is one of talkstream's errors
    LineRejected: 422,
    InvariantViolation: 409,
    ConflictError: 409,
    NegotiationNotFound: 404,
    LedgerNotFound: 404,
    NothingYet: 404,
    StoreUnavailable: 503,
    EventCorrupted: 503,
    # the HTTP layer's own
    ApiError: 400,
    Unauthorized: 401,
    Forbidden: 403,
    RequestTimeout: 408,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    InvalidRequest: 422,
    RateLimited: 429,
    NotCaughtUp: 503,
    # the wire's shared operations (webhook registrations)
    WireError: 400,
    HookRefused: 422,
    HookUnknown: 404,
}

NOT_ANSWERED: dict[type[TalkstreamError], str] = {
    RegistryMismatch: "stops the import of the code, before any request",
    InvalidSettings: "stops the process while it starts, before any request",
    ChangesUnavailable: "the subscribe route answers it as Redis being unavailable",
}

SERVER_FAULT = 500  # an error of talkstream's that no family of the table holds


def status_of(error: TalkstreamError) -> int:
    """The HTTP status of ``error``: its nearest family's in ``STATUS``; a rejected batch is
    answered as the refusal of its bad event."""
    if isinstance(error, BatchRejected) and isinstance(error.cause, TalkstreamError):
        return status_of(error.cause)
    for family in type(error).__mro__:
        if family in STATUS:
            return STATUS[family]
    return SERVER_FAULT


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


async def _talkstream_error(request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, TalkstreamError)
    status = status_of(e)
    if isinstance(e, ContractError):
        details = e.details
        if e.field is not None:
            details = {"field": e.field, **(details if isinstance(details, dict) else {})}
        return error_response(status, e.code, str(e), details)
    headers = e.headers if isinstance(e, ApiError) else None
    return error_response(status, e.code, e.message, e.details, headers)


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
    for family in STATUS:
        app.add_exception_handler(family, _talkstream_error)
    app.add_exception_handler(PersistenceError, _store_down)
    app.add_exception_handler(RedisConnectionError, _redis_down)
    app.add_exception_handler(RedisTimeoutError, _redis_down)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
