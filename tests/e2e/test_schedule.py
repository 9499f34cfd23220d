"""Scheduling in a real browser (issue 15): a double booking warns before it books; a reschedule keeps the visit and
is no cancellation in the visits report; the week schedule fits a tablet (768x1024) and a desktop (1366x900)."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import Case, Visit
from cases.reports.params import ReportParams
from cases.reports.visits_report import visits
from clinic.roles import Role
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import PatientFactory, UserFactory, VisitFactory, case_in_stage

PASSWORD = "correct-horse-battery-staple"
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
MONDAY = timezone.localdate() + dt.timedelta(days=7 - timezone.localdate().weekday())  # next week's


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def clinic():
    UserFactory(username="frontdesk", first_name="Tess", last_name="Okafor", roles=[Role.FRONT_DESK])
    reyes = UserFactory(username="np.reyes", first_name="Marisol", last_name="Reyes", roles=[Role.CLINICIAN])
    park = UserFactory(username="dr.park", first_name="Daniel", last_name="Park", roles=[Role.CLINICIAN])
    cases = []
    for n, (first, last, clinician) in enumerate(
        [
            ("Dana", "Whitfield", reyes),
            ("Luis", "Ortega", park),
            ("Amara", "Nwosu", reyes),
            ("Jonathan", "Pham", park),
            ("Grace", "Lindqvist", reyes),
        ]
    ):
        patient = PatientFactory(first_name=first, last_name=last)
        case = case_in_stage(
            Case.Stage.TREATMENT, actor=clinician, patient=patient, primary_clinician=clinician
        )
        cases.append(case)
        for day in range(5):
            if (day + n) % 2 == 0:
                VisitFactory(
                    case=case,
                    clinician=clinician,
                    scheduled_at=local(MONDAY + dt.timedelta(days=day), 8 + 2 * n, 30),
                    visit_type=["individual_counseling", "medication_management", "group_counseling"][n % 3],
                )
    return {"reyes": reyes, "park": park, "cases": cases}


def test_a_double_booking_warns_before_it_books(page, log_in, clinic):
    case = clinic["cases"][0]  # Dana Whitfield, 8:30 on Monday with Reyes
    log_in("frontdesk", PASSWORD)
    page.goto(f"/cases/{case.pk}/visits/new/")
    page.get_by_label("Visit type").select_option("intake")
    page.locator("#id_date").fill(MONDAY.isoformat())
    page.locator("#id_time").fill("09:00")
    page.get_by_role("button", name="Schedule the visit").click()

    warning = page.locator(".conflicts")
    expect(warning).to_contain_text("overlaps 1 other visit of the patient and the clinician")
    expect(warning).to_contain_text("this patient")
    assert Visit.objects.filter(case=case).count() == 3
    page.get_by_role("button", name="Book anyway").click()

    page.wait_for_url(re.compile(rf"/patients/{case.patient_id}/"))
    expect(page.locator("#messages")).to_contain_text("Intake scheduled")
    assert Visit.objects.filter(case=case, visit_type="intake", duration_minutes=60).count() == 1


def test_a_reschedule_is_not_a_cancellation_in_the_visits_report(page, log_in, clinic):
    case = clinic["cases"][0]
    visit = Visit.objects.filter(case=case).order_by("scheduled_at").first()
    log_in("frontdesk", PASSWORD)
    page.goto(f"/patients/{case.patient_id}/")
    page.locator(f"#visit-{visit.pk}").get_by_role("link", name="Reschedule").click()
    page.get_by_label("New time").fill("15:00")
    page.get_by_label("Reason for the move").fill("Patient's ride fell through; afternoon instead.")
    page.get_by_role("button", name="Move the visit").click()

    page.wait_for_url(re.compile(rf"/patients/{case.patient_id}/"))
    card = page.locator(f"#visit-{visit.pk}")
    expect(card).to_contain_text("15:00")
    card.get_by_text("History (1)").click()
    expect(card.locator(".history")).to_contain_text("moved from")
    visit.refresh_from_db()
    assert (visit.status, visit.scheduled_at) == ("scheduled", local(MONDAY, 15))
    report = visits(clinic["reyes"], ReportParams(start=MONDAY, end=MONDAY + dt.timedelta(days=6)))
    assert sum(row["cancelled"] + row["late_cancel"] for row in report["rows"]) == 0
    assert (
        sum(row["scheduled"] for row in report["rows"])
        == Visit.objects.filter(case__primary_clinician=clinic["reyes"]).count()
    )


@pytest.mark.parametrize(("width", "height"), [(768, 1024), (1366, 900)])
def test_the_week_schedule_fits_a_tablet_and_a_desktop(page, log_in, clinic, width, height):
    page.set_viewport_size({"width": width, "height": height})
    log_in("frontdesk", PASSWORD)
    page.goto(f"/schedule/?view=week&day={MONDAY.isoformat()}")

    expect(page.get_by_role("heading", name=re.compile("Week of"))).to_be_visible()
    expect(page.locator(".week-visit")).to_have_count(Visit.objects.count())
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the week is {overflow}px wider than the screen"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"schedule-week-{width}.png"))
    page.goto(f"/schedule/?day={MONDAY.isoformat()}")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the day is {overflow}px wider than the screen"
    page.screenshot(path=str(SCREENSHOTS / f"schedule-day-{width}.png"))
