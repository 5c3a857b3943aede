"""Charts as inline SVG, drawn on the server: no JavaScript library, nothing to download.

Every chart carries a title and an aria-label, and each bar a <title> with its
exact value, so the numbers stay readable to screen readers and on hover.
"""

from __future__ import annotations

from typing import Callable, List, Sequence, Tuple

from markupsafe import Markup, escape

Number = float
Formatter = Callable[[Number], str]



def _frame(title, width, height, left, right, top, plot_h, top_value, fmt) -> List[str]:
    """The opening <svg> with its title and three horizontal grid lines with values."""
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0, 0.5, 1):
        y = top + plot_h * (1 - tick)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(top_value * tick))}</text>"
        )
    return parts

def _int(value: Number) -> str:
    return f"{value:,.0f}".replace(",", ".")


def percent(value: Number) -> str:
    return f"{value * 100:.1f}".replace(".", ",") + " %"


def _nice_max(value: Number) -> Number:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return step
    magnitude = 10 ** (len(str(int(value))) - 1)
    return ((int(value) // magnitude) + 1) * magnitude


def _empty(title: str, width: int, height: int) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}: chưa có dữ liệu">'
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="chart-empty">'
        "Chưa có dữ liệu trong khoảng thời gian này</text></svg>"
    )


def bar_chart(
    data: Sequence[Tuple[str, Number]],
    title: str,
    *,
    width: int = 720,
    height: int = 240,
    fmt: Formatter = _int,
    css: str = "bar",
) -> Markup:
    """Vertical bars, e.g. conversations per day."""
    if not data or not any(v for _, v in data):
        return _empty(title, width, height)
    left, right, top, bottom = 44, 10, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max(v for _, v in data))
    step = plot_w / len(data)
    bar_w = max(2.0, step * 0.7)
    every = max(1, len(data) // 12)  # at most ~12 labels on the axis
    parts = _frame(title, width, height, left, right, top, plot_h, top_value, fmt)
    for i, (label, value) in enumerate(data):
        h = plot_h * (value / top_value)
        x = left + i * step + (step - bar_w) / 2
        parts.append(
            f'<rect class="{css}" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(
    data: Sequence[Tuple[str, Number]],
    title: str,
    *,
    width: int = 520,
    fmt: Formatter = _int,
    css: str = "bar",
    label_width: int = 190,
) -> Markup:
    """Horizontal bars with their labels, e.g. the top intents."""
    row = 24
    height = max(row * len(data) + 8, 60)
    if not data or not any(v for _, v in data):
        return _empty(title, width, 60)
    top_value = max(v for _, v in data) or 1
    plot_w = width - label_width - 70
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(data):
        y = 4 + i * row
        w = max(1.0, plot_w * value / top_value)
        shown = label if len(label) <= 30 else label[:29] + "…"
        parts.append(
            f'<text class="label" x="{label_width - 8}" y="{y + 16}" text-anchor="end">'
            f"{escape(shown)}</text>"
            f'<rect class="{css}" x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 8}">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
            f'<text class="value" x="{label_width + w + 6:.1f}" y="{y + 16}">'
            f"{escape(fmt(value))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    points: Sequence[Tuple[str, Number | None]],
    title: str,
    *,
    width: int = 720,
    height: int = 200,
    fmt: Formatter = percent,
    max_value: Number | None = None,
) -> Markup:
    """A rate over time; days without data leave a gap."""
    values = [v for _, v in points if v is not None]
    if not values:
        return _empty(title, width, height)
    left, right, top, bottom = 56, 10, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max_value or max(max(values), 1e-9)
    step = plot_w / max(len(points) - 1, 1)
    every = max(1, len(points) // 12)
    parts = _frame(title, width, height, left, right, top, plot_h, top_value, fmt)
    segments: List[List[str]] = [[]]
    for i, (label, value) in enumerate(points):
        x = left + i * step
        if i % every == 0:
            parts.append(
                f'<text class="axis" x="{x:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
        if value is None:
            segments.append([])
            continue
        y = top + plot_h * (1 - value / top_value)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></circle>"
        )
    for segment in segments:
        if len(segment) > 1:
            parts.append(f'<polyline class="line" points="{" ".join(segment)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
