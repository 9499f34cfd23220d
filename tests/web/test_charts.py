"""The server-rendered SVG charts."""

import re

from cases.web.charts import Band, bar_chart, line_chart


def test_a_trend_draws_one_point_per_score_on_a_fixed_scale():
    svg = line_chart(
        [("1 Oct", 24), ("8 Oct", 12), ("15 Oct", 6)],
        y_max=48,
        title="COWS",
        bands=[Band(13, 24, "moderate")],
    )
    assert svg.count('<circle class="point"') == 3
    assert '<polyline class="series"' in svg
    assert '<rect class="band"' in svg and "moderate" in svg
    assert "<desc" in svg and "1 Oct: 24; 8 Oct: 12; 15 Oct: 6" in svg


def test_coordinates_are_numbers_with_one_decimal():
    svg = line_chart([("a", 1), ("b", 2.25)], y_max=3, title="t")
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
