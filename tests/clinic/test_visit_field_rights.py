"""Which visit fields a user may write is the policy's answer (`clinic.policy.writable_visit_fields`), and both
entry points follow it: the API's `PATCH visits/{id}/` and the staff pages (the note form, the reschedule form)
write a field for exactly the same accounts and refuse it for the same others (a 400 naming the field or a 404 in
the API; a 403 or 404, or a form without that input, on a page). The expected answers are written out here from
SPEC section 2, not read from the policy."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cases.models import Case, Visit
from clinic.models import User
from clinic.policy import (
    VISIT_CLINICAL_FIELDS,
    VISIT_SCHEDULING_FIELDS,
    Capability,
    capabilities_on,
    writable_visit_fields,
)
from clinic.roles import Role
from tests.factories import (
    AttendedVisitFactory,
    BreakGlassGrantFactory,
    CaseFactory,
    PatientFactory,
    UserFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

FD, CL, SU, AD = Role.FRONT_DESK, Role.CLINICIAN, Role.SUPERVISOR, Role.ADMINISTRATOR

# (account's roles, whose patient) -> (may write scheduling fields, may write the note and vitals). SPEC section 2:
# scheduling: front desk all, clinicians their caseload, supervisors all; notes: clinicians their caseload,
# supervisors all; administrators neither. A multi-role account has each right with its own role's scope.
CASES: dict[str, tuple[tuple[Role, ...], str, bool, bool]] = {
    "front_desk": ((FD,), "other", True, False),
    "clinician_own": ((CL,), "own", True, True),
    "clinician_other": ((CL,), "other", False, False),
    "clinician_under_break_glass": ((CL,), "granted", True, True),
    "supervisor": ((SU,), "other", True, True),
    "administrator": ((AD,), "other", False, False),
    "front_desk_and_clinician_other": ((FD, CL), "other", True, False),
    "front_desk_and_clinician_own": ((FD, CL), "own", True, True),
    "clinician_and_administrator_other": ((CL, AD), "other", False, False),
    "supervisor_and_administrator": ((SU, AD), "other", True, True),
}


@pytest.fixture
def setup(other_clinician) -> Callable[[str], tuple[User, Case]]:
    """`setup(name)` -> the account of `CASES[name]` and the case its visit is on."""

    def make(name: str) -> tuple[User, Case]:
        roles, whose, _, _ = CASES[name]
        user = UserFactory(roles=list(roles))
        if whose == "own":
            case = CaseFactory(primary_clinician=user)
        else:
            case = CaseFactory(primary_clinician=other_clinician)
            if whose == "granted":
                BreakGlassGrantFactory(user=user, patient=case.patient)
        return user, case

    return make


def attended_visit(case: Case) -> Visit:
    return AttendedVisitFactory(case=case, clinician=case.primary_clinician, subjective="")


@pytest.mark.parametrize("name", CASES)
def test_the_policy_answers_the_spec(setup, name):
    user, case = setup(name)
    _, _, scheduling, notes = CASES[name]

    writable = writable_visit_fields(user, case.patient)

    assert (
        set(VISIT_SCHEDULING_FIELDS) <= writable
        if scheduling
        else not set(VISIT_SCHEDULING_FIELDS) & writable
    )
    assert ("status" in writable) is scheduling
    assert set(VISIT_CLINICAL_FIELDS) <= writable if notes else not set(VISIT_CLINICAL_FIELDS) & writable


@pytest.mark.parametrize("name", CASES)
def test_the_api_and_the_note_page_write_the_note_for_the_same_accounts(setup, name):
    user, case = setup(name)
    notes = CASES[name][3]
    by_api, by_page = attended_visit(case), attended_visit(case)
    api = APIClient()
    api.force_authenticate(user)
    page = Client()
    page.force_login(user)

    answer = api.patch(f"/api/v1/visits/{by_api.pk}/", {"craving": 4}, format="json")
    page_answer = page.post(reverse("visit-note", args=[by_page.pk]), {"craving": "4"})

    by_api.refresh_from_db()
    by_page.refresh_from_db()
    assert (by_api.craving == 4) is notes
    assert (by_page.craving == 4) is notes
    if not notes:
        assert answer.status_code in (400, 403, 404)
        if answer.status_code == 400:
            assert "craving" in answer.json()
        assert page_answer.status_code in (403, 404)


@pytest.mark.parametrize("name", CASES)
def test_the_api_and_the_reschedule_page_change_the_length_for_the_same_accounts(setup, name):
    user, case = setup(name)
    scheduling = CASES[name][2]
    when = timezone.now() + dt.timedelta(days=3)
    by_api = VisitFactory(case=case, clinician=case.primary_clinician, scheduled_at=when, duration_minutes=50)
    by_page = VisitFactory(
        case=case,
        clinician=case.primary_clinician,
        scheduled_at=when + dt.timedelta(hours=3),
        duration_minutes=50,
    )
    api = APIClient()
    api.force_authenticate(user)
    page = Client()
    page.force_login(user)
    local = timezone.localtime(by_page.scheduled_at)

    answer = api.patch(f"/api/v1/visits/{by_api.pk}/", {"duration_minutes": 30}, format="json")
    page_answer = page.post(
        reverse("visit-reschedule-page", args=[by_page.pk]),
        {
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "duration_minutes": "30",
            "reason": "Shorter",
        },
    )

    by_api.refresh_from_db()
    by_page.refresh_from_db()
    assert (by_api.duration_minutes == 30) is scheduling, answer.content
    assert (by_page.duration_minutes == 30) is scheduling
    if not scheduling:
        assert answer.status_code in (403, 404)
        assert page_answer.status_code in (403, 404)


def test_a_front_desk_clinician_is_refused_the_note_of_another_clinicians_patient_naming_the_field(setup):
    user, case = setup("front_desk_and_clinician_other")
    visit = attended_visit(case)
    api = APIClient()
    api.force_authenticate(user)

    answer = api.patch(
        f"/api/v1/visits/{visit.pk}/", {"subjective": "x", "duration_minutes": 30}, format="json"
    )

    assert answer.status_code == 400
    assert "subjective" in answer.json()


def test_the_note_form_offers_only_what_the_policy_lets_write(clinician, own_case):
    """A form built for an account that may not write the note (the policy's answer) has no input for it."""
    from cases.web.visits_forms import NoteForm

    visit = attended_visit(own_case)
    form = NoteForm(visit=visit, writable=frozenset({"status", *VISIT_SCHEDULING_FIELDS}))

    assert not set(VISIT_CLINICAL_FIELDS) & set(form.fields)


def test_a_patient_entered_in_error_has_no_writable_field(supervisor):
    patient = PatientFactory(entered_in_error=True, entered_in_error_reason="Duplicate")

    assert writable_visit_fields(supervisor, patient) == frozenset()


def test_the_policy_asks_the_database_at_most_once(clinician, own_case, django_assert_max_num_queries):
    assert clinician.roles  # read with the user, as a request's user is (clinic.backends)
    with django_assert_max_num_queries(1):
        writable = writable_visit_fields(clinician, own_case.patient)
    assert set(VISIT_CLINICAL_FIELDS) <= writable


def test_a_patient_found_in_the_caseload_scope_costs_no_query(clinician, own_case, django_assert_num_queries):
    assert clinician.roles
    with django_assert_num_queries(0):
        allowed = capabilities_on(
            clinician,
            own_case.patient,
            (Capability.SCHEDULE_VISITS, Capability.WRITE_NOTES),
            found_with=Capability.WRITE_NOTES,
        )
    assert allowed == {Capability.SCHEDULE_VISITS, Capability.WRITE_NOTES}


def test_a_patient_found_in_a_wider_scope_is_still_checked(other_clinician, django_assert_num_queries):
    """Found through the front desk's scope (all patients), the clinician role's caseload is still asked."""
    user = UserFactory(roles=[FD, CL])
    case = CaseFactory(primary_clinician=other_clinician)
    assert user.roles

    with django_assert_num_queries(1):
        allowed = capabilities_on(
            user,
            case.patient,
            (Capability.SCHEDULE_VISITS, Capability.WRITE_NOTES),
            found_with=Capability.SCHEDULE_VISITS,
        )
    assert allowed == {Capability.SCHEDULE_VISITS}


# --- Case fields on opening: the same policy answer (`writable_case_fields`) through the API and the page ------

# (account's roles, the patient) -> (may set the primary clinician, may record the substance profile).
OPENING: dict[str, tuple[tuple[Role, ...], str, bool, bool]] = {
    "front_desk": ((FD,), "new", False, False),
    "clinician_new_patient": ((CL,), "new", False, True),
    "supervisor": ((SU,), "new", True, True),
    "front_desk_and_clinician_former_patient": ((FD, CL), "former", False, False),
    "front_desk_and_clinician_new_patient": ((FD, CL), "new", False, True),
}


@pytest.mark.parametrize("name", OPENING)
@pytest.mark.parametrize("field", ["kratom_daily_grams", "primary_clinician"])
def test_the_api_and_the_page_open_a_case_with_the_same_fields_written(other_clinician, name, field):
    from cases.models import Case as CaseModel
    from tests.factories import ClosedCaseFactory

    roles, which, assign, profile = OPENING[name]
    user = UserFactory(roles=list(roles))
    allowed = assign if field == "primary_clinician" else profile
    patients = []
    for _ in range(2):
        if which == "new":  # registered by the account (the page shows the patient: it must read them too)
            patients.append(PatientFactory(created_by=user))
        else:
            patients.append(ClosedCaseFactory(primary_clinician=other_clinician).patient)
    value = str(other_clinician.pk) if field == "primary_clinician" else "12.5"
    api = APIClient()
    api.force_authenticate(user)
    page = Client()
    page.force_login(user)

    answer = api.post(
        "/api/v1/cases/",
        {"patient": str(patients[0].pk), "referral_source": "self", field: value},
        format="json",
    )
    page.post(reverse("patient-open-case", args=[patients[1].pk]), {"referral_source": "self", field: value})

    def written(patient) -> bool:
        case = CaseModel.objects.filter(patient=patient, status="open").first()
        if case is None:
            return False
        got = case.primary_clinician_id if field == "primary_clinician" else case.kratom_daily_grams
        return str(got) == value

    assert written(patients[0]) is allowed, answer.content
    assert written(patients[1]) is allowed
    if not allowed:
        assert answer.status_code in (400, 403)
