"""Never losing typed work, in a real browser: a note typed across the idle limit comes back after signing in
again; typing alone keeps the session; the idle warning never takes the focus from a field."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import Case, Draft
from clinic.roles import Role
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import AttendedVisitFactory, PatientFactory, UserFactory, case_in_stage

PASSWORD = "correct-horse-battery-staple"
TEXT = "Cravings worse in the evenings since the taper step; sleeping five hours."
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def visit():
    clinician = UserFactory(
        username="np.reyes",
        first_name="Marisol",
        last_name="Reyes",
        roles=[Role.CLINICIAN],
        password=PASSWORD,
    )
    patient = PatientFactory(first_name="Dana", last_name="Whitfield")
    case = case_in_stage(Case.Stage.TREATMENT, actor=clinician, patient=patient, primary_clinician=clinician)
    return AttendedVisitFactory(
        case=case, clinician=clinician, subjective="", plan="", scheduled_at=timezone.now()
    )


def sign_in_here(page) -> None:
    page.get_by_label("Username").fill("np.reyes")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_note_typed_across_the_idle_limit_is_back_after_signing_in_again(page, log_in, visit, settings):
    settings.SESSION_IDLE_TIMEOUT = 12  # the warning from 6 seconds left
    log_in("np.reyes", PASSWORD)
    note = f"/visits/{visit.pk}/note/"
    page.goto(note)
    page.get_by_label("Subjective").fill(TEXT)
    expect(page.locator("[data-draft-save]")).to_contain_text("Draft saved")

    # Hands off the keyboard: the warning shows without taking the focus, then the session ends.
    warning = page.get_by_role("alert").filter(has_text="signed out in")
    expect(warning).to_be_visible(timeout=15_000)
    assert page.evaluate("document.activeElement.id") == "id_subjective"
    page.wait_for_url(re.compile(r"/accounts/login/"), timeout=20_000)
    expect(page.locator("#messages")).to_contain_text("signed out after")
    assert page.evaluate("document.activeElement.tagName") == "BODY"  # stray keystrokes land nowhere

    sign_in_here(page)
    page.wait_for_url(re.compile(re.escape(note) + "$"))
    expect(page.get_by_label("Subjective")).to_have_value(TEXT)
    expect(page.get_by_role("status").filter(has_text="Your unsaved draft")).to_be_visible()
    page.get_by_role("button", name="Save note").click()
    expect(page.locator(f"#visit-{visit.pk}")).to_contain_text(TEXT)
    visit.refresh_from_db()
    assert visit.subjective == TEXT
    assert not Draft.objects.exists()


def test_typing_keeps_the_session_without_a_request_per_keystroke(page, log_in, visit, settings):
    settings.SESSION_IDLE_TIMEOUT = 12
    log_in("np.reyes", PASSWORD)
    page.goto(f"/cases/{visit.case_id}/visits/new/")  # a form without drafts: only the keystrokes count
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    field = page.get_by_label("Duration (minutes)")
    field.click()
    for _ in range(10):  # 20 seconds of typing, well past the 12-second limit
        field.press("ArrowUp")
        page.wait_for_timeout(2_000)
    assert "/accounts/login/" not in page.url
    keepalives = [url for url in requests if url.endswith("/accounts/keepalive/")]
    assert 2 <= len(keepalives) <= 8  # one after each quiet spell (3 s here), not one per keystroke
    page.reload()
    expect(page.get_by_label("Duration (minutes)")).to_be_visible()  # still signed in


@pytest.mark.parametrize("width", [768, 1280])
def test_the_note_form_with_a_restored_draft_fits_tablet_and_desktop(page, log_in, visit, width):
    Draft.objects.create(
        author=visit.clinician,
        form=Draft.Form.VISIT_NOTE,
        object_id=visit.pk,
        patient=visit.case.patient,
        data={"subjective": [TEXT], "craving": ["6"], "withdrawal_symptoms": ["insomnia"]},
        saved_at=timezone.now(),
        expires_at=timezone.now() + Draft.LIFETIME,
    )
    page.set_viewport_size({"width": width, "height": 1000})
    log_in("np.reyes", PASSWORD)
    page.goto(f"/visits/{visit.pk}/note/")
    expect(page.get_by_label("Subjective")).to_have_value(TEXT)
    expect(page.get_by_label("Craving (0 none to 10 worst)")).to_have_value("6")
    assert page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"
    )  # nothing clipped sideways
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"note-draft-{width}.png"), full_page=True)
