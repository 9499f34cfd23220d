"""Trend charts in a real browser (issue 15): the axis labels' boxes as the browser lays them out never overlap,
gridlines never cross a band label, 13 days and 4 months take different widths, and a suppressed cell of the
visits report is drawn as a dashed outline marked "<11" (de-identified), not as a zero."""

import datetime as dt
from itertools import combinations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import Visit
from cases.services.clinical import assessment_record
from clinic.roles import Role
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import (
    PatientFactory,
    UserFactory,
    VisitFactory,
    case_in_treatment_since,
    responses_totalling,
)

PASSWORD = "correct-horse-battery-staple"
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def case():
    clinician = UserFactory(
        username="np.reyes", first_name="Marisol", last_name="Reyes", roles=[Role.CLINICIAN]
    )
    UserFactory(username="supervisor", roles=[Role.SUPERVISOR])
    patient = PatientFactory(first_name="Dana", last_name="Whitfield")
    case = case_in_treatment_since(150, actor=clinician, patient=patient, primary_clinician=clinician)
    now = timezone.now()
    # PHQ-9: two scores 13 days apart, then one four months later; GAD-7: weekly for two weeks
    for days_ago, total in [(140, 18), (127, 14), (7, 6)]:
        record(case, clinician, "phq9", total, now - dt.timedelta(days=days_ago))
    for days_ago, total in [(20, 12), (13, 9), (6, 5)]:
        record(case, clinician, "gad7", total, now - dt.timedelta(days=days_ago))
    # a year of visits: one attended visit in some months (a cell of 1: "<11" once de-identified)
    for months_ago in range(0, 12, 2):
        VisitFactory(
            case=case,
            clinician=clinician,
            status=Visit.Status.ATTENDED,
            scheduled_at=now - dt.timedelta(days=30 * months_ago + 1),
        )
    return case


def record(case, clinician, instrument, total, when):
    assessment_record(
        case=case,
        instrument=instrument,
        responses=responses_totalling(instrument, total),
        administered_at=when,
        actor=clinician,
    )


def boxes(page, selector):
    return page.locator(selector).evaluate_all(
        "els => els.map(el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, el.textContent]; })"
    )


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize(("width", "height"), [(768, 1024), (1366, 900)])
def test_trend_labels_never_overlap_and_time_is_proportional(page, log_in, case, width, height):
    page.set_viewport_size({"width": width, "height": height})
    log_in("np.reyes", PASSWORD)
    page.goto(f"/patients/{case.patient_id}/#assessments")
    charts = page.locator("#assessments figure.chart svg")
    expect(charts.first).to_be_visible()

    for n in range(charts.count()):
        svg = charts.nth(n)
        labels = svg.locator(".x-label, .y-label, .band-label").evaluate_all(
            "els => els.map(el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, el.textContent]; })"
        )
        for a, b in combinations(labels, 2):
            assert not overlap(a, b), f"{a[4]!r} overlaps {b[4]!r} at {width}px"
        chart_box = svg.bounding_box()
        for left, _, right, _, text in labels:
            assert chart_box["x"] - 1 <= left and right <= chart_box["x"] + chart_box["width"] + 1, text
        gridlines = svg.locator(".grid-line").evaluate_all(
            "els => els.map(el => { const r = el.getBoundingClientRect(); return [r.left, r.top - 0.5, r.right, r.bottom + 0.5]; })"
        )
        for band in svg.locator(".band-label").evaluate_all(
            "els => els.map(el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, el.textContent]; })"
        ):
            for line in gridlines:
                assert not overlap(band, line), f"a gridline strikes through {band[4]!r} at {width}px"

    phq9 = page.locator("#assessments figure.chart svg", has=page.locator("title", has_text="PHQ-9")).first
    xs = phq9.locator("circle.point").evaluate_all("els => els.map(el => el.getBoundingClientRect().x)")
    assert len(xs) == 3
    assert (xs[2] - xs[1]) > 5 * (xs[1] - xs[0]), "13 days and 4 months take the same width"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#assessments").screenshot(path=str(SCREENSHOTS / f"trends-{width}.png"))


def test_a_suppressed_report_cell_is_drawn_as_suppressed(page, log_in, case):
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in("supervisor", PASSWORD)
    start = (timezone.localdate() - dt.timedelta(days=365)).isoformat()
    page.goto(
        f"/reports/?report=visits&start={start}&end={timezone.localdate().isoformat()}&deidentified=true"
    )

    chart = page.locator("figure.chart svg").first
    expect(chart.locator("rect.bar.suppressed").first).to_be_attached()
    marks = chart.locator(".suppressed-label").evaluate_all("els => els.map(el => el.textContent)")
    assert marks and set(marks) <= {"<11", "n<11"}
    # the dashed outline has a height a zero never has
    assert chart.locator("rect.bar.suppressed").first.bounding_box()["height"] > 5
    labels = boxes(page, "figure.chart svg .x-label")
    for a, b in combinations(labels, 2):
        assert not overlap(a, b), f"{a[4]!r} overlaps {b[4]!r}"
    page.locator("figure.chart").first.screenshot(path=str(SCREENSHOTS / "visits-report-suppressed.png"))
