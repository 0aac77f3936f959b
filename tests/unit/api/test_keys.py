"""API keys: shown once, kept as digests only, checked by digest, revocable; roles grant
exactly their permissions."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from services.api.exceptions import KeyProblem
from services.api.keys import ANONYMOUS, GRANTS, KeyRing, Permission, Role


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys.json")


def test_a_created_key_authenticates_as_its_name_and_role(ring: KeyRing) -> None:
    _, key = ring.create(name="wire-service", role=Role.publisher)
    principal = ring.authenticate(key)
    assert principal is not None
    assert (principal.name, principal.role) == ("wire-service", Role.publisher)


def test_the_file_holds_no_key_in_clear_and_only_its_owner_may_read_it(ring: KeyRing) -> None:
    _, key = ring.create(name="wire-service", role=Role.publisher)
    text = ring.path.read_text()
    assert key not in text
    assert key.split("_")[2] not in text
    assert stat.S_IMODE(ring.path.stat().st_mode) == 0o600


def test_a_key_with_a_changed_character_is_refused(ring: KeyRing) -> None:
    _, key = ring.create(name="wire-service", role=Role.publisher)
    forged = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert ring.authenticate(forged) is None
    assert ring.authenticate("tsk_deadbeef_" + key.split("_", 2)[2]) is None
    assert ring.authenticate("Bearer") is None


def test_a_revoked_key_no_longer_authenticates_and_the_name_can_be_reused(ring: KeyRing) -> None:
    record, key = ring.create(name="analyst", role=Role.reader)
    (revoked,) = ring.revoke("analyst")
    assert revoked.key_id == record.key_id and revoked.revoked_at is not None
    assert ring.authenticate(key) is None
    _, again = ring.create(name="analyst", role=Role.reader)
    assert ring.authenticate(again) is not None


def test_a_second_active_key_with_the_same_name_is_refused(ring: KeyRing) -> None:
    ring.create(name="analyst", role=Role.reader)
    with pytest.raises(KeyProblem) as refused:
        ring.create(name="analyst", role=Role.admin)
    assert refused.value.code == "key_name_taken"


def test_revoking_an_unknown_key_names_it(ring: KeyRing) -> None:
    with pytest.raises(KeyProblem) as refused:
        ring.revoke("nobody")
    assert refused.value.code == "unknown_key" and "nobody" in refused.value.message


def test_another_process_sees_a_revocation_without_a_restart(ring: KeyRing) -> None:
    record, key = ring.create(name="analyst", role=Role.reader)
    assert ring.authenticate(key) is not None  # cached now
    KeyRing(ring.path).revoke(record.key_id)
    assert ring.authenticate(key) is None


def test_an_unreadable_keys_file_is_one_clear_error(ring: KeyRing) -> None:
    ring.path.write_text("{not json")
    with pytest.raises(KeyProblem) as refused:
        ring.authenticate("tsk_00000000_x")
    assert refused.value.code == "keys_file_unreadable" and str(ring.path) in refused.value.message


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.publisher, {Permission.write}),
        (Role.reader, {Permission.read}),
        (Role.auditor, {Permission.read, Permission.audit}),
        (Role.admin, {Permission.read, Permission.write, Permission.audit, Permission.manage}),
    ],
)
def test_each_role_grants_exactly_its_permissions(role: Role, allowed: set[Permission]) -> None:
    assert GRANTS[role] == allowed


def test_anonymous_may_only_read() -> None:
    assert [p for p in Permission if ANONYMOUS.may(p)] == [Permission.read]
