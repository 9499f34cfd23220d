"""The server-rendered SVG charts: a time axis proportional to dates, labels that never overlap, band labels clear
of the gridlines, suppressed report cells drawn as such (issue 15)."""

import datetime as dt
import itertools
import re

import pytest

from cases.instruments.definitions import INSTRUMENTS
from cases.web.charts import WIDTH, AxisLabel, Band, bar_chart, label_width, line_chart, spaced_labels

OCT = dt.date(2026, 10, 1)


def test_a_trend_draws_one_point_per_score_on_a_fixed_scale():
    svg = line_chart(
        [(OCT, 24), (OCT + dt.timedelta(days=7), 12), (OCT + dt.timedelta(days=14), 6)],
        y_max=48,
        title="COWS",
        bands=[Band(13, 24, "moderate")],
    )
    assert svg.count('<circle class="point"') == 3
    assert '<polyline class="series"' in svg
    assert '<rect class="band"' in svg and "moderate" in svg
    assert "<desc" in svg and "2026-10-01: 24; 2026-10-08: 12; 2026-10-15: 6" in svg


def test_coordinates_are_numbers_with_one_decimal():
    svg = line_chart([(OCT, 1), (OCT + dt.timedelta(days=1), 2.25)], y_max=3, title="t")
    assert re.search(r'cy="\d+\.\d"', svg)


def test_labels_are_escaped_once():
    svg = bar_chart(["<b>"], [("A & B", [3])], title="x < y")
    assert "&lt;b&gt;" in svg and "&amp;lt;" not in svg
    assert "<b>" not in svg


def test_bars_group_two_series_and_name_them_in_a_legend():
    svg = bar_chart(["Jan", "Feb"], [("attended", [5, 7]), ("no-show", [1, None])], title="Visits")
    assert svg.count('<rect class="bar"') == 2 + 1  # two bars and the legend's swatch
    assert svg.count('<rect class="bar alt"') == 2 + 1
    assert "Feb: attended 7, no-show 0" in svg


def test_an_empty_chart_says_so():
    assert "No scores yet." in line_chart([], y_max=27, title="PHQ-9")
    assert "No data." in bar_chart([], [], title="None")


def test_several_charts_on_a_page_have_distinct_ids():
    first, second = line_chart([], y_max=1, title="a"), line_chart([], y_max=1, title="b")
    assert re.search(r'id="(t\w+)"', first)[1] != re.search(r'id="(t\w+)"', second)[1]


# --- Time axis --------------------------------------------------------------------------------------------------


def point_xs(svg: str) -> list[float]:
    return [float(x) for x in re.findall(r'<circle class="point" cx="([\d.]+)"', svg)]


def labels(svg: str) -> list[AxisLabel]:
    return [
        AxisLabel(float(x), text.replace("&lt;", "<"), anchor)
        for x, anchor, text in re.findall(
            r'class="x-label" x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)">([^<]*)<', svg
        )
    ]


def test_thirteen_days_and_four_months_do_not_take_the_same_width():
    start = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
    svg = line_chart(
        [(start, 10), (start + dt.timedelta(days=13), 8), (start + dt.timedelta(days=13 + 120), 4)],
        y_max=27,
        title="PHQ-9",
    )

    a, b, c = point_xs(svg)
    assert (c - b) / (b - a) == pytest.approx(120 / 13, rel=0.01)


def test_a_single_score_or_one_day_sits_in_the_middle_with_its_date():
    svg = line_chart([(OCT, 5)], y_max=27, title="PHQ-9")

    assert point_xs(svg) == [pytest.approx(WIDTH / 2 + 14)]
    assert [label.text for label in labels(svg)] == ["2026-10-01"]


