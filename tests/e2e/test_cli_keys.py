"""``talkstream keys create|list|revoke``: a key is printed once, listed without its secret,
and refused by the API once revoked; bad options are one error line."""

from __future__ import annotations

import json

from services.api.keys import KeyRing
from tests.e2e.helpers import Runner, ok, one_error_line


def test_create_prints_the_key_once_and_list_shows_it_without_the_secret(cli: Runner) -> None:
    key = ok(cli("keys", "create", "--role", "auditor", "--name", "ext-auditor")).stdout.strip()
    assert key.startswith("tsk_")
    listed = json.loads(ok(cli("keys", "list", "--json")).stdout)
    assert [(k["name"], k["role"]) for k in listed] == [("ext-auditor", "auditor")]
    assert key not in json.dumps(listed)
    principal = KeyRing(cli.home / "keys.json").authenticate(key)
    assert principal is not None and principal.name == "ext-auditor"


def test_revoke_by_name_stops_the_key(cli: Runner) -> None:
    key = ok(cli("keys", "create", "--role", "reader", "--name", "temp")).stdout.strip()
    assert "revoked" in ok(cli("keys", "revoke", "temp")).stdout
    assert KeyRing(cli.home / "keys.json").authenticate(key) is None
    assert "temp" in ok(cli("keys", "list")).stdout


def test_an_unknown_role_is_one_error_line_naming_the_choices(cli: Runner) -> None:
    line = one_error_line(cli("keys", "create", "--role", "superuser", "--name", "x"))
    assert "--role" in line and "publisher" in line


def test_a_bad_name_and_an_unknown_key_are_one_error_line(cli: Runner) -> None:
    assert "--name" in one_error_line(cli("keys", "create", "--role", "reader", "--name", "a b"))
    assert "nobody" in one_error_line(cli("keys", "revoke", "nobody"))
