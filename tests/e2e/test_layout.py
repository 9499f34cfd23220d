"""Layouts that fit (issue 15): at 768x1024 (a tablet) and 1366x900 no page of a working day scrolls sideways; the
top bar keeps its links on one line under the brand on a tablet; the chart's contact details and dates do not wrap
or clip. Screenshots of each page at both sizes are left in test-artifacts/screenshots/ to look at."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import Case, VisitAddendum
from clinic.roles import Role
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import (
    DrugScreenFactory,
    PatientFactory,
    SignedVisitFactory,
    UserFactory,
    VisitFactory,
    case_in_stage,
)

PASSWORD = "correct-horse-battery-staple"
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
SIZES = [(768, 1024), (1366, 900)]


@pytest.fixture
def chart():
    UserFactory(username="admin", first_name="Greg", last_name="Lindqvist", roles=[Role.ADMINISTRATOR])
    UserFactory(username="supervisor", first_name="Helen", last_name="Brandt", roles=[Role.SUPERVISOR])
    reyes = UserFactory(
        username="np.reyes", first_name="Marisol", last_name="Reyes", credentials="NP", roles=[Role.CLINICIAN]
    )
    patient = PatientFactory(
        first_name="Dana",
        last_name="Whitfield-Castellanos",
        address_line1="6952 East Second Street North",
        address_line2="Apartment 12B",
        city="Wichita",
        emergency_contact_name="Derek Whitfield-Castellanos",
        emergency_contact_relationship="Spouse",
        emergency_contact_phone="3165550101",
    )
    case = case_in_stage(Case.Stage.TREATMENT, actor=reyes, patient=patient, primary_clinician=reyes)
    signed = SignedVisitFactory(
        case=case, clinician=reyes, scheduled_at=timezone.now() - dt.timedelta(days=3)
    )
    VisitAddendum.objects.create(visit=signed, author=reyes, text="Dose corrected after the pharmacy called.")
    VisitFactory(case=case, clinician=reyes, scheduled_at=timezone.now() + dt.timedelta(days=2))
    DrugScreenFactory(case=case, created_by=reyes, mitragynine="positive", fentanyl="negative")
    return case


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_chart_fits_and_its_contact_details_and_dates_stay_whole(page, log_in, chart, width, height):
    page.set_viewport_size({"width": width, "height": height})
    log_in("np.reyes", PASSWORD)
    page.goto(f"/patients/{chart.patient_id}/")

    expect(page.get_by_role("heading", name="Demographics")).to_be_visible()
    assert overflow(page) <= 0, f"the chart is {overflow(page)}px wider than the screen"
    # contact details are never clipped, and a phone number is never broken in two
    for label in ("Phone", "Address", "Emergency contact"):
        value = page.locator(".demographics dt", has_text=label).locator("xpath=following-sibling::dd[1]")
        clipped = value.evaluate("el => el.scrollWidth - el.clientWidth")
        assert clipped <= 0, f"{label} is clipped by {clipped}px at {width}px"
    for phone in ("(785) 555-0100", "(316) 555-0101"):
        words = page.locator(".demographics dd", has_text=phone).first
        lines = words.evaluate(
            """(el, phone) => {
                 const node = [...el.childNodes].find(n => n.nodeType === 3 && n.textContent.includes(phone));
                 const range = document.createRange(); const start = node.textContent.indexOf(phone);
                 range.setStart(node, start); range.setEnd(node, start + phone.length);
                 return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; }""",
            phone,
        )
        assert lines == 1, f"{phone} is broken across lines at {width}px"
    # a date and time never wraps (the visit headings, the signature, the stage timeline)
    for time in page.locator("main time").all()[:20]:
        box = time.evaluate("el => el.getClientRects().length")
        assert box == 1, f"{time.inner_text()} is broken across lines at {width}px"
    expect(page.locator(".visit", has_text="Signed by").first).to_contain_text("Signed by Marisol Reyes, NP")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"chart-{width}.png"))


@pytest.mark.parametrize(("width", "height"), [*SIZES, (1024, 768), (1180, 820)])  # and tablets held sideways
@pytest.mark.parametrize("who", ["admin", "supervisor", "np.reyes"])
def test_the_top_bar_keeps_its_links_on_one_line(page, log_in, chart, who, width, height):
    page.set_viewport_size({"width": width, "height": height})
    log_in(who, PASSWORD)
    page.goto("/")

    links = page.locator(".topbar nav a").all()
    assert links
    tops = {round(link.bounding_box()["y"]) for link in links}
    assert len(tops) == 1, f"the links of the top bar wrap onto {len(tops)} lines at {width}px"
    for link in links:
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    if width >= 1180:  # one bar: the brand, links, search and the user side by side
        bar = page.locator(".topbar").bounding_box()
        assert bar["height"] < 64, f"the top bar is {bar['height']}px high at {width}px"
    assert overflow(page) <= 0
    for path in ("/patients/", "/schedule/", "/reports/", "/audit/"):
        page.goto(path)
        assert overflow(page) <= 0, f"{path} is {overflow(page)}px wider than the screen for {who}"
    page.goto("/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"top-bar-{who}-{width}.png"))


@pytest.mark.parametrize("view", ["chart", "visit"])
def test_print_views_print_without_navigation_or_buttons_black_on_white(page, log_in, chart, view):
    from cases.models import Visit

    log_in("np.reyes", PASSWORD)
    signed = Visit.objects.get(case=chart, signed_at__isnull=False)
    page.goto(f"/patients/{chart.patient_id}/print/" if view == "chart" else f"/visits/{signed.pk}/print/")
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # on screen, the way to print
    expect(page.locator("main form:visible")).to_have_count(0)  # the chart's controls are left out

    page.emulate_media(media="print")

    expect(page.locator(".topbar")).to_be_hidden()
    assert page.locator("button:visible, .button:visible, nav:visible, form:visible").count() == 0
    colours = page.evaluate(
        """() => [...document.querySelectorAll('main *')].filter(el => el.offsetParent !== null && el.childNodes.length
             && [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
             .map(el => getComputedStyle(el).color)"""
    )
    assert colours and set(colours) == {"rgb(0, 0, 0)"}, set(colours)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") in (
        "rgb(255, 255, 255)",
        "rgba(0, 0, 0, 0)",
    )
    expect(page.locator("main")).to_contain_text("Signed by Marisol Reyes, NP")
    page.screenshot(path=str(SCREENSHOTS / f"print-{view}.png"), full_page=True)
