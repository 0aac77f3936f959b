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


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def served(tmp_path: Path, clock: Clock) -> KeyRing:
    """The keys as a running API process sees them (another ``KeyRing`` changes the file)."""
    return KeyRing(tmp_path / "keys.json", recheck=1.0, clock=clock)


def test_another_process_sees_a_revocation_within_the_recheck_interval(
    ring: KeyRing, served: KeyRing, clock: Clock
) -> None:
    record, key = ring.create(name="analyst", role=Role.reader)
    assert served.authenticate(key) is not None  # read now
    ring.revoke(record.key_id)
    clock.now += 1.0
    assert served.authenticate(key) is None


def test_the_file_is_not_checked_again_within_the_interval(
    ring: KeyRing, served: KeyRing, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = ring.create(name="analyst", role=Role.reader)
    assert served.authenticate(key) is not None
    stats: list[Path] = []
    original = Path.stat

    def counted(path: Path, *args: object, **kwargs: object) -> object:
        stats.append(path)
        return original(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "stat", counted)
    for _ in range(5):
        clock.now += 0.1
        assert served.authenticate(key) is not None
    assert stats == []
    clock.now += 0.5
    assert served.authenticate(key) is not None
    assert stats == [served.path]


def test_a_revoked_key_in_use_is_refused_one_interval_after_the_last_check(
    ring: KeyRing, served: KeyRing, clock: Clock
) -> None:
    record, key = ring.create(name="analyst", role=Role.reader)
    assert served.authenticate(key) is not None
    ring.revoke(record.key_id)
    clock.now += 0.5
    served.authenticate(key)  # used meanwhile: the interval still runs from the last check
    clock.now += 0.5
    assert served.authenticate(key) is None


def test_a_rotated_key_works_at_once_and_the_old_one_is_refused_within_the_interval(
    ring: KeyRing, served: KeyRing, clock: Clock
) -> None:
    old, old_key = ring.create(name="feed-2025a", role=Role.publisher)
    assert served.authenticate(old_key) is not None
    _, new_key = ring.create(name="feed-2025b", role=Role.publisher)
    principal = served.authenticate(new_key)  # a key it did not know: the file is read again
    assert principal is not None and principal.name == "feed-2025b"
    ring.revoke(old.key_id)
    clock.now += 1.0
    assert served.authenticate(old_key) is None
    assert served.authenticate(new_key) is not None


def test_a_process_sees_its_own_revocation_at_once(served: KeyRing) -> None:
    record, key = served.create(name="analyst", role=Role.reader)
    assert served.authenticate(key) is not None
    served.revoke(record.key_id)
    assert served.authenticate(key) is None


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
