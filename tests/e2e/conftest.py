"""End-to-end fixtures: the real ``talkstream`` console script, run as a subprocess.

Each runner has its own ``TALKSTREAM_HOME`` (``<base>/home``) and runs with ``cwd=<base>``, so
tests never share a store unless a module-scoped fixture shares one on purpose.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

TALKSTREAM = Path(sys.executable).parent / "talkstream"
TIMEOUT = 120


class Runner:
    """Runs ``talkstream ARGS`` against one store; ``env`` adds or overrides variables."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.home = base / "home"

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TALKSTREAM_") and k not in ("FORCE_COLOR", "COLUMNS", "LINES")
        }
        env.update(TALKSTREAM_HOME=str(self.home), COLUMNS="200", PYTHONIOENCODING="utf-8")
        env.update(extra or {})
        return env

    def __call__(
        self, *args: object, input: str | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(TALKSTREAM), *(str(a) for a in args)],
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=TIMEOUT,
            cwd=self.base,
            env=self.environment(env),
            check=False,
        )


@pytest.fixture(scope="session")
def make_cli() -> Callable[[Path], Runner]:
    """A factory of runners, for module-scoped fixtures that share one store."""
    assert TALKSTREAM.exists(), f"console script not installed at {TALKSTREAM}"
    return Runner


@pytest.fixture
def cli(tmp_path: Path, make_cli: Callable[[Path], Runner]) -> Runner:
    """``run(*args, input=None)`` -> CompletedProcess, with a fresh store under tmp_path."""
    return make_cli(tmp_path)
