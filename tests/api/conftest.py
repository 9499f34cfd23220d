"""API fixtures: a small clinic in which every endpoint has a target (the client, `users` and `as_user` are in
tests/conftest.py, shared with the release tests)."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from cases.models import Case, Patient, Visit, VisitAddendum
from clinic.models import User
from clinic.roles import Role
from tests.builders import AUDIT_APPEND_QUERIES  # noqa: F401 (imported from here by the API tests)
from tests.factories import (  # PASSWORD: imported from here by the API tests
    PASSWORD,  # noqa: F401
    AttendedVisitFactory,
    CaseFactory,
    ClosedCaseFactory,
    PatientFactory,
    SignedVisitFactory,
    UserFactory,
    case_in_stage,
)

ROLES = ("front_desk", "clinician", "supervisor", "administrator")


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


# The clinical record (SPEC 3.5, 4, 5): one record of each kind on `clinician`'s case and on another's.

PHQ9_MILD = {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 1, "q6": 1, "q7": 0, "q8": 0, "q9": 0}


def record_each_kind(case: Case, actor: User) -> dict[str, object]:
    """A goal, a medication, a negative drug screen, a normal liver panel, a PHQ-9 and an open alert, recorded
    through the services as the API records them (no rule fires, so the alert is raised directly)."""
    from cases.models import Alert
    from cases.services.alerts import alert_raise
    from cases.services.clinical import (
        assessment_record,
        drug_screen_record,
        goal_add,
        liver_panel_record,
        medication_add,
    )

    day = timezone.localdate() - dt.timedelta(days=2)
    alert = alert_raise(
        case=case, kind=Alert.Kind.ENGAGEMENT_RISK, severity=Alert.Severity.WARNING, message="Two no-shows."
    )
    return {
        "assessments": assessment_record(case=case, actor=actor, instrument="phq9", responses=PHQ9_MILD),
        "goals": goal_add(
            case=case,
            actor=actor,
            data={"problem": "Daily kratom use", "goal": "Taper to zero", "review_date": day},
        ),
        "medications": medication_add(
            case=case,
            actor=actor,
            data={
                "medication": "buprenorphine_naloxone",
                "dose": "8 mg/2 mg",
                "frequency": "once daily",
                "start_date": day,
                "prescriber": "Dr. Reyes",
            },
        ),
        "drug-screens": drug_screen_record(
            case=case, actor=actor, collected_on=day, results={"mitragynine": "negative"}
        ),
        "liver-panels": liver_panel_record(
            case=case,
            actor=actor,
            data={
                "collected_on": day,
                "alt": 30,
                "alt_uln": 40,
                "ast": 25,
                "ast_uln": 40,
                "alp": 80,
                "alp_uln": 120,
                "total_bilirubin": "0.8",
                "total_bilirubin_uln": "1.2",
            },
        ),
        "alerts": alert,
    }


@dataclass
class ClinicalRecords:
    own: dict[str, object]  # on `clinic.own_case`
    other: dict[str, object]  # on `clinic.other_case`


@pytest.fixture
def records(clinic, supervisor) -> ClinicalRecords:
    return ClinicalRecords(
        own=record_each_kind(clinic.own_case, supervisor),
        other=record_each_kind(clinic.other_case, supervisor),
    )


def unsaved_record(resource: str, case: Case, actor: User, n: int):
    """The n-th of many rows of `resource` on `case`, for bulk creation (query-count tests)."""
    from cases.models import Alert, Assessment, DrugScreen, LiverPanel, Medication, TreatmentGoal

    day = timezone.localdate() - dt.timedelta(days=n % 20)
    if resource == "assessments":
        when = timezone.now() - dt.timedelta(hours=n + 1)
        return Assessment(
            case=case,
            instrument="phq9",
            responses=PHQ9_MILD,
            total=6,
            band="mild",
            administered_at=when,
            by=actor,
        )
    if resource == "goals":
        return TreatmentGoal(
            case=case, problem="Cravings", goal="Fewer cravings", review_date=day, created_by=actor
        )
    if resource == "medications":
        return Medication(
            case=case, medication="clonidine", dose="0.1 mg", frequency="twice daily", start_date=day,
            prescriber="Dr. Reyes", created_by=actor,
        )  # fmt: skip
    if resource == "drug-screens":
        return DrugScreen(case=case, collected_on=day, mitragynine="positive", created_by=actor)
    if resource == "liver-panels":
        return LiverPanel(
            case=case, collected_on=day, alt=30, alt_uln=40, ast=25, ast_uln=40, alp=80, alp_uln=120,
            total_bilirubin="0.8", total_bilirubin_uln="1.2", created_by=actor,
        )  # fmt: skip
    # One unresolved alert per cause and case: the rest are resolved ones.
    kinds = Alert.Kind.values
    resolved = n >= len(kinds)
    return Alert(
        case=case,
        patient_id=case.patient_id,
        kind=kinds[n % len(kinds)],
        severity=Alert.Severity.URGENT if n % 3 == 0 else Alert.Severity.WARNING,
        message=f"Alert {n}.",
        raised_at=timezone.now() - dt.timedelta(hours=n + 1),
        status=Alert.Status.RESOLVED if resolved else Alert.Status.OPEN,
        resolved_at=timezone.now() if resolved else None,
        resolved_by=actor if resolved else None,
    )


@pytest.fixture
def many_records(clinician, supervisor):
    """`many_records(resource, n)`: n rows of `resource` spread over 5 cases of `clinician`'s caseload."""

    def build(resource: str, count: int) -> list[Case]:
        cases = [CaseFactory(primary_clinician=clinician) for _ in range(5)]
        rows = [unsaved_record(resource, cases[n % 5], supervisor, n // 5) for n in range(count)]
        type(rows[0]).objects.bulk_create(rows)
        return cases

    return build
