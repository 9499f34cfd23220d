"""Server-rendered SVG charts: a score trend (line) on a time axis and grouped bars. Plain SVG styled by the site's
stylesheet (classes, no inline style: the CSP forbids it), with a title and a description for screen readers; each
chart on a page also comes with its numbers in a table.

Layout rules (issue 15): a trend's x axis is proportional to time (13 days and 4 months never take the same
width), its ticks fall on days, weeks or months, as many as fit; no two axis labels overlap (each label's width is
estimated from its characters, generously, and a label that would touch its neighbour or the edge is left out or
turned inwards); band labels sit where no gridline crosses them; a suppressed report cell is drawn as a dashed
outline marked "<11" (or "n<11" for a figure from a small group), never as a zero."""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from cases.reports import SMALL_CELL, SUPPRESSED
from clinic.formats import show_date

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


def _gridline_ys(y_max: float) -> list[float]:
    ticks = _ticks(y_max)
    return [_y(y_max * i / ticks, y_max) for i in range(ticks + 1)]


def _y_axis(y_max: float, keep_clear: Sequence[tuple[float, float, float]] = ()) -> list[str]:
    """Gridlines and their values; a gridline that would cross one of `keep_clear` (a label's left x, top and
    bottom y) stops short of it."""
    parts: list[str] = []
    ticks = _ticks(y_max)
    for i in range(ticks + 1):
        value = y_max * i / ticks
        y = _y(value, y_max)
        end = min([WIDTH - RIGHT, *(left - 4 for left, top, bottom in keep_clear if top <= y <= bottom)])
        parts.append(
            _tag(
                '<line class="grid-line" x1="{}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"/>',
                LEFT,
                y,
                float(end),
                y,
            )
        )
        label = f"{value:g}" if value.is_integer() else f"{value:.1f}"
        parts.append(
            _tag(
                '<text class="y-label" x="{}" y="{:.1f}" text-anchor="end">{}</text>', LEFT - 6, y + 4, label
            )
        )
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


# --- Labels that never overlap ---------------------------------------------------------------------------------

FONT_PX = 11  # `.chart text` in the stylesheet
CHAR_PX = FONT_PX * 0.68  # wider than any digit, letter or dash of the sans-serif fonts in use
LABEL_GAP = 10  # the least space between two labels


def label_width(text: str) -> float:
    return len(text) * CHAR_PX


@dataclass(frozen=True)
class AxisLabel:
    x: float
    text: str
    anchor: str  # "start", "middle" or "end"

    @property
    def span(self) -> tuple[float, float]:
        width = label_width(self.text)
        left = {"start": self.x, "middle": self.x - width / 2, "end": self.x - width}[self.anchor]
        return left, left + width


def spaced_labels(candidates: Sequence[tuple[float, str]]) -> list[AxisLabel]:
    """The labels (x, text) to draw, left to right: a label that would cross the chart's right edge, or reach left
    into the y axis's values, is turned inwards (anchored at its end or start), and one that would come closer than `LABEL_GAP` to the last one kept is left
    out; the last candidate is preferred to the one before it (the latest date is the one read)."""
    placed: list[AxisLabel] = []
    for x, text in sorted(candidates):
        label = AxisLabel(x, text, "middle")
        left, right = label.span
        if left < LEFT - 4:
            label = AxisLabel(x, text, "start")
        elif right > WIDTH:
            label = AxisLabel(x, text, "end")
        if placed and label.span[0] < placed[-1].span[1] + LABEL_GAP:
            if (x, text) != tuple(sorted(candidates)[-1]):
                continue
            placed.pop()  # the last label wins over the one before it
            if placed and label.span[0] < placed[-1].span[1] + LABEL_GAP:
                placed.pop()
        placed.append(label)
    return placed


def _x_labels(labels: Sequence[AxisLabel]) -> list[str]:
    return [
        _tag(
            '<text class="x-label" x="{:.1f}" y="{}" text-anchor="{}">{}</text>',
            label.x,
            HEIGHT - BOTTOM + 16,
            label.anchor,
            label.text,
        )
        for label in labels
    ]


# --- The time axis -----------------------------------------------------------------------------------------------


