"""The page's reads answered with the API's own code: the API's keys, roles and rate limits
(``services.api.auth``), its live views (``ApiContext.views``, the projection workers' store)
and its point-in-time service; the composition hands this to the page (``services.web``),
which imports no adapter."""

from __future__ import annotations

from fastapi import FastAPI

from events import PartialDate
from events.exceptions import TalkstreamError
from projections.asof import too_early
from projections.shapes import State
from services.api.auth import admit, client_name, principal_for
from services.api.context import ApiContext
from services.api.errors import status_of
from services.api.keys import Permission
from services.recorder.exceptions import NothingYet
from services.web.pages import install
from services.web.source import Visitor

VIEW = "negotiation"  # the projection that keeps every event: the page's whole state


class ApiPageSource:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def visitor(self, key: str | None, host: str | None) -> Visitor:
        principal = principal_for(self.ctx, None if key is None else f"Bearer {key}")
        admit(self.ctx, principal, Permission.read, client_name(host))
        return Visitor(
            name=principal.name,
            role=None if principal.role is None else principal.role.value,
            may_audit=principal.may(Permission.audit),
        )

    def status(self, error: TalkstreamError) -> int:
        return status_of(error)

    def states(self) -> list[State]:
        store = self.ctx.views(VIEW)
        gen = store.generation()
        ids = store.negotiation_ids(gen)
        loaded = store.load(gen, ids) if ids else {}
        return [s for nid in ids if (s := loaded.get(nid)) is not None]

    def state(
        self, negotiation_id: str, *, as_of: PartialDate | None, known_at: PartialDate | None
    ) -> State:
        if as_of is None and known_at is None:
            store = self.ctx.views(VIEW)
            live = store.load(store.generation(), [negotiation_id])[negotiation_id]
            if live is not None:
                return live
        NothingYet.unless(
            too_early(self.ctx.pit.opening(negotiation_id), as_of=as_of, known_at=known_at)
        )
        return self.ctx.pit.state(negotiation_id, as_of=as_of, known_at=known_at)

    def fold(
        self, negotiation_id: str, *, as_of: PartialDate | None, known_at: PartialDate | None
    ) -> State:
        return self.ctx.pit.state(negotiation_id, as_of=as_of, known_at=known_at)

    def last_position(self) -> int:
        return self.ctx.app.max_position()


def with_page(app: FastAPI, ctx: ApiContext) -> FastAPI:
    """``app`` serving the page too (``/``, ``/n/{id}``), read through ``ctx``."""
    install(app, ApiPageSource(ctx))
    return app
