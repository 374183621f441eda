"""Charts drawn on the server as SVG: a ranking as horizontal bars, a score history as a line.

Pure functions from numbers to markup; nothing loads from elsewhere. Each chart is an
`role="img"` with a `<title>` and a `<desc>` for screen readers, every bar and point carries
its number twice: in a `data-value` attribute and in a visible `<text>` label. Labels are
escaped, so a department's name can never inject markup. The pages put a table of the same
numbers beside each chart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

FONT = "system-ui, 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
BAR_COLOR = "#5b7fa8"
HIGHLIGHT_COLOR = "#c0392b"
LINE_COLOR = "#1f5f99"
AXIS_COLOR = "#6b6b6b"
GRID_COLOR = "#dddddd"


@dataclass(frozen=True)
class Bar:
    """One row of a ranking: what it is, its number, and whether to draw it apart."""

    label: str
    value: float
    highlight: bool = False


@dataclass(frozen=True)
class Point:
    """One point of a history: the period it belongs to and its number (None: not scored)."""

    label: str
    value: float | None


def format_number(value: float, decimals: int = 2) -> str:
    """`87.5` stays `87.5`, `90.0` becomes `90`: what a reader expects to see."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _text_width(text: str, size: float) -> float:
    # Wide (CJK) characters take about a full em, the rest about 0.6 of one.
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def _nice_max(value: float) -> float:
    """A round upper bound for an axis at or above `value` (100 for scores up to 100)."""
    if value <= 0:
        return 1.0
    if 50 < value <= 100:
        return 100.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _open_svg(width: float, height: float, title: str, desc: str, ident: str, kind: str) -> str:
    ident = re.sub(r"[^A-Za-z0-9_-]", "-", ident) or "chart"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        f'width="{width:g}" height="{height:g}" viewBox="0 0 {width:g} {height:g}" '
        f'aria-labelledby="{ident}-title {ident}-desc" id="{ident}" '
        f"font-family={quoteattr(FONT)}>"
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>'
    )


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    description: str | None = None,
    ident: str = "ranking",
    width: int = 720,
    bar_height: int = 22,
    gap: int = 8,
    max_value: float | None = None,
    decimals: int = 2,
) -> str:
    """A horizontal bar per row in the order given (a ranking comes sorted), label at the
    left, the bar scaled to `max_value` (a round bound over the largest value by default)
    and the number at its end."""
    font = 13
    label_width = min(280.0, max([_text_width(b.label, font) for b in bars], default=0.0) + 12)
    value_width = 64.0
    top = 8
    plot_width = max(40.0, width - label_width - value_width - 8)
    height = top * 2 + max(1, len(bars)) * (bar_height + gap)
    largest = max((b.value for b in bars), default=0.0)
    scale_max = max_value if max_value and max_value > 0 else _nice_max(largest)
    desc = description or "; ".join(f"{b.label}: {format_number(b.value, decimals)}" for b in bars)
    parts = [_open_svg(width, height, title, desc or title, ident, "bar")]
    axis_x = label_width
    parts.append(
        f'<line x1="{axis_x:g}" y1="{top}" x2="{axis_x:g}" y2="{height - top}" '
        f'stroke="{AXIS_COLOR}" stroke-width="1"/>'
    )
    for index, bar in enumerate(bars):
        y = top + index * (bar_height + gap)
        share = max(0.0, min(1.0, bar.value / scale_max)) if scale_max else 0.0
        length = plot_width * share
        number = format_number(bar.value, decimals)
        color = HIGHLIGHT_COLOR if bar.highlight else BAR_COLOR
        highlight = ' data-highlight="true"' if bar.highlight else ""
        parts.append(
            f'<g class="bar" data-label={quoteattr(bar.label)} data-value="{number}"{highlight}>'
            f'<text class="bar-label" x="{axis_x - 6:g}" y="{y + bar_height * 0.7:g}" '
            f'text-anchor="end" font-size="{font}" fill="#222">{escape(bar.label)}</text>'
            f'<rect x="{axis_x:g}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            f'fill="{color}"><title>{escape(bar.label)}: {number}</title></rect>'
            f'<text class="bar-value" x="{axis_x + length + 4:.1f}" '
            f'y="{y + bar_height * 0.7:g}" font-size="{font}" fill="#222">{number}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    description: str | None = None,
    ident: str = "history",
    width: int = 720,
    height: int = 280,
    max_value: float | None = None,
    decimals: int = 2,
) -> str:
    """A line through the scored points in the order given (oldest first), one x position per
    period, the y axis from 0 to `max_value` (a round bound over the largest by default). A
    period without a score keeps its place on the axis and breaks the line."""
    font = 12
    left, right, top, bottom = 44.0, 16.0, 16.0, 40.0
    plot_w = width - left - right
    plot_h = height - top - bottom
    values = [p.value for p in points if p.value is not None]
    scale_max = max_value if max_value and max_value > 0 else _nice_max(max(values, default=0.0))
    desc = description or "; ".join(
        f"{p.label}: {'—' if p.value is None else format_number(p.value, decimals)}" for p in points
    )
    parts = [_open_svg(width, height, title, desc or title, ident, "line")]
    for tick in range(5):
        tick_value = scale_max * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left:g}" y1="{y:.1f}" x2="{width - right:g}" y2="{y:.1f}" '
            f'stroke="{GRID_COLOR}" stroke-width="1"/>'
            f'<text class="axis-label" x="{left - 6:g}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="{font}" fill="{AXIS_COLOR}">{format_number(tick_value, 1)}</text>'
        )
    count = len(points)

    def x_of(index: int) -> float:
        return left + (plot_w / 2 if count == 1 else plot_w * index / (count - 1))

    def y_of(value: float) -> float:
        share = max(0.0, min(1.0, value / scale_max)) if scale_max else 0.0
        return top + plot_h - plot_h * share

    segments: list[list[str]] = [[]]
    for index, point in enumerate(points):
        if point.value is None:
            segments.append([])
        else:
            segments[-1].append(f"{x_of(index):.1f},{y_of(point.value):.1f}")
    for segment in segments:
        if len(segment) > 1:
            parts.append(
                f'<polyline class="line" points="{" ".join(segment)}" fill="none" '
                f'stroke="{LINE_COLOR}" stroke-width="2"/>'
            )
    for index, point in enumerate(points):
        x = x_of(index)
        parts.append(
            f'<text class="period-label" x="{x:.1f}" y="{height - bottom + 18:g}" '
            f'text-anchor="middle" font-size="{font}" fill="{AXIS_COLOR}">'
            f"{escape(point.label)}</text>"
        )
        if point.value is None:
            continue
        y = y_of(point.value)
        number = format_number(point.value, decimals)
        parts.append(
            f'<g class="point" data-label={quoteattr(point.label)} data-value="{number}">'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{LINE_COLOR}">'
            f"<title>{escape(point.label)}: {number}</title></circle>"
            f'<text class="point-value" x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" '
            f'font-size="{font}" fill="#222">{number}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)
