"""The ``talkstream`` command."""

from __future__ import annotations

import functools
import ipaddress
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, TypeVar, get_args

import typer

from events import TalkstreamError, parse_draft, parse_json
from events.dates import optional_date
from events.parts import RELIABILITY_ORDER, Reliability
from events.schema import export, markdown
from events.types import Verification
from projections import timeline
from projections.asof import fold_at, too_early
from projections.diff import diff
from projections.grades import passes
from projections.negotiation import State, view
from projections.tables import Row, tables_at
from projections.views import PROJECTIONS, STORED, Projection
from services import logs
from services.cli import exits, package, render
from services.cli.exceptions import CliError
from services.recorder.application import Negotiations
from services.recorder.audit import verify
from services.recorder.exceptions import (
    NothingYet,
)
from services.recorder.jsonl import numbered_drafts, scenario_lines
from services.runtime.bootstrap import build_application
from services.settings import Settings, load_settings
from services.wire.partitions import parse_spec

if TYPE_CHECKING:
    from services.api.context import ApiContext

app = typer.Typer(
    help="Record negotiation developments once; read them back any way.",
    epilog=exits.EPILOG,
    no_args_is_help=True,
    add_completion=False,
)
schema_app = typer.Typer(help="The event contract's JSON Schemas.", no_args_is_help=True)
audit_app = typer.Typer(help="Check and read the audit history.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks: ratios against raw baselines in the same run.", no_args_is_help=True
)
app.add_typer(schema_app, name="schema")
app.add_typer(audit_app, name="audit")
dlq_app = typer.Typer(
    help="Dead letters: parked projections and refused intake entries.", no_args_is_help=True
)
keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(keys_app, name="keys")
app.add_typer(dlq_app, name="dlq")
hooks_app = typer.Typer(
    help="Webhooks: add (secret shown once), list, remove, parked deliveries.",
    no_args_is_help=True,
)
app.add_typer(hooks_app, name="hooks")

