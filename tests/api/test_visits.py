"""Visits: scoping, what front desk may see and write, signing and addenda, filters on clinic-local dates."""

import datetime as dt
import zoneinfo

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Visit, VisitAddendum
from clinic.roles import Role
from tests.api.conftest import AUDIT_APPEND_QUERIES, ids
from tests.factories import (
    AttendedVisitFactory,
    CaseFactory,
    ClosedCaseFactory,
    VisitFactory,
)

LIST_URL = "/api/v1/visits/"
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
# Everything front desk must never see in a visit (SPEC section 2).
CLINICAL_KEYS = {
    "subjective", "objective", "assessment", "plan", "craving", "kratom_days_used_30", "kratom_daily_grams",
    "withdrawal_symptoms", "bp_systolic", "bp_diastolic", "bp_class", "heart_rate", "weight_kg", "signed_at",
    "signed_by", "addenda",
}  # fmt: skip
SCHEDULING_KEYS = {
    "id",
    "case",
    "patient",
    "clinician",
    "visit_type",
    "scheduled_at",
    "duration_minutes",
    "status",
}


def detail_url(visit: Visit) -> str:
    return f"/api/v1/visits/{visit.id}/"


def sign_url(visit: Visit) -> str:
    return f"/api/v1/visits/{visit.id}/sign/"


def addenda_url(visit: Visit) -> str:
    return f"/api/v1/visits/{visit.id}/addenda/"


def new_visit(clinic) -> dict[str, object]:
    return {
        "case": str(clinic.own_case.id),
        "clinician": str(clinic.own_case.primary_clinician_id),
        "visit_type": "medication_management",
        "scheduled_at": (timezone.now() + dt.timedelta(days=2)).isoformat(),
    }


ENDPOINTS = {
    "list": ("get", lambda c: LIST_URL, lambda c: None),
    "create": ("post", lambda c: LIST_URL, new_visit),
    "retrieve": ("get", lambda c: detail_url(c.own_visit), lambda c: None),
    "patch": ("patch", lambda c: detail_url(c.own_visit), lambda c: {"duration_minutes": 45}),
    "sign": ("post", lambda c: sign_url(c.own_visit), lambda c: None),
    "addenda": (
        "post",
        lambda c: addenda_url(c.own_signed_visit),
        lambda c: {"text": "Craving was 4, not 3."},
    ),
}

ROLE_MATRIX = [
    ("anonymous", "list", 401),
    ("anonymous", "create", 401),
    ("anonymous", "retrieve", 401),
    ("anonymous", "patch", 401),
    ("anonymous", "sign", 401),
    ("anonymous", "addenda", 401),
    ("front_desk", "list", 200),
    ("front_desk", "create", 201),
    ("front_desk", "retrieve", 200),
    ("front_desk", "patch", 200),
    ("front_desk", "sign", 403),
    ("front_desk", "addenda", 403),
    ("clinician", "list", 200),
    ("clinician", "create", 201),
    ("clinician", "retrieve", 200),
    ("clinician", "patch", 200),
    ("clinician", "sign", 200),
    ("clinician", "addenda", 201),
    ("supervisor", "list", 200),
    ("supervisor", "create", 201),
    ("supervisor", "retrieve", 200),
    ("supervisor", "patch", 200),
    ("supervisor", "sign", 200),
    ("supervisor", "addenda", 201),
    ("administrator", "list", 403),
    ("administrator", "create", 403),
    ("administrator", "retrieve", 403),
    ("administrator", "patch", 403),
    ("administrator", "sign", 403),
    ("administrator", "addenda", 403),
]


def call(client, clinic, endpoint: str):
    method, url, body = ENDPOINTS[endpoint]
    return getattr(client, method)(url(clinic), body(clinic), format="json")


@pytest.mark.parametrize(("role", "endpoint", "expected"), ROLE_MATRIX)
def test_role_gets_the_expected_status(as_user, clinic, role, endpoint, expected):
    response = call(as_user(role), clinic, endpoint)

    assert response.status_code == expected, response.content


@pytest.mark.parametrize("role", ["anonymous", "front_desk", "administrator"])
def test_refused_signature_and_addendum_leave_the_note_alone(as_user, clinic, role):
    client = as_user(role)

    call(client, clinic, "sign")
    call(client, clinic, "addenda")

    assert Visit.objects.get(pk=clinic.own_visit.pk).signed_at is None
    assert not VisitAddendum.objects.exists()


