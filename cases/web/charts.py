"""Server-rendered SVG charts: a score trend (line) and grouped bars. Plain SVG styled by the site's stylesheet
(classes, no inline style: the CSP forbids it), with a title and a description for screen readers; each chart
on a page also comes with its numbers in a table."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 12, 34  # margins for the axes' labels


@dataclass(frozen=True)
class Band:
    """A shaded range on a trend chart (e.g. an instrument's `moderate` band), drawn behind the line."""

    low: float
    high: float
    label: str


def _y(value: float, y_max: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / y_max) if y_max else HEIGHT - BOTTOM


def _svg(title: str, description: str, body: Sequence[str]) -> SafeString:
    key = uuid.uuid4().hex[:8]  # ids unique on a page with several charts
    return format_html(
        '<svg viewBox="0 0 {} {}" role="img" aria-labelledby="t{} d{}" xmlns="http://www.w3.org/2000/svg">'
        '<title id="t{}">{}</title><desc id="d{}">{}</desc>{}</svg>',
        WIDTH,
        HEIGHT,
        key,
        key,
        key,
        title,
        key,
        description,
        mark_safe("".join(body)),  # noqa: S308  # nosec B308 B703: every part below is built with format_html
    )


def _tag(template: str, *args: object) -> str:
    """`format_html` with numbers written to one decimal. (`format_html` escapes each argument to text before
    formatting, so a spec like `{:.1f}` in the template would meet a string.)"""
    return format_html(
        template.replace("{:.1f}", "{}"), *(f"{arg:.1f}" if isinstance(arg, float) else arg for arg in args)
    )


def _ticks(y_max: float) -> int:
    """How many steps the y axis gets: whole numbers where the scale allows it (a COWS axis of 48 in 4 steps)."""
    if float(y_max).is_integer():
        for steps in (4, 5, 3, 6, 2):
            if y_max % steps == 0:
                return steps
        if y_max <= 12:
            return int(y_max)
    return 4


def _y_axis(y_max: float) -> list[str]:
    parts: list[str] = []
    ticks = _ticks(y_max)
    for i in range(ticks + 1):
        value = y_max * i / ticks
        y = _y(value, y_max)
        parts.append(
            _tag(
                '<line class="grid-line" x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}"/>', LEFT, y, WIDTH - RIGHT, y
            )
        )
        label = f"{value:g}" if value.is_integer() else f"{value:.1f}"
        parts.append(_tag('<text x="{}" y="{:.1f}" text-anchor="end">{}</text>', LEFT - 6, y + 4, label))
    parts.append(
        _tag(
            '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>',
            LEFT,
            HEIGHT - BOTTOM,
            WIDTH - RIGHT,
            HEIGHT - BOTTOM,
        )
    )
    return parts


def line_chart(
    points: Sequence[tuple[str, float]], *, y_max: float, title: str, bands: Sequence[Band] = ()
) -> SafeString:
    """A trend: `points` are (x label, value) in time order, evenly spaced; `y_max` fixes the scale (an
    instrument's maximum score) so that charts of the same instrument compare at a glance."""
    body: list[str] = []
    for n, band in enumerate(bands):
        # whole-number scores: a band covers its values' half-steps, so that neighbouring bands meet
        top, bottom = _y(min(band.high + 0.5, y_max), y_max), _y(max(band.low - 0.5, 0), y_max)
        body.append(
            _tag(
                '<rect class="band{}" x="{}" y="{:.1f}" width="{}" height="{:.1f}"/>',
                " alt" if n % 2 else "",
                LEFT,
                top,
                WIDTH - LEFT - RIGHT,
                max(bottom - top, 0),
            )
        )
        body.append(
            _tag(
                '<text x="{}" y="{:.1f}" text-anchor="end">{}</text>', WIDTH - RIGHT - 4, top + 11, band.label
            )
        )
    body += _y_axis(y_max)
    step = (WIDTH - LEFT - RIGHT) / max(len(points) - 1, 1)
    xy = [
        (LEFT + (i * step if len(points) > 1 else (WIDTH - LEFT - RIGHT) / 2), _y(v, y_max))
        for i, (_, v) in enumerate(points)
    ]
    if len(xy) > 1:
        body.append(
            _tag('<polyline class="series" points="{}"/>', " ".join(f"{x:.1f},{y:.1f}" for x, y in xy))
        )
    label_every = max(1, len(points) // 8)
    for i, ((label, value), (x, y)) in enumerate(zip(points, xy, strict=True)):
        body.append(
            _tag(
                '<circle class="point" cx="{:.1f}" cy="{:.1f}" r="4"><title>{}: {}</title></circle>',
                x,
                y,
                label,
                f"{value:g}",
            )
        )
        if i % label_every == 0 or i == len(points) - 1:
            # the first and last labels lean inwards, so that they are not cut at the chart's edges
            anchor = (
                "start" if i == 0 and len(points) > 1 else "end" if i and i == len(points) - 1 else "middle"
            )
            body.append(
                _tag(
                    '<text x="{:.1f}" y="{}" text-anchor="{}">{}</text>',
                    x,
                    HEIGHT - BOTTOM + 16,
                    anchor,
                    label,
                )
            )
    description = "; ".join(f"{label}: {value:g}" for label, value in points) or "No scores yet."
    return _svg(title, description, body)


def bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    y_max: float | None = None,
) -> SafeString:
    """Grouped bars: one group per category, one bar per series (at most two series are told apart by colour;
    the legend names them). Values of None count as 0."""
    values = [v or 0 for _, vs in series for v in vs]
    top = y_max or max(values, default=0) or 1
    body = _y_axis(top)
    group = (WIDTH - LEFT - RIGHT) / max(len(categories), 1)
    bar = group * 0.7 / max(len(series), 1)
    for c, category in enumerate(categories):
        x0 = LEFT + c * group + group * 0.15
        for s, (name, vs) in enumerate(series):
            value = vs[c] or 0
            y = _y(value, top)
            body.append(
                _tag(
                    '<rect class="bar{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"><title>{}, {}: {}</title></rect>',
                    " alt" if s % 2 else "",
                    x0 + s * bar,
                    y,
                    bar * 0.92,
                    HEIGHT - BOTTOM - y,
                    category,
                    name,
                    f"{value:g}",
                )
            )
        body.append(
            _tag(
                '<text x="{:.1f}" y="{}" text-anchor="middle">{}</text>',
                x0 + group * 0.35,
                HEIGHT - BOTTOM + 16,
                category,
            )
        )
    for s, (name, _) in enumerate(series):
        x = LEFT + s * 150
        body.append(
            _tag(
                '<rect class="bar{}" x="{}" y="{}" width="10" height="10"/>',
                " alt" if s % 2 else "",
                x,
                HEIGHT - 12,
            )
        )
        body.append(_tag('<text x="{}" y="{}">{}</text>', x + 14, HEIGHT - 3, name))
    description = (
        "; ".join(
            f"{category}: " + ", ".join(f"{name} {vs[c] or 0:g}" for name, vs in series)
            for c, category in enumerate(categories)
        )
        or "No data."
    )
    return _svg(title, description, body)
