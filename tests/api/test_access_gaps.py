"""Small access gaps of issue 12 (SPEC v2 sections 2 and 8): a refused `break-glass/` is audited like every other
refusal; an administrator finds a patient only by the exact MRN, with the identifying fields alone."""

import pytest

from cases.models import BreakGlassGrant
from clinic.models import AuditEvent
from clinic.roles import Role
from tests.api.conftest import AUDIT_APPEND_QUERIES
from tests.factories import PatientFactory, UserFactory

LIST_URL = "/api/v1/patients/"
REASON = "Covering the on-call shift; the patient called in crisis."
IDENTIFYING = {"id", "mrn", "first_name", "last_name", "date_of_birth"}


# --- break-glass/ refused -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["front_desk", "supervisor", "administrator"])
def test_a_refused_break_glass_by_mrn_is_a_denied_event(as_user, clinic, role):
    response = as_user(role).post(
        "/api/v1/break-glass/", {"mrn": clinic.other_patient.mrn, "reason": REASON}, format="json"
    )

    assert response.status_code == 403
    assert not BreakGlassGrant.objects.exists()
    (event,) = AuditEvent.objects.all()
    assert (event.action, event.outcome, event.username, event.object_type) == (
        "break_glass",
        "denied",
        role.replace("_", ""),
        "patient",
    )
    assert event.patient_id is None  # the body was never read: nothing about the patient is in it
    assert event.detail == {"status": 403, "method": "POST", "path": "/api/v1/break-glass/"}


def test_an_anonymous_break_glass_is_a_401_with_no_one_to_record(as_user, clinic):
    response = as_user("anonymous").post(
        "/api/v1/break-glass/", {"mrn": clinic.other_patient.mrn, "reason": REASON}, format="json"
    )

    assert response.status_code == 401
    assert not AuditEvent.objects.exists()


# --- An administrator's exact-MRN lookup ----------------------------------------------------------------------


def test_an_administrator_finds_one_patient_by_exact_mrn_with_identifying_fields_only(as_user, clinic):
    patient = clinic.other_patient

    response = as_user("administrator").get(LIST_URL, {"mrn": patient.mrn.lower()})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 1
    (row,) = body["results"]
    assert set(row) == IDENTIFYING
    assert row == {
        "id": str(patient.pk),
        "mrn": patient.mrn,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
    }
    (event,) = AuditEvent.objects.all()
    assert (event.action, event.outcome, event.patient_id) == ("list", "allowed", patient.pk)
    assert event.patients_seen == str(patient.pk)
    assert event.detail == {"query": {"mrn": patient.mrn.lower()}}


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"mrn": ""},
        {"mrn": "   "},
        {"search": "Otherly"},
        {"stage": "intake"},
        {"has_open_case": "true"},
    ],
)
def test_an_administrator_gets_nothing_without_an_mrn(as_user, clinic, query):
    response = as_user("administrator").get(LIST_URL, query)

    assert response.status_code == 403
    assert "results" not in response.json()
    (event,) = AuditEvent.objects.all()
    assert (event.action, event.outcome) == ("list", "denied")


@pytest.mark.parametrize("mrn", ["KR00000", "KR", "%", "KR0000125 ", "x" * 16])
def test_a_partial_or_unknown_mrn_finds_nothing_for_an_administrator(as_user, clinic, mrn):
    response = as_user("administrator").get(LIST_URL, {"mrn": mrn})

    assert response.status_code == 200
    assert response.json()["results"] == []
    assert AuditEvent.objects.get().patient_id is None


def test_other_filters_tell_an_administrator_nothing_about_care(as_user, clinic):
    """A stage or a clinician beside the MRN is ignored: it would answer whether the patient is in treatment."""
    patient = clinic.other_patient

    in_stage = as_user("administrator").get(LIST_URL, {"mrn": patient.mrn, "stage": "discharged"})
    by_clinician = as_user("administrator").get(
        LIST_URL, {"mrn": patient.mrn, "clinician": str(clinic.own_case.primary_clinician_id)}
    )

    assert [row["id"] for row in in_stage.json()["results"]] == [str(patient.pk)]
    assert [row["id"] for row in by_clinician.json()["results"]] == [str(patient.pk)]


def test_a_record_entered_in_error_is_not_found_by_mrn(as_user, clinic):
    patient = PatientFactory(entered_in_error=True, entered_in_error_reason="Registered twice.")

    response = as_user("administrator").get(LIST_URL, {"mrn": patient.mrn})

    assert response.json()["results"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/patients/{id}/"),
        ("patch", "/api/v1/patients/{id}/"),
        ("post", "/api/v1/patients/"),
        ("get", "/api/v1/cases/?patient={id}"),
        ("get", "/api/v1/visits/?patient={id}"),
    ],
)
def test_every_other_patient_endpoint_still_refuses_an_administrator(as_user, clinic, method, path):
    url = path.format(id=clinic.other_patient.pk)

    response = getattr(as_user("administrator"), method)(url, {}, format="json")

    assert response.status_code == 403


def test_the_roles_that_read_demographics_filter_by_mrn_within_their_scope(as_user, clinic):
    own, other = clinic.own_patient, clinic.other_patient

    mine = as_user("clinician").get(LIST_URL, {"mrn": own.mrn})
    not_mine = as_user("clinician").get(LIST_URL, {"mrn": other.mrn})
    desk = as_user("front_desk").get(LIST_URL, {"mrn": other.mrn})

    assert [row["id"] for row in mine.json()["results"]] == [str(own.pk)]
    assert "phone" in mine.json()["results"][0]  # the full demographics, as any list of theirs
    assert not_mine.json()["results"] == []
    assert [row["id"] for row in desk.json()["results"]] == [str(other.pk)]


def test_an_administrator_who_is_also_front_desk_lists_as_front_desk(as_user, clinic):
    both = UserFactory(username="deskadmin", roles=[Role.ADMINISTRATOR, Role.FRONT_DESK])

    response = as_user(both).get(LIST_URL)

    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert "phone" in response.json()["results"][0]


def test_the_mrn_lookup_has_a_fixed_query_bound(as_user, clinic, django_assert_max_num_queries):
    PatientFactory.create_batch(5)
    client = as_user("administrator")

    # The user and groups; count and page; the audit event.
    with django_assert_max_num_queries(4 + AUDIT_APPEND_QUERIES):
        response = client.get(LIST_URL, {"mrn": clinic.other_patient.mrn})

    assert response.json()["count"] == 1
