"""The escalation paths of issue 12 (SPEC version 2, sections 2 and 8), one test or more per finding, through the
API and the pages: each failed on the code before the fix."""

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cases.models import BreakGlassGrant, Case
from clinic.models import AuditEvent, User
from clinic.policy import Capability, may, may_read_clinical
from clinic.roles import Role
from tests.factories import (
    BreakGlassGrantFactory,
    CaseFactory,
    ClosedCaseFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

REASON = "Covering the on-call shift; the patient called in crisis."


def api_as(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


@pytest.fixture
def desk_clinician(db) -> User:
    return UserFactory(username="deskclinician", roles=[Role.FRONT_DESK, Role.CLINICIAN])


@pytest.fixture
def discharged(other_clinician) -> Case:
    """Another clinician's former patient: one closed case, no open one."""
    return ClosedCaseFactory(
        primary_clinician=other_clinician,
        opened_on=timezone.localdate() - dt.timedelta(days=90),
        closed_on=timezone.localdate() - dt.timedelta(days=30),
    )


# --- Finding 1: rights combine, scopes do not -------------------------------------------------------------------


def test_a_front_desk_clinician_opens_a_case_for_another_clinicians_former_patient_unassigned(
    desk_clinician, discharged
):
    patient = discharged.patient
    response = api_as(desk_clinician).post(
        "/api/v1/cases/", {"patient": str(patient.pk), "referral_source": "self"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["primary_clinician"] is None
    assert Case.objects.get(pk=response.json()["id"]).primary_clinician is None
    assert not may_read_clinical(desk_clinician, patient)
    earlier = api_as(desk_clinician).get(f"/api/v1/cases/{discharged.pk}/").json()
    assert "kratom_form" not in earlier  # the history's clinical content stays out of reach


def test_a_front_desk_clinician_may_not_record_the_profile_of_a_case_it_does_not_take_on(
    desk_clinician, discharged
):
    response = api_as(desk_clinician).post(
        "/api/v1/cases/",
        {"patient": str(discharged.patient.pk), "referral_source": "self", "kratom_form": "powder"},
        format="json",
    )
    assert response.status_code == 403
    assert "kratom_form" in response.json()["detail"]
    assert not Case.objects.filter(patient=discharged.patient, status="open").exists()


def test_the_open_case_page_opens_unassigned_for_a_front_desk_clinician(client, desk_clinician, discharged):
    client.force_login(desk_clinician)
    response = client.post(
        reverse("patient-open-case", args=[discharged.patient.pk]), {"referral_source": "self"}
    )
    assert response.status_code == 302
    case = Case.objects.get(patient=discharged.patient, status="open")
    assert case.primary_clinician is None


def test_a_front_desk_clinician_takes_on_a_patient_who_never_had_a_case(desk_clinician):
    patient = PatientFactory()
    response = api_as(desk_clinician).post(
        "/api/v1/cases/", {"patient": str(patient.pk), "referral_source": "self"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["primary_clinician"] == str(desk_clinician.pk)


def test_a_clinician_readmitting_their_own_former_patient_takes_the_case_on(clinician):
    former = ClosedCaseFactory(
        primary_clinician=clinician, opened_on=timezone.localdate() - dt.timedelta(days=60)
    )
    response = api_as(clinician).post(
        "/api/v1/cases/", {"patient": str(former.patient_id), "referral_source": "self"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["primary_clinician"] == str(clinician.pk)


def test_a_supervisor_opens_unassigned_unless_they_assign(supervisor, clinician):
    patient, other = PatientFactory(), PatientFactory()
    unassigned = api_as(supervisor).post(
        "/api/v1/cases/", {"patient": str(patient.pk), "referral_source": "self"}, format="json"
    )
    assigned = api_as(supervisor).post(
        "/api/v1/cases/",
        {"patient": str(other.pk), "referral_source": "self", "primary_clinician": str(supervisor.pk)},
        format="json",
    )
    assert (unassigned.json()["primary_clinician"], assigned.json()["primary_clinician"]) == (
        None,
        str(supervisor.pk),
    )


# --- Finding 3: break-glass never becomes caseload --------------------------------------------------------------


@pytest.mark.parametrize("history", ["discharged", "never_had_a_case"])
def test_a_case_opened_under_a_grant_does_not_outlast_it(clinician, discharged, history):
    patient = discharged.patient if history == "discharged" else PatientFactory()
    grant = BreakGlassGrantFactory(user=clinician, patient=patient)
    response = api_as(clinician).post(
        "/api/v1/cases/", {"patient": str(patient.pk), "referral_source": "self"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["primary_clinician"] is None
    assert may_read_clinical(clinician, patient)  # while the grant runs
    BreakGlassGrant.objects.filter(pk=grant.pk).update(
        granted_at=timezone.now() - dt.timedelta(hours=5), expires_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert not may_read_clinical(clinician, patient)
    assert api_as(clinician).get(f"/api/v1/patients/{patient.pk}/").status_code == 404


def test_a_supervisor_ends_a_grant_and_reads_stop_at_once(clinician, supervisor, other_case):
    grant = BreakGlassGrantFactory(user=clinician, patient=other_case.patient)
    assert api_as(clinician).get(f"/api/v1/cases/{other_case.pk}/").status_code == 200
    ended = api_as(supervisor).post(f"/api/v1/break-glass-grants/{grant.pk}/end/")
    assert ended.status_code == 200, ended.content
    assert ended.json()["ended_by"] == supervisor.username
    assert ended.json()["active"] is False
    assert api_as(clinician).get(f"/api/v1/cases/{other_case.pk}/").status_code == 404
    again = api_as(supervisor).post(f"/api/v1/break-glass-grants/{grant.pk}/end/")
    assert again.status_code == 409
    event = AuditEvent.objects.get(action="grant_end")
    assert (event.user, event.patient_id, event.detail["holder"]) == (
        supervisor,
        other_case.patient_id,
        "clinician",
    )


def test_a_supervisor_records_a_review_once(clinician, supervisor, other_case):
    grant = BreakGlassGrantFactory(user=clinician, patient=other_case.patient)
    url = f"/api/v1/break-glass-grants/{grant.pk}/review/"
    bad = api_as(supervisor).post(url, {"verdict": "fine", "note": "ok"}, format="json")
    assert bad.status_code == 400 and "verdict" in bad.json()
    response = api_as(supervisor).post(
        url, {"verdict": "inappropriate", "note": "Not on call."}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["review_verdict"], body["review_note"], body["reviewed_by"]) == (
        "inappropriate",
        "Not on call.",
        supervisor.username,
    )
    assert (
        api_as(supervisor).post(url, {"verdict": "appropriate", "note": "x"}, format="json").status_code
        == 409
    )
    event = AuditEvent.objects.get(action="grant_review")
    assert event.detail == {"holder": "clinician", "verdict": "inappropriate", "note": "Not on call."}


@pytest.mark.parametrize("role", ["administrator", "clinician", "front_desk"])
def test_only_supervisors_end_or_review_grants(request, other_case, role):
    grant = BreakGlassGrantFactory(patient=other_case.patient)
    client = api_as(request.getfixturevalue(role))
    assert client.post(f"/api/v1/break-glass-grants/{grant.pk}/end/").status_code == 403
    review = client.post(
        f"/api/v1/break-glass-grants/{grant.pk}/review/",
        {"verdict": "appropriate", "note": "ok"},
        format="json",
    )
    assert review.status_code == 403
    assert BreakGlassGrant.objects.get(pk=grant.pk).ended_at is None


# --- Break-glass in one step, by MRN or by name and date of birth -----------------------------------------------


def test_break_glass_by_mrn_grants_and_names_the_patient(clinician, other_case):
    patient = other_case.patient
    response = api_as(clinician).post(
        "/api/v1/break-glass/", {"mrn": patient.mrn, "reason": REASON}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["patient"] == str(patient.pk)
    assert may_read_clinical(clinician, patient)


def test_break_glass_by_exact_name_and_date_of_birth(clinician, other_case):
    patient = other_case.patient
    body = {
        "first_name": patient.first_name.upper(),
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "reason": REASON,
    }
    response = api_as(clinician).post("/api/v1/break-glass/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["patient"] == str(patient.pk)


def test_an_ambiguous_name_and_date_of_birth_is_a_404_like_a_miss(clinician, other_clinician):
    twins = [
        CaseFactory(
            primary_clinician=other_clinician, patient__first_name="Sam", patient__last_name="Lee"
        ).patient
        for _ in range(2)
    ]
    for twin in twins:
        twin.date_of_birth = dt.date(1980, 1, 1)
        twin.save()
    body = {"first_name": "Sam", "last_name": "Lee", "date_of_birth": "1980-01-01", "reason": REASON}
    ambiguous = api_as(clinician).post("/api/v1/break-glass/", body, format="json")
    miss = api_as(clinician).post("/api/v1/break-glass/", {**body, "last_name": "Nobody"}, format="json")
    assert ambiguous.status_code == miss.status_code == 404
    assert ambiguous.json() == miss.json()
    assert not BreakGlassGrant.objects.exists()
    denied = AuditEvent.objects.filter(action="break_glass", outcome="denied")
    assert [event.detail["ambiguous"] for event in denied.order_by("sequence")] == [True, False]


def test_break_glass_without_a_reason_grants_nothing_and_shows_nothing(clinician, other_case):
    response = api_as(clinician).post(
        "/api/v1/break-glass/", {"mrn": other_case.patient.mrn, "reason": ""}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"reason"}
    assert not BreakGlassGrant.objects.exists()


def test_the_break_glass_page_finds_by_name_and_date_of_birth(client, clinician, other_case):
    patient = other_case.patient
    client.force_login(clinician)
    response = client.post(
        reverse("break-glass"),
        {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
            "reason": REASON,
        },
    )
    assert response.status_code == 302
    assert BreakGlassGrant.objects.get().patient == patient


# --- Finding 8: existence stays hidden --------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{"reason": ""}, {}, {"reason": "short"}, {"reason": 12}])
def test_break_glass_by_id_answers_a_bad_body_the_same_for_a_real_and_a_random_patient(
    clinician, other_case, body
):
    client = api_as(clinician)
    real = client.post(f"/api/v1/patients/{other_case.patient_id}/break-glass/", body, format="json")
    random = client.post(f"/api/v1/patients/{uuid.uuid4()}/break-glass/", body, format="json")
    assert (real.status_code, real.json()) == (random.status_code, random.json())
    assert real.status_code == 400


def test_the_open_case_page_shows_no_one_outside_the_clinicians_reach(client, clinician, front_desk):
    patient = PatientFactory(created_by=front_desk, first_name="Zebulon", last_name="Quartermain")
    client.force_login(clinician)
    response = client.get(reverse("patient-open-case", args=[patient.pk]))
    assert response.status_code == 404
    assert b"Quartermain" not in response.content and patient.mrn.encode() not in response.content
    assert AuditEvent.objects.filter(patient_id=patient.pk, outcome="denied").exists()


# --- Finding 9: audit gaps --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/assessments/", {"instrument": "phq9", "responses": {}}),
        ("/api/v1/visits/", {"visit_type": "individual_counseling", "scheduled_at": "2030-01-01T10:00:00Z"}),
        ("/api/v1/goals/", {"problem": "p", "goal": "g"}),
        ("/api/v1/medications/", {"medication": "clonidine"}),
        ("/api/v1/drug-screens/", {"collected_on": "2026-01-01"}),
        ("/api/v1/liver-panels/", {"collected_on": "2026-01-01"}),
    ],
)
def test_a_create_pointing_at_another_clinicians_case_is_audited_as_denied_on_its_patient(
    clinician, other_case, path, body
):
    response = api_as(clinician).post(path, {**body, "case": str(other_case.pk)}, format="json")
    assert response.status_code == 400
    assert "case" in response.json()
    event = AuditEvent.objects.get(outcome="denied")
    assert (event.patient_id, event.action, event.object_type) == (other_case.patient_id, "create", "case")
    # ... and one pointing at nothing answers the same, recording no patient.
    random = api_as(clinician).post(path, {**body, "case": str(uuid.uuid4())}, format="json")
    assert random.status_code == 400 and set(random.json()) == set(response.json())
    assert AuditEvent.objects.filter(outcome="denied").count() == 1


def test_a_case_opened_for_a_patient_out_of_reach_is_audited_as_denied_on_that_patient(clinician, discharged):
    response = api_as(clinician).post(
        "/api/v1/cases/", {"patient": str(discharged.patient_id), "referral_source": "self"}, format="json"
    )
    assert response.status_code == 400
    assert AuditEvent.objects.filter(
        patient_id=discharged.patient_id, outcome="denied", action="create"
    ).exists()


@pytest.mark.parametrize("path", ["/api/v1/cases/", "/api/v1/visits/", "/api/v1/goals/"])
def test_an_empty_patient_probe_is_not_recorded_as_a_read_of_that_patient(clinician, other_case, path):
    response = api_as(clinician).get(path, {"patient": str(other_case.patient_id)})
    if response.status_code == 400:  # an endpoint without `?patient=`
        return
    assert response.json()["count"] == 0
    assert not AuditEvent.objects.filter(patient_id=other_case.patient_id, outcome="allowed").exists()


# --- Finding 10: administrators' reports are de-identified --------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "asked", "expected"),
    [
        ([Role.ADMINISTRATOR], None, True),
        ([Role.ADMINISTRATOR], "false", True),
        ([Role.ADMINISTRATOR, Role.SUPERVISOR], None, True),
        ([Role.ADMINISTRATOR, Role.SUPERVISOR], "false", False),
        ([Role.SUPERVISOR], None, False),
        ([Role.SUPERVISOR], "true", True),
    ],
)
def test_administrators_reports_are_always_deidentified(roles, asked, expected):
    user = UserFactory(roles=roles)
    query = {} if asked is None else {"deidentified": asked}
    response = api_as(user).get("/api/v1/reports/outcomes/", query)
    assert response.status_code == 200, response.content
    assert response.json()["deidentified"] is expected


def test_the_reports_page_deidentifies_for_an_administrator_whatever_the_box_says(client, administrator):
    client.force_login(administrator)
    response = client.get(reverse("reports"), {"report": "outcomes"})
    assert response.status_code == 200
    assert response.context["deidentified"] is True


def test_policy_answers_for_a_grant_holder_stop_with_the_grant(clinician, other_case):
    grant = BreakGlassGrantFactory(user=clinician, patient=other_case.patient)
    assert may(clinician, Capability.RECORD_CLINICAL, other_case.patient)
    now = timezone.now()
    BreakGlassGrant.objects.filter(pk=grant.pk).update(
        granted_at=now - dt.timedelta(hours=5), expires_at=now - dt.timedelta(hours=1)
    )
    assert not may(clinician, Capability.RECORD_CLINICAL, other_case.patient)
