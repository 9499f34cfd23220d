"""The access policy against SPEC section 2: the matrix, the caseload, and the scoped querysets."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from cases.models import Patient
from clinic.models import User
from clinic.policy import (
    MATRIX,
    Capability,
    Scope,
    cases_in_scope,
    has_capability,
    may,
    may_break_glass,
    may_read_clinical,
    patients_in_scope,
    scope,
    visits_in_scope,
)
from clinic.roles import Role
from tests.factories import (
    BreakGlassGrantFactory,
    CaseFactory,
    ClosedCaseFactory,
    PatientFactory,
    UserFactory,
    VisitFactory,
)

N, C, A = Scope.NONE, Scope.CASELOAD, Scope.ALL
CN = Scope.CASELOAD_OR_NEW
ROLES = (Role.FRONT_DESK, Role.CLINICIAN, Role.SUPERVISOR, Role.ADMINISTRATOR)

# SPEC section 2 (plus section 8's staff list), transcribed independently of clinic.policy.MATRIX ("yes" = every patient, "no"/"n/a" = none).
SPEC_MATRIX: dict[Capability, tuple[Scope, Scope, Scope, Scope]] = {
    #                               front_desk clinician supervisor administrator
    Capability.READ_DEMOGRAPHICS: (A, C, A, N),
    Capability.EDIT_DEMOGRAPHICS: (A, C, A, N),
    # "yes" for clinicians, read as: their caseload or a patient with no case yet (see clinic.policy).
    Capability.OPEN_CASE: (A, CN, A, N),
    Capability.ASSIGN_CLINICIANS: (N, N, A, N),
    Capability.READ_CLINICAL: (N, C, A, N),
    Capability.SCHEDULE_VISITS: (A, C, A, N),
    Capability.WRITE_NOTES: (N, C, A, N),
    Capability.RECORD_CLINICAL: (N, C, A, N),
    Capability.CHANGE_STAGE: (N, C, A, N),
    Capability.BREAK_GLASS: (N, A, N, N),
    Capability.REPORTS: (N, C, A, A),
    Capability.AUDIT_LOG: (N, N, N, A),
    Capability.MANAGE_STAFF: (N, N, N, A),
    # Not a row of section 2: section 8's `staff/` list, "supervisors and administrators".
    Capability.LIST_STAFF: (N, N, A, A),
    # Section 2's "break-glass ... flagged": supervisors review the grants; administrators read them too.
    Capability.REVIEW_BREAK_GLASS: (N, N, A, A),
    # Section 12: front desk, clinicians (caseload) and supervisors record consents; all read them for patients
    # they may see, administrators for any patient (metadata, never the scan); clinicians (caseload) and
    # supervisors release; administrators read the ledger; counseling notes are written by clinical staff.
    Capability.RECORD_CONSENTS: (A, C, A, N),
    Capability.READ_CONSENTS: (A, C, A, A),
    Capability.READ_CONSENT_DOCUMENTS: (A, C, A, N),
    Capability.RELEASE_RECORDS: (N, C, A, N),
    Capability.READ_DISCLOSURES: (N, C, A, A),
    Capability.ACCOUNTING_REQUESTS: (N, N, A, A),
    Capability.WRITE_COUNSELING_NOTES: (N, C, A, N),
    # Section 2 (version 2): supervisors end grants early and record their review.
    Capability.SUPERVISE_BREAK_GLASS: (N, N, A, N),
    # Section 2 (version 2): a different administrator or supervisor approves access changes.
    Capability.APPROVE_ACCESS: (N, N, A, A),
    # Section 2 (version 2): administrators look a patient up by exact MRN for privacy work.
    Capability.FIND_PATIENT_BY_MRN: (N, N, N, A),
    # Section 2 (version 2): the front desk's duplicate review (front desk and supervisors, who see all patients).
    Capability.REVIEW_DUPLICATES: (A, N, A, N),
}

SPEC_CELLS = [
    pytest.param(capability, role, row[i], id=f"{capability}-{role}")
    for capability, row in SPEC_MATRIX.items()
    for i, role in enumerate(ROLES)
]


def _user(*roles: Role, **fields: object) -> User:
    return UserFactory(roles=list(roles), **fields)


# --- The matrix, cell by cell -------------------------------------------------------------------------------


def test_the_spec_transcription_covers_every_capability():
    assert set(SPEC_MATRIX) == set(Capability)


def test_the_policy_matrix_has_a_row_for_every_capability_and_names_only_known_roles():
    assert set(MATRIX) == set(Capability)
    assert {role for row in MATRIX.values() for role in row} <= set(Role)


@pytest.mark.django_db
@pytest.mark.parametrize(("capability", "role", "expected"), SPEC_CELLS)
def test_each_role_gets_the_spec_scope_for_each_capability(capability, role, expected):
    assert scope(_user(role), capability) is expected


@pytest.mark.django_db
@pytest.mark.parametrize(("capability", "role", "expected"), SPEC_CELLS)
def test_has_capability_is_false_exactly_where_the_spec_says_no(capability, role, expected):
    assert has_capability(_user(role), capability) is (expected is not Scope.NONE)


@pytest.mark.django_db
@pytest.mark.parametrize(("capability", "role", "expected"), SPEC_CELLS)
def test_may_on_a_patient_in_the_users_caseload_follows_the_spec(capability, role, expected):
    user = _user(role)
    # The caseload relation is role-blind (primary clinician here); the role decides whether it counts.
    patient = CaseFactory(primary_clinician=user).patient

    assert may(user, capability, patient) is (expected is not Scope.NONE)


@pytest.mark.django_db
@pytest.mark.parametrize(("capability", "role", "expected"), SPEC_CELLS)
def test_may_on_a_patient_outside_the_users_caseload_needs_scope_all(capability, role, expected):
    user = _user(role)
    patient = CaseFactory(primary_clinician=_user(Role.CLINICIAN)).patient

    assert may(user, capability, patient) is (expected is Scope.ALL)


# --- What puts a patient in a clinician's caseload ------------------------------------------------------------


def _primary_on_open_case(me: User, other: User) -> Patient:
    return CaseFactory(primary_clinician=me).patient


def _primary_on_closed_case(me: User, other: User) -> Patient:
    return ClosedCaseFactory(primary_clinician=me).patient


def _care_team_on_open_case(me: User, other: User) -> Patient:
    return CaseFactory(primary_clinician=other, care_team=[me]).patient


def _care_team_on_closed_case(me: User, other: User) -> Patient:
    return ClosedCaseFactory(primary_clinician=other, care_team=[me]).patient


def _my_closed_case_then_an_open_case_with_another(me: User, other: User) -> Patient:
    patient = ClosedCaseFactory(primary_clinician=me).patient
    CaseFactory(patient=patient, primary_clinician=other)
    return patient


def _active_break_glass_grant(me: User, other: User) -> Patient:
    patient = CaseFactory(primary_clinician=other).patient
    BreakGlassGrantFactory(user=me, patient=patient)
    return patient


def _expired_break_glass_grant(me: User, other: User) -> Patient:
    patient = CaseFactory(primary_clinician=other).patient
    now = timezone.now()
    BreakGlassGrantFactory(
        user=me,
        patient=patient,
        granted_at=now - dt.timedelta(hours=5),
        expires_at=now - dt.timedelta(hours=1),
    )
    return patient


def _break_glass_grant_starting_later(me: User, other: User) -> Patient:
    patient = CaseFactory(primary_clinician=other).patient
    BreakGlassGrantFactory(user=me, patient=patient, granted_at=timezone.now() + dt.timedelta(hours=1))
    return patient


def _someone_elses_break_glass_grant(me: User, other: User) -> Patient:
    patient = CaseFactory(primary_clinician=other).patient
    BreakGlassGrantFactory(patient=patient)
    return patient


def _registered_by_me_without_a_case(me: User, other: User) -> Patient:
    return PatientFactory(created_by=me)


def _registered_by_me_then_opened_with_another_clinician(me: User, other: User) -> Patient:
    patient = PatientFactory(created_by=me)
    CaseFactory(patient=patient, primary_clinician=other)
    return patient


def _registered_by_someone_else_without_a_case(me: User, other: User) -> Patient:
    return PatientFactory(created_by=other)


def _another_clinicians_open_case(me: User, other: User) -> Patient:
    return CaseFactory(primary_clinician=other).patient


def _another_clinicians_closed_case(me: User, other: User) -> Patient:
    return ClosedCaseFactory(primary_clinician=other).patient


CASELOAD_SITUATIONS = [
    pytest.param(_primary_on_open_case, True, id="primary-clinician-open-case"),
    pytest.param(_primary_on_closed_case, True, id="primary-clinician-closed-case"),
    pytest.param(_care_team_on_open_case, True, id="care-team-open-case"),
    pytest.param(_care_team_on_closed_case, True, id="care-team-closed-case"),
    pytest.param(_my_closed_case_then_an_open_case_with_another, True, id="own-closed-case-then-readmitted"),
    pytest.param(_active_break_glass_grant, True, id="active-break-glass"),
    pytest.param(_expired_break_glass_grant, False, id="expired-break-glass"),
    pytest.param(_break_glass_grant_starting_later, False, id="future-break-glass"),
    pytest.param(_someone_elses_break_glass_grant, False, id="someone-elses-break-glass"),
    pytest.param(_registered_by_me_without_a_case, True, id="registered-no-case"),
    pytest.param(
        _registered_by_me_then_opened_with_another_clinician, False, id="registered-then-others-case"
    ),
    pytest.param(_registered_by_someone_else_without_a_case, False, id="registered-by-someone-else"),
    pytest.param(_another_clinicians_open_case, False, id="others-open-case"),
    pytest.param(_another_clinicians_closed_case, False, id="others-closed-case"),
]


@pytest.mark.parametrize(("situation", "in_caseload"), CASELOAD_SITUATIONS)
def test_clinician_may_read_clinical_content_only_within_the_caseload(
    clinician, other_clinician, situation: Callable[[User, User], Patient], in_caseload
):
    patient = situation(clinician, other_clinician)

    assert may(clinician, Capability.READ_CLINICAL, patient) is in_caseload


@pytest.mark.parametrize(("situation", "in_caseload"), CASELOAD_SITUATIONS)
def test_clinicians_patients_in_scope_follow_the_caseload(
    clinician, other_clinician, situation: Callable[[User, User], Patient], in_caseload
):
    patient = situation(clinician, other_clinician)

    in_scope = patients_in_scope(clinician, Capability.READ_DEMOGRAPHICS).filter(pk=patient.pk).exists()
    assert in_scope is in_caseload


# --- Several roles, no roles, no user ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("roles", "capability", "expected"),
    [
        ((Role.SUPERVISOR, Role.ADMINISTRATOR), Capability.READ_DEMOGRAPHICS, A),
        ((Role.SUPERVISOR, Role.ADMINISTRATOR), Capability.READ_CLINICAL, A),
        ((Role.SUPERVISOR, Role.ADMINISTRATOR), Capability.AUDIT_LOG, A),
        ((Role.SUPERVISOR, Role.ADMINISTRATOR), Capability.MANAGE_STAFF, A),
        ((Role.SUPERVISOR, Role.ADMINISTRATOR), Capability.REPORTS, A),
        ((Role.CLINICIAN, Role.FRONT_DESK), Capability.READ_DEMOGRAPHICS, A),
        ((Role.CLINICIAN, Role.FRONT_DESK), Capability.READ_CLINICAL, C),
        ((Role.CLINICIAN, Role.ADMINISTRATOR), Capability.REPORTS, A),
        ((Role.CLINICIAN, Role.SUPERVISOR), Capability.WRITE_NOTES, A),
    ],
    ids=lambda value: "+".join(value) if isinstance(value, tuple) else str(value),
)
def test_a_user_with_several_roles_gets_the_widest_scope(roles, capability, expected):
    assert scope(_user(*roles), capability) is expected


def test_a_supervisor_who_is_also_an_administrator_sees_every_patient(other_clinician):
    patients = [CaseFactory(primary_clinician=other_clinician).patient, PatientFactory()]
    user = _user(Role.SUPERVISOR, Role.ADMINISTRATOR)

    ids = set(patients_in_scope(user, Capability.READ_DEMOGRAPHICS).values_list("pk", flat=True))
    assert ids == {p.pk for p in patients}


def _inactive_supervisor() -> User:
    return _user(Role.SUPERVISOR, Role.CLINICIAN, Role.FRONT_DESK, Role.ADMINISTRATOR, is_active=False)


def _user_without_roles() -> User:
    return _user()


def _anonymous() -> AnonymousUser:
    return AnonymousUser()


NOBODIES = [
    pytest.param(_inactive_supervisor, id="inactive-user-with-every-role"),
    pytest.param(_user_without_roles, id="user-without-roles"),
    pytest.param(_anonymous, id="anonymous"),
    pytest.param(lambda: None, id="no-user"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("make_user", NOBODIES)
@pytest.mark.parametrize("capability", list(Capability))
def test_inactive_anonymous_and_roleless_users_have_no_capability(make_user, capability):
    assert has_capability(make_user(), capability) is False


@pytest.mark.django_db
@pytest.mark.parametrize("make_user", NOBODIES)
@pytest.mark.parametrize("capability", list(Capability))
def test_inactive_anonymous_and_roleless_users_have_no_patients_in_scope(make_user, capability):
    PatientFactory()
    CaseFactory()

    assert list(patients_in_scope(make_user(), capability)) == []


@pytest.mark.django_db
@pytest.mark.parametrize("make_user", NOBODIES)
@pytest.mark.parametrize("capability", list(Capability))
def test_inactive_anonymous_and_roleless_users_may_not_act_even_on_their_own_cases(make_user, capability):
    user = make_user()
    own = isinstance(user, User)
    patient = CaseFactory(primary_clinician=user if own else None).patient

    assert may(user, capability, patient) is False


# --- Entered in error -----------------------------------------------------------------------------------------


def _entered_in_error_patient(user: User) -> Patient:
    patient = PatientFactory(
        created_by=user, entered_in_error=True, entered_in_error_reason="Duplicate record"
    )
    CaseFactory(patient=patient, primary_clinician=user)
    return patient


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN, Role.SUPERVISOR])
def test_a_patient_entered_in_error_is_never_in_scope(role):
    user = _user(role)
    _entered_in_error_patient(user)

    assert list(patients_in_scope(user, Capability.READ_DEMOGRAPHICS)) == []


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN, Role.SUPERVISOR])
@pytest.mark.parametrize("capability", list(Capability))
def test_no_one_may_act_on_a_patient_entered_in_error(role, capability):
    user = _user(role)
    patient = _entered_in_error_patient(user)

    assert may(user, capability, patient) is False


# --- Clinical content and break-glass ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "in_caseload", "expected"),
    [
        (Role.FRONT_DESK, True, False),
        (Role.FRONT_DESK, False, False),
        (Role.CLINICIAN, True, True),
        (Role.CLINICIAN, False, False),
        (Role.SUPERVISOR, True, True),
        (Role.SUPERVISOR, False, True),
        (Role.ADMINISTRATOR, True, False),
        (Role.ADMINISTRATOR, False, False),
    ],
)
def test_may_read_clinical_only_for_clinicians_caseload_and_supervisors(role, in_caseload, expected):
    user = _user(role)
    if in_caseload:
        # The front desk's own caseload is the patient it registered; the others', a case they lead.
        patient = (
            CaseFactory(primary_clinician=user).patient
            if role != Role.FRONT_DESK
            else PatientFactory(created_by=user)
        )
    else:
        patient = CaseFactory(primary_clinician=_user(Role.CLINICIAN)).patient

    assert may_read_clinical(user, patient) is expected


def test_a_clinician_may_break_glass_for_a_patient_outside_the_caseload(clinician, other_case):
    assert may_break_glass(clinician, other_case.patient) is True


def test_a_clinician_may_not_break_glass_for_a_patient_already_in_the_caseload(clinician, own_case):
    assert may_break_glass(clinician, own_case.patient) is False


def test_a_clinician_may_not_break_glass_again_while_a_grant_is_active(clinician, other_case):
    BreakGlassGrantFactory(user=clinician, patient=other_case.patient)

    assert may_break_glass(clinician, other_case.patient) is False


def test_a_clinician_may_break_glass_again_once_the_grant_expired(clinician, other_case):
    now = timezone.now()
    BreakGlassGrantFactory(
        user=clinician,
        patient=other_case.patient,
        granted_at=now - dt.timedelta(hours=5),
        expires_at=now - dt.timedelta(hours=1),
    )

    assert may_break_glass(clinician, other_case.patient) is True


def test_a_clinician_may_not_break_glass_for_a_patient_entered_in_error(clinician):
    patient = PatientFactory(entered_in_error=True, entered_in_error_reason="Duplicate record")

    assert may_break_glass(clinician, patient) is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    "roles",
    [
        (Role.FRONT_DESK,),
        (Role.SUPERVISOR,),
        (Role.ADMINISTRATOR,),
        (Role.SUPERVISOR, Role.CLINICIAN),
        (),
    ],
    ids=lambda roles: "+".join(roles) or "no-roles",
)
def test_only_clinicians_without_wider_access_may_break_glass(roles, other_case):
    assert may_break_glass(_user(*roles), other_case.patient) is False


def test_an_inactive_clinician_may_not_break_glass(other_case):
    assert may_break_glass(_user(Role.CLINICIAN, is_active=False), other_case.patient) is False


# --- The scoped querysets return exactly the expected rows ------------------------------------------------------


@pytest.fixture
def clinic_world(clinician, other_clinician, front_desk):
    """One patient per way into (or out of) the clinician's caseload, each with its case and a visit."""
    own = CaseFactory(primary_clinician=clinician)
    team_closed = ClosedCaseFactory(primary_clinician=other_clinician, care_team=[clinician])
    granted = CaseFactory(primary_clinician=other_clinician)
    BreakGlassGrantFactory(user=clinician, patient=granted.patient)
    others = CaseFactory(primary_clinician=other_clinician)
    error = CaseFactory(
        primary_clinician=clinician,
        patient__entered_in_error=True,
        patient__entered_in_error_reason="Duplicate record",
    )
    cases = {"own": own, "team_closed": team_closed, "granted": granted, "others": others, "error": error}
    patients = {name: case.patient for name, case in cases.items()}
    patients["registered"] = PatientFactory(created_by=clinician)
    patients["front_desk_registered"] = PatientFactory(created_by=front_desk)
    visits = {name: VisitFactory(case=case, clinician=other_clinician) for name, case in cases.items()}
    return {"patients": patients, "cases": cases, "visits": visits}


