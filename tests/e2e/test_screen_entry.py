"""Urine screen quick entry in a real browser (issue 15): a routine negative screen is two clicks from the chart
("All negative", then "Record screen"), and the screens table and the entry grid are not cut off at 1366 px."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import USUAL_SCREEN_PANEL, Case, DrugScreen
from clinic.roles import Role
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import DrugScreenFactory, PatientFactory, UserFactory, case_in_stage

PASSWORD = "correct-horse-battery-staple"
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def case():
    clinician = UserFactory(
        username="np.reyes", first_name="Marisol", last_name="Reyes", roles=[Role.CLINICIAN]
    )
    patient = PatientFactory(first_name="Dana", last_name="Whitfield")
    case = case_in_stage(Case.Stage.TREATMENT, actor=clinician, patient=patient, primary_clinician=clinician)
    DrugScreenFactory(case=case, fentanyl="positive", mitragynine="positive", opioids="negative")
    return case


def clipped(page, selector: str) -> float:
    """How far the element's content reaches past its own box sideways (0 when nothing is cut off)."""
    return page.evaluate(
        f"(() => {{ const e = document.querySelector({selector!r}); return e.scrollWidth - e.clientWidth; }})()"
    )


def test_a_routine_negative_screen_in_two_clicks(page, log_in, case):
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in("np.reyes", PASSWORD)
    page.goto(f"/patients/{case.patient_id}/#drug-screens")
    form = page.locator("#screen-form")
    expect(form).to_be_visible()

    form.get_by_role("button", name="All negative").click()  # click 1: fills, saves nothing
    record = page.locator("#screen-form").get_by_role("button", name="Record screen")
    expect(record).to_be_focused()
    assert DrugScreen.objects.filter(case=case).count() == 1
    record.click()  # click 2
    page.wait_for_url(re.compile(rf"/patients/{case.patient_id}/"))
    expect(page.get_by_text("Urine drug screen recorded.")).to_be_visible()

    screens = DrugScreen.objects.filter(case=case).order_by("-created_at")
    assert screens.count() == 2
    newest = screens[0]
    assert newest.collected_on == timezone.localdate()
    assert {a: newest.results[a] for a in USUAL_SCREEN_PANEL} == dict.fromkeys(USUAL_SCREEN_PANEL, "negative")
    assert newest.alcohol == "not_tested"


def test_the_screens_table_and_the_entry_grid_fit_1366_px(page, log_in, case):
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in("np.reyes", PASSWORD)
    page.goto(f"/patients/{case.patient_id}/#drug-screens")
    expect(page.locator("#drug-screens table.screens").first).to_be_visible()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#drug-screens").screenshot(path=str(SCREENSHOTS / "screens-1366.png"))
    assert clipped(page, "#drug-screens .table-wrap") <= 0, "the screens table is cut off at 1366 px"
    assert clipped(page, "#screen-form .table-wrap") <= 0, "the entry grid is cut off at 1366 px"
    assert page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"
    )  # nothing clipped sideways


def test_a_screen_with_an_unanswered_analyte_names_it_and_focuses_the_first(page, log_in, case):
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in("np.reyes", PASSWORD)
    page.goto(f"/patients/{case.patient_id}/#drug-screens")
    form = page.locator("#screen-form")
    form.get_by_label("Fentanyl: Positive", exact=True).check()
    form.get_by_role("button", name="Record screen").click()

    expect(page.locator("#screen-form .message.error")).to_contain_text("correct these 9 fields")
    expect(page.locator("#screen-form").get_by_label("Mitragynine: Negative", exact=True)).to_be_focused()
    assert DrugScreen.objects.filter(case=case).count() == 1
