"""``talkstream audit key|checkpoint|prove``: the verifiable log's key, checkpoints and proofs
from the command line (registered on the ``audit`` group by ``main``)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from redis.exceptions import RedisError

from events.tlog import open_checkpoint, verify_consistency, verify_inclusion
from services.cli import render
from services.cli.commands import AsJson, _print_json, clean_errors
from services.cli.exceptions import CliError
from services.recorder.ledger import Ledger, LogWriter, StoredCheckpoint, load_signer, open_ledger
from services.runtime.bootstrap import build_application
from services.runtime.exceptions import RedisUnavailable
from services.settings import Settings, load_settings
from services.wire.connect import connect


def register(audit_app: typer.Typer) -> None:
    audit_app.command("key")(key)
    audit_app.command("checkpoint")(checkpoint)
    audit_app.command("prove")(prove)


@clean_errors
def key() -> None:
    """Print the log's verifier key (C2SP signed-note verifier format): what auditors and
    watchers trust. The signing key is created on first use under TALKSTREAM_HOME (0600)."""
    sys.stdout.write(load_signer(load_settings()).verifier.key_text + "\n")


@clean_errors
def checkpoint(as_json: AsJson = False) -> None:
    """Log every stored event not yet in the tree, sign a checkpoint of it, store it, publish
    it on <prefix>:checkpoints, and print it (the signed note, as GET /v1/audit/checkpoint
    serves it)."""
    settings = load_settings()
    app = build_application(settings)
    try:
        ledger = open_ledger(app, settings)
        writer = LogWriter(
            app, ledger, load_signer(settings), every=settings.checkpoint_every, seconds=1e9
        )
        console = render.console(stderr=True)
        while writer.append_once():
            console.print(f"logged {ledger.size()} events…", highlight=False)
        made = writer.checkpoint_now()
        _publish(settings, ledger, made)
    finally:
        app.close()
    if as_json:
        _print_json(made.as_json())
    else:
        sys.stdout.write(made.note)


def _publish(settings: Settings, ledger: Ledger, made: StoredCheckpoint) -> None:

    from services.relay.checkpoints import CheckpointPublisher
    from services.runtime.redis_server import redis_for
    from services.wire.streams import Streams

    console = render.console(stderr=True)
    try:
        with redis_for(settings) as url:
            stream = Streams(settings.prefix).checkpoints
            CheckpointPublisher(ledger, connect(url), stream).sync()
    except (RedisError, RedisUnavailable) as e:
        console.print(
            f"checkpoint {made.size} stored, not published yet: Redis unreachable "
            f"({' '.join(str(e).split())}); the log writer publishes it when it next runs",
            highlight=False,
            soft_wrap=True,
        )


@clean_errors
def prove(
    position: Annotated[
        int | None, typer.Argument(min=1, help="The event's position (inclusion proof).")
    ] = None,
    size: Annotated[
        int | None,
        typer.Option(min=1, help="Tree size to prove against (default: the latest checkpoint)."),
    ] = None,
    consistency: Annotated[
        tuple[int, int] | None,
        typer.Option(
            "--consistency",
            metavar="OLD NEW",
            help="Prove that the tree of NEW leaves extends the tree of OLD leaves.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """An RFC 9162 inclusion proof for the event at POSITION, or a consistency proof between
    two tree sizes (--consistency OLD NEW), read from the stored tree and checked against the
    signed checkpoint of that size when there is one."""
    if (position is None) == (consistency is None):
        raise CliError("invalid_option", "give either POSITION or --consistency OLD NEW")
    settings = load_settings()
    app = build_application(settings)
    try:
        ledger = open_ledger(app, settings)
        if consistency is not None:
            _prove_consistency(settings, ledger, *consistency, as_json=as_json)
        elif position is not None:
            _prove_inclusion(settings, ledger, position, size, as_json=as_json)
    finally:
        app.close()


def _signed_root(settings: Settings, ledger: Ledger, size: int) -> tuple[bytes, str] | None:
    """The root of the checkpoint of ``size``, once its signature verifies, and a caption."""
    found = ledger.checkpoints(size - 1, 1) if size > 0 else []
    if not found or found[0].size != size:
        return None
    verifier = load_signer(settings).verifier
    checked, _ = open_checkpoint(found[0].note, [verifier], origin=ledger.origin)
    return checked.root, f"signed checkpoint {size} ({verifier.key_text})"


def _prove_inclusion(
    settings: Settings, ledger: Ledger, position: int, size: int | None, *, as_json: bool
) -> None:
    proof = ledger.inclusion(position, size)
    anchor = _signed_root(settings, ledger, proof.size)
    root, caption = anchor or (proof.root, f"the stored tree of size {proof.size} (unsigned)")
    verify_inclusion(proof.index, proof.size, proof.leaf_hash, proof.proof, root)
    if as_json:
        _print_json({**proof.as_json(), "verified_against": caption})
        return
    render.console().print(
        f"[green]included[/]: position {position} is leaf {proof.index} of the tree of "
        f"{proof.size}; {len(proof.proof)} hashes verified against {caption}",
        highlight=False,
        soft_wrap=True,
    )
    for value in proof.as_json()["proof"]:
        sys.stdout.write(f"{value}\n")


def _prove_consistency(
    settings: Settings, ledger: Ledger, old: int, new: int, *, as_json: bool
) -> None:
    proof = ledger.consistency(old, new)
    old_anchor = _signed_root(settings, ledger, old)
    new_anchor = _signed_root(settings, ledger, new)
    old_root = old_anchor[0] if old_anchor else proof.old_root
    new_root = new_anchor[0] if new_anchor else proof.new_root
    verify_consistency(old, new, old_root, new_root, proof.proof)
    signed = [str(s) for s, anchor in ((old, old_anchor), (new, new_anchor)) if anchor]
    caption = f"signed checkpoints {', '.join(signed)}" if signed else "the stored tree (unsigned)"
    if as_json:
        _print_json({**proof.as_json(), "verified_against": caption})
        return
    render.console().print(
        f"[green]consistent[/]: the tree of {new} extends the tree of {old}; "
        f"{len(proof.proof)} hashes verified against {caption}",
        highlight=False,
        soft_wrap=True,
    )
    for value in proof.as_json()["proof"]:
        sys.stdout.write(f"{value}\n")