@pytest.mark.parametrize("days", [1, 2, 3, 6, 9, 13, 20, 31, 45, 60, 90, 120, 200, 365, 500, 800, 2000])
def test_axis_labels_never_overlap_and_stay_inside_the_chart(days):
    points = [(OCT + dt.timedelta(days=day), day % 20) for day in range(0, days + 1, max(1, days // 30))]
    points.append((OCT + dt.timedelta(days=days), 3))

    shown = labels(line_chart(points, y_max=27, title="PHQ-9"))

    assert shown, "an axis with no label"
    spans = [label.span for label in shown]
    assert all(left >= 0 and right <= WIDTH for left, right in spans)
    assert all(later[0] >= earlier[1] + 10 for earlier, later in itertools.pairwise(spans))
    # ticks are days or months, in order, and in the one date format
    assert all(re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", label.text) for label in shown)
    assert [label.x for label in shown] == sorted(label.x for label in shown)


@pytest.mark.parametrize("months", [1, 3, 6, 12, 14, 24, 36])
def test_month_labels_under_bars_never_overlap(months):
    categories = [f"{2024 + m // 12}-{m % 12 + 1:02d}" for m in range(months)]
    svg = bar_chart(categories, [("Attended", [5] * months), ("No-show", [1] * months)], title="Visits")

    spans = [label.span for label in labels(svg)]
    assert spans and all(left >= 0 and right <= WIDTH for left, right in spans)
    assert all(later[0] >= earlier[1] + 10 for earlier, later in itertools.pairwise(spans))
    assert labels(svg)[-1].text == categories[-1]  # the latest month is always named


def test_spaced_labels_keep_the_last_and_turn_the_edges_inwards():
    kept = spaced_labels([(0, "2026-01-01"), (30, "2026-01-02"), (WIDTH, "2026-01-09")])

    assert [(label.text, label.anchor) for label in kept] == [("2026-01-01", "start"), ("2026-01-09", "end")]


@pytest.mark.parametrize("instrument", sorted(name for name, i in INSTRUMENTS.items() if i.bands))
def test_no_gridline_strikes_through_a_band_label(instrument):
    definition = INSTRUMENTS[instrument]
    svg = line_chart(
        [(OCT, 1), (OCT + dt.timedelta(days=30), 2)],
        y_max=definition.max_total,
        title=instrument,
        bands=[Band(band.low, band.high, band.label) for band in definition.bands],
    )

    gridlines = [
        (float(y), float(x2))
        for y, x2 in re.findall(r'<line class="grid-line" x1="\d+" y1="([\d.]+)" x2="([\d.]+)"', svg)
    ]
    band_labels = re.findall(
        r'<text class="band-label" x="(\d+)" y="([\d.]+)" text-anchor="end">([^<]*)<', svg
    )
    assert len(band_labels) == len(definition.bands)
    for (
        right,
        baseline,
        text,
    ) in band_labels:  # the text's box: 12 px above the baseline, 5 below (11 px type)
        left = float(right) - label_width(text)
        crossing = [
            y for y, x2 in gridlines if float(baseline) - 12 <= y <= float(baseline) + 5 and x2 > left
        ]
        assert not crossing, (instrument, text, crossing)
    # drawn after the gridlines, so nothing is painted over them
    assert svg.index('class="band-label"') > svg.rindex('class="grid-line"')


# --- Suppressed cells ------------------------------------------------------------------------------------------


def test_a_suppressed_cell_is_drawn_as_suppressed_not_as_a_zero():
    svg = bar_chart(
        ["2026-01", "2026-02", "2026-03"],
        [("Attended", [25, "<11", 0]), ("Attendance", [0.8, "suppressed", None])],
        title="Visits",
    )

    assert svg.count('<rect class="bar suppressed"') == 2 + 1  # two cells and the legend's swatch
    assert ">&lt;11</text>" in svg and ">n&lt;11</text>" in svg
    assert "2026-02: Attended suppressed (<11), Attendance suppressed (n<11)" in svg.replace("&lt;", "<")
    assert "2026-03: Attended 0, Attendance 0" in svg
    assert "suppressed (&lt;11)" in svg  # the legend says what the dashed bars are


def test_a_chart_without_suppressed_cells_has_no_suppressed_legend():
    svg = bar_chart(["2026-01"], [("Attended", [0])], title="Visits")

    assert "suppressed" not in svg
