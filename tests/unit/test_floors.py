"""Dependencies run one way, downward: each module imports only from its own floor or the floors
below it, never from another adapter (nor recorder from projections, or back), and never from
an adapter's internal modules (docs/architecture.md draws the floors).

Every import counts: at module level, inside functions, under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOP = ("events", "projections", "services")


@dataclass(frozen=True)
class Floor:
    name: str
    level: int
    units: tuple[str, ...]  # packages or modules; a module belongs to its longest match
    isolated: bool = False  # its units may not import one another


FLOORS = (
    Floor(
        "ground",
        0,
        ("events", "services.settings", "services.exceptions", "services.logs", "services.wire"),
    ),
    Floor("core", 1, ("services.recorder", "projections"), isolated=True),
    Floor(
        "adapters",
        2,
        (
            "services.relay",
            "services.intake",
            "projections.live",
            "services.api",
            "services.client",
            "services.web",
            "services.audit",
            "services.hooks",
        ),
        isolated=True,
    ),
    Floor("composition", 3, ("services.runtime",)),
    Floor("benchmarks", 4, ("services.bench",)),  # beside the CLI, which mounts them
    Floor("cli", 5, ("services.cli",)),
)
# Package roots that hold nothing themselves: importing one reaches no floor.
ROOTS = frozenset({"services"})
# Modules only their own package may import, whatever the importer's floor.
INTERNAL = {"services.api.routes": "services.api"}

# Imports that break a floor and are being removed; each entry names who removes it. The list
# only shrinks: an entry whose import is gone fails the test, so that it is deleted too.
ALLOWED: dict[tuple[str, str], str] = {}


def _matches(module: str, unit: str) -> bool:
    return module == unit or module.startswith(unit + ".")


def unit_of(module: str) -> tuple[Floor, str] | None:
    """The floor and unit a module belongs to (the longest matching unit), if any."""
    found = [(len(u), floor, u) for floor in FLOORS for u in floor.units if _matches(module, u)]
    if not found:
        return None
    _, floor, unit = max(found, key=lambda f: f[0])
    return floor, unit


def _arrow(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported`` (``floor a -> floor b``), or None."""
    mine, theirs = unit_of(importer), unit_of(imported)
    if mine is None or theirs is None:
        return None  # unplaced modules are reported by their own test
    (floor, unit), (other, other_unit) = mine, theirs
    for internal, owner in INTERNAL.items():
        if _matches(imported, internal) and not _matches(importer, owner):
            return f"{floor.name} -> {other.name}, internal to {owner}"
    if other.level > floor.level:
        return f"{floor.name} -> {other.name}"
    if other is floor and floor.isolated and other_unit != unit:
        return f"{floor.name} -> {other.name}"
    return None


@dataclass(frozen=True)
class Violation:
    importer: str
    imported: str
    arrow: str

    def __str__(self) -> str:
        return f"{self.importer} -> {self.imported} ({self.arrow})"


def violations(imports: Mapping[str, Iterable[str]]) -> list[Violation]:
    """Every import that breaks a floor, in order."""
    found = []
    for importer, names in sorted(imports.items()):
        for imported in sorted(set(names)):
            arrow = _arrow(importer, imported)
            if arrow is not None:
                found.append(Violation(importer, imported, arrow))
    return found


def module_files() -> dict[str, Path]:
    modules = {}
    for top in TOP:
        for path in sorted((REPO / top).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imported_names(module: str, path: Path, known: Iterable[str]) -> set[str]:
    """The project modules ``module`` imports anywhere in its file; ``from a import b`` is
    ``a.b`` where that is a module, else ``a``."""
    modules = set(known)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(package, node.module, node.level)
            for alias in node.names:
                name = f"{base}.{alias.name}"
                names.add(name if name in modules else base)
    return {n for n in names if n.split(".")[0] in TOP}


def _absolute(package: str, name: str | None, level: int) -> str:
    if level == 0:
        return name or ""
    parts = package.split(".")
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, *([name] if name else [])])


def project_imports() -> dict[str, set[str]]:
    files = module_files()
    return {module: imported_names(module, path, files) for module, path in files.items()}


def test_every_module_imports_only_from_its_floor_or_below() -> None:
    found = [
        str(v) for v in violations(project_imports()) if (v.importer, v.imported) not in ALLOWED
    ]
    assert not found, "imports against the floors:\n" + "\n".join(found)