@pytest.mark.parametrize("role", ["anonymous", "administrator"])
def test_refused_scheduling_creates_no_visit(as_user, clinic, role):
    before = Visit.objects.count()

    call(as_user(role), clinic, "create")

    assert Visit.objects.count() == before


@pytest.mark.parametrize(
    ("method", "url", "target", "body"),
    [
        ("get", detail_url, "other_visit", None),
        ("patch", detail_url, "other_visit", {"duration_minutes": 45}),
        ("post", sign_url, "other_visit", None),
        ("post", addenda_url, "other_signed_visit", {"text": "Craving was 4, not 3."}),
    ],
    ids=["retrieve", "patch", "sign", "addenda"],
)
def test_clinician_gets_404_for_another_clinicians_visit_and_nothing_changes(
    as_user, clinic, method, url, target, body
):
    visit = getattr(clinic, target)

    response = getattr(as_user("clinician"), method)(url(visit), body, format="json")

    assert response.status_code == 404
    visit.refresh_from_db()
    assert (visit.duration_minutes, visit.signed_at is None) == (50, target == "other_visit")
    assert not VisitAddendum.objects.exists()


def test_clinician_lists_only_their_caseloads_visits(as_user, clinic):
    response = as_user("clinician").get(LIST_URL)

    assert ids(response) == {str(clinic.own_visit.id), str(clinic.own_signed_visit.id)}


@pytest.mark.parametrize("key", ["case", "patient", "clinician"])
def test_filtering_on_another_clinicians_records_finds_nothing(as_user, clinic, other_clinician, key):
    value = {
        "case": clinic.other_case.id,
        "patient": clinic.other_patient.id,
        "clinician": other_clinician.id,
    }[key]

    response = as_user("clinician").get(LIST_URL, {key: str(value)})

    assert response.status_code == 200
    assert ids(response) == set()


@pytest.mark.parametrize("role", ["front_desk", "supervisor"])
def test_front_desk_and_supervisor_list_every_visit(as_user, clinic, role):
    response = as_user(role).get(LIST_URL)

    assert ids(response) == {
        str(v.id)
        for v in (clinic.own_visit, clinic.own_signed_visit, clinic.other_visit, clinic.other_signed_visit)
    }


