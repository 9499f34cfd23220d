"""Contact preferences (issue 15): may we leave a voicemail, may we text, the preferred way to reach the patient.
Demographic fields: read and written under the demographics rights of SPEC section 2 (as the phone is), validated
with a 400 naming the field, audited like every other patient write."""

import pytest
from rest_framework.test import APIClient

from cases.models import Patient
from clinic.models import AuditEvent
from tests.factories import CaseFactory, PatientFactory

pytestmark = pytest.mark.django_db

API_URL = "/api/v1/patients/"
NEW = {
    "first_name": "Marisol",
    "last_name": "Quillfeather",
    "date_of_birth": "1988-03-14",
    "sex_at_birth": "female",
}
PREFERENCES = {"may_leave_voicemail": False, "may_text": True, "preferred_contact_method": "text"}


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def detail(patient: Patient) -> str:
    return f"{API_URL}{patient.pk}/"


def test_a_patient_not_yet_asked_reads_as_null_and_blank(front_desk):
    patient = PatientFactory()

    body = api_as(front_desk).get(detail(patient)).json()

    assert (body["may_leave_voicemail"], body["may_text"], body["preferred_contact_method"]) == (
        None,
        None,
        "",
    )


def test_registration_takes_the_preferences(front_desk):
    response = api_as(front_desk).post(
        API_URL, {**NEW, "phone": "785-555-0142", **PREFERENCES}, format="json"
    )

    assert response.status_code == 201, response.json()
    patient = Patient.objects.get()
    assert (patient.may_leave_voicemail, patient.may_text, patient.preferred_contact_method) == (
        False,
        True,
        "text",
    )
    assert {key: response.json()[key] for key in PREFERENCES} == PREFERENCES


@pytest.mark.parametrize("role", ["front_desk", "supervisor"])
def test_an_edit_is_saved_and_audited_as_a_demographic_update(db, request, role):
    user = request.getfixturevalue(role)
    patient = PatientFactory()

    response = api_as(user).patch(detail(patient), PREFERENCES, format="json")

    assert response.status_code == 200, response.json()
    patient.refresh_from_db()
    assert (patient.may_leave_voicemail, patient.may_text, patient.preferred_contact_method) == (
        False,
        True,
        "text",
    )
    event = AuditEvent.objects.filter(action="update", object_type="patient").get()
    assert (event.user, event.patient_id, event.data_category, event.outcome) == (
        user,
        patient.pk,
        "demographics",
        "allowed",
    )
    assert event.detail == {"fields": sorted(PREFERENCES)}


def test_a_clinician_edits_their_own_caseloads_preferences(clinician, own_case):
    response = api_as(clinician).patch(detail(own_case.patient), {"may_leave_voicemail": True}, format="json")

    assert response.status_code == 200
    assert Patient.objects.get(pk=own_case.patient_id).may_leave_voicemail is True


def test_back_to_not_asked_is_null(front_desk):
    patient = PatientFactory(may_text=True)

    response = api_as(front_desk).patch(detail(patient), {"may_text": None}, format="json")

    assert response.status_code == 200
    assert Patient.objects.get(pk=patient.pk).may_text is None


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"may_text": "maybe"}, "may_text", "Must be a valid boolean."),
        ({"may_leave_voicemail": [True]}, "may_leave_voicemail", "Must be a valid boolean."),
        (
            {"preferred_contact_method": "pigeon"},
            "preferred_contact_method",
            '"pigeon" is not a valid choice.',
        ),
        (
            {"may_text": False, "preferred_contact_method": "text"},
            "preferred_contact_method",
            "The patient does not want text messages",
        ),
        (
            {"phone": "", "preferred_contact_method": "phone"},
            "preferred_contact_method",
            "A phone call needs",
        ),
        ({"phone": "", "preferred_contact_method": "text"}, "preferred_contact_method", "A text needs"),
        (
            {"preferred_contact_method": "email"},
            "preferred_contact_method",
            "Email needs the patient's email",
        ),
        (
            {"preferred_contact_method": "mail"},
            "preferred_contact_method",
            "A letter needs the patient's street",
        ),
    ],
)
def test_a_bad_preference_is_a_400_naming_the_field_and_changes_nothing(front_desk, body, field, message):
    patient = PatientFactory(email="", address_line1="")

    response = api_as(front_desk).patch(detail(patient), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert response.json()[field][0].startswith(message)
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.may_leave_voicemail, stored.may_text, stored.preferred_contact_method) == (None, None, "")
    assert not AuditEvent.objects.filter(action="update").exists()


def test_blanking_the_phone_of_a_patient_who_prefers_calls_is_refused(front_desk):
    patient = PatientFactory(preferred_contact_method="phone")

    response = api_as(front_desk).patch(detail(patient), {"phone": ""}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["preferred_contact_method"]
    assert Patient.objects.get(pk=patient.pk).phone


def test_administrators_neither_read_nor_write_them(administrator):
    patient = PatientFactory()
    client = api_as(administrator)

    assert client.get(detail(patient)).status_code == 403
    assert client.patch(detail(patient), PREFERENCES, format="json").status_code == 403
    by_mrn = client.get(API_URL, {"mrn": patient.mrn}).json()["results"]
    assert by_mrn and not set(PREFERENCES) & set(by_mrn[0])  # the privacy lookup's identifying fields only
    assert Patient.objects.get(pk=patient.pk).may_text is None
    assert AuditEvent.objects.filter(user=administrator, outcome="denied", patient_id=patient.pk).count() == 2


def test_a_clinician_outside_the_caseload_gets_a_404(clinician, other_case):
    client = api_as(clinician)

    assert client.get(detail(other_case.patient)).status_code == 404
    assert client.patch(detail(other_case.patient), PREFERENCES, format="json").status_code == 404
    assert Patient.objects.get(pk=other_case.patient_id).may_text is None


def test_front_desk_reads_them_for_any_patient_but_no_clinical_field(front_desk, other_clinician):
    case = CaseFactory(primary_clinician=other_clinician, patient=PatientFactory(**PREFERENCES))

    body = api_as(front_desk).get(detail(case.patient)).json()

    assert {key: body[key] for key in PREFERENCES} == PREFERENCES
