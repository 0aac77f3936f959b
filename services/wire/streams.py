"""The Redis keys talkstream uses, each spelled once; every one starts with the configured
prefix, so tenants and tests can share one Redis."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from redis.typing import EncodableT, FieldT

REPLY_NAME = re.compile(r"[A-Za-z0-9:_.-]{1,200}")


@dataclass(frozen=True)
class Streams:
    prefix: str = "talkstream"

    @property
    def events(self) -> str:
        return f"{self.prefix}:events"

    @property
    def events_diverged(self) -> str:
        """Hash: the first position where the event stream and the store differ, recorded by
        the relay that found it; absent while they agree (services/wire/divergence.py)."""
        return diverged_key(self.events)

    def events_moved_aside(self, stamp: str) -> str:
        """Where ``relay --rebuild-stream`` keeps a diverged event stream (a UTC timestamp)."""
        return f"{self.events}:diverged:{stamp}"

    @property
    def relay_lease(self) -> str:
        """String: ``<holder id> <fencing token>`` of the one relay that may publish, with a
        PX expiry (``TALKSTREAM_RELAY_LEASE_MS``) its holder keeps renewing."""
        return f"{self.prefix}:relay:lease"

    @property
    def relay_fence_counter(self) -> str:
        """Integer: the last fencing token handed out (INCR on each acquisition)."""
        return f"{self.prefix}:relay:fence-counter"

    @property
    def intake(self) -> str:
        return f"{self.prefix}:intake"

    @property
    def intake_dead(self) -> str:
        return f"{self.prefix}:intake:dead"

    @property
    def intake_results(self) -> str:
        return f"{self.prefix}:intake:results"

    @property
    def intake_failures(self) -> str:
        """Hash: entry ID -> the last error of an entry that failed for a non-input reason."""
        return f"{self.prefix}:intake:failures"

    @property
    def intake_group(self) -> str:
        return f"{self.prefix}:recorders"

    @property
    def intake_replies(self) -> str:
        """The namespace of reply streams: ``<prefix>:intake:reply:<name>``."""
        return f"{self.prefix}:intake:reply:"

    def intake_reply(self, name: str) -> str:
        return f"{self.intake_replies}{name}"

    def is_intake_reply(self, stream: str) -> bool:
        """Whether ``stream`` names a reply stream: talkstream writes no key outside its prefix
        and never answers into its own streams."""
        namespace = self.intake_replies
        return stream.startswith(namespace) and bool(REPLY_NAME.fullmatch(stream[len(namespace) :]))

    def projection_group(self, projection: str) -> str:
        """The consumer group of one projection's workers on ``events``."""
        return f"{self.prefix}:proj:{projection}"

    @property
    def changes(self) -> str:
        return f"{self.prefix}:changes"

    @property
    def checkpoints(self) -> str:
        """Every signed checkpoint of the verifiable log, entry ID ``<tree size>-0``
        (services/wire/checkpoints.py)."""
        return f"{self.prefix}:checkpoints"

    def view(self, projection: str) -> ViewKeys:
        return ViewKeys(f"{self.prefix}:view:{projection}")


@dataclass(frozen=True)
class ViewKeys:
    """The keys of one projection's views under ``base`` (``<prefix>:view:<projection>``);
    ``G`` is a generation (a rebuild writes a new one and switches readers to it)."""

    base: str

    @property
    def generation(self) -> str:
        """``base:gen``: the generation readers use."""
        return f"{self.base}:gen"

    @property
    def served(self) -> str:
        """``base:@served``: a hash of the served generation (``gen``), its tracked position
        (``tracked``) and a ``stamp`` that every write to it moves, so that a reader learns in
        one read whether anything it rendered may have changed."""
        return f"{self.base}:@served"

    def of(self, gen: str) -> str:
        """``base:G:``, the start of every key of a generation."""
        return f"{self.base}:{gen}:"

    def tracked(self, gen: str) -> str:
        """``base:G:@tracked``: the last stream position applied."""
        return f"{self.base}:{gen}:@tracked"

    def state(self, gen: str, negotiation_id: str) -> str:
        """``base:G:state:<negotiation_id>``: one negotiation's state."""
        return f"{self.base}:{gen}:state:{negotiation_id}"

    def negotiations(self, gen: str) -> str:
        """``base:G:@negotiations``: the set of negotiation ids with a state."""
        return f"{self.base}:{gen}:@negotiations"

    def parked(self, gen: str) -> str:
        """``base:G:@parked``: negotiation id -> why it is parked (JSON)."""
        return f"{self.base}:{gen}:@parked"

    def waiting(self, gen: str, negotiation_id: str) -> str:
        """``base:G:@parked:<negotiation_id>``: the events waiting while it is parked."""
        return f"{self.base}:{gen}:@parked:{negotiation_id}"


def diverged_key(events: str) -> str:
    """The divergence record of an event stream named ``events``."""
    return f"{events}:diverged"


def fence_key(stream: str) -> str:
    """The highest fencing token that published on ``stream`` (same Redis Cluster slot as the
    stream: its hash tag, if any, is in the name)."""
    return f"{stream}:fence"


def as_fields(values: Mapping[str, str | bytes | int]) -> dict[FieldT, EncodableT]:
    """Typed XADD fields from a plain mapping."""
    return {k: v for k, v in values.items()}
