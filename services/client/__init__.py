"""The Python client: publish developments through the Redis intake stream and wait for the
result. ``from services.client import IntakeClient``."""

from __future__ import annotations

from services.client.exceptions import ClientError, PublishRefused, PublishTimeout
from services.client.intake import IntakeClient, Published

__all__ = ["ClientError", "IntakeClient", "PublishRefused", "PublishTimeout", "Published"]
