"""Errors of the benchmarks."""

from __future__ import annotations

from services.runtime.exceptions import RuntimeProblem


class BenchExtraMissing(RuntimeProblem):
    """A benchmark needs a package that only the ``bench`` extra installs."""

    def __init__(self, command: str, package: str) -> None:
        super().__init__(
            "bench_extra_missing",
            f"`talkstream {command}` needs {package}, which the `bench` extra installs: "
            "pip install 'talkstream[bench]' (in a clone: .venv/bin/pip install -e '.[bench]')",
        )


class BenchStoreUnreachable(RuntimeProblem):
    """``--store postgres`` asked for, and the configured PostgreSQL does not answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "bench_store_unreachable",
            f"--store postgres: the configured PostgreSQL (TALKSTREAM_POSTGRES_*) does not "
            f"answer: {reason}",
        )