CLINICIANS_CASELOAD = {"own", "team_closed", "granted", "registered"}
EVERYONE_BUT_ERROR = {"own", "team_closed", "granted", "others", "registered", "front_desk_registered"}
SCOPED_NAMES = [
    pytest.param(Role.FRONT_DESK, EVERYONE_BUT_ERROR, id="front_desk"),
    pytest.param(Role.CLINICIAN, CLINICIANS_CASELOAD, id="clinician"),
    pytest.param(Role.SUPERVISOR, EVERYONE_BUT_ERROR, id="supervisor"),
    pytest.param(Role.ADMINISTRATOR, set(), id="administrator"),
]


def _as(role: Role, request: pytest.FixtureRequest) -> User:
    """The conftest's user for a role (the clinician is the one `clinic_world` is built around)."""
    return request.getfixturevalue(str(role))


def _ids(rows: dict[str, Any], names: set[str]) -> set[Any]:
    return {row.pk for name, row in rows.items() if name in names}


@pytest.mark.parametrize(("role", "names"), SCOPED_NAMES)
def test_patients_in_scope_returns_exactly_the_expected_patients(clinic_world, role, names, request):
    user = _as(role, request)

    ids = set(patients_in_scope(user, Capability.READ_DEMOGRAPHICS).values_list("pk", flat=True))
    assert ids == _ids(clinic_world["patients"], names)