def test_clinician_cannot_schedule_on_another_clinicians_case(as_user, clinic):
    body = {**new_visit(clinic), "case": str(clinic.other_case.id)}
    before = Visit.objects.count()

    response = as_user("clinician").post(LIST_URL, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["case"]
    assert Visit.objects.count() == before


# What front desk sees and writes.


@pytest.mark.parametrize("endpoint", ["list", "retrieve", "create", "patch"])
def test_front_desk_sees_scheduling_and_attendance_but_no_clinical_field(as_user, clinic, endpoint):
    VisitAddendum.objects.create(
        visit=clinic.own_signed_visit, author=clinic.own_visit.clinician, text="Fix."
    )

    response = call(as_user("front_desk"), clinic, endpoint)

    body = response.json()
    rows = body["results"] if endpoint == "list" else [body]
    assert rows
    for row in rows:
        assert set(row) & CLINICAL_KEYS == set()
        assert set(row) >= SCHEDULING_KEYS


@pytest.mark.parametrize("role", ["clinician", "supervisor"])
def test_clinicians_see_the_note_vitals_signature_and_addenda(as_user, clinic, clinician, role):
    visit = clinic.own_signed_visit
    Visit.objects.filter(pk=visit.pk).update(craving=3, bp_systolic=128, bp_diastolic=82)
    addendum = VisitAddendum.objects.create(visit=visit, author=clinician, text="Craving was 4, not 3.")

    body = as_user(role).get(detail_url(visit)).json()

    assert set(body) >= CLINICAL_KEYS | SCHEDULING_KEYS
    assert (body["subjective"], body["craving"], body["bp_systolic"]) == (visit.subjective, 3, 128)
    assert body["signed_by"] == str(clinician.id)
    assert body["addenda"] == [
        {
            "id": str(addendum.id),
            "author": str(clinician.id),
            "created_at": body["addenda"][0]["created_at"],
            "text": "Craving was 4, not 3.",
        }
    ]
    assert (body["patient"], body["case"]) == (str(clinic.own_patient.id), str(clinic.own_case.id))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subjective", "Feels fine."),
        ("craving", 2),
        ("bp_systolic", 120),
        ("kratom_daily_grams", 4),
        ("withdrawal_symptoms", ["insomnia"]),
    ],
)
def test_front_desk_writing_a_clinical_field_is_a_400_naming_it(as_user, clinic, field, value):
    response = as_user("front_desk").patch(
        detail_url(clinic.own_visit), {"duration_minutes": 45, field: value}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [field]
    visit = Visit.objects.get(pk=clinic.own_visit.pk)
    assert (visit.duration_minutes, visit.subjective, visit.craving) == (
        50,
        clinic.own_visit.subjective,
        None,
    )


@pytest.mark.parametrize("status", ["no_show", "cancelled", "late_cancel", "attended"])
def test_front_desk_marks_attendance(as_user, clinic, status):
    # Started a minute ago: today (a check-in) and past its start (a no-show).
    visit = VisitFactory(
        case=clinic.own_case,
        clinician=clinic.own_visit.clinician,
        scheduled_at=timezone.now() - dt.timedelta(minutes=1),
    )

    response = as_user("front_desk").patch(detail_url(visit), {"status": status}, format="json")

    assert response.status_code == 200
    assert Visit.objects.get(pk=visit.pk).status == status


def test_front_desk_schedules_on_any_open_case(as_user, clinic, front_desk):
    body = {**new_visit(clinic), "case": str(clinic.other_case.id)}

    response = as_user("front_desk").post(LIST_URL, body, format="json")

    assert response.status_code == 201
    visit = Visit.objects.get(pk=response.json()["id"])
    assert (visit.case, visit.status, visit.created_by) == (clinic.other_case, "scheduled", front_desk)


def test_scheduling_on_a_closed_case_is_a_400(as_user, clinician):
    closed = ClosedCaseFactory(primary_clinician=clinician)
    body = {
        "case": str(closed.id),
        "clinician": str(clinician.id),
        "visit_type": "intake",
        "scheduled_at": (timezone.now() + dt.timedelta(days=1)).isoformat(),
    }

    response = as_user("clinician").post(LIST_URL, body, format="json")

    assert response.status_code == 400
    assert "case" in response.json()
    assert not Visit.objects.filter(case=closed).exists()


# Writable fields, signing and addenda.


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("signed_at", "2025-01-01T10:00:00Z"),
        ("signed_by", "clinician"),
        ("addenda", []),
        ("case", "other_case"),
        ("patient", "other_patient"),
        ("id", "00000000-0000-4000-8000-000000000000"),
        ("created_at", "2020-01-01T00:00:00Z"),
    ],
)
def test_server_owned_field_on_patch_is_a_400_naming_it_and_changes_nothing(
    as_user, clinic, clinician, field, value
):
    if isinstance(value, str):
        value = {
            "clinician": str(clinician.id),
            "other_case": str(clinic.other_case.id),
            "other_patient": str(clinic.other_patient.id),
        }.get(value, value)

    response = as_user("clinician").patch(
        detail_url(clinic.own_visit), {"craving": 5, field: value}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [field]
    visit = Visit.objects.get(pk=clinic.own_visit.pk)
    assert (visit.signed_at, visit.signed_by, visit.case, visit.craving) == (
        None,
        None,
        clinic.own_case,
        None,
    )


@pytest.mark.parametrize(("field", "value"), [("signed_at", "2025-01-01T10:00:00Z"), ("status", "attended")])
def test_server_owned_field_on_scheduling_is_a_400_naming_it(as_user, clinic, field, value):
    before = Visit.objects.count()

    response = as_user("clinician").post(LIST_URL, {**new_visit(clinic), field: value}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Visit.objects.count() == before


def test_clinician_writes_the_note_and_vitals(as_user, clinic):
    body = {
        "objective": "Alert, calm.",
        "craving": 3,
        "bp_systolic": 128,
        "bp_diastolic": 82,
        "heart_rate": 70,
    }

    response = as_user("clinician").patch(detail_url(clinic.own_visit), body, format="json")

    assert response.status_code == 200
    visit = Visit.objects.get(pk=clinic.own_visit.pk)
    assert (visit.objective, visit.craving, visit.bp_systolic, visit.bp_diastolic, visit.heart_rate) == (
        "Alert, calm.",
        3,
        128,
        82,
        70,
    )


@pytest.mark.parametrize(
    ("systolic", "diastolic", "bp_class"),
    [
        (None, None, None),
        (119, 79, "normal"),
        (120, 79, "elevated"),
        (129, 79, "elevated"),
        (125, 80, "stage_1"),  # the numbers fall in different classes: the higher holds
        (139, 70, "stage_1"),
        (140, 70, "stage_2"),
        (118, 90, "stage_2"),
        (180, 120, "stage_2"),
        (181, 100, "crisis"),
        (150, 121, "crisis"),
    ],
)
def test_visit_shows_the_blood_pressure_class(as_user, clinic, systolic, diastolic, bp_class):
    Visit.objects.filter(pk=clinic.own_visit.pk).update(bp_systolic=systolic, bp_diastolic=diastolic)

    body = as_user("clinician").get(detail_url(clinic.own_visit)).json()

    assert body["bp_class"] == bp_class


def test_the_blood_pressure_class_is_computed_never_sent(as_user, clinic):
    response = as_user("clinician").patch(
        detail_url(clinic.own_visit),
        {"bp_systolic": 120, "bp_diastolic": 70, "bp_class": "crisis"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["bp_class"]
    assert Visit.objects.get(pk=clinic.own_visit.pk).bp_systolic is None


def test_signing_locks_the_note_under_the_signers_name(as_user, clinic, supervisor):
    response = as_user("supervisor").post(sign_url(clinic.own_visit))

    assert response.status_code == 200
    visit = Visit.objects.get(pk=clinic.own_visit.pk)
    assert visit.signed_by == supervisor
    assert visit.signed_at is not None
    assert response.json()["signed_by"] == str(supervisor.id)


def test_signing_twice_is_a_409(as_user, clinic):
    signed = clinic.own_signed_visit

    response = as_user("clinician").post(sign_url(signed))

    assert response.status_code == 409
    assert Visit.objects.get(pk=signed.pk).signed_at == signed.signed_at


@pytest.mark.parametrize(
    ("role", "body"),
    [
        ("clinician", {"craving": 4}),
        ("clinician", {"subjective": "Rewritten."}),
        ("supervisor", {"plan": "Rewritten."}),
        ("front_desk", {"duration_minutes": 30}),
        ("front_desk", {"status": "no_show"}),
    ],
)
def test_editing_a_signed_visit_is_a_409(as_user, clinic, role, body):
    signed = clinic.own_signed_visit

    response = as_user(role).patch(detail_url(signed), body, format="json")

    assert response.status_code == 409
    visit = Visit.objects.get(pk=signed.pk)
    assert (visit.craving, visit.subjective, visit.duration_minutes, visit.status) == (
        None,
        signed.subjective,
        50,
        "attended",
    )


def test_addendum_records_its_author_beside_the_unchanged_note(as_user, clinic, clinician):
    response = call(as_user("clinician"), clinic, "addenda")

    assert response.status_code == 201
    addendum = VisitAddendum.objects.get()
    assert (addendum.visit, addendum.author, addendum.text) == (
        clinic.own_signed_visit,
        clinician,
        "Craving was 4, not 3.",
    )
    assert response.json()["id"] == str(addendum.id)
    assert Visit.objects.get(pk=clinic.own_signed_visit.pk).subjective == clinic.own_signed_visit.subjective


@pytest.mark.parametrize(
    ("target", "body", "field"),
    [
        ("own_visit", {"text": "Too early."}, "visit"),
        ("own_signed_visit", {"text": "   "}, "text"),
        ("own_signed_visit", {}, "text"),
    ],
    ids=["unsigned", "blank", "missing"],
)
def test_addendum_refused_is_a_400(as_user, clinic, target, body, field):
    response = as_user("clinician").post(addenda_url(getattr(clinic, target)), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not VisitAddendum.objects.exists()


def test_signing_a_visit_that_was_not_attended_is_a_400(as_user, clinic):
    visit = VisitFactory(case=clinic.own_case, clinician=clinic.own_visit.clinician)

    response = as_user("clinician").post(sign_url(visit))

    assert response.status_code == 400
    assert Visit.objects.get(pk=visit.pk).signed_at is None


# Filters.


def chicago(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHICAGO)


@pytest.fixture
def dated_visits(clinic, clinician):
    case = clinic.own_case
    return {
        "late_on_10th": VisitFactory(
            case=case, clinician=clinician, scheduled_at=chicago(2025, 3, 10, 23, 30)
        ),
        "early_on_11th": VisitFactory(
            case=case, clinician=clinician, scheduled_at=chicago(2025, 3, 11, 0, 30)
        ),
        "noon_on_12th": VisitFactory(
            case=case, clinician=clinician, scheduled_at=chicago(2025, 3, 12, 12, 0)
        ),
        "first_of_july": VisitFactory(case=case, clinician=clinician, scheduled_at=chicago(2025, 7, 1, 0, 0)),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"date_from": "2025-03-10", "date_to": "2025-03-10"}, {"late_on_10th"}),
        ({"date_from": "2025-03-11", "date_to": "2025-03-11"}, {"early_on_11th"}),
        ({"date_from": "2025-03-11", "date_to": "2025-03-12"}, {"early_on_11th", "noon_on_12th"}),
        ({"date_to": "2025-03-10"}, {"late_on_10th"}),
        ({"date_from": "2025-07-01", "date_to": "2025-07-01"}, {"first_of_july"}),
        ({"date_from": "2025-06-30", "date_to": "2025-06-30"}, set()),
        ({"date_from": "2025-03-13", "date_to": "2025-06-30"}, set()),
    ],
)
def test_date_filters_use_clinic_local_days(as_user, dated_visits, query, expected):
    response = as_user("clinician").get(LIST_URL, query)

    assert ids(response) == {str(dated_visits[key].id) for key in expected}


@pytest.fixture
def sorted_visits(clinician, other_clinician):
    second_case = CaseFactory(primary_clinician=clinician)
    return {
        "scheduled": VisitFactory(case=CaseFactory(primary_clinician=clinician), clinician=clinician),
        "no_show": VisitFactory(case=second_case, clinician=other_clinician, status="no_show"),
        "attended": AttendedVisitFactory(case=second_case, clinician=clinician),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "no_show"}, {"no_show"}),
        ({"status": "attended"}, {"attended"}),
        ({"status": "scheduled"}, {"scheduled"}),
        ({"clinician": "other_clinician"}, {"no_show"}),
        ({"case": "second_case"}, {"no_show", "attended"}),
        ({"patient": "second_patient"}, {"no_show", "attended"}),
        ({"case": "second_case", "clinician": "clinician"}, {"attended"}),
    ],
)
def test_visit_filters(as_user, clinician, other_clinician, sorted_visits, query, expected):
    second_case = sorted_visits["attended"].case
    values = {
        "other_clinician": str(other_clinician.id),
        "clinician": str(clinician.id),
        "second_case": str(second_case.id),
        "second_patient": str(second_case.patient_id),
    }

    response = as_user("supervisor").get(LIST_URL, {key: values.get(v, v) for key, v in query.items()})

    assert ids(response) == {str(sorted_visits[key].id) for key in expected}


