"""The report's two pictures drawn as SVG by hand: bars on a log axis (the gradient check) and lines on linear
axes (training). The worker draws them after every grading; matplotlib took ~0.2 s a report, as much as a
third of grading a correct notebook, where these take about a millisecond. Numbers and parameter names only,
no words: the page says what they show, in the reader's language (service/web/plots.py)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

FONT = 'font-family="DejaVu Sans, Arial, sans-serif" font-size="10"'
AXIS, GRID = "#222", "#ddd"


@dataclass(frozen=True)
class Panel:
    """A plotting area in pixels and the data ranges it shows (y on a log scale when `log`)."""

    left: float
    top: float
    width: float
    height: float
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    log: bool = False

    def x(self, value: float) -> float:
        low, high = self.x_range
        return self.left + (value - low) / ((high - low) or 1.0) * self.width

    def y(self, value: float) -> float:
        low, high = self.y_range
        if self.log:
            value, low, high = math.log10(value), math.log10(low), math.log10(high)
        return self.top + self.height - (value - low) / ((high - low) or 1.0) * self.height


def svg(width: int, height: int, parts: Iterable[str]) -> str:
    """The inline <svg> element the pages embed (decorative: the page's text says what it shows)."""
    return (f'<svg class="plot" focusable="false" aria-hidden="true" xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">' + "".join(parts) + "</svg>")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) from `low` to `high`."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((high - first) / step + 1e-9) + 1)]


def label(value: float) -> str:
    """A tick's number, short: 0.25, 1e-09, 600."""
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e5:
        return f"{value:.0e}"
    return f"{value:.6g}"


def axes(panel: Panel, x_ticks: Sequence[tuple[float, str]], y_ticks: Sequence[float]) -> list[str]:
    """The frame, horizontal grid lines with their numbers on the left, and the x ticks' labels below."""
    bottom, right = panel.top + panel.height, panel.left + panel.width
    parts = []
    for value in y_ticks:
        y = panel.y(value)
        parts.append(f'<line x1="{panel.left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{panel.left - 4:.1f}" y="{y + 3.5:.1f}" text-anchor="end" {FONT}>{label(value)}'
                     "</text>")
    for x, text in x_ticks:
        parts.append(f'<line x1="{x:.1f}" y1="{bottom:.1f}" x2="{x:.1f}" y2="{bottom + 4:.1f}" stroke="{AXIS}"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 15:.1f}" text-anchor="middle" {FONT}>{escape(text)}</text>')
    parts.append(f'<rect x="{panel.left:.1f}" y="{panel.top:.1f}" width="{panel.width:.1f}" '
                 f'height="{panel.height:.1f}" fill="none" stroke="{AXIS}"/>')
    return parts


def bars(panel: Panel, values: Sequence[float], colours: Sequence[str]) -> list[str]:
    """One bar per value, in equal slots across the panel, from its bottom edge."""
    slot, bottom = panel.width / max(len(values), 1), panel.top + panel.height
    parts = []
    for i, (value, colour) in enumerate(zip(values, colours, strict=True)):
        y = max(panel.top, min(bottom, panel.y(value)))
        parts.append(f'<rect x="{panel.left + slot * (i + 0.15):.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{bottom - y:.1f}" fill="{colour}"/>')
    return parts


def line(panel: Panel, points: Iterable[tuple[float, float | None]], colour: str, dashed: bool = False) -> list[str]:
    """A polyline through the points, broken where a value is missing or not finite."""
    runs: list[list[str]] = [[]]
    for x, y in points:
        if y is None or not math.isfinite(y):
            runs.append([])
        else:
            runs[-1].append(f"{panel.x(x):.1f},{max(panel.top, min(panel.top + panel.height, panel.y(y))):.1f}")
    dash = ' stroke-dasharray="5,3"' if dashed else ""
    return [f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="1.4"{dash}/>'
            for run in runs if run]
