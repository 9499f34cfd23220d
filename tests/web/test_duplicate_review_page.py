"""The duplicate review page (/patients/duplicates/) and its dashboard notice: front desk and supervisors decide
the registrations flagged by `patient_register`; nobody else sees them."""

import datetime as dt

import pytest

from cases.models import DuplicateReview, Patient
from cases.services.patients import patient_register
from clinic.models import AuditEvent
from tests.factories import CaseFactory

PAGE = "/patients/duplicates/"
BORN = dt.date(1979, 6, 2)


@pytest.fixture
def flagged(clinician, other_clinician) -> DuplicateReview:
    pham = CaseFactory(
        primary_clinician=other_clinician,
        patient__first_name="Jonathan",
        patient__last_name="Pham",
        patient__date_of_birth=BORN,
    ).patient
    new = patient_register(
        actor=clinician,
        data={"first_name": "Jonathan", "last_name": "Pahm", "date_of_birth": BORN, "sex_at_birth": "male"},
    )
    assert list(new.duplicate_review.matches.all()) == [pham]
    return new.duplicate_review


def decide_url(review: DuplicateReview) -> str:
    return f"{PAGE}{review.pk}/"


@pytest.mark.parametrize("role", ["front_desk", "supervisor"])
def test_the_reviewers_see_the_new_record_beside_the_one_it_resembles(signed_in, request, flagged, role):
    response = signed_in(request.getfixturevalue(role)).get(PAGE)

    text = response.content.decode()
    assert response.status_code == 200
    assert "Pahm, Jonathan" in text and "Pham, Jonathan" in text
    assert 'name="' + str(flagged.pk) + '-outcome"' in text


@pytest.mark.parametrize("role", ["clinician", "administrator"])
def test_other_roles_are_refused_the_page(signed_in, request, flagged, role):
    response = signed_in(request.getfixturevalue(role)).get(PAGE)

    assert response.status_code == 403
    assert "Pham" not in response.content.decode()


def test_a_decision_on_the_page_closes_the_review(signed_in, front_desk, flagged):
    prefix = str(flagged.pk)
    response = signed_in(front_desk).post(
        decide_url(flagged), {f"{prefix}-outcome": "entered_in_error", f"{prefix}-note": "Same person."}
    )

    assert response.status_code == 302
    assert DuplicateReview.objects.get().status == "entered_in_error"
    assert Patient.objects.get(pk=flagged.patient_id).entered_in_error


def test_a_decision_without_a_note_shows_the_error_on_that_review(signed_in, front_desk, flagged):
    prefix = str(flagged.pk)
    response = signed_in(front_desk).post(decide_url(flagged), {f"{prefix}-outcome": "distinct"})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert DuplicateReview.objects.get().status == "open"


def test_a_clinician_posting_a_decision_is_refused_and_audited(signed_in, clinician, flagged):
    prefix = str(flagged.pk)
    response = signed_in(clinician).post(
        decide_url(flagged), {f"{prefix}-outcome": "distinct", f"{prefix}-note": "Mine."}
    )

    assert response.status_code == 403
    assert DuplicateReview.objects.get().status == "open"
    assert AuditEvent.objects.filter(outcome="denied", object_type="page", username="clinician").exists()


@pytest.mark.parametrize(
    ("role", "shown"), [("front_desk", True), ("supervisor", True), ("clinician", False)]
)
def test_the_dashboard_tells_the_reviewers_how_many_wait(signed_in, request, flagged, role, shown):
    response = signed_in(request.getfixturevalue(role)).get("/")

    assert ("1 registration to check for duplicates" in response.content.decode()) is shown
