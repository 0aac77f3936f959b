"""``talkstream audit``: verify (the store, the log, the stream, the views; or a bundle
offline), export a bundle, watch a log as a witness, replay a negotiation as it was known, and
list a negotiation's events as stored."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from events.dates import optional_date
from projections.asof import fold_at, too_early, visible
from projections.negotiation import view
from services.cli import exits, render
from services.cli.commands import AsJson, KnownAt, _fail, _print_json, clean_errors
from services.cli.exceptions import CliError
from services.recorder.application import Negotiations
from services.recorder.audit import AuditReport
from services.recorder.exceptions import NothingYet
from services.runtime.bootstrap import build_application
from services.runtime.exceptions import RedisUnavailable
from services.settings import Settings, load_settings
from services.wire.connect import connect

SHOWN = 50  # findings printed one per line (all of them with --json)


def register(audit_app: typer.Typer) -> None:
    audit_app.command("verify")(audit_verify)
    audit_app.command("log")(audit_log)
    audit_app.command("replay")(audit_replay)
    audit_app.command("export")(audit_export)
    audit_app.command("watch")(audit_watch)


@clean_errors
def audit_export(
    out: Annotated[Path, typer.Option("--out", help="The bundle to write (.tar.gz).")],
) -> None:
    """Write the log as a bundle to verify offline: the events exactly as hashed, every
    checkpoint, every tile, the verifier key and a manifest of digests (docs/audit.md). The
    tree as the log writer holds it now; `audit checkpoint` first signs all stored events."""
    from services.audit.bundle import export
    from services.recorder.ledger import load_verifier, open_ledger

    settings = load_settings()
    app = build_application(settings)
    ledger = open_ledger(app, settings)
    key = load_verifier(settings).key_text
    with _bar("exporting", ledger.size(), False) as advance:
        done = export(app, ledger, settings.log_origin, key, out, progress=advance)
    render.console().print(
        render.text(
            f"exported {done.events} events, {done.checkpoints} checkpoints and {done.tiles} "
            f"tiles to {done.path} ({done.bytes} bytes)"
        )
    )


@clean_errors
def audit_watch(
    url: Annotated[str, typer.Argument(help="The log's API, e.g. http://127.0.0.1:8000.")],
    state: Annotated[Path, typer.Option("--state", help="The witness's folder.")],
    key: Annotated[
        str | None,
        typer.Option("--key", help="The log's verifier key (pinned in --state on first use)."),
    ] = None,
    cosign_key: Annotated[
        Path | None,
        typer.Option("--cosign-key", help="A file with the witness's signer key: cosign."),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", envvar="TALKSTREAM_API_KEY", help="An auditor key."),
    ] = None,
) -> None:
    """Fetch the log's latest checkpoint, check its signature and that it extends the one
    this witness accepted last (a consistency proof); exit 1 on a different key, a split view
    or a rewritten history."""
    from events.tlog import Cosigner, TlogError
    from services.audit.watch import Log, watch

    cosigner = None
    if cosign_key is not None:
        try:
            cosigner = Cosigner.from_signer_key(cosign_key.read_text("utf-8").strip())
        except (OSError, UnicodeDecodeError, TlogError) as e:
            why = f"cannot use {cosign_key}: {e}"
            raise CliError("invalid_key", why, field="--cosign-key") from None
    watched = watch(Log(url, api_key), state, key=key, cosigner=cosigner)
    render.console().print(render.text(watched.line()))
    if watched.cosigned is not None:
        sys.stdout.write(watched.cosigned)


@clean_errors
def audit_verify(
    as_json: AsJson = False,
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Verify an exported bundle offline (no store, no Redis)."),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="With --bundle: a checkpoint note you kept to pin to."),
    ] = None,
) -> None:
    """Check every stored byte against its hash, every chain link, the log's tree against
    every signed checkpoint, the event stream against the store and every live view against a
    fresh fold. Exit 1 naming the first bad position, its negotiation and the kind."""
    if checkpoint is not None and bundle is None:
        raise CliError("invalid_option", "only with --bundle", field="--checkpoint")
    if bundle is not None:
        from services.audit.offline import verify_bundle

        pinned = _read_note(checkpoint) if checkpoint is not None else None
        report = verify_bundle(bundle, pinned)
    else:
        settings = load_settings()
        app = build_application(settings)
        with _bar("verifying", app.max_position(), as_json) as advance:
            report = _full_audit(settings, app, advance)
    _report(report, as_json)


def _full_audit(
    settings: Settings, app: Negotiations, advance: Callable[[int], None]
) -> AuditReport:
    from redis.exceptions import RedisError

    from services.runtime.audit import full_audit
    from services.runtime.redis_server import redis_for

    try:
        with redis_for(settings) as url:
            redis = connect(url, socket_connect_timeout=5)
            try:
                return full_audit(settings, app, redis, progress=advance)
            finally:
                redis.close()
    except (RedisError, RedisUnavailable):
        return full_audit(settings, app, None, progress=advance)


def _read_note(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CliError("unreadable_file", f"cannot read {path}: {e}", field="--checkpoint") from e


@contextmanager
def _bar(label: str, total: int, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (drawn only on a terminal); yields the callback."""
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        console=render.console(stderr=True),
        transient=True,
        disable=quiet,
    )
    task = progress.add_task(label, total=total or None)
    with progress:
        yield lambda done: progress.update(task, completed=done)