@pytest.mark.parametrize(("role", "names"), SCOPED_NAMES)
def test_cases_in_scope_returns_exactly_the_expected_cases(clinic_world, role, names, request):
    user = _as(role, request)

    ids = set(cases_in_scope(user, Capability.READ_DEMOGRAPHICS).values_list("pk", flat=True))
    assert ids == _ids(clinic_world["cases"], names)


@pytest.mark.parametrize(("role", "names"), SCOPED_NAMES)
def test_visits_in_scope_returns_exactly_the_expected_visits(clinic_world, role, names, request):
    user = _as(role, request)

    ids = set(visits_in_scope(user, Capability.SCHEDULE_VISITS).values_list("pk", flat=True))
    assert ids == _ids(clinic_world["visits"], names)


def test_front_desk_has_no_clinical_scope_even_over_patients_it_sees(clinic_world, front_desk):
    assert list(cases_in_scope(front_desk, Capability.READ_CLINICAL)) == []


# --- Query counts --------------------------------------------------------------------------------------------------


def _fill_caseload(clinician: User, other_clinician: User, rounds: int) -> None:
    for _ in range(rounds):
        CaseFactory(primary_clinician=clinician)
        ClosedCaseFactory(primary_clinician=other_clinician, care_team=[clinician])
        BreakGlassGrantFactory(user=clinician)
        PatientFactory(created_by=clinician)
        CaseFactory(primary_clinician=other_clinician)


