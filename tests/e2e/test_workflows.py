"""Each role's everyday job, end to end in a real browser: the clinician's visit, score and stage change, the
front desk's no-show, the administrator's report and its CSV."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.instruments.definitions import INSTRUMENTS
from cases.instruments.scoring import score_responses
from cases.models import Case, Visit
from clinic.roles import Role
from tests.factories import Dsm5ChecklistFactory, PatientFactory, UserFactory, VisitFactory, case_in_stage

PASSWORD = "correct-horse-battery-staple"
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _earlier_today(hours: int) -> dt.datetime:
    """A time earlier today in the clinic's day (never yesterday, whatever the hour the test runs)."""
    now = timezone.localtime()
    return max(now - dt.timedelta(hours=hours), now.replace(hour=0, minute=5, second=0, microsecond=0))


@pytest.fixture
def clinic():
    clinician = UserFactory(
        username="np.reyes", first_name="Marisol", last_name="Reyes", roles=[Role.CLINICIAN]
    )
    front_desk = UserFactory(username="frontdesk", roles=[Role.FRONT_DESK])
    administrator = UserFactory(username="admin", roles=[Role.ADMINISTRATOR])
    patient = PatientFactory(first_name="Dana", last_name="Whitfield")
    case = case_in_stage(Case.Stage.ASSESSMENT, actor=clinician, patient=patient, primary_clinician=clinician)
    Dsm5ChecklistFactory(case=case, by=clinician, administered_at=timezone.now())  # what treatment needs
    visit = VisitFactory(case=case, clinician=clinician, scheduled_at=_earlier_today(hours=1))
    return {
        "clinician": clinician,
        "front_desk": front_desk,
        "administrator": administrator,
        "patient": patient,
        "case": case,
        "visit": visit,
    }


def test_a_clinician_logs_and_signs_a_visit_scores_cows_and_moves_the_case_to_treatment(page, log_in, clinic):
    page.on("dialog", lambda dialog: dialog.accept())  # "Sign this note?"
    log_in("np.reyes", PASSWORD)

    # Find the patient.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_role("searchbox").fill("Whitfield")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=re.compile("Whitfield|Dana")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dana")

    # Check the visit in, log its note, sign it.
    visit = page.locator(f"#visit-{clinic['visit'].id}")
    visit.get_by_role("button", name="Check in").click()
    visit.get_by_role("link", name="Log note").click()
    page.get_by_label("Subjective").fill("Cravings down; sleeping six hours.")
    page.get_by_label("Plan").fill("Continue counselling weekly.")
    page.get_by_label("Blood pressure, systolic (mmHg)").fill("128")
    page.get_by_label("Blood pressure, diastolic (mmHg)").fill("82")
    page.get_by_label("Craving (0 none to 10 worst)").fill("3")
    page.get_by_role("button", name="Save note").click()
    visit = page.locator(f"#visit-{clinic['visit'].id}")
    expect(visit).to_contain_text("Cravings down")
    visit.get_by_role("button", name="Sign").click()
    expect(page.locator(f"#visit-{clinic['visit'].id}")).to_contain_text("Signed")
    clinic["visit"].refresh_from_db()
    assert clinic["visit"].signed_at is not None and clinic["visit"].status == Visit.Status.ATTENDED

    # Record a COWS: the second value of every item; the live score shows the band before saving.
    page.get_by_role("link", name="Record COWS").click()
    cows = INSTRUMENTS["cows"]
    responses = {item.code: item.choices[1].value for item in cows.items}
    _, score = score_responses("cows", responses)
    band = cows.band_for(score.total)
    for item in cows.items:
        page.locator(f"#item-{item.code} input[type=radio]").nth(1).check()
    live = page.locator("#assessment-score")
    expect(live).to_contain_text(str(score.total))
    expect(live).to_contain_text(band.label)
    page.get_by_role("button", name="Save the assessment").click()
    expect(page.locator("#messages")).to_contain_text(f"COWS {score.total}")
    assert clinic["case"].assessments.filter(instrument="cows", total=score.total, band=band.code).exists()

    # Move the case to treatment (the DSM-5 checklist it needs was recorded at assessment).
    page.get_by_text("Move to treatment", exact=True).first.click()  # the <summary>
    page.get_by_role("button", name="Move to treatment").click()
    expect(page.locator(".timeline")).to_contain_text("Assessment → Treatment")
    clinic["case"].refresh_from_db()
    assert clinic["case"].stage == Case.Stage.TREATMENT


def test_front_desk_marks_a_no_show_from_the_day_schedule(page, log_in, clinic):
    log_in("frontdesk", PASSWORD)
    row = page.locator("tr", has_text="Whitfield")
    row.get_by_role("button", name="No-show").click()
    expect(page.locator("tr", has_text="Whitfield").locator(".attendance .badge")).to_have_text("No-show")
    clinic["visit"].refresh_from_db()
    assert clinic["visit"].status == Visit.Status.NO_SHOW


def test_an_administrator_runs_a_report_and_downloads_its_csv(page, log_in, clinic):
    log_in("admin", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    today = timezone.localdate()
    page.get_by_label("Start").fill((today - dt.timedelta(days=90)).isoformat())
    page.get_by_label("End").fill(today.isoformat())
    page.get_by_role("button", name=re.compile("Run|Show|Update")).first.click()
    expect(page.locator("svg").first).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Whitfield")  # aggregates only
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download CSV")).first.click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "," in text.splitlines()[0]
    assert "Whitfield" not in text
