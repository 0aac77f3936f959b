"""``talkstream health ROLE``: the container healthcheck of one role on this host (exit 0 and
one line when healthy; exit 1 and one ``error: unhealthy: ...`` line otherwise)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from services.cli.commands import clean_errors
from services.exceptions import InvalidSettings
from services.runtime.exceptions import Unhealthy
from services.settings import load_settings


class Role(StrEnum):
    relay = "relay"
    intake = "intake"
    project = "project"
    deliver = "deliver"
    api = "api"


def register(app: typer.Typer) -> None:
    app.command("health")(health)


@clean_errors
def health(
    role: Annotated[
        Role, typer.Argument(metavar="ROLE", help="relay, intake, project, deliver or api.")
    ],
) -> None:
    """Exit 0 when this host's process of ROLE is alive: a heartbeat in Redis fresher than
    TALKSTREAM_HEARTBEAT_SECONDS (api: /readyz answers 200 on TALKSTREAM_PORT); else exit 1
    with the reason (for container healthchecks)."""
    from services.runtime.health import check

    try:
        settings = load_settings()
    except InvalidSettings as e:  # a healthcheck knows exit 1 only (2 is reserved)
        raise Unhealthy(f"{e.code}: {e}") from None
    sys.stdout.write(check(settings, role.value) + "\n")
