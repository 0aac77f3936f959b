"""``talkstream hooks``: register webhooks (the secret is shown once), list and remove them,
show the parked deliveries and queue them again; ``talkstream deliver`` runs the deliverer
alone (``up`` runs it beside the API)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer

from projections.views import PROJECTIONS
from services import logs
from services.cli.commands import clean_errors
from services.cli.exceptions import CliError
from services.runtime.redis_server import redis_for
from services.settings import Settings, load_settings
from services.wire.connect import connect
from services.wire.hooks import Hooks

T = TypeVar("T")


def register(app: typer.Typer, hooks_app: typer.Typer) -> None:
    hooks_app.command("add")(add)
    hooks_app.command("list")(list_hooks)
    hooks_app.command("remove")(remove)
    hooks_app.command("dlq")(dlq)
    hooks_app.command("retry")(retry)
    app.command("deliver")(deliver)


def _print(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _hooks_do(work: Callable[[Hooks, Settings], T]) -> T:
    """``work`` on the hooks of the configured Redis (the embedded one started if need be)."""
    settings = load_settings()
    with redis_for(settings) as url:
        return work(Hooks(connect(url), settings.prefix, partitions=settings.partitions), settings)


@clean_errors
def add(
    url: Annotated[str, typer.Argument(help="http(s) URL that receives the changes.")],
    negotiation: Annotated[
        str | None, typer.Option("--negotiation", "-n", help="Only this negotiation.")
    ] = None,
    view: Annotated[str | None, typer.Option("--view", help="Only this view.")] = None,
    secret: Annotated[
        str | None, typer.Option("--secret", help="whsec_...; generated when absent.")
    ] = None,
) -> None:
    """Register a webhook; prints it with its signing secret (shown this once)."""
    if view is not None and view not in PROJECTIONS:
        raise CliError(
            "invalid_option", f"expected one of {', '.join(PROJECTIONS)}", field="--view"
        )
    hook = _hooks_do(
        lambda hooks, s: hooks.add(
            url,
            allow_private=s.hooks_allow_private,
            secret=secret,
            negotiation=negotiation,
            view=view,
        )
    )
    _print({**hook.public(), "secret": hook.secret})


@clean_errors
def list_hooks() -> None:
    """The registered webhooks (without secrets)."""
    _print([h.public() for h in _hooks_do(lambda hooks, s: hooks.all())])


@clean_errors
def remove(hook_id: Annotated[str, typer.Argument(help="The hook's id (hook_...).")]) -> None:
    """Remove a webhook and its parked deliveries."""
    _hooks_do(lambda hooks, s: hooks.remove(hook_id))
    sys.stderr.write(f"removed {hook_id}\n")


@clean_errors
def dlq(
    hook: Annotated[str | None, typer.Option("--hook", help="Only this hook's.")] = None,
) -> None:
    """Deliveries parked after the retry period, with the last reason."""
    parked = _hooks_do(lambda hooks, s: hooks.parked(hook))
    _print([p.model_dump() for p in parked])


@clean_errors
def retry(
    hook: Annotated[str | None, typer.Option("--hook", help="Only this hook's.")] = None,
) -> None:
    """Queue the parked deliveries again (the deliverer tries each once more, first)."""
    moved = _hooks_do(lambda hooks, s: hooks.retry(hook))
    sys.stderr.write(f"queued {moved} parked deliveries again\n")


@clean_errors
def deliver() -> None:
    """Run only the webhook deliverer (changes stream -> signed POSTs) until Ctrl-C."""
    logs.configure()
    from services.runtime import runner

    runner.run_deliverer(load_settings())
