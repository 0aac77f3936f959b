"""Reading a JSON request body: content type, then the contract's JSON rules (UTF-8, JSON,
no duplicate keys, integers in range; ``events.parse_json``) and an object at the top."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from events import parse_json
from services.api.exceptions import InvalidRequest, UnsupportedMediaType


async def json_object(request: Request) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            "unsupported_media_type",
            f"send Content-Type: application/json (got {media or 'none'!r})",
        )
    value = parse_json(await request.body(), document="body")
    if not isinstance(value, dict):
        raise InvalidRequest("invalid_json", "body: expected a JSON object")
    return value
