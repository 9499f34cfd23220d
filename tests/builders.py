"""Shared test helpers that tests import by name (fixtures are in the conftest files), whatever the entry point
under test: the API's tests and the pages' tests alike."""

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from django.utils import timezone

from cases.models import Case, Patient, Visit
from clinic.models import User
from clinic.roles import Role
from tests.factories import AttendedVisitFactory, CaseFactory, PatientFactory, SignedVisitFactory, UserFactory

T = TypeVar("T")

# Every read of patient data appends one audit event (clinic.audit.audit_record): one INSERT, no lock and no read
# (the sealer chains events later). Part of every read's query count.
AUDIT_APPEND_QUERIES = 1


@contextmanager
def rows_for_the_scope(django_db_blocker: Any, build: Callable[[], T]) -> Iterator[T]:
    """`build()` once for a module or class, its rows rolled back after it: Django's `setUpTestData`, for pytest.

    Use it in a module- or class-scoped fixture that requests `django_db_setup` and `django_db_blocker`, and hand
    each test a `copy.deepcopy` of what it built through a function-scoped fixture that requests `db`: each test
    then runs in a savepoint inside this block, so that what it writes is rolled back before the next test, and
    what it changes on the instances it got stays with it. The block is a transaction kept open for the scope, so
    a test on committed data (`transactional_db`, `live_server`) cannot share it. The database is open only while
    the rows are written and rolled back (a test without `db` still may not touch it)."""
    from django.db import transaction

    with django_db_blocker.unblock():
        block = transaction.atomic()
        block._from_testcase = True  # type: ignore[attr-defined]  # a durable block inside is allowed, as in a TestCase
        block.__enter__()
        try:
            rows = build()
        except BaseException:
            transaction.set_rollback(True)
            block.__exit__(None, None, None)
            raise
    try:
        yield rows
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            block.__exit__(None, None, None)


# --- A small clinic and its clinical records (the `clinic` and `records` fixtures of tests/api) ---


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


def build_clinic(clinician: User, other_clinician: User, front_desk: User) -> Clinic:
    """`clinician`'s caseload next to `other_clinician`'s (the `clinic` fixture)."""
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


def build_records(clinic: Clinic, supervisor: User) -> ClinicalRecords:
    """One record of each kind on each of the clinic's two cases (the `records` fixture)."""
    return ClinicalRecords(
        own=record_each_kind(clinic.own_case, supervisor),
        other=record_each_kind(clinic.other_case, supervisor),
    )


# --- Rows built once for a module: `pytestmark = pytest.mark.rows_built_once(...)` (tests/conftest.py) ----------

# The role users of tests/conftest.py's fixtures: fixture name -> (username, role).
ROLE_USERS = {
    "front_desk": ("frontdesk", Role.FRONT_DESK),
    "clinician": ("clinician", Role.CLINICIAN),
    "other_clinician": ("otherclinician", Role.CLINICIAN),
    "supervisor": ("supervisor", Role.SUPERVISOR),
    "administrator": ("administrator", Role.ADMINISTRATOR),
}


def role_user(name: str) -> User:
    username, role = ROLE_USERS[name]
    return UserFactory(username=username, roles=[role])


@dataclass
class SharedRows:
    """What a module marked `rows_built_once` shares: the role users, and the clinic and its records if asked."""

    users: dict[str, User]
    clinic: Clinic | None
    records: ClinicalRecords | None


def build_shared_rows(*, clinic: bool = True, records: bool = False) -> SharedRows:
    users = {name: role_user(name) for name in ROLE_USERS}
    built = (
        build_clinic(users["clinician"], users["other_clinician"], users["front_desk"]) if clinic else None
    )
    return SharedRows(
        users=users,
        clinic=built,
        records=build_records(built, users["supervisor"]) if built is not None and records else None,
    )