@pytest.mark.parametrize("rounds", [1, 15])
def test_patients_in_scope_for_a_clinician_runs_in_one_query(
    clinician, other_clinician, django_assert_max_num_queries, rounds
):
    _fill_caseload(clinician, other_clinician, rounds)
    assert clinician.roles  # read once per request, before any scoped query

    with django_assert_max_num_queries(1):
        patients = list(patients_in_scope(clinician, Capability.READ_DEMOGRAPHICS))

    assert len(patients) == 4 * rounds


@pytest.mark.parametrize("rounds", [1, 15])
def test_cases_and_visits_in_scope_for_a_clinician_run_in_one_query_each(
    clinician, other_clinician, django_assert_max_num_queries, rounds
):
    _fill_caseload(clinician, other_clinician, rounds)
    assert clinician.roles

    with django_assert_max_num_queries(2):
        list(cases_in_scope(clinician, Capability.READ_CLINICAL))
        list(visits_in_scope(clinician, Capability.SCHEDULE_VISITS))


def test_may_for_a_clinician_costs_one_query(clinician, own_case, django_assert_max_num_queries):
    assert clinician.roles

    with django_assert_max_num_queries(1):
        assert may(clinician, Capability.READ_CLINICAL, own_case.patient) is True


# --- Opening a case: intake for new patients, readmission for the caseload, never another's former patient ------


@pytest.mark.django_db
def test_a_clinician_may_open_a_case_for_a_patient_with_no_case_yet(clinician):
    new_patient = PatientFactory()

    assert may(clinician, Capability.OPEN_CASE, new_patient) is True
    assert may(clinician, Capability.READ_CLINICAL, new_patient) is False


@pytest.mark.django_db
def test_a_clinician_may_readmit_a_former_patient_of_their_own(clinician):
    patient = ClosedCaseFactory(primary_clinician=clinician).patient

    assert may(clinician, Capability.OPEN_CASE, patient) is True


@pytest.mark.django_db
def test_a_clinician_may_not_open_a_case_on_another_clinicians_former_patient(clinician, other_clinician):
    """Else opening a case would hand over that patient's clinical history without break-glass."""
    patient = ClosedCaseFactory(primary_clinician=other_clinician).patient

    assert may(clinician, Capability.OPEN_CASE, patient) is False
    assert patient not in patients_in_scope(clinician, Capability.OPEN_CASE)
