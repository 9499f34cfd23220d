"""Medications (SPEC v2 3.5): naloxone among the choices; start and stop dates not before the case opened unless
the medication is `on_admission`, refused naming the field through the API and the chart's form; roles that may
not record are refused."""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from cases.models import Medication
from tests.factories import CaseFactory

OPENED = dt.date(2025, 3, 10)


@pytest.fixture
def case(clinician):
    return CaseFactory(primary_clinician=clinician, opened_on=OPENED)


def body(case, **fields):
    return {
        "case": str(case.pk), "medication": "buprenorphine_naloxone", "dose": "8 mg/2 mg",
        "frequency": "once daily", "start_date": OPENED.isoformat(), "prescriber": "Dr. Reyes",
    } | fields  # fmt: skip


def post(user, data):
    client = APIClient()
    client.force_authenticate(user)
    return client.post("/api/v1/medications/", data, format="json")


def test_a_naloxone_kit_is_recorded(clinician, case):
    response = post(
        clinician, body(case, medication="naloxone", dose="4 mg nasal spray", frequency="as needed")
    )

    assert response.status_code == 201, response.content
    assert (response.json()["medication"], response.json()["on_admission"]) == ("naloxone", False)
    assert Medication.objects.get().get_medication_display() == "Naloxone (overdose-reversal kit given)"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"start_date": (OPENED - dt.timedelta(days=1)).isoformat()}, "start_date"),
        ({"start_date": (OPENED - dt.timedelta(days=30)).isoformat(),
          "stop_date": (OPENED - dt.timedelta(days=1)).isoformat()}, "start_date"),
    ],
)  # fmt: skip
def test_dates_before_the_case_opened_are_a_400_naming_the_field(clinician, case, fields, named):
    response = post(clinician, body(case, **fields))

    assert response.status_code == 400
    assert (
        named in response.json()["errors"] if "errors" in response.json() else named in str(response.json())
    )
    assert "before the case opened" in str(response.json())
    assert not Medication.objects.exists()


def test_the_day_the_case_opened_is_accepted(clinician, case):
    assert post(clinician, body(case)).status_code == 201


def test_a_medication_taken_on_admission_may_start_before_the_case(clinician, case):
    earlier = (OPENED - dt.timedelta(days=400)).isoformat()

    response = post(clinician, body(case, start_date=earlier, on_admission=True))

    assert response.status_code == 201, response.content
    assert (response.json()["start_date"], response.json()["on_admission"]) == (earlier, True)


def test_a_stop_date_moved_before_the_case_opened_is_a_400_naming_it(clinician, case):
    created = post(clinician, body(case)).json()
    client = APIClient()
    client.force_authenticate(clinician)

    response = client.patch(
        f"/api/v1/medications/{created['id']}/",
        {"start_date": "2025-01-01", "stop_date": "2025-02-01"},
        format="json",
    )

    assert response.status_code == 400
    assert "start_date" in str(response.json())
    assert Medication.objects.get().start_date == OPENED


@pytest.mark.parametrize(("role", "status"), [("front_desk", 403), ("administrator", 403)])
def test_roles_that_may_not_record_are_refused(request, case, role, status):
    assert post(request.getfixturevalue(role), body(case)).status_code == status
    assert not Medication.objects.exists()


def test_a_clinician_outside_the_caseload_cannot_record(other_clinician, case):
    assert post(other_clinician, body(case)).status_code in (400, 404)  # the case is not theirs to name
    assert not Medication.objects.exists()


def test_the_chart_form_refuses_an_early_start_naming_it_and_accepts_on_admission(client, clinician, case):
    client.force_login(clinician)
    url = reverse("medication-add", kwargs={"case_id": case.pk})
    form = {k: v for k, v in body(case).items() if k != "case"}

    refused = client.post(url, form | {"start_date": "2025-03-09"})
    accepted = client.post(url, form | {"start_date": "2025-03-09", "on_admission": "on"})

    assert refused.status_code == 400
    assert "before the case opened" in refused.content.decode()
    assert accepted.status_code in (200, 302)
    assert Medication.objects.get().on_admission is True
