"""One figure of a benchmark as `talkstream bench all` tabulates it: the measured value, the
raw baseline measured beside it in the same run, their ratio and the target the benchmarks'
documentation sets, so every bench's result reads the same way."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """``ratio`` is always ``value / baseline_value`` (for a rate higher is better, for a
    time lower is better; ``target`` says which); None without a baseline."""

    figure: str
    value: float
    unit: str
    baseline: str = "–"
    baseline_value: float | None = None
    target: str = "–"

    @property
    def ratio(self) -> float | None:
        if self.baseline_value is None or self.baseline_value <= 0:
            return None
        return self.value / self.baseline_value

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        return cls(**{k: v for k, v in data.items() if k != "ratio"})


def against(
    figure: str,
    value: float,
    unit: str,
    baseline: str,
    baseline_value: float,
    *,
    target: str = "–",
) -> Figure:
    return Figure(figure, value, unit, baseline, baseline_value, target)


def alone(figure: str, value: float, unit: str, *, target: str = "–") -> Figure:
    return Figure(figure, value, unit, target=target)


def number(value: float | None, digits: int = 2) -> str:
    """A value for the table: large ones without decimals, small ones with ``digits``."""
    if value is None:
        return "–"
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"
