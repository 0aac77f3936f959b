"""``talkstream health``: whatever keeps it from finding a healthy process ends with exit 1 and
one line, the only failure code a container healthcheck knows (2 is reserved)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.cli.commands import assembled


def test_a_bad_setting_is_unhealthy_with_exit_1_not_an_environment_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TALKSTREAM_HEARTBEAT_SECONDS", "-1")
    result = CliRunner().invoke(assembled(), ["health", "relay"])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(
        "error: unhealthy: invalid_settings: TALKSTREAM_HEARTBEAT_SECONDS: "
    ), result.stderr


def test_an_unknown_role_is_a_usage_error() -> None:
    result = CliRunner().invoke(assembled(), ["health", "janitor"])
    assert result.exit_code == 2
