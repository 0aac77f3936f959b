"""OpenAPI details the routes cannot state themselves: event bodies take their schemas from the
models in events/ (one definition per schema), and every route lists its error answers.

The interactive docs pages (Swagger UI at ``/docs``, ReDoc at ``/redoc``) load their scripts,
styles and icon from this server, not from a CDN, so they work on a machine with no network;
the files come from the ``fastapi-offline`` package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import TypeAdapter

from events.recorded import DRAFT
from events.types import EVENT_TYPES
from services.api.models import ErrorBody

REF = "#/components/schemas/{model}"
DOCS_ASSETS = "/docs/assets"


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "No key, or an unknown or revoked key.",
        403: "The key's role does not allow this.",
        404: "No such negotiation; or, for the log, no checkpoint yet, or a position or tile "
        "it does not hold.",
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


def install_docs(app: FastAPI) -> None:
    """``/docs`` and ``/redoc`` with their assets served under ``/docs/assets`` (create the app
    with ``docs_url=None, redoc_url=None`` so FastAPI's CDN pages are not installed)."""
    assets = Path(str(files("fastapi_offline") / "static"))
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")
    spec = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=spec,
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=spec,
            title=f"{app.title} API",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
