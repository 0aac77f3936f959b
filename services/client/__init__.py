"""The Python clients: publish developments through the Redis intake stream and wait for the
result (``IntakeClient``), and read views, events, the audit history and changes over HTTP
(``Client``, ``AsyncClient``). ``from services.client import Client``."""

from __future__ import annotations

from services.client.exceptions import ClientError, PublishRefused, PublishTimeout, ReadFailed
from services.client.intake import IntakeClient, Published
from services.client.reading import AsyncClient, AuditPage, Change, Client, ViewAnswer

__all__ = [
    "AsyncClient",
    "AuditPage",
    "Change",
    "Client",
    "ClientError",
    "IntakeClient",
    "PublishRefused",
    "PublishTimeout",
    "Published",
    "ReadFailed",
    "ViewAnswer",
]
