"""The chart's "Release records" page: the same service as the API, refusals on the form, the document downloaded."""

import hashlib

import pytest

from cases.models import Disclosure
from cases.models.part2 import PART2_NOTICE
from clinic.models import AuditEvent
from tests.factories import BreakGlassGrantFactory, make_consent

pytestmark = pytest.mark.django_db


def page_url(patient) -> str:
    return f"/patients/{patient.pk}/release/"


@pytest.fixture
def tpo(rich, clinician):
    return make_consent(
        patient=rich.patient,
        actor=clinician,
        kind="tpo",
        information=["all_records"],
        purposes=["treatment", "payment", "health_care_operations"],
        recipients=[{"name": "Dr. Lee, Lawrence Family Medicine", "covered_entity": True}],
        expires_on=None,
    )


def form(consent, **overrides):
    data = {
        "basis": "consent",
        "consent_entry": f"{consent.pk}:{consent.recipients.first().pk}",
        "purpose": "treatment",
        "information": ["diagnoses", "medications"],
        "format": "printable",
    }
    data.update(overrides)
    return data


def test_the_chart_links_to_the_page_for_those_who_release(signed_in, rich, clinician, front_desk):
    assert "Release records" in signed_in(clinician).get(f"/patients/{rich.patient.pk}/").content.decode()
    assert (
        "Release records" not in signed_in(front_desk).get(f"/patients/{rich.patient.pk}/").content.decode()
    )


def test_the_page_offers_the_patients_active_consent_entries(signed_in, rich, tpo, clinician):
    response = signed_in(clinician).get(page_url(rich.patient))

    assert response.status_code == 200
    assert "Dr. Lee, Lawrence Family Medicine" in response.content.decode()
    assert AuditEvent.objects.filter(
        action="view", patient_id=rich.patient.pk, data_category="consent"
    ).exists()


def test_a_clinician_releases_a_printable_summary_and_downloads_it(signed_in, rich, tpo, clinician):
    response = signed_in(clinician).post(page_url(rich.patient), form(tpo))

    assert response.status_code == 201, response.content[:500]
    assert response["Content-Disposition"].startswith('attachment; filename="')
    assert PART2_NOTICE.encode() in response.content
    disclosure = Disclosure.objects.get(pk=response["X-Disclosure-Id"])
    assert disclosure.document_sha256 == hashlib.sha256(response.content).hexdigest()
    assert disclosure.format == "printable" and disclosure.channel == "download"


def test_a_fhir_release_from_the_page(signed_in, rich, tpo, clinician):
    response = signed_in(clinician).post(page_url(rich.patient), form(tpo, format="fhir"))

    assert response.status_code == 201
    assert response["Content-Type"] == "application/fhir+json"


def test_a_refusal_is_shown_on_the_form_and_records_nothing(signed_in, rich, tpo, clinician):
    response = signed_in(clinician).post(page_url(rich.patient), form(tpo, purpose="legal"))

    assert response.status_code == 400
    assert "does not cover this purpose" in response.content.decode()
    assert not Disclosure.objects.exists()


def test_a_release_without_consent_needs_its_reason(signed_in, rich, clinician):
    data = {"basis": "court_order", "consent_entry": "", "recipient_name": "Douglas County District Court",
            "purpose": "legal", "information": ["attendance"], "format": "printable"}  # fmt: skip

    refused = signed_in(clinician).post(page_url(rich.patient), data)
    assert refused.status_code == 400
    assert "reason" in refused.content.decode()

    data["basis_reason"] = "Order 2026-CV-114 under 42 CFR 2.64, signed by Judge Reyes."
    response = signed_in(clinician).post(page_url(rich.patient), data)
    assert response.status_code == 201
    assert Disclosure.objects.get().basis == "court_order"


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
def test_roles_that_do_not_release_get_403(signed_in, rich, request, role):
    user = request.getfixturevalue(role)
    assert signed_in(user).get(page_url(rich.patient)).status_code == 403


def test_outside_the_caseload_is_404(signed_in, other_case, clinician):
    assert signed_in(clinician).get(page_url(other_case.patient)).status_code == 404


def test_break_glass_is_403(signed_in, rich, tpo, other_clinician):
    BreakGlassGrantFactory(user=other_clinician, patient=rich.patient)

    assert signed_in(other_clinician).get(page_url(rich.patient)).status_code == 403
    assert signed_in(other_clinician).post(page_url(rich.patient), form(tpo)).status_code == 403
    assert not Disclosure.objects.exists()