def test_visits_are_listed_latest_first(as_user, dated_visits):
    response = as_user("supervisor").get(LIST_URL, {"date_from": "2025-03-01", "date_to": "2025-07-31"})

    assert [row["id"] for row in response.json()["results"]] == [
        str(dated_visits[key].id)
        for key in ("first_of_july", "noon_on_12th", "early_on_11th", "late_on_10th")
    ]


# Query counts: the bound holds for 5 rows and for 60.

# The audit event of the read is part of the count.
LIST_QUERIES = 4 + AUDIT_APPEND_QUERIES  # groups, count, page (with its case), addenda; audit event
DETAIL_QUERIES = 4 + AUDIT_APPEND_QUERIES  # groups, visit (with its case), addenda, history; audit event


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
@pytest.mark.parametrize("rows", [5, 60])
def test_visit_list_query_count_does_not_grow_with_rows(
    as_user, busy_caseload, role, rows, django_assert_max_num_queries
):
    busy_caseload(rows)
    client = as_user(role)

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(LIST_URL, {"page_size": 60})

    assert len(response.json()["results"]) == min(2 * rows, 60)


@pytest.mark.parametrize("rows", [5, 60])
def test_visit_detail_query_count_does_not_grow_with_addenda(
    as_user, clinic, clinician, rows, django_assert_max_num_queries
):
    visit = clinic.own_signed_visit
    VisitAddendum.objects.bulk_create(
        [VisitAddendum(visit=visit, author=clinician, text=f"Addendum {n}.") for n in range(rows)]
    )
    client = as_user("clinician")

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(detail_url(visit))

    assert len(response.json()["addenda"]) == rows