F = TypeVar("F", bound=Callable[..., Any])
DEMO_NEGOTIATION = "us-iraq-jscd"
DEMO_KEY_NAME = "demo-publisher"
DEMO_READER_NAME = "demo-reader"  # issued when anonymous reads are off (a non-loopback host)
CLI_HINT = "in another terminal, `. .venv/bin/activate`, then `talkstream --help`"
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="World time: YYYY[-MM[-DD]] or a timestamp.")
]
KnownAt = Annotated[
    str | None, typer.Option("--known-at", help="Record time: what was known then.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _fail(message: str, code: int = exits.REFUSED) -> None:
    sys.stderr.write(f"error: {render.visible(' '.join(message.split()))}\n")
    raise typer.Exit(code)


def clean_errors(fn: F) -> F:
    """Turns the project's errors into one readable line and the exit code of ``exits``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TalkstreamError as e:
            code = exits.exit_code_of(e)
            if code is None:
                raise
            _fail(f"{e.code}: {e}", code)
        return None

    return wrapper  # type: ignore[return-value]


def _app() -> Negotiations:
    return build_application(load_settings())


def _state(
    negotiation_id: str, as_of: str | None, known_at: str | None, app: Negotiations | None = None
) -> State:
    events = (app or _app()).wires(negotiation_id)
    when = {
        "as_of": optional_date(as_of, "--as-of"),
        "known_at": optional_date(known_at, "--known-at"),
    }
    NothingYet.unless(too_early(events[0], **when))
    return fold_at(events, **when)


def _caption(as_of: str | None, known_at: str | None) -> str:
    parts = [f"as of {as_of}" if as_of else "", f"known at {known_at}" if known_at else ""]
    return ", ".join(p for p in parts if p)


def _print_json(data: Any) -> None:
    sys.stdout.write(render.json_text(data) + "\n")


@app.command()
@clean_errors
def show(
    negotiation_id: str, as_of: AsOf = None, known_at: KnownAt = None, as_json: AsJson = False
) -> None:
    """A negotiation's state, now or at a point in time (before its first record or its
    opening there is none: one error line, not_known_yet or not_opened_yet, exit 1)."""
    _show(negotiation_id, as_of, known_at, as_json)


def _show(
    negotiation_id: str,
    as_of: str | None = None,
    known_at: str | None = None,
    as_json: bool = False,
    app: Negotiations | None = None,
) -> None:
    state = _state(negotiation_id, as_of, known_at, app)
    if as_json:
        _print_json(view(state))
        return
    today = datetime.now(UTC).date()
    render.console().print(
        render.negotiation_panel(view(state), today=today, caption=_caption(as_of, known_at))
    )


MinReliability = Annotated[
    str | None,
    typer.Option(
        "--min-reliability",
        help="Only developments with a source graded this reliable or better (A best .. F).",
    ),
]
VerificationOption = Annotated[
    list[str] | None,
    typer.Option(
        "--verification", help="Only developments of this verification (repeat for several)."
    ),
]


@app.command("timeline")
@clean_errors
def timeline_cmd(
    negotiation_id: str,
    *,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    as_json: AsJson = False,
    min_reliability: MinReliability = None,
    verification: VerificationOption = None,
) -> None:
    """A negotiation's developments in the order they happened, optionally only those whose
    sources are graded well enough or of given verifications (docs/coding.md)."""
    minimum, wanted = _read_filters(min_reliability, verification or [])
    rows = [
        r
        for r in timeline.entries(_state(negotiation_id, as_of, known_at))
        if passes(
            r["source_details"], r["verification"], min_reliability=minimum, verifications=wanted
        )
    ]
    if as_json:
        _print_json(rows)
        return
    title = f"Timeline of {negotiation_id} {_caption(as_of, known_at)}".strip()
    render.console().print(render.timeline_table(rows, title))


def _read_filters(
    minimum: str | None, verifications: list[str]
) -> tuple[Reliability | None, list[Verification]]:
    """The timeline's read filters, checked: one error naming the option otherwise."""
    grades: dict[str, Reliability] = {r: r for r in RELIABILITY_ORDER}
    if minimum is not None and minimum not in grades:
        raise CliError(
            "invalid_option", f"choose one of {', '.join(grades)}", field="--min-reliability"
        )
    known: dict[str, Verification] = {v: v for v in get_args(Verification)}
    for value in verifications:
        if value not in known:
            raise CliError(
                "invalid_option", f"choose one of {', '.join(known)}", field="--verification"
            )
    return (grades[minimum] if minimum else None), [known[v] for v in verifications]


def _read_json_arg(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
    except OSError as e:
        raise CliError(
            "unreadable_input", f"cannot read {source}: {e.strerror}", field="--json"
        ) from None
    except UnicodeDecodeError:
        raise CliError("unreadable_input", f"{source} is not UTF-8 text", field="--json") from None
    return parse_json(text, document="--json")


@app.command()
@clean_errors
def record(
    event_type: Annotated[str, typer.Argument(metavar="TYPE", help="e.g. MeetingHeld")],
    negotiation: Annotated[str, typer.Option("--negotiation", "-n", help="Negotiation id.")],
    json_source: Annotated[str, typer.Option("--json", help="File with the event object, or -.")],
    expected_version: Annotated[
        int | None, typer.Option(help="Refuse unless at this version.")
    ] = None,
) -> None:
    """Record one event: envelope fields and ``payload`` from --json; type and id from here."""
    body = _read_json_arg(json_source)
    if not isinstance(body, dict):
        raise CliError("invalid_event", "expected a JSON object", field="--json")
    for key, value in (("type", event_type), ("negotiation_id", negotiation)):
        if body.setdefault(key, value) != value:
            raise CliError(
                "conflicting_input",
                f"is {body[key]!r} in the file but {value!r} on the command line",
                field=key,
            )
    settings = load_settings()
    written = build_application(settings).record(
        parse_draft(body), principal=settings.principal, expected_version=expected_version
    )
    _print_json(written.as_dict())


@app.command("import")
@clean_errors
def import_cmd(
    file: Annotated[Path, typer.Argument(help="JSON Lines: one published event per line.")],
) -> None:
    """Record every event of a JSON Lines file in one transaction, or none of them. The file
    is read, checked and written as it goes: memory stays bounded whatever its length."""
    try:
        source = file.open("rb")
    except OSError as e:
        raise CliError("unreadable_input", f"cannot read {file}: {e}", field="FILE") from None
    with source:
        _import(_file_lines(source, file), label=str(file))


def _file_lines(source: BinaryIO, file: Path) -> Iterator[str]:
    """The file's lines, read one at a time and split at "\\n" only (see ``jsonl_lines``)."""
    try:
        for raw in source:
            yield raw.removesuffix(b"\n").decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CliError("unreadable_input", f"cannot read {file}: {e}", field="FILE") from None


def _import(lines: Iterable[str], *, label: str, app: Negotiations | None = None) -> None:
    settings = load_settings()
    console = render.console(stderr=True)

    def progress(count: int) -> None:
        console.print(f"… {count} events checked and written")

    imported = (app or build_application(settings)).record_stream(
        numbered_drafts(lines), principal=settings.principal, progress=progress
    )
    total = imported.new + imported.present
    console.print(render.text(f"validated {total} events from {label}"))
    console.print(f"recorded {imported.new} new events, {imported.present} already present")


@app.command()
@clean_errors
def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Record and print, then exit.")
    ] = False,
) -> None:
    """Record the bundled U.S.–Iraq scenario (idempotent) and print its state, timeline and
    audit; then serve the API as `up --demo` does, unless --no-serve."""
    if not no_serve:
        up(demo=True)
        return
    _demo_scenario(_app())


