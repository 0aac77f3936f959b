"""``talkstream audit export`` and the two offline verifiers of a bundle, ``talkstream audit
verify --bundle`` and the standalone ``docs/verify_bundle.py``: a real export verifies (pinned
to a checkpoint the auditor kept, too), and each forgery fails both, named."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from events.tlog import Ed25519Signer
from tests import bundles
from tests.e2e.helpers import Runner, ok

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "verify_bundle.py"
STDLIB = set(sys.stdlib_module_names)


@pytest.fixture(scope="module")
def exported(make_demo: Callable[[str], Runner]) -> tuple[Runner, Path]:
    cli = make_demo("bundle")
    ok(cli("audit", "checkpoint"))
    done = ok(cli("audit", "export", "--out", cli.base / "log.tar.gz"))
    assert "exported 15 events, 1 checkpoints and 1 tiles" in done.stdout
    return cli, cli.base / "log.tar.gz"


def script(bundle: Path, *extra: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(bundle), *(str(e) for e in extra)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=bundle.parent,
        check=False,
    )


def both(cli: Runner, bundle: Path, *extra: object) -> list[subprocess.CompletedProcess[str]]:
    return [cli("audit", "verify", "--bundle", bundle, "--json", *extra), script(bundle, *extra)]


def kept_note(bundle: Path) -> str:
    return bundles.read(bundle)["checkpoints/15"].decode()


def test_the_script_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(SCRIPT.read_text("utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(str(node.module).split(".")[0])
    assert imported - STDLIB - {"__future__"} == {"cryptography"}


def test_a_real_export_verifies_offline(exported: tuple[Runner, Path], tmp_path: Path) -> None:
    cli, bundle = exported
    members = bundles.read(bundle)
    manifest = json.loads(members["manifest.json"])
    assert manifest["tree_size"] == manifest["events"] == 15
    assert set(manifest["members"]) == set(members) - {"manifest.json"}
    assert len(bundles.events(members)) == 15
    (tmp_path / "kept.note").write_text(kept_note(bundle))
    for extra in ((), ("--checkpoint", tmp_path / "kept.note")):
        ours, theirs = both(cli, bundle, *extra)
        assert ours.returncode == 0, ours.stderr
        report = json.loads(ours.stdout)
        assert report["ok"] and report["checked"] == 15
        assert set(report["checks"].values()) == {"ok"}
        assert theirs.returncode == 0, theirs.stderr
        assert "OK: every event, link, checkpoint and tile verifies" in theirs.stdout


def _one_event_altered(m: bundles.Members) -> bundles.Members:
    lines = bundles.events(m)
    lines[4] = bundles.altered(lines[4])
    return m | {"events.jsonl": b"".join(line + b"\n" for line in lines)}


def _one_event_altered_with_its_leaf(m: bundles.Members) -> bundles.Members:
    lines = bundles.events(m)
    lines[4] = bundles.altered(lines[4])
    return bundles.with_events(m, lines, [p for p, _ in bundles.leaves(m)])


def _newest_events_dropped(m: bundles.Members) -> bundles.Members:
    return bundles.with_events(m, bundles.events(m)[:13], [p for p, _ in bundles.leaves(m)][:13])


def _two_events_swapped(m: bundles.Members) -> bundles.Members:
    lines = bundles.events(m)
    lines[3], lines[5] = lines[5], lines[3]
    return bundles.with_events(m, lines, [p for p, _ in bundles.leaves(m)])


def _checkpoint_signed_by_another_key(m: bundles.Members) -> bundles.Members:
    forged = bundles.signed(m, Ed25519Signer.generate("talkstream.local/log"))
    return forged | {
        "verifier.key": m["verifier.key"],
        "manifest.json": m["manifest.json"],
    }


FORGERIES: dict[str, tuple[Callable[[bundles.Members], bundles.Members], str, str]] = {
    "an event's bytes": (_one_event_altered, "altered_bytes", "position 5"),
    "an event and its leaf": (_one_event_altered_with_its_leaf, "altered_bytes", "checkpoint"),
    "the newest events dropped": (_newest_events_dropped, "missing_event", "checkpoint 15"),
    "two events swapped": (_two_events_swapped, "reordered", "position 6"),
    "a checkpoint's signature": (_checkpoint_signed_by_another_key, "bad_signature", ""),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_bundle_fails_both_verifiers(
    exported: tuple[Runner, Path], tmp_path: Path, forgery: str
) -> None:
    cli, bundle = exported
    forge, kind, where = FORGERIES[forgery]
    forged = bundles.write(forge(bundles.read(bundle)), tmp_path / "forged.tar.gz")
    ours, theirs = both(cli, forged)
    assert ours.returncode == 1, ours.stdout
    report = json.loads(ours.stdout)
    assert kind in {f["kind"] for f in report["findings"]}, report
    assert "error: audit failed" in ours.stderr
    assert theirs.returncode == 1, theirs.stdout + theirs.stderr
    assert any(line.startswith(kind) and where in line for line in theirs.stderr.splitlines())


def test_a_member_changed_without_its_digest_is_caught(
    exported: tuple[Runner, Path], tmp_path: Path
) -> None:
    cli, bundle = exported
    members = _one_event_altered(bundles.read(bundle))
    forged = bundles.write(members, tmp_path / "forged.tar.gz", digests=False)
    ours, theirs = both(cli, forged)
    assert ours.returncode == 1 and theirs.returncode == 1
    assert "events.jsonl differs from its digest" in ours.stdout
    assert "events.jsonl differs from its digest" in theirs.stderr


def test_a_history_rewritten_and_re_signed_fails_against_the_kept_checkpoint(
    exported: tuple[Runner, Path], tmp_path: Path
) -> None:
    cli, bundle = exported
    members = bundles.read(bundle)
    lines = bundles.events(members)
    lines[2] = bundles.altered(lines[2])
    lines = bundles.rechained(lines, 2)
    rewritten = bundles.with_events(members, lines, [p for p, _ in bundles.leaves(members)])
    resigned = bundles.signed(rewritten, Ed25519Signer.generate("talkstream.local/log"))
    forged = bundles.write(resigned, tmp_path / "rewritten.tar.gz")
    (tmp_path / "kept.note").write_text(kept_note(bundle))
    # consistent with itself (a forger with a new key can do that) ...
    assert all(done.returncode == 0 for done in both(cli, forged))
    # ... but not with the checkpoint the auditor kept
    ours, theirs = both(cli, forged, "--checkpoint", tmp_path / "kept.note")
    assert ours.returncode == 1 and theirs.returncode == 1
    assert json.loads(ours.stdout)["checks"]["pinned checkpoint"] == "failed"
    assert "bad_signature at the bundle: the checkpoint you kept" in theirs.stderr


def test_what_is_not_a_bundle_is_one_clear_line(cli: Runner, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a bundle")
    ours = cli("audit", "verify", "--bundle", junk)
    assert ours.returncode == 1
    assert ours.stderr.startswith("error: bad_bundle: ") and "Traceback" not in ours.stderr
    theirs = script(junk)
    assert theirs.returncode == 2 and theirs.stderr.startswith("error: ")


def test_checkpoint_without_bundle_is_refused(cli: Runner, tmp_path: Path) -> None:
    refused = cli("audit", "verify", "--checkpoint", tmp_path / "kept.note")
    assert refused.returncode == 1
    assert "error: invalid_option: --checkpoint: only with --bundle" in refused.stderr
