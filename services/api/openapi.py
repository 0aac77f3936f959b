"""OpenAPI details the routes cannot state themselves: event bodies take their schemas from the
models in events/ (one definition per schema), and every route lists its error answers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from events.recorded import DRAFT
from events.types import EVENT_TYPES
from services.api.models import ErrorBody

REF = "#/components/schemas/{model}"


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "No key, or an unknown or revoked key.",
        403: "The key's role does not allow this.",
        404: "No such negotiation.",
        409: "The event contradicts the negotiation (an invariant, a version, a key).",
        413: "The body is larger than the limit.",
        415: "The body is not application/json.",
        422: "The input is invalid; the message names the field.",
        429: "Too many requests for this key; see Retry-After.",
        503: "The store or Redis is down (store_unavailable, redis_unavailable), a stored "
        "event is corrupted (event_corrupted), or a wait for min_position ran out.",
    }
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}


def event_body(type_name: str | None = None) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body is one published event (of one type)."""
    name = "Event" if type_name is None else type_name
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=name)}}},
        }
    }


def _event_schemas() -> dict[str, Any]:
    union = DRAFT.json_schema(ref_template=REF)
    defs: dict[str, Any] = union.pop("$defs", {})
    defs["Event"] = union
    for name, cls in EVENT_TYPES.items():
        schema = TypeAdapter(cls).json_schema(ref_template=REF)
        defs.update(schema.pop("$defs", {}))
        defs.setdefault(name, schema)
    return defs


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(_event_schemas())
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
