"""Contact preferences on the pages (issue 15): asked at registration and on the edit page (all errors at once,
the first focused), shown wherever staff would call: the chart's header and demographics, the day's schedules on
the dashboard; only to those who read the patient's demographics (SPEC section 2)."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Patient
from clinic.models import AuditEvent
from tests.factories import CaseFactory, PatientFactory, VisitFactory

pytestmark = pytest.mark.django_db

REGISTER_URL = "/patients/new/"
NEW = {
    "first_name": "Marisol",
    "last_name": "Quillfeather",
    "date_of_birth": "1988-03-14",
    "sex_at_birth": "female",
    "state": "KS",
    "phone": "785-555-0142",
}
REFUSES_VOICEMAIL = {"may_leave_voicemail": False, "may_text": True, "preferred_contact_method": "text"}


def edit_url(patient: Patient) -> str:
    return f"/patients/{patient.pk}/edit/"


def chart_url(patient: Patient) -> str:
    return f"/patients/{patient.pk}/"


def test_the_registration_form_asks_them_not_asked_by_default(signed_in, front_desk):
    html = signed_in(front_desk).get(REGISTER_URL).content.decode()

    assert "Contact preferences" in html and "May we leave a voicemail?" in html
    for name in ("may_leave_voicemail", "may_text"):
        assert f'name="{name}" value="unknown" id="id_{name}_0" checked>' in html


def test_registration_stores_them(signed_in, front_desk):
    data = {**NEW, "may_leave_voicemail": "false", "may_text": "true", "preferred_contact_method": "text"}

    response = signed_in(front_desk).post(REGISTER_URL, data)

    assert response.status_code == 302
    patient = Patient.objects.get()
    assert (patient.may_leave_voicemail, patient.may_text, patient.preferred_contact_method) == (
        False,
        True,
        "text",
    )


def test_the_edit_page_saves_only_the_changed_answers_audited(signed_in, front_desk):
    patient = PatientFactory(phone="+17855550142")
    client = signed_in(front_desk)
    initial = {
        k: v for k, v in client.get(edit_url(patient)).context["form"].initial.items() if v is not None
    }

    response = client.post(
        edit_url(patient), {**initial, "may_leave_voicemail": "false", "may_text": "unknown"}
    )

    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.may_leave_voicemail, patient.may_text) == (False, None)
    event = AuditEvent.objects.filter(action="update", object_type="patient").get()
    assert event.detail == {"fields": ["may_leave_voicemail"]}


def test_the_page_shows_a_contradiction_with_the_other_errors_at_once(signed_in, front_desk):
    data = {**NEW, "postal_code": "abcde", "may_text": "false", "preferred_contact_method": "text"}

    response = signed_in(front_desk).post(REGISTER_URL, data)

    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"postal_code", "preferred_contact_method"}
    assert "The patient does not want text messages" in response.content.decode()
    assert form.fields["postal_code"].widget.attrs.get("autofocus") is True  # the first in the page's order
    assert not Patient.objects.exists()


def test_a_preferred_way_the_record_cannot_serve_is_refused_on_the_edit_page(signed_in, front_desk):
    patient = PatientFactory(phone="+17855550142", email="")
    client = signed_in(front_desk)
    initial = {
        k: v for k, v in client.get(edit_url(patient)).context["form"].initial.items() if v is not None
    }

    response = client.post(edit_url(patient), {**initial, "preferred_contact_method": "email"})

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["preferred_contact_method"]
    assert Patient.objects.get(pk=patient.pk).preferred_contact_method == ""


def test_the_chart_shows_them_in_its_header_and_demographics(signed_in, front_desk):
    patient = PatientFactory(phone="+17855550142", **REFUSES_VOICEMAIL)

    html = signed_in(front_desk).get(chart_url(patient)).content.decode()

    header = html.split('<header class="chart-header">')[1].split("</header>")[0]
    for text in ("(785) 555-0142", "Prefers text message", "No voicemail", "Texts OK"):
        assert text in header
    demographics = html.split('id="demographics-h"')[1].split("</section>")[0]
    assert "No voicemail" in demographics


def test_not_asked_reads_as_leave_none(signed_in, front_desk):
    patient = PatientFactory()

    html = signed_in(front_desk).get(chart_url(patient)).content.decode()

    assert "Voicemail not asked: leave none" in html and "Texts not asked: send none" in html


def test_the_front_desks_day_shows_phone_and_preferences_beside_each_visit(signed_in, front_desk, other_case):
    Patient.objects.filter(pk=other_case.patient_id).update(phone="+17855550199", **REFUSES_VOICEMAIL)
    VisitFactory(case=other_case, clinician=other_case.primary_clinician, scheduled_at=_today(9))
    before = AuditEvent.objects.count()

    html = signed_in(front_desk).get("/").content.decode()

    row = html.split('id="schedule-h"')[1]
    assert "(785) 555-0199" in row and "No voicemail" in row and "Prefers text message" in row
    (event,) = AuditEvent.objects.filter(object_type="dashboard").order_by("id")[before:]
    assert event.data_category == "visit_schedule"  # the most sensitive kind shown; demographics beside it
    assert str(other_case.patient_id) in event.patients_seen


def test_a_clinicians_own_visits_show_them(signed_in, clinician, own_case):
    Patient.objects.filter(pk=own_case.patient_id).update(phone="+17855550142", **REFUSES_VOICEMAIL)
    VisitFactory(case=own_case, clinician=clinician, scheduled_at=_today(10))

    html = signed_in(clinician).get("/").content.decode()

    assert "No voicemail" in html.split('id="my-visits-h"')[1]


def test_administrators_get_no_edit_page_and_no_schedule(signed_in, administrator, own_case):
    Patient.objects.filter(pk=own_case.patient_id).update(**REFUSES_VOICEMAIL)
    VisitFactory(case=own_case, scheduled_at=_today(10))
    client = signed_in(administrator)

    assert client.get(edit_url(own_case.patient)).status_code == 403
    assert client.post(edit_url(own_case.patient), {"may_text": "false"}).status_code == 403
    assert "No voicemail" not in client.get("/").content.decode()
    assert Patient.objects.get(pk=own_case.patient_id).may_text is True


def test_a_clinician_outside_the_caseload_gets_a_404(signed_in, clinician, other_clinician):
    patient = CaseFactory(primary_clinician=other_clinician).patient
    client = signed_in(clinician)

    assert client.get(chart_url(patient)).status_code == 404
    assert client.get(edit_url(patient)).status_code == 404
    assert client.post(edit_url(patient), {"may_text": "true"}).status_code == 404
    assert Patient.objects.get(pk=patient.pk).may_text is None


def _today(hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time(hour)))
