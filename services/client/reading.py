"""Reading talkstream over HTTP: ``Client`` (synchronous) and ``AsyncClient`` (asyncio), on
httpx. Views now or as of any point in time, a negotiation's events and the audit history as
``events.RecordedEvent``s (their hashes checkable), and ``subscribe()``: the view changes,
resuming from the last change received after a dropped connection (``Last-Event-ID``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from events import RecordedEvent
from events.cloudevent import wire_of
from services.client.exceptions import ReadFailed

VIEWS = {"negotiation": "", "timeline": "/timeline", "positions": "/positions"}
RECONNECT_SECONDS = 1.0


@dataclass(frozen=True)
class ViewAnswer:
    """A view of a negotiation: live, or folded from the store at a point in time."""

    negotiation_id: str
    position: int
    source: str
    view: Any
    as_of: str | None = None
    known_at: str | None = None


@dataclass(frozen=True)
class AuditPage:
    events: list[RecordedEvent]
    next_after: int | None  # None: the last page


@dataclass(frozen=True)
class Change:
    """A view changed: ``id`` is the change entry's ID (resume after it)."""

    id: str
    negotiation_id: str
    projection: str
    position: int


@dataclass
class _Frames:
    """An SSE parser: feed lines, get the complete events."""

    fields: dict[str, str] = field(default_factory=dict)

    def feed(self, line: str) -> dict[str, str] | None:
        if line == "":
            done, self.fields = self.fields, {}
            return done if "event" in done or "data" in done else None
        if not line.startswith(":"):
            name, _, value = line.partition(":")
            self.fields[name] = value.removeprefix(" ")
        return None


def _view_request(
    negotiation_id: str, projection: str, **params: str | int | None
) -> tuple[str, dict[str, str | int]]:
    if projection not in VIEWS:
        raise ValueError(f"projection: expected one of {', '.join(VIEWS)}")
    return (
        f"/v1/negotiations/{negotiation_id}{VIEWS[projection]}",
        {k: v for k, v in params.items() if v is not None},
    )


def _checked(answer: httpx.Response) -> Any:
    if answer.status_code >= 400:
        try:
            error = answer.json()["error"]
        except (ValueError, KeyError, TypeError):
            error = {"code": f"http_{answer.status_code}", "message": answer.text[:200]}
        raise ReadFailed(answer.status_code, error["code"], error["message"])
    return answer.json()


def _view(body: Mapping[str, Any]) -> ViewAnswer:
    return ViewAnswer(
        negotiation_id=body["negotiation_id"],
        position=body["position"],
        source=body["source"],
        view=body["view"],
        as_of=body.get("as_of"),
        known_at=body.get("known_at"),
    )


def _events(batch: list[dict[str, Any]]) -> list[RecordedEvent]:
    return [RecordedEvent.from_wire(wire_of(document)) for document in batch]


def _audit(body: Mapping[str, Any]) -> AuditPage:
    events = [RecordedEvent.from_wire(w, w.get("position")) for w in body["events"]]
    return AuditPage(events=events, next_after=body["next_after"])


def _change(frame: Mapping[str, str]) -> Change | None:
    if frame.get("event") != "change" or "id" not in frame:
        return None
    data = json.loads(frame["data"])
    return Change(frame["id"], data["negotiation_id"], data["projection"], int(data["position"]))


def _subscribe_request(
    negotiation: str | None, projection: str | None, last: str | None
) -> tuple[dict[str, str], dict[str, str]]:
    params = {k: v for k, v in (("negotiation", negotiation), ("projection", projection)) if v}
    return params, ({"Last-Event-ID": last} if last else {})


def _headers(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.strip()}"} if key else {}


