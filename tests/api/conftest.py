"""API fixtures: a client, a way to act as a user, and a small clinic in which every endpoint has a target."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from cases.models import Case, Patient, Visit, VisitAddendum
from clinic.models import User
from clinic.roles import Role
from tests.factories import (
    AttendedVisitFactory,
    CaseFactory,
    ClosedCaseFactory,
    PatientFactory,
    SignedVisitFactory,
    UserFactory,
    case_in_stage,
)

ROLES = ("front_desk", "clinician", "supervisor", "administrator")
PASSWORD = "correct-horse-battery-staple"  # the factories' password


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def users(front_desk, clinician, supervisor, administrator) -> dict[str, User | None]:
    """One user per role, and `anonymous` (no credentials)."""
    return {
        "front_desk": front_desk,
        "clinician": clinician,
        "supervisor": supervisor,
        "administrator": administrator,
        "anonymous": None,
    }


@pytest.fixture
def as_user(api, users):
    """`as_user(user_or_role)` returns the client authenticated as that user (a role name, or `anonymous`).

    The user is read afresh from the database, as each real request does, so that role lookups are counted.
    """

    def authenticate(who: User | str | None) -> APIClient:
        user = users[who] if isinstance(who, str) else who
        api.force_authenticate(user=None if user is None else User.objects.get(pk=user.pk))
        return api

    return authenticate


@dataclass
class Clinic:
    """`clinician`'s caseload next to `other_clinician`'s, each with an unsigned note and a signed one."""

    own_case: Case
    own_visit: Visit  # attended, with a note, unsigned
    own_signed_visit: Visit
    other_case: Case
    other_visit: Visit
    other_signed_visit: Visit
    unassigned_patient: Patient  # registered at the front desk, no case yet

    @property
    def own_patient(self) -> Patient:
        return self.own_case.patient

    @property
    def other_patient(self) -> Patient:
        return self.other_case.patient


@pytest.fixture
def clinic(clinician, other_clinician, front_desk) -> Clinic:
    own_case = CaseFactory(primary_clinician=clinician, patient__last_name="Ownly")
    other_case = CaseFactory(primary_clinician=other_clinician, patient__last_name="Otherly")
    return Clinic(
        own_case=own_case,
        own_visit=AttendedVisitFactory(case=own_case, clinician=clinician),
        own_signed_visit=SignedVisitFactory(
            case=own_case, clinician=clinician, scheduled_at=timezone.now() - dt.timedelta(days=7)
        ),
        other_case=other_case,
        other_visit=AttendedVisitFactory(case=other_case, clinician=other_clinician),
        other_signed_visit=SignedVisitFactory(
            case=other_case, clinician=other_clinician, scheduled_at=timezone.now() - dt.timedelta(days=7)
        ),
        unassigned_patient=PatientFactory(created_by=front_desk, last_name="Newcombe"),
    )


@pytest.fixture
def busy_caseload(clinician, supervisor):
    """`busy_caseload(n)`: n patients in `clinician`'s caseload, each with an earlier closed case and an open case
    in treatment (three history rows, a care team of two), and two signed visits with two addenda each.

    The rows every list and detail must fetch without one query per row.
    """

    def build(count: int) -> list[Case]:
        team = UserFactory.create_batch(2, roles=[Role.CLINICIAN])
        cases = []
        for _ in range(count):
            earlier = ClosedCaseFactory(
                primary_clinician=clinician,
                opened_on=timezone.localdate() - dt.timedelta(days=400),
                closed_on=timezone.localdate() - dt.timedelta(days=300),
            )
            case = case_in_stage(
                Case.Stage.TREATMENT,
                actor=supervisor,
                patient=earlier.patient,
                primary_clinician=clinician,
                care_team=team,
            )
            for days_ago in (3, 10):
                visit = SignedVisitFactory(
                    case=case, clinician=clinician, scheduled_at=timezone.now() - dt.timedelta(days=days_ago)
                )
                VisitAddendum.objects.bulk_create(
                    [VisitAddendum(visit=visit, author=clinician, text=f"Addendum {n}.") for n in (1, 2)]
                )
            cases.append(case)
        return cases

    return build


def ids(response) -> set[str]:
    """The ids on a page of a list response."""
    return {row["id"] for row in response.json()["results"]}
