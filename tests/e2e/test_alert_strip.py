"""Alerts first, in a real browser: a PHQ-9 saved with item 9 above 0 raises an urgent alert that is in the first
screen (1366x900) after the save, wherever the page lands; the chart header fits a tablet."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.instruments.definitions import INSTRUMENTS
from cases.models import Alert, Case
from clinic.roles import Role
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import AlertFactory, PatientFactory, UserFactory, case_in_stage

PASSWORD = "correct-horse-battery-staple"
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def case():
    clinician = UserFactory(
        username="np.reyes", first_name="Marisol", last_name="Reyes", roles=[Role.CLINICIAN]
    )
    patient = PatientFactory(first_name="Dana", last_name="Whitfield")
    return case_in_stage(Case.Stage.TREATMENT, actor=clinician, patient=patient, primary_clinician=clinician)


def in_first_screen(page, locator) -> bool:
    box = locator.bounding_box()
    viewport = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


def test_an_urgent_alert_raised_by_a_save_is_in_the_first_screen(page, log_in, case):
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in("np.reyes", PASSWORD)
    page.goto(f"/patients/{case.patient_id}/")
    expect(page.get_by_role("heading", name="No open alerts")).to_be_visible()
    page.get_by_role("link", name="Record PHQ-9").click()
    for item in INSTRUMENTS["phq9"].items:
        choice = (
            2 if item.code == "q9" else 1
        )  # item 9 ("thoughts that you would be better off dead") above 0
        page.locator(f"#item-{item.code} input[type=radio]").nth(choice).check()
    page.get_by_role("button", name="Save the assessment").click()
    page.wait_for_url(re.compile(rf"/patients/{case.patient_id}/"))

    chip = page.locator(".alert-strip").get_by_role("link", name=re.compile("Suicide-risk"))
    expect(chip).to_be_visible()
    assert in_first_screen(page, chip), "the urgent alert is below the fold after the save"
    expect(page.locator(".alert-strip h2")).to_have_text("1 unresolved alert")
    assert Alert.objects.filter(case=case, kind="suicide_risk", severity="urgent").exists()

    page.mouse.wheel(0, 4000)  # far down the long chart, the strip stays in view
    page.wait_for_timeout(300)
    assert in_first_screen(page, chip)
    chip.click()  # and leads to the alert, with its acknowledge and resolve buttons
    alert_row = page.locator(".alert-row.urgent")
    expect(alert_row.get_by_role("button", name="Resolve")).to_be_in_viewport()


@pytest.mark.parametrize("width", [768, 1280])
def test_the_chart_header_and_alert_strip_fit_tablet_and_desktop(page, log_in, case, width):
    AlertFactory(case=case)  # urgent suicide risk
    AlertFactory(
        case=case, kind="elevated_bp", severity="warning", message="One reading in the stage 2 range."
    )
    AlertFactory(
        case=case,
        kind="engagement_risk",
        severity="warning",
        status="acknowledged",
        acknowledged_at=timezone.now(),
        acknowledged_by=case.primary_clinician,
        message="Two no-shows in a row.",
    )
    page.set_viewport_size({"width": width, "height": 1000})
    log_in("np.reyes", PASSWORD)
    page.goto(f"/patients/{case.patient_id}/")
    strip = page.locator(".alert-strip")
    expect(strip).to_contain_text("3 unresolved alerts")
    expect(strip).to_contain_text("1 urgent")
    assert page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"
    )  # nothing clipped sideways
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"chart-{width}.png"))