class Client:
    """A synchronous reading client: ``Client("http://127.0.0.1:8000", key="tsk_...")``."""

    def __init__(self, base_url: str, *, key: str | None = None, timeout: float = 30.0) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers=_headers(key), timeout=httpx.Timeout(timeout, read=None)
        )
        self.timeout = timeout

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return _checked(self.http.get(path, params=params, timeout=self.timeout))

    def view(
        self,
        negotiation_id: str,
        projection: str = "negotiation",
        *,
        as_of: str | None = None,
        known_at: str | None = None,
        min_position: int | None = None,
    ) -> ViewAnswer:
        """A view now (``min_position``: once it has applied that write) or at a point in
        time (``as_of`` world time, ``known_at`` record time)."""
        path, params = _view_request(
            negotiation_id, projection, as_of=as_of, known_at=known_at, min_position=min_position
        )
        return _view(self._get(path, params))

    def events(
        self, negotiation_id: str, *, as_of: str | None = None, known_at: str | None = None
    ) -> list[RecordedEvent]:
        """A negotiation's recorded events (read as CloudEvents, docs/cloudevents.md)."""
        params = {k: v for k, v in (("as_of", as_of), ("known_at", known_at)) if v}
        return _events(self._get(f"/v1/negotiations/{negotiation_id}/cloudevents", params))

    def audit_page(self, after: int = 0, limit: int = 100) -> AuditPage:
        """One page of the stored history, in position order (an auditor's key)."""
        return _audit(self._get("/v1/audit/events", {"after": after, "limit": limit}))

    def audit_events(self, after: int = 0, limit: int = 100) -> Iterator[RecordedEvent]:
        """Every stored event after ``after``, page by page."""
        while True:
            page = self.audit_page(after, limit)
            yield from page.events
            if page.next_after is None:
                return
            after = page.next_after

    def subscribe(
        self,
        negotiation: str | None = None,
        projection: str | None = None,
        *,
        last_event_id: str | None = None,
        reconnect: float = RECONNECT_SECONDS,
        give_up_after: float | None = None,
    ) -> Iterator[Change]:
        """View changes as they happen, forever; a dropped connection is opened again after
        ``reconnect`` seconds from the last change received, so none is missed or repeated.
        ``give_up_after``: stop (ReadFailed) once the server is unreachable that long."""
        last, down_since = last_event_id, None
        while True:
            params, headers = _subscribe_request(negotiation, projection, last)
            try:
                with self.http.stream(
                    "GET", "/v1/subscribe", params=params, headers=headers
                ) as answer:
                    if answer.status_code >= 400:
                        answer.read()
                        _checked(answer)
                    down_since = None
                    frames = _Frames()
                    for line in answer.iter_lines():
                        frame = frames.feed(line)
                        change = _change(frame) if frame else None
                        if change is not None:
                            last = change.id
                            yield change
            except httpx.TransportError as e:
                down_since = down_since or time.monotonic()
                if give_up_after is not None and time.monotonic() - down_since > give_up_after:
                    raise ReadFailed(0, "unreachable", f"the server is unreachable: {e}") from e
            time.sleep(reconnect)


class AsyncClient:
    """The asyncio twin of ``Client``: the same methods, awaited (``subscribe`` is an async
    iterator)."""

    def __init__(self, base_url: str, *, key: str | None = None, timeout: float = 30.0) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, headers=_headers(key), timeout=httpx.Timeout(timeout, read=None)
        )
        self.timeout = timeout

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return _checked(await self.http.get(path, params=params, timeout=self.timeout))

    async def view(
        self,
        negotiation_id: str,
        projection: str = "negotiation",
        *,
        as_of: str | None = None,
        known_at: str | None = None,
        min_position: int | None = None,
    ) -> ViewAnswer:
        path, params = _view_request(
            negotiation_id, projection, as_of=as_of, known_at=known_at, min_position=min_position
        )
        return _view(await self._get(path, params))

    async def events(
        self, negotiation_id: str, *, as_of: str | None = None, known_at: str | None = None
    ) -> list[RecordedEvent]:
        params = {k: v for k, v in (("as_of", as_of), ("known_at", known_at)) if v}
        return _events(await self._get(f"/v1/negotiations/{negotiation_id}/cloudevents", params))

    async def audit_page(self, after: int = 0, limit: int = 100) -> AuditPage:
        return _audit(await self._get("/v1/audit/events", {"after": after, "limit": limit}))

    async def audit_events(self, after: int = 0, limit: int = 100) -> AsyncIterator[RecordedEvent]:
        while True:
            page = await self.audit_page(after, limit)
            for event in page.events:
                yield event
            if page.next_after is None:
                return
            after = page.next_after

    async def subscribe(
        self,
        negotiation: str | None = None,
        projection: str | None = None,
        *,
        last_event_id: str | None = None,
        reconnect: float = RECONNECT_SECONDS,
        give_up_after: float | None = None,
    ) -> AsyncIterator[Change]:
        last, down_since = last_event_id, None
        while True:
            params, headers = _subscribe_request(negotiation, projection, last)
            try:
                async with self.http.stream(
                    "GET", "/v1/subscribe", params=params, headers=headers
                ) as answer:
                    if answer.status_code >= 400:
                        await answer.aread()
                        _checked(answer)
                    down_since = None
                    frames = _Frames()
                    async for line in answer.aiter_lines():
                        frame = frames.feed(line)
                        change = _change(frame) if frame else None
                        if change is not None:
                            last = change.id
                            yield change
            except httpx.TransportError as e:
                down_since = down_since or time.monotonic()
                if give_up_after is not None and time.monotonic() - down_since > give_up_after:
                    raise ReadFailed(0, "unreachable", f"the server is unreachable: {e}") from e
            await asyncio.sleep(reconnect)
