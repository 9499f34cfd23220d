"""API fixtures: a small clinic in which every endpoint has a target (the client, `users` and `as_user` are in
tests/conftest.py, shared with the release tests)."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Case, VisitAddendum
from clinic.models import User
from clinic.roles import Role
from tests.builders import (  # noqa: F401 (PHQ9_MILD, record_each_kind, AUDIT_APPEND_QUERIES: imported from here)
    AUDIT_APPEND_QUERIES,
    PHQ9_MILD,
    Clinic,
    ClinicalRecords,
    build_clinic,
    build_records,
    record_each_kind,
)
from tests.factories import (  # PASSWORD: imported from here by the API tests
    PASSWORD,  # noqa: F401
    CaseFactory,
    ClosedCaseFactory,
    SignedVisitFactory,
    UserFactory,
    case_in_stage,
)

ROLES = ("front_desk", "clinician", "supervisor", "administrator")


@pytest.fixture
def clinic(shared_rows, clinician, other_clinician, front_desk) -> Clinic:
    """A small clinic (tests/builders.py `build_clinic`); a module marked `rows_built_once` shares one."""
    if shared_rows is not None:
        return shared_rows.clinic
    return build_clinic(clinician, other_clinician, front_desk)


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


@pytest.fixture
def records(shared_rows, clinic, supervisor) -> ClinicalRecords:
    """One record of each kind on each case of `clinic`, built for the test, or shared by a module marked
    `rows_built_once(records=True)` (where every test sees them)."""
    if shared_rows is not None and shared_rows.records is not None:
        return shared_rows.records
    return build_records(clinic, supervisor)


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
