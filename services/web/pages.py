"""The page's routes, mounted into the API app by the composition (``install``): ``/`` (the
negotiations), ``/n/{id}`` (one negotiation, at a point in time with ``as_of`` / ``known_at``),
``/n/{id}/diff``, ``/n/{id}/parts`` (the sections again, for live updates), ``/n/{id}/live``
(``/v1/subscribe`` followed for this visitor) and ``/session`` (keep or forget a key)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from events.dates import optional_date
from events.exceptions import TalkstreamError
from projections.shapes import State
from services.web import inprocess, sections, session
from services.web.audit import AuditReads, Panel
from services.web.chart import milestone_chart
from services.web.diffs import changes
from services.web.exceptions import CrossSiteForm, InvalidFilter
from services.web.marks import KINDS
from services.web.rendered import Rendered
from services.web.source import PageSource, Visitor

STATIC = Path(__file__).parent / "static"
ASSETS = "/assets"
PARTS = ("header", "timeline", "commitments", "positions", "audit")
NegotiationId = Annotated[str, PathParam(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]  # events.parts.Slug
When = Annotated[str | None, Query(max_length=40)]
Choice = Annotated[str, Query(max_length=100)]

# The statuses of the page's own errors (the others are answered as the API answers them).
STATUS: dict[type[TalkstreamError], int] = {InvalidFilter: 422, CrossSiteForm: 403}

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Part:
    html: Markup
    digest: str


@dataclass
class Page:
    source: PageSource
    templates: Environment
    audit: AuditReads
    rendered: Rendered[tuple[dict[str, Any], dict[str, Part]]] = field(default_factory=Rendered)

    def html(self, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        text = self.templates.get_template(template).render(assets=ASSETS, **context)
        return HTMLResponse(text, status_code=code, headers={"Cache-Control": "no-store"})

    def page(self, request: Request, template: str, **context: Any) -> HTMLResponse:
        """A page that offers to keep a key and come back here."""
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        text = self.templates.get_template(template).render(assets=ASSETS, here=here, **context)
        return HTMLResponse(text, headers={"Cache-Control": "no-store"})

    def status(self, error: TalkstreamError) -> int:
        """The page's own errors by its table, the others as the API answers them."""
        for family, status in STATUS.items():
            if isinstance(error, family):
                return status
        return self.source.status(error)

    def error(
        self, request: Request, error: TalkstreamError, back: str | None = None
    ) -> HTMLResponse:
        status = self.status(error)
        return self.html(
            "error.html",
            status,
            error=error,
            status=status,
            asks_key=status in (401, 403),
            has_key=session.key_of(request) is not None,
            back=back or request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        )