def _demo_scenario(app: Negotiations) -> None:
    _import(scenario_lines(), label="the bundled U.S.–Iraq scenario", app=app)
    _show(DEMO_NEGOTIATION, app=app)
    rows = timeline.entries(_state(DEMO_NEGOTIATION, None, None, app))
    render.console().print(render.timeline_table(rows, f"Timeline of {DEMO_NEGOTIATION}"))
    _audit(app)


@schema_app.command("export")
@clean_errors
def schema_export(directory: Annotated[Path, typer.Argument(help="Output directory.")]) -> None:
    """Write one JSON Schema file per event type (plus Event.json and Stamp.json)."""
    written = export(directory)
    render.console(stderr=True).print(
        render.text(f"wrote {len(written)} schema files to {directory}")
    )


@schema_app.command("docs")
@clean_errors
def schema_docs(file: Annotated[Path, typer.Argument(help="Markdown file to write.")]) -> None:
    """Write the table of event types and payload fields (docs/events.md)."""
    file.write_text(markdown(), encoding="utf-8")
    render.console(stderr=True).print(render.text(f"wrote {file}"))


def _audit(app: Negotiations) -> None:
    """The store's own check (hashes and chains), as the demo ends with it."""
    console = render.console(stderr=True)
    report = verify(app, progress=lambda n: console.print(f"checked {n} events…"))
    for finding in report.findings[:50]:
        console.print(render.text(finding.line()))
    if not report.ok:
        _fail(f"audit failed: {len(report.findings)} findings in {report.checked} events")
    render.console().print(
        f"[green]audit ok[/]: {report.checked} events verified up to position "
        f"{report.last_position}"
    )


@app.command("negotiations")
@clean_errors
def list_negotiations() -> None:
    """List the negotiations in the store."""
    for negotiation_id in _app().negotiation_ids():
        sys.stdout.write(negotiation_id + "\n")


@app.command("diff")
@clean_errors
def diff_cmd(
    negotiation_id: str,
    start: Annotated[str, typer.Option("--from", help="The earlier point in time.")],
    end: Annotated[str, typer.Option("--to", help="The later point in time.")],
    clock: Annotated[
        str, typer.Option(help="world (as_of, occurred_at) or record (known_at, recorded_at).")
    ] = "world",
    as_json: AsJson = False,
) -> None:
    """What changed in a negotiation's view between two times, with the causing events."""
    if clock not in ("world", "record"):
        raise CliError("invalid_option", "use world or record", field="--clock")
    events = _app().wires(negotiation_id)
    option = "as_of" if clock == "world" else "known_at"
    before, after = (
        fold_at(events, **{option: optional_date(t, flag)})
        for t, flag in ((start, "--from"), (end, "--to"))
    )
    changes = diff(before, after, today=datetime.now(UTC).date())
    if as_json:
        _print_json(changes)
        return
    title = f"{negotiation_id}: {clock} time {start} → {end}, {len(changes)} changes"
    render.console().print(render.diff_table(changes, title))


def _projection(name: str) -> Projection:
    if name not in PROJECTIONS:
        raise CliError(
            "unknown_projection", f"choose one of {', '.join(PROJECTIONS)}", field="--projection"
        )
    return PROJECTIONS[name]


