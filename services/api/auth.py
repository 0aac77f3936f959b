"""Who is calling (``Authorization: Bearer <key>``) and whether their role allows the route;
every authenticated request also takes a token from the caller's rate bucket. These run on
the event loop: a key look-up is a dict access (the keys file is checked for a change at most
once a second, ``services.api.keys``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant

from services.api.context import ApiContext
from services.api.exceptions import Forbidden, InvalidRequest, Unauthorized
from services.api.keys import ANONYMOUS, Permission, Principal

CHALLENGE = {"WWW-Authenticate": "Bearer"}


def ctx_of(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def requires(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        ctx = ctx_of(request)
        principal = principal_for(ctx, request.headers.get("authorization"))
        admit(ctx, principal, permission, _client(request))
        request.state.principal = principal
        return principal

    return dependency


def admit(ctx: ApiContext, principal: Principal, permission: Permission, client: str) -> None:
    """Raises unless ``principal`` may do ``permission``; then takes a token from its rate
    bucket (an anonymous caller's is ``client``'s). The page (services/web) is admitted by
    this too, through the composition."""
    if principal.role is None and not principal.may(permission):
        raise _no_key()
    if not principal.may(permission):
        raise Forbidden(
            "forbidden",
            f"the {principal.role or 'anonymous'} role may not {permission.value} here",
            details={"role": principal.role, "needs": permission.value},
        )
    ctx.limiter.take(principal.name if principal.role else client)


# What a route's signature asks for: the caller, once their role allows the route.
Reader = Annotated[Principal, Depends(requires(Permission.read))]
Writer = Annotated[Principal, Depends(requires(Permission.write))]
Auditor = Annotated[Principal, Depends(requires(Permission.audit))]
Admin = Annotated[Principal, Depends(requires(Permission.manage))]


def principal_for(ctx: ApiContext, header: str | None) -> Principal:
    """Who sends ``header`` (an ``Authorization`` value; None: anonymous, where allowed)."""
    if header is None:
        if ctx.settings.anonymous_reads_served:
            return ANONYMOUS
        raise _no_key()
    scheme, _, key = header.partition(" ")
    principal = ctx.keys.authenticate(key.strip()) if scheme.lower() == "bearer" else None
    if principal is None:
        raise Unauthorized("invalid_key", "unknown, revoked or malformed key", headers=CHALLENGE)
    return principal


def _no_key() -> Unauthorized:
    return Unauthorized("unauthorized", "send Authorization: Bearer <key>", headers=CHALLENGE)


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _client(request: Request) -> str:
    return client_name(request.client.host if request.client else None)


def client_name(host: str | None) -> str:
    """The rate bucket of an anonymous caller from ``host``."""
    return f"anonymous@{host or 'unknown'}"


async def no_unknown_query(request: Request) -> None:
    """Unknown query parameters are refused (a typo such as ``asof`` would otherwise be
    silently ignored)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _query_names(dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise InvalidRequest(
            "unknown_parameter",
            f"{unknown[0]}: unknown query parameter",
            details={"unknown": unknown, "known": sorted(known)},
        )
