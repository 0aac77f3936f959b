"""The verifiable log over HTTP (auditors): the signed checkpoint as a note, the checkpoints
after a size, tiles and entry bundles as immutable static files from which a client computes
the same proofs the API serves, and inclusion and consistency proofs that verify against the
signed root."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import pytest
from fastapi.testclient import TestClient

from events.tlog import (
    Ed25519Signer,
    Tile,
    consistency_proof,
    inclusion_proof,
    open_checkpoint,
    parse_entry_bundle,
    tile_hash_reader,
    verify_consistency,
    verify_inclusion,
)
from services.api.context import ApiContext
from services.recorder.ledger import LogWriter
from tests.factories import scenario
from tests.integration.api.conftest import bearer


def b64(text: str) -> bytes:
    return base64.b64decode(text)


@pytest.fixture
def signer(ctx: ApiContext) -> Ed25519Signer:
    return Ed25519Signer.generate(ctx.settings.log_origin)


@pytest.fixture
def logged(ctx: ApiContext, signer: Ed25519Signer) -> list[int]:
    """The scenario recorded and logged, checkpoints at 6, 12 and 15; its positions."""
    ctx.app.record_many(scenario(), principal="ledger-test")
    writer = LogWriter(ctx.app, ctx.ledger, signer, every=6, seconds=1e9)
    writer.catch_up()
    writer.checkpoint_now()
    return [n.id for n in ctx.app.notifications()]


@pytest.fixture
def auditor(http: TestClient, keys: dict[str, str]) -> TestClient:
    http.headers.update(bearer(keys["auditor"]))
    return http


def test_before_the_first_checkpoint_the_checkpoint_is_404(auditor: TestClient) -> None:
    answer = auditor.get("/v1/audit/checkpoint")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "no_checkpoint"
    assert auditor.get("/v1/audit/checkpoints").json() == []


def test_the_latest_checkpoint_is_the_signed_note_itself(
    auditor: TestClient, logged: list[int], signer: Ed25519Signer, ctx: ApiContext
) -> None:
    answer = auditor.get("/v1/audit/checkpoint")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    checkpoint, _ = open_checkpoint(answer.text, [signer.verifier], origin=ctx.settings.log_origin)
    assert checkpoint.size == 15
    assert checkpoint.root == ctx.ledger.root(15)


def test_checkpoints_after_a_size_are_listed_smallest_first(
    auditor: TestClient, logged: list[int], signer: Ed25519Signer
) -> None:
    listed = auditor.get("/v1/audit/checkpoints", params={"after": 6}).json()
    assert [c["size"] for c in listed] == [12, 15]
    for item in listed:
        checkpoint, _ = open_checkpoint(item["note"], [signer.verifier])
        assert (checkpoint.size, checkpoint.root) == (item["size"], b64(item["root"]))
    assert (
        auditor.get("/v1/audit/checkpoints", params={"after": 0, "limit": 1}).json()[0]["size"] == 6
    )


def test_tiles_are_immutable_static_files_of_the_stored_tree(
    auditor: TestClient, logged: list[int], ctx: ApiContext
) -> None:
    answer = auditor.get("/v1/audit/tile/0/000.p/15")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/octet-stream"
    assert "immutable" in answer.headers["cache-control"]
    assert answer.content == ctx.ledger.tile(Tile(0, 0, 15))
    assert auditor.get("/v1/audit/tile/0/000.p/7").content == answer.content[: 7 * 32]
    entries = auditor.get("/v1/audit/tile/entries/000.p/15")
    assert entries.headers["cache-control"] == answer.headers["cache-control"]
    leaves = parse_entry_bundle(entries.content)
    assert [int.from_bytes(e[:8], "big") for e in leaves] == logged


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("0/000", 404, "tile_not_found"),  # a full tile of a 15-leaf tree
        ("0/000.p/16", 404, "tile_not_found"),
        ("1/000.p/1", 404, "tile_not_found"),
        ("entries/001.p/3", 404, "tile_not_found"),
        ("0/0.p/15", 422, "malformed_tile_path"),
        ("0/000.p/256", 422, "malformed_tile_path"),
        ("x/000", 422, "malformed_tile_path"),
    ],
)
def test_a_tile_beyond_the_tree_or_misspelled_is_refused(
    auditor: TestClient, logged: list[int], path: str, status: int, code: str
) -> None:
    answer = auditor.get(f"/v1/audit/tile/{path}")
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code


def test_an_inclusion_proof_verifies_against_the_signed_root(
    auditor: TestClient, logged: list[int], signer: Ed25519Signer
) -> None:
    note = auditor.get("/v1/audit/checkpoint").text
    checkpoint, _ = open_checkpoint(note, [signer.verifier])
    for position in logged:
        proof = auditor.get("/v1/audit/proof/inclusion", params={"position": position}).json()
        assert (proof["position"], proof["tree_size"]) == (position, 15)
        assert int.from_bytes(b64(proof["leaf"])[:8], "big") == position
        hashes = [b64(h) for h in proof["proof"]]
        verify_inclusion(proof["leaf_index"], 15, b64(proof["leaf_hash"]), hashes, checkpoint.root)
    older = auditor.get("/v1/audit/proof/inclusion", params={"position": logged[2], "size": 6})
    assert older.json()["tree_size"] == 6


def test_a_client_computes_the_served_proofs_from_the_tiles_alone(
    auditor: TestClient, logged: list[int]
) -> None:
    def fetch(tiles: Sequence[Tile]) -> list[bytes]:
        return [auditor.get(f"/v1/audit/{tile.path}").content for tile in tiles]

    read = tile_hash_reader(15, fetch)
    served = auditor.get("/v1/audit/proof/inclusion", params={"position": logged[9]}).json()
    assert [b64(h) for h in served["proof"]] == inclusion_proof(9, 15, read)
    consistency = auditor.get("/v1/audit/proof/consistency", params={"from": 6, "to": 15}).json()
    assert [b64(h) for h in consistency["proof"]] == consistency_proof(6, 15, read)


def test_a_consistency_proof_joins_two_signed_checkpoints(
    auditor: TestClient, logged: list[int], signer: Ed25519Signer
) -> None:
    notes = {c["size"]: c["note"] for c in auditor.get("/v1/audit/checkpoints").json()}
    roots = {size: open_checkpoint(n, [signer.verifier])[0].root for size, n in notes.items()}
    for old in (0, 6, 12, 15):
        proof = auditor.get("/v1/audit/proof/consistency", params={"from": old, "to": 15}).json()
        assert (proof["from"], proof["to"]) == (old, 15)
        old_root = b64(proof["from_root"])
        if old in roots:
            assert old_root == roots[old]
        verify_consistency(old, 15, old_root, roots[15], [b64(h) for h in proof["proof"]])


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("inclusion", {"position": 99}, 404, "position_not_logged"),
        ("inclusion", {"position": 1, "size": 16}, 422, "invalid_tree_range"),
        ("inclusion", {"position": "one"}, 422, "invalid_request"),
        ("inclusion", {}, 422, "invalid_request"),
        ("consistency", {"from": 12, "to": 6}, 422, "invalid_tree_range"),
        ("consistency", {"from": 6, "to": 99}, 422, "invalid_tree_range"),
        ("consistency", {"from": -1, "to": 6}, 422, "invalid_request"),
    ],
)
def test_a_proof_of_what_the_log_does_not_hold_is_refused_naming_why(
    auditor: TestClient,
    logged: list[int],
    path: str,
    params: dict[str, object],
    status: int,
    code: str,
) -> None:
    answer = auditor.get(f"/v1/audit/proof/{path}", params=params)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_a_reader_key_cannot_read_the_log(
    http: TestClient, keys: dict[str, str], logged: list[int]
) -> None:
    answer = http.get("/v1/audit/checkpoint", headers=bearer(keys["reader"]))
    assert answer.status_code == 403