@app.command()
@clean_errors
def replay(
    projection: Annotated[str, typer.Option("--projection", "-p", help="Which view.")],
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Processes that fold the stream, each its own shards of negotiations "
            "(default: one per CPU, at most 8, for streams of 20,000 entries or more).",
        ),
    ] = None,
) -> None:
    """Rebuild a projection from position 0 under a new generation while the old one keeps
    serving, then switch atomically; prints the fingerprints (progress on stderr)."""
    from services.runtime import live

    chosen = _projection(projection)
    console = render.console(stderr=True)
    result = live.replay(load_settings(), chosen, progress=console.print, workers=workers)
    lines = [
        f"{result.projection}: generation {result.generation} serves position {result.position}",
        f"fingerprint {result.fingerprint}",
    ]
    if result.live_fingerprint is None:
        lines.append("previous view: moved on during the rebuild (compare with `talkstream view`)")
    else:
        same = "equal" if result.live_fingerprint == result.fingerprint else "DIFFERENT"
        lines.append(f"previous view fingerprint {result.live_fingerprint} ({same})")
    sys.stdout.write("\n".join(lines) + "\n")


@app.command("view")
@clean_errors
def view_cmd(
    projection: Annotated[
        str, typer.Argument(help="negotiation, timeline, positions, commitments or audit")
    ],
    negotiation_id: str,
) -> None:
    """A live view as served from Redis (JSON), with its tracked position."""
    from services.runtime import live

    _print_json(live.read_view(load_settings(), _projection(projection), negotiation_id))


@dlq_app.command("list")
@clean_errors
def dlq_list() -> None:
    """Parked negotiations per projection, and the intake's dead-letter count."""
    from services.runtime import live

    report = live.dead_letters(load_settings())
    _print_json(report)


@dlq_app.command("retry")
@clean_errors
def dlq_retry(
    projection: Annotated[str | None, typer.Option("--projection", "-p")] = None,
    negotiation: Annotated[str | None, typer.Option("--negotiation", "-n")] = None,
) -> None:
    """Re-apply the waiting events of parked negotiations (after a fix); resumes them."""
    from services.runtime import live

    chosen = [_projection(projection)] if projection else list(PROJECTIONS.values())
    reports = live.retry(load_settings(), chosen, negotiation)
    _print_json(reports)
    if any(not r["resumed"] for r in reports):
        raise typer.Exit(exits.REFUSED)


@app.command()
@clean_errors
def up(
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Load the U.S.–Iraq scenario if absent, print it and a publisher key, and "
            "allow anonymous reads on loopback.",
        ),
    ] = False,
    host: Annotated[str | None, typer.Option(help="Bind address [TALKSTREAM_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [TALKSTREAM_PORT].")] = None,
) -> None:
    """Serve the HTTP API with the relay, the intake and the projection workers (and the
    embedded Redis when no URL is set) in one process, until Ctrl-C."""
    logs.configure()
    from services.runtime.server import serve

    settings = _serving_settings(host, port)
    if demo and settings.loopback:
        settings = settings.model_copy(update={"anonymous_reads": True})
    serve(settings, before=_demo_banner if demo else _banner)


@app.command("api")
@clean_errors
def api_cmd(
    host: Annotated[str | None, typer.Option(help="Bind address [TALKSTREAM_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [TALKSTREAM_PORT].")] = None,
) -> None:
    """Serve only the HTTP API (no relay, intake or projections: run those separately, as
    docker-compose.yml does); any number may run against one store and Redis."""
    logs.configure()
    from services.runtime.server import serve

    serve(_serving_settings(host, port), before=_banner, with_workers=False)


@app.command("redis-url")
@clean_errors
def redis_url_cmd() -> None:
    """The URL of the Redis this home uses (TALKSTREAM_REDIS_URL, else the embedded server
    that `talkstream up` runs), e.g. for `redis-cli -u "$(talkstream redis-url)"`."""
    settings = load_settings()
    url = _redis_url(settings)
    if url is None:
        _fail(
            f"redis_not_running: no Redis runs for the home {settings.home.resolve()}: start "
            "one with `talkstream up` (or `make demo`) in another terminal, or set "
            "TALKSTREAM_REDIS_URL"
        )
    sys.stdout.write(f"{url}\n")


def _redis_url(settings: Settings) -> str | None:
    from services.runtime.redis_server import registered_url

    return settings.redis_url or registered_url(settings)


def _serving_settings(host: str | None, port: int | None) -> Settings:
    overrides: dict[str, Any] = {"host": host, "port": port}
    settings = load_settings()
    return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def _banner(ctx: ApiContext) -> None:
    s = ctx.settings
    lines = [f"serving {_url(s)} (API docs: {_local_url(s)}/docs)", _redis_line(s)]
    if s.anonymous_reads and not s.anonymous_reads_served:
        lines.append(f"anonymous reads: {_anonymous_reads(s)}")
    render.console(stderr=True).print("\n".join(lines), highlight=False, soft_wrap=True)


