"""End-to-end fixtures: the real ``talkstream`` console script, run as a subprocess.

Each runner has its own ``TALKSTREAM_HOME`` (``<base>/home``) and runs with ``cwd=<base>``, so
tests never share a store unless a module-scoped fixture shares one on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.helpers import TALKSTREAM, Runner, ok


@pytest.fixture(scope="session")
def make_cli() -> Callable[[Path], Runner]:
    """A factory of runners, for module-scoped fixtures that share one store."""
    assert TALKSTREAM.exists(), f"console script not installed at {TALKSTREAM}"
    return Runner


@pytest.fixture
def cli(tmp_path: Path, make_cli: Callable[[Path], Runner]) -> Runner:
    """``run(*args, input=None)`` -> CompletedProcess, with a fresh store under tmp_path."""
    return make_cli(tmp_path)


@pytest.fixture(scope="module")
def make_demo(
    tmp_path_factory: pytest.TempPathFactory, make_cli: Callable[[Path], Runner]
) -> Callable[[str], Runner]:
    """A factory of runners on a store holding the bundled scenario, each in a fresh folder."""

    def make(name: str) -> Runner:
        cli = make_cli(tmp_path_factory.mktemp(name))
        ok(cli("demo", "--no-serve"))
        return cli

    return make


@pytest.fixture(scope="module")
def demo_cli(make_demo: Callable[[str], Runner]) -> Runner:
    """The bundled scenario's store, shared by one module's tests: they only read it."""
    return make_demo("demo")
