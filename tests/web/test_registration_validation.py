"""Registration and demographic edits validate phone numbers (phonenumbers, US by default, stored in E.164) and ZIP
codes (5 digits or ZIP+4) the same way on the API and the page; the page shows every error at once and focuses the
first (issue 15 item 8; SPEC 3.1 and 8)."""

import pytest
from rest_framework.test import APIClient

from cases.models import Patient
from cases.services.patients import patient_register
from tests.factories import PatientFactory

REGISTER_URL = "/patients/new/"
API_URL = "/api/v1/patients/"
NEW = {
    "first_name": "Marisol",
    "last_name": "Quillfeather",
    "date_of_birth": "1988-03-14",
    "sex_at_birth": "female",
    "state": "KS",
    "county": "Douglas",
}
PHONE_MESSAGE = "Enter a valid phone number, e.g. 785-555-0142"
ZIP_MESSAGE = "Enter a ZIP code of 5 digits, or ZIP+4: 66044 or 66044-1234."


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("785-555-0142", "+17855550142"),
        ("(785) 842-1234", "+17858421234"),
        ("785.842.1234", "+17858421234"),
        ("+1 785 842 1234", "+17858421234"),
        ("785 842 1234 x12", "+17858421234;ext=12"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_a_phone_number_is_stored_in_e164(front_desk, typed, stored):
    patient = patient_register(
        actor=front_desk, data={**NEW, "phone": typed, "emergency_contact_phone": typed}
    )

    patient.refresh_from_db()
    assert (patient.phone, patient.emergency_contact_phone) == (stored, stored)


@pytest.mark.parametrize(
    ("typed", "stored"), [("66044", "66044"), ("66044-1234", "66044-1234"), ("660441234", "66044-1234")]
)
def test_a_zip_code_is_stored_as_five_digits_or_zip_plus_four(front_desk, typed, stored):
    patient = patient_register(actor=front_desk, data={**NEW, "postal_code": typed})

    assert Patient.objects.get(pk=patient.pk).postal_code == stored


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "call me maybe", PHONE_MESSAGE),
        ("phone", "555-1234", PHONE_MESSAGE),
        ("phone", "12", PHONE_MESSAGE),
        ("phone", "9" * 40, PHONE_MESSAGE),
        ("emergency_contact_phone", "ask her sister", PHONE_MESSAGE),
        ("postal_code", "abcde", ZIP_MESSAGE),
        ("postal_code", "6604", ZIP_MESSAGE),
        ("postal_code", "66044 1234", ZIP_MESSAGE),
    ],
)
def test_the_api_answers_a_bad_phone_or_zip_with_a_400_naming_the_field(front_desk, field, value, message):
    response = api_as(front_desk).post(API_URL, {**NEW, field: value}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert response.json()[field][0].startswith(message)
    assert not Patient.objects.exists()


def test_the_api_names_every_bad_field_at_once(front_desk):
    body = {**NEW, "phone": "call me maybe", "postal_code": "abcde", "sex_at_birth": "robot"}

    response = api_as(front_desk).post(API_URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"phone", "postal_code", "sex_at_birth"}


def test_a_patch_with_a_bad_phone_is_a_400_and_changes_nothing(front_desk):
    patient = PatientFactory(phone="785-555-0100")

    response = api_as(front_desk).patch(f"{API_URL}{patient.pk}/", {"phone": "call me"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["phone"]
    assert Patient.objects.get(pk=patient.pk).phone == "785-555-0100"


def test_the_api_returns_the_stored_number(front_desk):
    response = api_as(front_desk).post(API_URL, {**NEW, "phone": "(785) 842-1234"}, format="json")

    assert response.status_code == 201
    assert response.json()["phone"] == "+17858421234"


def test_the_page_shows_every_error_at_once_and_focuses_the_first(signed_in, front_desk):
    data = {
        **NEW,
        "first_name": "",
        "phone": "call me maybe",
        "postal_code": "abcde",
        "date_of_birth": "2999-01-01",
    }

    response = signed_in(front_desk).post(REGISTER_URL, data)

    text = response.content.decode()
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"first_name", "date_of_birth", "phone", "postal_code"}
    assert "correct these 4 fields" in text
    assert 'href="#id_first_name"' in text and 'href="#id_postal_code"' in text
    assert text.count("autofocus") == 1
    assert 'name="first_name"' in text.split("autofocus")[0].rsplit("<input", 1)[1] + "autofocus"
    assert "Date of birth cannot be in the future." in text
    assert not Patient.objects.exists()


def test_the_page_focuses_the_first_field_in_error_in_page_order(signed_in, front_desk):
    response = signed_in(front_desk).post(REGISTER_URL, {**NEW, "postal_code": "abcde", "phone": "nope"})

    form = response.context["form"]
    assert form.fields["phone"].widget.attrs.get("autofocus") is True
    assert "autofocus" not in form.fields["postal_code"].widget.attrs


def test_the_chart_and_the_edit_form_show_the_number_as_staff_read_it(signed_in, front_desk):
    patient = patient_register(actor=front_desk, data={**NEW, "phone": "785-842-1234"})
    client = signed_in(front_desk)

    chart = client.get(f"/patients/{patient.pk}/").content.decode()
    edit = client.get(f"/patients/{patient.pk}/edit/")

    assert "(785) 842-1234" in chart and ">+17858421234" not in chart  # (a tel: link dials the stored number)
    assert edit.context["form"].initial["phone"] == "(785) 842-1234"
    unchanged = {k: v for k, v in edit.context["form"].initial.items() if v is not None}
    saved = client.post(f"/patients/{patient.pk}/edit/", unchanged)
    assert saved.status_code == 302
    assert Patient.objects.get(pk=patient.pk).phone == "+17858421234"


@pytest.mark.parametrize("role", ["clinician", "supervisor"])
def test_the_same_rules_hold_for_every_role_that_registers(db, signed_in, request, role):
    response = signed_in(request.getfixturevalue(role)).post(REGISTER_URL, {**NEW, "phone": "call me maybe"})

    assert response.status_code == 400
    assert PHONE_MESSAGE in response.content.decode()