def _demo_banner(ctx: ApiContext) -> None:
    _demo_scenario(ctx.app)
    s = ctx.settings
    publisher, reader = _demo_keys(ctx)
    state = f"{_local_url(s)}/v1/negotiations/{DEMO_NEGOTIATION}"
    curl = f'curl -H "Authorization: Bearer {reader}" {state}' if reader else f"curl {state}"
    lines = [
        f"\n[bold]talkstream is serving {_url(s)}[/] (API docs: {_local_url(s)}/docs)",
        f"  {_redis_line(s)}",
        f"  publisher key (shown once): {publisher}",
        *([f"  reader key (shown once):    {reader}"] if reader else []),
        f"  anonymous reads: {_anonymous_reads(s)}",
        f"  state:      {curl}",
        f"  page:       {_local_url(s)}/n/{DEMO_NEGOTIATION}",
        *([f"  CLI:        {CLI_HINT}"] if s.via_make else []),
        "  Ctrl-C stops everything",
    ]
    render.console().print("\n".join(lines), highlight=False, soft_wrap=True)


def _demo_keys(ctx: ApiContext) -> tuple[str, str | None]:
    """A fresh publisher key, and a reader key when reads need one; earlier demo keys are
    revoked (a key is shown only once)."""
    from services.api.keys import Role

    for name in (DEMO_KEY_NAME, DEMO_READER_NAME):
        ctx.keys.revoke_if_present(name)
    _, publisher = ctx.keys.create(name=DEMO_KEY_NAME, role=Role.publisher)
    if ctx.settings.anonymous_reads_served:
        return publisher, None
    _, reader = ctx.keys.create(name=DEMO_READER_NAME, role=Role.reader)
    return publisher, reader


def _anonymous_reads(s: Settings) -> str:
    if s.anonymous_reads_served:
        return "on (this machine only: the API listens on a loopback address)"
    if not s.loopback:
        return f"off ({s.host} is not a loopback address: every read needs a key)"
    return "off (set TALKSTREAM_ANONYMOUS_READS=1 to allow them on loopback)"


def _redis_line(s: Settings) -> str:
    url = _redis_url(s) or "(none registered)"
    return f"redis:      {url} (`talkstream redis-url` prints it)"


def _url(s: Settings) -> str:
    """Where the API listens, as a URL (an IPv6 address in brackets)."""
    return f"http://{_bracketed(s.host)}:{s.port}"


