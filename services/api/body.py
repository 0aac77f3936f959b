"""Reading a JSON request body: content type, UTF-8, JSON, and an object at the top."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from services.api.exceptions import InvalidRequest, UnsupportedMediaType


async def json_object(request: Request) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            "unsupported_media_type",
            f"send Content-Type: application/json (got {media or 'none'!r})",
        )
    raw = await request.body()
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InvalidRequest("invalid_json", f"body: not UTF-8 (byte {e.start})") from None
    except RecursionError:
        raise InvalidRequest("invalid_json", "body: JSON nested too deeply") from None
    except json.JSONDecodeError as e:
        raise InvalidRequest(
            "invalid_json", f"body: not JSON ({e.msg} at line {e.lineno} column {e.colno})"
        ) from None
    if not isinstance(value, dict):
        raise InvalidRequest("invalid_json", "body: expected a JSON object")
    return value