@pytest.mark.parametrize(("url", "bound"), [("list", LIST_QUERIES), ("detail", DETAIL_QUERIES)])
def test_visit_query_bounds_are_tight(as_user, busy_caseload, url, bound):
    visit = busy_caseload(5)[0].visits.first()
    client = as_user("clinician")

    with CaptureQueriesContext(connection) as queries:
        client.get(LIST_URL if url == "list" else detail_url(visit))

    assert len(queries) == bound


@pytest.mark.parametrize(("query", "length"), [({"page_size": 3}, 3), ({"page_size": 500}, 4), ({}, 4)])
def test_visit_list_is_paginated(as_user, clinic, query, length):
    body = as_user("supervisor").get(LIST_URL, query).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert (body["count"], len(body["results"]), body["previous"]) == (4, length, None)
    assert (body["next"] is not None) is (length == 3)


def test_clinician_also_at_the_front_desk_sees_notes_only_for_their_caseload(as_user, clinic, clinician):
    clinician.groups.add(Group.objects.get(name=Role.FRONT_DESK))

    rows = {row["id"]: row for row in as_user(clinician).get(LIST_URL).json()["results"]}

    assert len(rows) == 4
    assert rows[str(clinic.own_visit.id)]["subjective"] == clinic.own_visit.subjective
    assert set(rows[str(clinic.other_visit.id)]) & CLINICAL_KEYS == set()
    assert set(rows[str(clinic.other_signed_visit.id)]) & CLINICAL_KEYS == set()