def _local_url(s: Settings) -> str:
    """A URL that reaches the API from this machine: a wildcard address is not one."""
    try:
        wildcard = ipaddress.ip_address(s.host).is_unspecified
    except ValueError:
        wildcard = False  # a host name
    host = ("::1" if ":" in s.host else "127.0.0.1") if wildcard else s.host
    return f"http://{_bracketed(host)}:{s.port}"


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@app.command()
@clean_errors
def relay(
    rebuild_stream: Annotated[
        bool,
        typer.Option(
            "--rebuild-stream",
            help="Repair a stream that diverged from the store: keep the old stream under "
            "<prefix>:events:diverged:<UTC time>, republish the store, rebuild every view, "
            "clear the divergence; then exit.",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --rebuild-stream: even with no divergence.")
    ] = False,
) -> None:
    """Run only the relay (store -> Redis stream) until Ctrl-C; or repair a diverged stream."""
    if force and not rebuild_stream:
        raise CliError("invalid_option", "only with --rebuild-stream", field="--force")
    if rebuild_stream:
        from services.runtime.repair import rebuild_stream as rebuild

        console = render.console(stderr=True)
        result = rebuild(load_settings(), force=force, progress=console.print)
        sys.stdout.write(result.summary() + "\n")
        return
    logs.configure()
    from services.runtime import runner

    runner.run_relay(load_settings())


@app.command()
@clean_errors
def project(
    projection: Annotated[
        list[str] | None,
        typer.Option("--projection", "-p", help="Only these views (repeatable); default all."),
    ] = None,
    partitions: Annotated[
        str | None,
        typer.Option("--partitions", help="Only these partitions, e.g. 0,1 or 0-2; default all."),
    ] = None,
) -> None:
    """Run only the projection workers (Redis stream -> views) until Ctrl-C. Several processes
    may split the views, or the partitions (TALKSTREAM_PARTITIONS), between them."""
    chosen = {name: _projection(name) for name in projection} if projection else PROJECTIONS
    settings = load_settings()
    which = parse_spec(partitions, settings.partitions)
    logs.configure()
    from services.runtime import runner

    runner.run_projectors(settings, chosen, which)


@app.command()
@clean_errors
def intake() -> None:
    """Run only the intake consumer (Redis intake stream -> store) until Ctrl-C."""
    logs.configure()
    from services.runtime import runner

    runner.run_intake(load_settings())


@app.command()
@clean_errors
def asyncapi(
    file: Annotated[Path | None, typer.Argument(help="Write here (default: stdout).")] = None,
) -> None:
    """The AsyncAPI document of talkstream's Redis streams (checked in as docs/asyncapi.json)."""
    from services.wire.asyncapi import asyncapi_json

    document = asyncapi_json(version("talkstream"), STORED)
    if file is None:
        sys.stdout.write(document)
        return
    file.write_text(document, encoding="utf-8")
    render.console(stderr=True).print(render.text(f"wrote {file}"))


@keys_app.command("create")
@clean_errors
def keys_create(
    role: Annotated[str, typer.Option(help="publisher, reader, auditor or admin.")],
    name: Annotated[str, typer.Option(help="The principal, recorded as recorded_by.")],
) -> None:
    """Create a key and print it once (only its SHA-256 digest is kept)."""
    from services.api.keys import NAME_PATTERN, KeyRing, Role

    if role not in Role.__members__:
        raise CliError("invalid_option", f"choose one of {', '.join(Role)}", field="--role")
    if not re.match(NAME_PATTERN, name):
        raise CliError(
            "invalid_option", "letters, digits and _.@:- only, at most 64", field="--name"
        )
    record, key = KeyRing(load_settings().keys_path).create(name=name, role=Role(role))
    sys.stdout.write(key + "\n")
    render.console(stderr=True).print(
        f"created key {record.key_id} for {name} ({role}); it is shown only this once"
    )


@keys_app.command("list")
@clean_errors
def keys_list(as_json: AsJson = False) -> None:
    """The keys: id, name, role, created and revoked times (never the keys themselves)."""
    from services.api.keys import KeyRing

    rows = [r.public() for r in KeyRing(load_settings().keys_path).records()]
    if as_json:
        _print_json(rows)
        return
    render.console().print(render.keys_table(rows))


@keys_app.command("revoke")
@clean_errors
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key's id or name.")],
) -> None:
    """Revoke a key (by id, or every active key with that name)."""
    from services.api.keys import KeyRing

    for r in KeyRing(load_settings().keys_path).revoke(key):
        sys.stdout.write(f"revoked {r.key_id} ({r.name}, {r.role})\n")


@functools.cache
def assembled() -> typer.Typer:
    """The command with every sub-command, including those registered from other modules."""
    from services.cli import audit, bench, health, hooks, ledger

    bench.register(bench_app)
    ledger.register(audit_app)
    audit.register(audit_app)
    hooks.register(app, hooks_app)
    health.register(app)
    return app


def main() -> None:
    assembled()()


@app.command("export")
@clean_errors
def export_cmd(
    negotiation_id: Annotated[
        str | None, typer.Argument(help="The negotiation (or --all).", show_default=False)
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the package to.")] = Path(
        "."
    ),
    every: Annotated[bool, typer.Option("--all", help="Every negotiation in the store.")] = False,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> None:
    """Write a Frictionless Data Package: datapackage.json and CSV tables of the events, the
    actors, the sources, the milestones and their status history."""
    if (negotiation_id is None) == (not every):
        raise CliError("invalid_option", "name one negotiation ID or give --all", field="ID")
    when = {
        "as_of": optional_date(as_of, "--as-of"),
        "known_at": optional_date(known_at, "--known-at"),
    }
    negotiations = _app()
    ids = negotiations.negotiation_ids() if every else [str(negotiation_id)]

    def shares() -> Iterator[dict[str, list[Row]]]:
        for done, nid in enumerate(ids, start=1):
            yield tables_at(negotiations.wires(nid), **when)
            sys.stderr.write(f"exported {nid} ({done}/{len(ids)})\n")

    name = "talkstream-all" if every else f"talkstream-{negotiation_id}"
    caption = _caption(as_of, known_at) or "as recorded"
    path = package.write_package(out, shares(), name=name, description=f"{name}, {caption}")
    sys.stdout.write(f"{path}\n")
