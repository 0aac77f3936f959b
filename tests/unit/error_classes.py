"""The exception classes defined in talkstream's packages, found by importing every module."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

PACKAGES = ("events", "services", "projections")

# Exceptions that never leave the module raising them: each is caught there and turned into a
# TalkstreamError or another outcome. Private by name, and listed here with the reason.
PRIVATE_SIGNALS = {
    "events.json_input._Refusal": "stops the parse hooks at the first problem; parse_json "
    "locates it and raises InvalidJson",
    "projections.live.shards._ReducerFailed": "a reducer raised during a bulk fold; "
    "the rebuild falls back to applying batch by batch, which parks the negotiation",
    "services.bench.suite._Stopped": "SIGTERM in a bench's process at `bench all`'s time limit; "
    "unwinds the bench so its servers stop, then the process ends with no result",
    "services.recorder.application._DraftRefused": "unwinds one transaction attempt when a "
    "draft is refused, carrying which one; record_batch turns it into that draft's Refused",
}


def project_modules() -> list[ModuleType]:
    modules = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            modules.append(importlib.import_module(info.name))
    return modules


def defined_exceptions() -> list[type[BaseException]]:
    """Every exception class defined (not merely imported) in events/, services/, projections/."""
    found = []
    for module in project_modules():
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