def _report(report: AuditReport, as_json: bool) -> None:
    if as_json:
        _print_json(report.as_json())
    else:
        _print_report(report)
    first = report.first
    if first is not None:
        _fail(
            f"audit failed: {len(report.findings)} findings; first: {first.kind} at position "
            f"{first.position if first.position is not None else '-'} "
            f"({first.negotiation_id or '-'}): {first.reason}",
            exits.REFUSED,
        )


def _print_report(report: AuditReport) -> None:
    out, err = render.console(), render.console(stderr=True)
    for part, outcome in report.checks.items():
        line = f"{part}: {outcome}"
        (out if outcome == "ok" else err).print(render.text(line))
    for finding in sorted(report.findings, key=lambda f: (f.position is None, f.position or 0))[
        :SHOWN
    ]:
        err.print(render.text(finding.line()))
    if report.ok:
        out.print(
            f"[green]audit ok[/]: {report.checked} events verified up to position "
            f"{report.last_position}",
            highlight=False,
        )


@clean_errors
def audit_log(negotiation_id: str, as_json: AsJson = False) -> None:
    """Every stored event of a negotiation: position, version, type, recorded at and by
    (the principal), sources and hash."""
    rows = [_log_row(w) for w in build_application(load_settings()).wires(negotiation_id)]
    if as_json:
        _print_json(rows)
        return
    table = Table("Position", "Version", "Type", "Recorded at", "By", "Sources", "Hash")
    table.title = f"Events of {negotiation_id}"
    table.title_justify = "left"
    for r in rows:
        sources = "; ".join(str(s.get("outlet")) for s in r["sources"])
        cells = (r["position"], r["version"], r["type"], r["recorded_at"], r["recorded_by"])
        table.add_row(*(render.text(c) for c in (*cells, sources, r["hash"])))
    render.console().print(table)


def _log_row(wire: dict[str, Any]) -> dict[str, Any]:
    return {
        "position": wire["position"],
        "version": wire["version"],
        "type": wire["type"],
        "recorded_at": wire["recorded_at"],
        "recorded_by": wire.get("recorded_by"),
        "sources": wire.get("sources") or [],
        "hash": wire["hash"],
        "prev_hash": wire.get("prev_hash"),
    }


@clean_errors
def audit_replay(
    negotiation_id: str,
    known_at: KnownAt = None,
    checkpoint: Annotated[
        int | None,
        typer.Option("--checkpoint", min=1, help="The tree size of a checkpoint: what it held."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The negotiation as the tracker showed it at a record time (--known-at) or at a
    checkpoint (--checkpoint SIZE: its first SIZE events), and the events recorded since."""
    if (known_at is None) == (checkpoint is None):
        raise CliError("invalid_option", "give exactly one of --known-at and --checkpoint")
    settings = load_settings()
    app = build_application(settings)
    events = app.wires(negotiation_id)
    if checkpoint is not None:
        last = _checkpointed_through(app, settings, checkpoint)
        then = [e for e in events if e["position"] <= last]
        label = f"at checkpoint {checkpoint} (through position {last})"
    else:
        when = optional_date(known_at, "--known-at")
        NothingYet.unless(too_early(events[0], as_of=None, known_at=when))
        then = [e for e in events if visible(e, as_of=None, known_at=when)]
        label = f"known at {known_at}"
    if not then:
        raise NothingYet(
            "not_known_yet",
            f"nothing about negotiation {negotiation_id!r} was recorded {label}",
            details={"negotiation_id": negotiation_id},
        )
    since = [e for e in events if e not in then]
    _print_replay(negotiation_id, label, then, since, as_json)


def _checkpointed_through(app: Negotiations, settings: Settings, size: int) -> int:
    """The position of the last event a stored checkpoint of ``size`` covers."""
    from services.recorder.ledger import open_ledger

    ledger = open_ledger(app, settings)
    found = ledger.checkpoints(size - 1, 1)
    if not found or found[0].size != size:
        raise CliError(
            "no_checkpoint",
            f"the log has no checkpoint of size {size} (GET /v1/audit/checkpoints lists them)",
            field="--checkpoint",
        )
    return int(ledger.leaves(size - 1, 1)[0].position)


def _print_replay(
    negotiation_id: str,
    label: str,
    then: list[dict[str, Any]],
    since: list[dict[str, Any]],
    as_json: bool,
) -> None:
    state = fold_at(then)
    rows = [_log_row(e) for e in since]
    if as_json:
        _print_json({"negotiation_id": negotiation_id, "view": view(state), "since": rows})
        return
    today = datetime.now(UTC).date()
    console = render.console()
    console.print(render.negotiation_panel(view(state), today=today, caption=label))
    table = Table("Position", "Version", "Type", "Recorded at", "By", "Hash")
    table.title = f"Recorded since ({len(rows)} events)"
    table.title_justify = "left"
    for r in rows:
        cells = (r["position"], r["version"], r["type"], r["recorded_at"], r["recorded_by"])
        table.add_row(*(render.text(c) for c in (*cells, r["hash"])))
    console.print(table)
