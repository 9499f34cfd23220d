"""Presentation (issue 15): one date and time format on every page, roles by their names, credentials beside
signatures (on the chart, its addenda and the printable summary), edited in the admin and audited."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from cases.models import VisitAddendum
from cases.release.selection import VISIT_NOTES, release_selection
from clinic.formats import show_date, show_datetime, show_time
from clinic.models import AuditEvent, User
from clinic.roles import Role, role_label, role_labels
from tests.factories import AttendedVisitFactory, CaseFactory, SignedVisitFactory, UserFactory, VisitFactory

pytestmark = pytest.mark.django_db

# What the other formats looked like: "Nov 20, 2026", "2:30 PM", "11/20/26", "Friday, November 20".
OTHER_FORMATS = re.compile(
    r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}\b|\b\d{1,2}:\d{2} ?[AaPp]\.?[Mm]\b"
    r"|\b\d{1,2}/\d{1,2}/\d{2}\b"
)


def at(y: int, m: int, d: int, hh: int, mm: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime(y, m, d, hh, mm))


# --- One format -----------------------------------------------------------------------------------------------


def test_the_formats_are_iso_dates_and_a_24_hour_clock():
    moment = at(2026, 11, 20, 14, 5)  # a Friday, in the clinic's zone

    assert show_date(moment) == "2026-11-20"
    assert show_date(moment.date()) == "2026-11-20"
    assert show_datetime(moment) == "2026-11-20 14:05"
    assert show_datetime(moment, weekday=True) == "Fri 2026-11-20 14:05"
    assert show_time(moment) == "14:05"
    # a UTC moment is shown in the clinic's zone (America/Chicago)
    assert show_datetime(dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)) == "2026-11-20 21:00"


def test_templates_name_no_format_of_their_own():
    """Every displayed date goes through the FORMAT settings; the only literal formats left are machine ones
    (ISO `c` in `datetime=""`, `Y-m-d` in links), the weekday, the audit log's seconds and the release's zone."""
    from pathlib import Path

    allowed = {"'c'", "'Y-m-d'", '"DATETIME_FORMAT"', '"D"', '"l"', '"Y-m-d H:i:s"', '"Y-m-d H:i T"'}
    root = Path(__file__).resolve().parents[2]
    found = set()
    for template in [*root.glob("cases/templates/**/*.html"), *root.glob("clinic/templates/**/*.html")]:
        found |= {
            f"{template.name}: {spec}"
            for spec in re.findall(r"\|(?:date|time):(\"[^\"]*\"|'[^']*')", template.read_text())
            if spec not in allowed
        }
    assert not found


def test_the_chart_and_the_schedule_write_dates_one_way(signed_in, clinician, clock):
    clock(at(2026, 11, 20, 9, 0))
    case = CaseFactory(primary_clinician=clinician)
    signed = SignedVisitFactory(
        case=case,
        clinician=clinician,
        scheduled_at=at(2026, 11, 19, 14, 30),
        signed_at=at(2026, 11, 19, 15, 41),
    )
    VisitAddendum.objects.create(visit=signed, author=clinician, text="Dose corrected.")
    VisitFactory(case=case, clinician=clinician, scheduled_at=at(2026, 11, 20, 16, 0))
    client = signed_in(clinician)

    chart = client.get(f"/patients/{case.patient_id}/").content.decode()
    schedule = client.get("/schedule/?view=week&day=2026-11-20").content.decode()
    dashboard = client.get("/").content.decode()

    assert "Thu 2026-11-19 14:30" in chart  # the visit's heading
    assert "2026-11-19 15:41" in chart  # signed at
    assert "Fri 2026-11-20" in schedule and "16:00" in schedule
    assert "16:00" in dashboard
    for html in (chart, schedule, dashboard):
        text = re.sub(r"<[^>]+>", " ", html)
        assert not OTHER_FORMATS.search(text), OTHER_FORMATS.search(text)


def test_a_refused_check_in_names_the_day_in_the_same_format(signed_in, clinician, clock):
    clock(at(2026, 11, 20, 9, 0))
    visit = VisitFactory(case=CaseFactory(primary_clinician=clinician), clinician=clinician,
                         scheduled_at=at(2026, 11, 24, 10, 0))  # fmt: skip

    response = signed_in(clinician).post(f"/visits/{visit.pk}/attendance/", {"status": "attended"})

    assert response.status_code == 409
    assert "Tue 2026-11-24" in response.content.decode()


# --- Roles by name -------------------------------------------------------------------------------------------


def test_role_labels_are_the_roles_names_in_the_roles_order():
    assert role_label("front_desk") == "Front desk"
    assert role_label("retired_role") == "retired_role"  # an old event's code stays readable
    assert role_labels(["supervisor", "clinician"]) == "Clinician, Supervisor"
    assert role_labels([]) == "-"


def test_the_dashboard_names_the_users_roles(signed_in):
    user = UserFactory(roles=[Role.FRONT_DESK, Role.SUPERVISOR])

    html = signed_in(user).get("/").content.decode()

    assert "<strong>Front desk</strong>, <strong>Supervisor</strong>" in html
    assert "front_desk" not in re.sub(r"<[^>]+>", " ", html)


def test_the_audit_log_shows_roles_by_name(signed_in, administrator, clinician):
    signed_in(clinician).get("/")  # the administrator's own requests are audited too

    html = signed_in(administrator).get("/audit/").content.decode()

    assert "<td>Administrator</td>" in html
    assert "<td>administrator</td>" not in html


def test_the_staff_admin_shows_roles_by_name(signed_in, administrator, clinician):
    client = signed_in(administrator)

    listing = client.get("/admin/clinic/user/").content.decode()
    form = client.get(f"/admin/clinic/user/{clinician.pk}/change/").content.decode()

    assert '<td class="field-role_list">Clinician</td>' in listing
    group = Group.objects.get(name="front_desk")
    assert re.search(rf'<option value="{group.pk}"[^>]*>Front desk</option>', form)


# --- Credentials beside signatures ----------------------------------------------------------------------------


def test_a_signature_carries_the_credentials_when_there_are_some():
    assert (
        UserFactory.build(first_name="Chidi", last_name="Okafor", credentials="MD").signature
        == "Chidi Okafor, MD"
    )
    assert UserFactory.build(first_name="Tess", last_name="Okafor", credentials="").signature == "Tess Okafor"


def test_an_administrator_sets_credentials_in_the_admin_and_the_change_is_audited(
    signed_in, administrator, clinician
):
    data = {
        "username": clinician.username,
        "first_name": "Chidi",
        "last_name": "Okafor",
        "credentials": "MD, FASAM",
        "email": clinician.email,
        "is_active": "on",
        "groups": [Group.objects.get(name="clinician").pk],
    }

    response = signed_in(administrator).post(f"/admin/clinic/user/{clinician.pk}/change/", data)

    assert response.status_code == 302
    assert User.objects.get(pk=clinician.pk).credentials == "MD, FASAM"
    event = AuditEvent.objects.get(action="update", object_type="user", object_id=str(clinician.pk))
    assert event.detail["credentials_before"] == "" and event.detail["credentials_after"] == "MD, FASAM"


def test_credentials_that_are_no_credentials_are_refused_by_name(signed_in, administrator, clinician):
    data = {
        "username": clinician.username,
        "first_name": "Chidi",
        "last_name": "Okafor",
        "credentials": "<script>",
        "email": clinician.email,
        "is_active": "on",
        "groups": [Group.objects.get(name="clinician").pk],
    }

    response = signed_in(administrator).post(f"/admin/clinic/user/{clinician.pk}/change/", data)

    assert response.status_code == 200
    assert "Credentials are letters and digits" in response.content.decode()
    assert User.objects.get(pk=clinician.pk).credentials == ""


def test_signed_notes_and_addenda_show_the_signers_credentials(signed_in, clinician):
    clinician.first_name, clinician.last_name, clinician.credentials = "Chidi", "Okafor", "MD"
    clinician.save()
    counselor = UserFactory(
        first_name="Jordan", last_name="Whitaker", credentials="LCAC", roles=[Role.CLINICIAN]
    )
    case = CaseFactory(primary_clinician=clinician)
    signed = SignedVisitFactory(case=case, clinician=clinician)
    VisitAddendum.objects.create(visit=signed, author=counselor, text="Called the patient back.")
    AttendedVisitFactory(case=case, clinician=counselor)  # not signed: no signature shown

    html = signed_in(clinician).get(f"/patients/{case.patient_id}/").content.decode()

    assert "Signed by Chidi Okafor, MD," in html
    assert "Jordan Whitaker, LCAC," in html


def test_the_printable_summary_signs_with_credentials(clinician):
    from cases.release.printable import ReleaseFacts, printable_bytes

    clinician.first_name, clinician.last_name, clinician.credentials = "Marisol", "Reyes", "NP"
    clinician.save()
    case = CaseFactory(primary_clinician=clinician)
    signed = SignedVisitFactory(case=case, clinician=clinician)
    VisitAddendum.objects.create(visit=signed, author=clinician, text="Corrected the dose.")
    selection = release_selection(patient=case.patient, categories=[VISIT_NOTES])
    facts = ReleaseFacts(
        recipient_name="Dr. Lee",
        purpose="Treatment",
        basis="Consent",
        released_by="Casey",
        released_at=timezone.now(),
    )

    html = printable_bytes(selection, facts=facts, stylesheet_url="https://clinic.example/r.css").decode()

    assert "Signed by Marisol Reyes, NP," in html
    assert "by Marisol Reyes, NP," in html.split("Addendum", 1)[1]