def test_every_allowed_exception_still_occurs() -> None:
    """The allow-list only shrinks: once an import is gone, its entry goes too."""
    imports = project_imports()
    gone = [f"{a} -> {b} ({who})" for (a, b), who in ALLOWED.items() if b not in imports.get(a, ())]
    assert not gone, "delete these from ALLOWED, their imports are gone:\n" + "\n".join(gone)


def test_every_module_is_on_a_floor() -> None:
    unplaced = [m for m in module_files() if m not in ROOTS and unit_of(m) is None]
    assert not unplaced, f"place these modules on a floor (FLOORS): {unplaced}"


def test_imports_inside_functions_and_under_type_checking_count(tmp_path: Path) -> None:
    source = tmp_path / "api.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from services.relay.relay import Relay\n"
        "def later():\n"
        "    import services.runtime.server\n"
        "    from ..recorder import application\n"
    )
    known = ["services.relay.relay", "services.runtime.server", "services.recorder.application"]

    names = imported_names("services.api.app", source, known)

    assert names == set(known)
    assert [str(v) for v in violations({"services.api.app": names})] == [
        "services.api.app -> services.relay.relay (adapters -> adapters)",
        "services.api.app -> services.runtime.server (adapters -> composition)",
    ]


@pytest.mark.parametrize(
    ("importer", "imported", "arrow"),
    [
        # the ground building things (today's bootstrap and runner lived beside settings)
        ("services.settings", "services.runtime.bootstrap", "ground -> composition"),
        ("services.wire.streams", "services.runtime.runner", "ground -> composition"),
        ("events.recorded", "services.recorder.exceptions", "ground -> core"),
        # the recorder -> runtime -> relay -> recorder loop of folders
        ("services.recorder.store", "services.runtime.settings", "core -> composition"),
        ("services.runtime.settings", "services.relay.relay", None),
        ("services.relay.relay", "services.recorder.application", None),
        # the write side and the reducers stay apart
        ("services.recorder.exceptions", "projections.asof", "core -> core"),
        ("projections.views", "services.recorder.domain", "core -> core"),
        ("projections.pointintime", "projections.live.collector", "core -> adapters"),
        # the one-process runner and the relay thread inside the HTTP adapter
        ("services.api.app", "services.relay.relay", "adapters -> adapters"),
        ("services.api.server", "services.intake.app", "adapters -> adapters"),
        ("services.api.server", "projections.live.worker", "adapters -> adapters"),
        ("services.api.context", "projections.live.store", "adapters -> adapters"),
        ("services.api.routes.ops", "services.runtime.asyncapi", "adapters -> composition"),
        ("projections.live.worker", "services.runtime", "adapters -> composition"),
        ("projections.live.worker", "services.intake.app", "adapters -> adapters"),
        ("services.client.intake", "services.intake.entries", "adapters -> adapters"),
        # the composition reaching a route function rather than the adapter's own surface
        (
            "services.runtime.bootstrap",
            "services.api.routes.ops",
            "composition -> adapters, internal to services.api",
        ),
        ("services.runtime.bootstrap", "services.api.context", None),
        ("services.api.app", "services.api.routes.ops", None),
        # benchmarks and the CLI stay out of the runtime's import graph
        ("services.runtime.server", "services.bench.http", "composition -> benchmarks"),
        ("services.api.app", "services.cli.render", "adapters -> cli"),
        # the page reads the API through the composition, never by importing it
        ("services.web.pages", "services.api.auth", "adapters -> adapters"),
        ("services.runtime.page", "services.web.pages", None),
        ("services.bench", "services.cli.render", "benchmarks -> cli"),
        ("services.cli.bench", "services.bench.http", None),
        # downward arrows are the point of the floors
        ("services.intake.app", "services.wire.streams", None),
        ("projections.live.worker", "projections.views", None),
        ("services.recorder.store", "services.settings", None),
        ("services.cli.commands", "services.runtime.server", None),
    ],
)
def test_a_back_up_arrow_is_reported_with_its_floors(
    importer: str, imported: str, arrow: str | None
) -> None:
    expected = [] if arrow is None else [f"{importer} -> {imported} ({arrow})"]
    assert [str(v) for v in violations({importer: [imported]})] == expected


def test_a_module_on_no_floor_is_reported() -> None:
    assert unit_of("services.nowhere.page") is None
    assert unit_of("services.web.pages") == (FLOORS[2], "services.web")
    assert unit_of("services.api.routes.reads") == (FLOORS[2], "services.api")
    assert unit_of("projections.live.store") == (FLOORS[2], "projections.live")
    assert unit_of("projections.asof") == (FLOORS[1], "projections")
