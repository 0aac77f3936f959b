"""The format library stays on the ground floor: standard library, ``cryptography``, and the
contract's own exceptions, so an independent verifier can reuse its rules without the app."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import events.tlog

PACKAGE = Path(events.tlog.__file__).parent
ALLOWED_EVENTS_MODULES = {"events.exceptions"}


def imported_modules(source: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_the_format_library_imports_only_the_standard_library_and_cryptography() -> None:
    sources = sorted(PACKAGE.glob("*.py"))
    assert len(sources) >= 6
    for source in sources:
        for module in imported_modules(source):
            top = module.split(".")[0]
            if top == "events":
                assert module.startswith("events.tlog") or module in ALLOWED_EVENTS_MODULES, (
                    f"{source.name} imports {module}"
                )
            else:
                assert top in sys.stdlib_module_names or top == "cryptography", (
                    f"{source.name} imports {module}"
                )
