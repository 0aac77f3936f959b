"""Publishing through ``<prefix>:intake``: one entry per event, results on a private reply
stream that is deleted afterwards."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis

from services.client.exceptions import PublishRefused, PublishTimeout
from services.wire.intake import IntakeEntry, IntakeResult
from services.wire.streams import Streams, as_fields


@dataclass(frozen=True)
class Published:
    """Where a published event now stands in the store."""

    entry_id: str
    event_id: str
    negotiation_id: str
    position: int
    version: int
    hash: str
    duplicate: bool


class IntakeClient:
    """Publishes events (dicts in their published form, README "Events") and waits for results."""

    def __init__(self, redis_url: str, *, prefix: str = "talkstream", timeout: float = 10.0):
        self.redis = Redis.from_url(redis_url)
        self.streams = Streams(prefix)
        self.intake = self.streams.intake
        self.timeout = timeout

    def close(self) -> None:
        self.redis.close()

    def __enter__(self) -> IntakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def publish(self, event: Mapping[str, Any], *, idempotency_key: str | None = None) -> Published:
        """Records one event; raises PublishRefused with the code and reason if refused."""
        result = self.publish_many([event], idempotency_keys=[idempotency_key])[0]
        if isinstance(result, PublishRefused):
            raise result
        return result

    def publish_many(
        self,
        events: Sequence[Mapping[str, Any]],
        *,
        idempotency_keys: Sequence[str | None] | None = None,
    ) -> list[Published | PublishRefused]:
        """Publishes all events in one round trip; returns each one's result in order."""
        keys = list(idempotency_keys or [None] * len(events))
        reply_to = self.streams.intake_reply(uuid.uuid4().hex)
        pipe = self.redis.pipeline(transaction=False)
        for event, key in zip(events, keys, strict=True):
            entry = IntakeEntry(
                event=json.dumps(event), reply_to=reply_to, idempotency_key=key or None
            )
            pipe.xadd(self.intake, as_fields(entry.encode()))
        entry_ids = [i.decode() if isinstance(i, bytes) else str(i) for i in pipe.execute()]
        try:
            answers = self._await(reply_to, set(entry_ids))
        finally:
            self.redis.delete(reply_to)
        return [_result(answers[entry_id]) for entry_id in entry_ids]

    def _await(self, reply_to: str, wanted: set[str]) -> dict[str, IntakeResult]:
        answers: dict[str, IntakeResult] = {}
        last = "0"
        deadline = time.monotonic() + self.timeout
        while wanted - answers.keys():
            left = deadline - time.monotonic()
            if left <= 0:
                raise PublishTimeout(sorted(wanted - answers.keys()), self.timeout)
            reply: Any = self.redis.xread(
                {reply_to: last}, block=max(1, int(left * 1000)), count=500
            )
            for _, entries in reply or []:
                for entry_id, raw in entries:
                    last = entry_id.decode()
                    result = IntakeResult.decode(raw)
                    answers[result.entry_id] = result
        return answers


def _result(result: IntakeResult) -> Published | PublishRefused:
    if not result.recorded:
        code, message = _given("code", result.code), _given("message", result.message)
        return PublishRefused(result.entry_id, code, message)
    return Published(
        entry_id=result.entry_id,
        event_id=_given("event_id", result.event_id),
        negotiation_id=_given("negotiation_id", result.negotiation_id),
        position=int(_given("position", result.position)),
        version=int(_given("version", result.version)),
        hash=_given("hash", result.hash),
        duplicate=result.duplicate == "true",
    )


def _given(name: str, value: str | None) -> str:
    if value is None:
        raise KeyError(name)  # not a result the intake writes
    return value