def _moment(value: dt.date | dt.datetime) -> dt.datetime:
    """A point's time as a naive local datetime (a date is its midnight), so that spans are in clinic days."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    return dt.datetime.combine(value, dt.time())


def _month_start(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def time_ticks(first: dt.datetime, last: dt.datetime, room: float) -> list[tuple[dt.datetime, str]]:
    """Ticks between `first` and `last` on whole days, weeks (Mondays) or months (the 1st), the finest step whose
    labels fit in `room` pixels: days and weeks labelled with the date, months with the month (2026-03)."""
    start, end = first.date(), last.date()
    day_room = label_width(show_date(start)) + LABEL_GAP
    month_room = label_width(start.strftime("%Y-%m")) + LABEL_GAP
    for days in (1, 2, 7, 14):
        day = start if days < 7 else start + dt.timedelta(days=(7 - start.weekday()) % 7)
        ticks = []
        while day <= end:
            ticks.append(day)
            day += dt.timedelta(days=days)
        if len(ticks) * day_room <= room:
            return [(dt.datetime.combine(day, dt.time()), show_date(day)) for day in ticks if day >= start]
    for months in (1, 2, 3, 6, 12, 24, 60):
        month = _month_start(start, 0 if start.day == 1 else 1)
        while (month.month - 1) % months:
            month = _month_start(month, 1)
        ticks = []
        while month <= end:
            ticks.append(month)
            month = _month_start(month, months)
        if len(ticks) * month_room <= room:
            return [(dt.datetime.combine(month, dt.time()), month.strftime("%Y-%m")) for month in ticks]
    return []


# --- Charts ------------------------------------------------------------------------------------------------------


LABEL_ABOVE, LABEL_BELOW = 12, 5  # a label's box around its baseline, generously (11 px type)


def _band_label_y(top: float, bottom: float, gridlines: Sequence[float]) -> float:
    """A band label's baseline inside its band, where no gridline meets the text if the band has such a place
    (else its top line: the gridlines then stop short of the label, see `_y_axis`)."""
    y = top + 11
    while y + 3 <= bottom:
        if all(not (y - LABEL_ABOVE <= line <= y + LABEL_BELOW) for line in gridlines):
            return y
        y += 1
    return top + 11


def line_chart(
    points: Sequence[tuple[dt.date | dt.datetime, float]],
    *,
    y_max: float,
    title: str,
    bands: Sequence[Band] = (),
) -> SafeString:
    """A trend: `points` are (when, value) in time order, placed along a time axis proportional to their dates
    (13 days and 4 months never take the same width); `y_max` fixes the scale (an instrument's maximum score) so
    that charts of the same instrument compare at a glance."""
    body: list[str] = []
    plot = WIDTH - LEFT - RIGHT
    gridlines = _gridline_ys(y_max)
    band_labels: list[str] = []
    keep_clear: list[tuple[float, float, float]] = []
    for n, band in enumerate(bands):
        # whole-number scores: a band covers its values' half-steps, so that neighbouring bands meet
        top, bottom = _y(min(band.high + 0.5, y_max), y_max), _y(max(band.low - 0.5, 0), y_max)
        body.append(
            _tag(
                '<rect class="band{}" x="{}" y="{:.1f}" width="{}" height="{:.1f}"/>',
                " alt" if n % 2 else "",
                LEFT,
                top,
                plot,
                max(bottom - top, 0),
            )
        )
        baseline = _band_label_y(top, bottom, gridlines)
        keep_clear.append(
            (WIDTH - RIGHT - 4 - label_width(band.label), baseline - LABEL_ABOVE, baseline + LABEL_BELOW)
        )
        band_labels.append(
            _tag(
                '<text class="band-label" x="{}" y="{:.1f}" text-anchor="end">{}</text>',
                WIDTH - RIGHT - 4,
                baseline,
                band.label,
            )
        )
    body += _y_axis(y_max, keep_clear)
    moments = [_moment(when) for when, _ in points]
    first, last = (min(moments), max(moments)) if moments else (None, None)
    span = (last - first).total_seconds() if first and last else 0

    def x_of(moment: dt.datetime) -> float:
        if not span or first is None:
            return LEFT + plot / 2
        return LEFT + plot * (moment - first).total_seconds() / span

    xy = [(x_of(moment), _y(value, y_max)) for moment, (_, value) in zip(moments, points, strict=True)]
    if len(xy) > 1:
        body.append(
            _tag('<polyline class="series" points="{}"/>', " ".join(f"{x:.1f},{y:.1f}" for x, y in xy))
        )
    for (when, value), (x, y) in zip(points, xy, strict=True):
        body.append(
            _tag(
                '<circle class="point" cx="{:.1f}" cy="{:.1f}" r="4"><title>{}: {}</title></circle>',
                x,
                y,
                show_date(when),
                f"{value:g}",
            )
        )
    if first is not None and last is not None:
        if span:
            ticks = time_ticks(first, last, plot)
            candidates = [(x_of(moment), text) for moment, text in ticks if first <= moment <= last]
            if not ticks or len(ticks[0][1]) > 7:  # dated ticks: the first and last days too, where they fit
                ends = {first.date(): x_of(first), last.date(): x_of(last)}
                candidates = sorted(
                    {*candidates, *((x, show_date(day)) for day, x in ends.items())}, key=lambda c: c[0]
                )
                candidates = [c for n, c in enumerate(candidates) if n == 0 or c[1] != candidates[n - 1][1]]
        else:
            candidates = [(x_of(first), show_date(first.date()))]
        body += _x_labels(spaced_labels(candidates))
    body += band_labels  # last: over the gridlines (placed clear of them) and, with a halo, over the line
    description = "; ".join(f"{show_date(when)}: {value:g}" for when, value in points) or "No scores yet."
    return _svg(title, description, body)


Value = float | int | str | None  # a number, a suppressed report cell (SMALL_CELL or SUPPRESSED), or no data


def _suppressed_mark(value: Value) -> str:
    return {SMALL_CELL: "<11", SUPPRESSED: "n<11"}.get(value, "") if isinstance(value, str) else ""


def bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Value]]],
    *,
    title: str,
    y_max: float | None = None,
) -> SafeString:
    """Grouped bars: one group per category, one bar per series (at most two series are told apart by colour;
    the legend names them). None is no data (no bar, read as 0); a suppressed cell ("<11", "suppressed") is a
    dashed outline with its mark above, never a zero; category labels that would overlap are thinned."""
    numbers = [float(v) for _, vs in series for v in vs if isinstance(v, int | float)]
    top = y_max or max(numbers, default=0) or 1
    body = _y_axis(top)
    group = (WIDTH - LEFT - RIGHT) / max(len(categories), 1)
    bar = group * 0.7 / max(len(series), 1)
    any_suppressed = False
    for c, category in enumerate(categories):
        x0 = LEFT + c * group + group * 0.15
        for s, (name, vs) in enumerate(series):
            value = vs[c]
            mark = _suppressed_mark(value)
            if mark:
                any_suppressed = True
                height = min(18.0, HEIGHT - BOTTOM - TOP)
                body.append(
                    _tag(
                        '<rect class="bar suppressed" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}">'
                        "<title>{}, {}: {}</title></rect>",
                        x0 + s * bar,
                        HEIGHT - BOTTOM - height,
                        bar * 0.92,
                        height,
                        category,
                        name,
                        "suppressed (fewer than 11)",
                    )
                )
                body.append(
                    _tag(
                        '<text class="suppressed-label" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>',
                        x0 + s * bar + bar * 0.46,
                        HEIGHT - BOTTOM - height - 3,
                        mark,
                    )
                )
                continue
            number = float(value) if isinstance(value, int | float) else 0.0
            y = _y(number, top)
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
                    f"{number:g}",
                )
            )
    body += _x_labels(
        spaced_labels([(LEFT + c * group + group / 2, category) for c, category in enumerate(categories)])
    )
    legend_x = float(LEFT)
    for s, (name, _) in enumerate(series):
        body.append(
            _tag(
                '<rect class="bar{}" x="{:.1f}" y="{}" width="10" height="10"/>',
                " alt" if s % 2 else "",
                float(legend_x),
                HEIGHT - 12,
            )
        )
        body.append(_tag('<text x="{:.1f}" y="{}">{}</text>', float(legend_x + 14), HEIGHT - 3, name))
        legend_x += 14 + label_width(name) + 16
    if any_suppressed:
        body.append(
            _tag(
                '<rect class="bar suppressed" x="{:.1f}" y="{}" width="10" height="10"/>',
                float(legend_x),
                HEIGHT - 12,
            )
        )
        body.append(
            _tag('<text x="{:.1f}" y="{}">{}</text>', float(legend_x + 14), HEIGHT - 3, "suppressed (<11)")
        )

    def said(value: Value) -> str:
        mark = _suppressed_mark(value)
        return (
            f"suppressed ({mark})" if mark else f"{float(value) if isinstance(value, int | float) else 0:g}"
        )

    description = (
        "; ".join(
            f"{category}: " + ", ".join(f"{name} {said(vs[c])}" for name, vs in series)
            for c, category in enumerate(categories)
        )
        or "No data."
    )
    return _svg(title, description, body)
