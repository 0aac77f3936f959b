"""The docs point only at modules that exist: every ``services/...``, ``events/...`` and
``projections/...`` path, and every dotted name (``services.api.errors``, ``events.parse_json``)
that README.md and docs/*.md name, so a moved or renamed file cannot leave a page pointing at
nothing."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])

# A path of the three top-level packages: each segment two characters or more, so that a rate
# such as "events/s" is not taken for one.
PATH = re.compile(r"(?<![\w./-])(?:services|events|projections)(?:/[\w.-]{2,})+/?")
# A dotted name in backticks or in an import line, up to the first character that cannot be in
# one (``:Class``); a JSON path such as ``events.3.confidence`` is none.
DOTTED = re.compile(r"(?:`|\bfrom |\bimport )((?:services|events|projections)(?:\.[A-Za-z_]\w*)+)")
FILE_SUFFIXES = frozenset({"md", "db", "json", "jsonl", "py", "log", "aof", "csv"})


def paths_in(text: str) -> set[str]:
    return {match.rstrip("/.") for match in PATH.findall(text)}


def dotted_in(text: str) -> set[str]:
    """Dotted names, without file names such as ``events.db``."""
    return {name for name in DOTTED.findall(text) if name.rsplit(".", 1)[1] not in FILE_SUFFIXES}


def resolves(name: str) -> bool:
    """Whether ``name`` is a module, or an attribute of the longest module it starts with."""
    parts = name.split(".")
    found: object = None
    for end in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:end]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[end:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def _named(extract: Callable[[str], set[str]]) -> list[tuple[str, str]]:
    """(page, name) for every name ``extract`` finds in each page."""
    return [
        (doc.relative_to(REPO).as_posix(), name)
        for doc in DOCS
        for name in sorted(extract(doc.read_text("utf-8")))
    ]


def test_every_package_path_the_docs_name_exists() -> None:
    named = _named(paths_in)
    assert len(named) > 50  # the pages name modules all over: an empty harvest is a bug
    missing = [f"{doc}: {path}" for doc, path in named if not (REPO / path).exists()]
    assert missing == []


def test_every_dotted_module_name_the_docs_use_resolves() -> None:
    named = _named(dotted_in)
    assert ("README.md", "services.client") in named
    missing = [f"{doc}: {name}" for doc, name in named if not resolves(name)]
    assert missing == []


# (extractor, a line of a page, what a reader takes for module names in it)
FOUND = [
    (paths_in, "the relay (services/relay/relay.py) follows", {"services/relay/relay.py"}),
    (paths_in, "`projections/live/` and `events/`", {"projections/live"}),
    (paths_in, "who imports `services/wire`.", {"services/wire"}),
    (paths_in, "12000 events/s, raw 15000/s", set()),
    (paths_in, "GET /v1/negotiations/{id}/events and <prefix>:events", set()),
    (dotted_in, "`services.recorder.domain:Negotiation.Recorded`", {"services.recorder.domain"}),
    (dotted_in, "from services.client import IntakeClient", {"services.client"}),
    (dotted_in, "`events.parse_json` refuses", {"events.parse_json"}),
    (dotted_in, "`events.db` and [events.md](events.md)", set()),
    (dotted_in, "`events.3.confidence` is too long", set()),
]


@pytest.mark.parametrize(("extract", "text", "found"), FOUND)
def test_module_names_are_found_as_a_reader_sees_them(
    extract: Callable[[str], set[str]], text: str, found: set[str]
) -> None:
    assert extract(text) == found


def test_a_moved_module_is_reported() -> None:
    text = "AsyncAPI is built in `services/runtime/asyncapi.py` (`services.runtime.asyncapi`)."
    assert [p for p in paths_in(text) if not (REPO / p).exists()] == [
        "services/runtime/asyncapi.py"
    ]
    assert [n for n in dotted_in(text) if not resolves(n)] == ["services.runtime.asyncapi"]