def install(app: FastAPI, source: PageSource) -> None:
    """Mounts the page into ``app``, reading through ``source``."""
    templates = Environment(
        loader=PackageLoader("services.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app.state.page = Page(source, templates, AuditReads())
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="page-assets")


def _page(request: Request) -> Page:
    page: Page = request.app.state.page
    return page


def _visitor(request: Request) -> Visitor:
    host = request.client.host if request.client else None
    return _page(request).source.visitor(session.key_of(request), host)


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    page = _page(request)
    try:
        visitor = _visitor(request)
        states = await run_in_threadpool(page.source.states)
    except TalkstreamError as e:
        return page.error(request, e)
    rows = [_summary(s) for s in states]
    return page.page(request, "index.html", visitor=visitor, rows=rows)


def _summary(state: State) -> dict[str, Any]:
    head = sections.header(state)
    return {
        **head,
        "last": sections.last_development(state),
        "open_commitments": sections.open_commitments(state),
    }


@router.get("/n/{negotiation_id}", response_class=HTMLResponse)
async def negotiation(
    request: Request,
    negotiation_id: NegotiationId,
    *,
    as_of: When = None,
    known_at: When = None,
    kind: Choice = "",
    party: Choice = "",
    verification: Choice = "",
) -> HTMLResponse:
    page = _page(request)
    try:
        visitor = _visitor(request)
        filters = sections.Filters(kind, party, verification)
        state = await _read(page, negotiation_id, as_of=as_of, known_at=known_at, filters=filters)
    except TalkstreamError as e:
        return page.error(request, e)
    context, rendered = await _context(
        request, page, visitor, state, filters=filters, as_of=as_of, known_at=known_at
    )
    return page.page(request, "negotiation.html", visitor=visitor, parts=rendered, **context)


@router.get("/n/{negotiation_id}/parts")
async def parts(
    request: Request,
    negotiation_id: NegotiationId,
    *,
    after: Annotated[int, Query(ge=0)] = 0,
    kind: Choice = "",
    party: Choice = "",
    verification: Choice = "",
) -> Response:
    """The live page's sections, rendered again, and a line per event after ``after``."""
    page = _page(request)
    try:
        visitor = _visitor(request)
        filters = sections.Filters(kind, party, verification)
        state = await _read(page, negotiation_id, as_of=None, known_at=None, filters=filters)
    except TalkstreamError as e:
        return JSONResponse({"error": {"code": e.code, "message": str(e)}}, page.status(e))
    _, rendered = await _context(
        request, page, visitor, state, filters=filters, as_of=None, known_at=None
    )
    return JSONResponse(
        {
            "position": state["view"]["position"],
            "sections": {name: part.html for name, part in rendered.items()},
            "digests": {name: part.digest for name, part in rendered.items()},
            "news": sections.news(state, after),
        },
        headers={"Cache-Control": "no-store"},
    )


def _parts(page: Page, context: dict[str, Any]) -> dict[str, Part]:
    """The sections that live updates replace, each rendered once, with a digest that tells
    the page's script whether its copy is still current."""
    out = {}
    for name in PARTS:
        text = page.templates.get_template(f"_{name}.html").render(assets=ASSETS, **context)
        # the template's output, autoescaped as it was rendered
        html = Markup(text)  # noqa: S704
        out[name] = Part(html, hashlib.sha256(text.encode()).hexdigest()[:16])
    return out


async def _read(
    page: Page,
    negotiation_id: str,
    *,
    as_of: str | None,
    known_at: str | None,
    filters: sections.Filters,
) -> State:
    """The negotiation at the asked point, once the filters are known to fit it."""
    # an empty field of the time-travel form means "now"
    when = {
        "as_of": optional_date(as_of or None, "as_of"),
        "known_at": optional_date(known_at or None, "known_at"),
    }
    state = await run_in_threadpool(lambda: page.source.state(negotiation_id, **when))
    filters.check(sections.party_names(state))
    return state


async def _context(
    request: Request,
    page: Page,
    visitor: Visitor,
    state: State,
    *,
    filters: sections.Filters,
    as_of: str | None,
    known_at: str | None,
) -> tuple[dict[str, Any], dict[str, Part]]:
    """The page's context and its rendered sections, made once per state, point in time,
    filters, audit panel and day (``Page.rendered``)."""
    today = datetime.now(UTC).date()
    events = sorted(
        (r["position"], r["hash"]) for r in state["registry"].values() if r["position"] is not None
    )
    last = await run_in_threadpool(page.source.last_position)
    panel = await page.audit.panel(
        request, session.bearer(request), visitor.may_audit, events, last
    )
    view = state["view"]
    key = (
        view["negotiation_id"],
        view["version"],
        view["position"],
        filters,
        as_of or "",
        known_at or "",
        today,
        panel.key(),
    )

    def make() -> tuple[dict[str, Any], dict[str, Part]]:
        context = _sections(state, filters, panel, today)
        context.update(as_of=as_of or "", known_at=known_at or "")
        context["live"] = not as_of and not known_at
        return context, _parts(page, context)

    return page.rendered.get(key, make)


def _sections(state: State, filters: sections.Filters, panel: Panel, today: date) -> dict[str, Any]:
    head = sections.header(state)
    milestones = sections.milestones(state, today)
    return {
        "head": head,
        "months": sections.timeline(state, filters),
        "filters": filters,
        "kinds": list(KINDS.values()),
        "party_names": sections.party_names(state),
        "verifications": sections.VERIFICATIONS,
        "agreements": sections.agreements(state),
        "milestones": milestones,
        "chart": milestone_chart(milestones, today, f"Milestones of {head['title']}"),
        "positions": sections.positions(state),
        "audit_rows": sections.audit(state),
        "panel": panel,
        "today": today.isoformat(),
    }


@router.get("/n/{negotiation_id}/diff", response_class=HTMLResponse)
async def diff_page(
    request: Request,
    negotiation_id: NegotiationId,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    clock: Literal["world", "record"] = "world",
) -> HTMLResponse:
    """The changes between two points of one clock, each with the events that caused it."""
    page = _page(request)
    try:
        visitor = _visitor(request)
        current = await run_in_threadpool(
            lambda: page.source.state(negotiation_id, as_of=None, known_at=None)
        )
        found = None
        if start and end:
            found = await run_in_threadpool(changes, page.source, negotiation_id, clock, start, end)
    except TalkstreamError as e:
        return page.error(request, e)
    return page.page(
        request,
        "diff.html",
        visitor=visitor,
        head=sections.header(current),
        start=start or "",
        end=end or "",
        clock=clock,
        changes=found,
    )


@router.get("/n/{negotiation_id}/live")
async def live(
    request: Request,
    negotiation_id: NegotiationId,
    last_event_id: Annotated[str | None, Header(max_length=45)] = None,
) -> Response:
    """``/v1/subscribe?negotiation=ID`` followed with the visitor's key (the page's scripts
    never see it): the same frames, resumable with Last-Event-ID."""
    headers = session.bearer(request)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    answer = await inprocess.stream(
        request, "/v1/subscribe", {"negotiation": negotiation_id}, headers
    )
    if answer.status != 200:
        return Response(answer.first, answer.status, media_type=answer.content_type)
    return StreamingResponse(
        answer.body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/session")
async def keep_key(request: Request) -> Response:
    """Checks the key as the API would, then keeps it in the session cookie."""
    page = _page(request)
    fields = await session.form(request)
    key = fields.get("key", "").strip()
    back = session.back_to(fields.get("next"))
    try:
        session.same_origin(request)
        host = request.client.host if request.client else None
        page.source.visitor(key, host)
    except TalkstreamError as e:
        return page.error(request, e, back)
    response = RedirectResponse(back, status_code=303)
    session.keep(response, request, key)
    return response


@router.post("/session/end")
async def forget_key(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    session.forget(response)
    return response
