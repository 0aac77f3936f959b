"""The commitments' time chart as server-side SVG: one track per milestone from when it was
scheduled to its due date (a point for "on", a bar for "not later than"), its outcome, and a
"today" line. Drawn in a 360-unit-wide view box, so its text stays readable at 375 px; the
colours come from the page's stylesheet (classes), so dark mode applies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from markupsafe import Markup, escape

from events import PartialDate

WIDTH = 360
LEFT, RIGHT = 8, 352
ROW = 40
TOP = 24


def milestone_chart(rows: list[dict[str, Any]], today: date, title: str) -> Markup:
    """The chart of ``rows`` (from ``sections.milestones``); empty markup without rows."""
    if not rows:
        return Markup("")
    days = [_day(r["scheduled_at"]) for r in rows] + [today]
    days += [date.fromisoformat(r["last_day"]) for r in rows if r["last_day"]]
    days += [_day(r["settled_at"]) for r in rows if r["settled_at"]]
    first, last = min(days), max(days)
    span = max((last - first).days, 1)

    def x(d: date) -> float:
        return round(LEFT + (RIGHT - LEFT) * (d - first).days / span, 1)

    height = TOP + ROW * len(rows) + 8
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="chart-title chart-desc" preserveAspectRatio="xMinYMin meet">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{len(rows)} milestones from {first} to {last}; '
        f"the dashed line is today, {today}.</desc>",
    ]
    parts += _years(first, last, x, height)
    for i, r in enumerate(rows):
        parts += _track(r, TOP + ROW * i, x)
    tx = x(today)
    anchor = "end" if tx > WIDTH - 30 else "start" if tx < 30 else "middle"
    parts.append(
        f'<line class="today" x1="{tx}" y1="12" x2="{tx}" y2="{height - 4}"/>'
        f'<text class="today-label" x="{tx}" y="10" text-anchor="{anchor}">today</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it went through escape)


def _years(first: date, last: date, x: Any, height: int) -> list[str]:
    out = []
    for year in range(first.year + 1, last.year + 1):
        gx = x(date(year, 1, 1))
        out.append(
            f'<line class="grid" x1="{gx}" y1="14" x2="{gx}" y2="{height - 4}"/>'
            f'<text class="axis" x="{gx + 2}" y="22">{year}</text>'
        )
    return out


def _track(r: dict[str, Any], y: int, x: Any) -> list[str]:
    state = r["state"]
    start = x(_day(r["scheduled_at"]))
    label = f"{r['description']} — {r['due_text']} ({state})"
    out = [
        f'<g class="track st-{state}"><title>{escape(label)}</title>',
        f'<text class="label" x="{LEFT}" y="{y + 12}">{escape(_short(r["description"]))}</text>',
    ]
    bar_y = y + 20
    if r["last_day"]:
        end = x(date.fromisoformat(r["last_day"]))
        if r["due"].get("kind") == "not_later_than":
            out.append(
                f'<rect class="span" x="{min(start, end)}" y="{bar_y}" '
                f'width="{max(abs(end - start), 2)}" height="8" rx="2"/>'
            )
        out.append(_diamond(end, bar_y + 4, "due"))
    else:
        out.append(f'<circle class="due" cx="{start}" cy="{bar_y + 4}" r="4"/>')
    if r["settled_at"]:
        out.append(
            f'<circle class="outcome" cx="{x(_day(r["settled_at"]))}" cy="{bar_y + 4}" r="5"/>'
        )
    out.append("</g>")
    return out


def _diamond(cx: float, cy: float, cls: str) -> str:
    points = f"{cx},{cy - 6} {cx + 6},{cy} {cx},{cy + 6} {cx - 6},{cy}"
    return f'<polygon class="{cls}" points="{points}"/>'


def _short(text: str, limit: int = 58) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _day(text: str) -> date:
    start: datetime = PartialDate.parse(text).start
    return start.date()