def test_clinician_also_at_the_front_desk_may_not_write_notes_outside_their_caseload(
    as_user, clinic, clinician
):
    clinician.groups.add(Group.objects.get(name=Role.FRONT_DESK))

    response = as_user(clinician).patch(detail_url(clinic.other_visit), {"craving": 3}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["craving"]
    assert Visit.objects.get(pk=clinic.other_visit.pk).craving is None


# --- Default durations (issue 15) ---


def test_the_api_books_the_types_default_when_no_duration_is_sent(as_user, own_case):
    response = as_user("front_desk").post(
        "/api/v1/visits/",
        {
            "case": str(own_case.pk),
            "clinician": str(own_case.primary_clinician_id),
            "visit_type": "group_counseling",
            "scheduled_at": (timezone.now() + dt.timedelta(days=2)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["duration_minutes"] == 90


# Writes (issue 14): the request's own queries, counted with the savepoint pair of the service's transaction (a
# BEGIN/COMMIT outside the tests). Create: roles, the case in scope, the clinician with roles, savepoint, the
# patient's and the clinician's row locks, the overlap check, the INSERT, its audit event, release, the read back.
CREATE_QUERIES = 12
# Update: roles, the visit in scope (with case and patient), savepoint, the row lock (with its case), UPDATE,
# audit event, the alert rules' check, release, the read back (visit, addenda, history).
UPDATE_QUERIES = 12
# Sign: roles, the visit in scope, savepoint, the row lock (with its case), UPDATE, audit event, release, the read.
SIGN_QUERIES = 10


@pytest.mark.parametrize("role", ["clinician", "supervisor", "front_desk"])
def test_booking_a_visit_stays_within_its_query_bound(as_user, clinic, role, django_assert_max_num_queries):
    client = as_user(role)

    with django_assert_max_num_queries(CREATE_QUERIES):
        response = client.post(LIST_URL, new_visit(clinic), format="json")

    assert response.status_code == 201, response.content
    assert response.json()["history"] == []


@pytest.mark.parametrize("role", ["clinician", "supervisor"])
def test_writing_the_note_stays_within_its_query_bound(as_user, clinic, role, django_assert_max_num_queries):
    client = as_user(role)
    body = {"subjective": "Better.", "bp_systolic": 130, "bp_diastolic": 80, "craving": 3}

    with django_assert_max_num_queries(UPDATE_QUERIES):
        response = client.patch(detail_url(clinic.own_visit), body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["craving"] == 3


@pytest.mark.parametrize("role", ["clinician", "supervisor"])
def test_signing_stays_within_its_query_bound(as_user, clinic, role, django_assert_max_num_queries):
    client = as_user(role)

    with django_assert_max_num_queries(SIGN_QUERIES):
        response = client.post(sign_url(clinic.own_visit), format="json")

    assert response.status_code == 200, response.content
    assert response.json()["signed_at"]
