"""Patients: who may list, register, read and edit whom; the duplicate check; filters; paging; break-glass."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import BreakGlassGrant, Case, Patient
from cases.services.patients import mrn_allocate
from tests.api.conftest import AUDIT_APPEND_QUERIES, ids
from tests.factories import (
    BreakGlassGrantFactory,
    CaseFactory,
    ClosedCaseFactory,
    PatientFactory,
    case_in_stage,
)

LIST_URL = "/api/v1/patients/"


def detail_url(patient: Patient) -> str:
    return f"/api/v1/patients/{patient.id}/"


def break_glass_url(patient: Patient) -> str:
    return f"/api/v1/patients/{patient.id}/break-glass/"


NEW_PATIENT = {
    "first_name": "Marisol",
    "last_name": "Quillfeather",
    "date_of_birth": "1988-03-14",
    "sex_at_birth": "female",
}
REASON = "Covering the on-call shift; the patient called in crisis."


# (method, url builder, body) per endpoint; targets lie in the clinician's caseload.
ENDPOINTS = {
    "list": ("get", lambda c: LIST_URL, None),
    "create": ("post", lambda c: LIST_URL, NEW_PATIENT),
    "retrieve": ("get", lambda c: detail_url(c.own_patient), None),
    "patch": ("patch", lambda c: detail_url(c.own_patient), {"phone": "785-555-0199"}),
    # Break-glass is by definition for a patient outside the caseload.
    "break_glass": ("post", lambda c: break_glass_url(c.other_patient), {"reason": REASON}),
}

ROLE_MATRIX = [
    ("anonymous", "list", 401),
    ("anonymous", "create", 401),
    ("anonymous", "retrieve", 401),
    ("anonymous", "patch", 401),
    ("anonymous", "break_glass", 401),
    ("front_desk", "list", 200),
    ("front_desk", "create", 201),
    ("front_desk", "retrieve", 200),
    ("front_desk", "patch", 200),
    ("front_desk", "break_glass", 403),
    ("clinician", "list", 200),
    ("clinician", "create", 201),
    ("clinician", "retrieve", 200),
    ("clinician", "patch", 200),
    ("clinician", "break_glass", 201),
    ("supervisor", "list", 200),
    ("supervisor", "create", 201),
    ("supervisor", "retrieve", 200),
    ("supervisor", "patch", 200),
    ("supervisor", "break_glass", 403),
    ("administrator", "list", 403),
    ("administrator", "create", 403),
    ("administrator", "retrieve", 403),
    ("administrator", "patch", 403),
    ("administrator", "break_glass", 403),
]


def call(client, clinic, endpoint: str):
    method, url, body = ENDPOINTS[endpoint]
    return getattr(client, method)(url(clinic), body, format="json")


@pytest.mark.parametrize(("role", "endpoint", "expected"), ROLE_MATRIX)
def test_role_gets_the_expected_status(as_user, clinic, role, endpoint, expected):
    response = call(as_user(role), clinic, endpoint)

    assert response.status_code == expected, response.content


@pytest.mark.parametrize("role", ["anonymous", "administrator"])
def test_refused_registration_creates_no_patient(as_user, clinic, role):
    before = Patient.objects.count()

    call(as_user(role), clinic, "create")

    assert Patient.objects.count() == before


@pytest.mark.parametrize("endpoint", ["retrieve", "patch"])
def test_clinician_gets_404_for_another_clinicians_patient(as_user, clinic, endpoint):
    method, _, body = ENDPOINTS[endpoint]

    response = getattr(as_user("clinician"), method)(detail_url(clinic.other_patient), body, format="json")

    assert response.status_code == 404
    assert Patient.objects.get(pk=clinic.other_patient.pk).phone == clinic.other_patient.phone


@pytest.mark.parametrize("endpoint", ["retrieve", "patch"])
def test_clinician_gets_404_for_a_patient_registered_at_the_front_desk(as_user, clinic, endpoint):
    method, _, body = ENDPOINTS[endpoint]

    response = getattr(as_user("clinician"), method)(
        detail_url(clinic.unassigned_patient), body, format="json"
    )

    assert response.status_code == 404


@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_unknown_patient_id_is_a_404(as_user, clinic, role):
    response = as_user(role).get("/api/v1/patients/00000000-0000-4000-8000-000000000000/")

    assert response.status_code == 404


@pytest.mark.parametrize("role", ["front_desk", "supervisor"])
def test_patient_entered_in_error_answers_404(as_user, clinic, role):
    Patient.objects.filter(pk=clinic.unassigned_patient.pk).update(
        entered_in_error=True, entered_in_error_reason="Registered twice."
    )

    response = as_user(role).get(detail_url(clinic.unassigned_patient))

    assert response.status_code == 404
    assert str(clinic.unassigned_patient.id) not in ids(as_user(role).get(LIST_URL))


@pytest.mark.parametrize("role", ["anonymous", "front_desk", "clinician", "supervisor", "administrator"])
@pytest.mark.parametrize("method", ["delete", "put"])
def test_patients_are_never_deleted_or_replaced(as_user, clinic, role, method):
    response = getattr(as_user(role), method)(detail_url(clinic.own_patient), NEW_PATIENT, format="json")

    assert response.status_code == (401 if role == "anonymous" else 405)
    assert Patient.objects.get(pk=clinic.own_patient.pk).last_name == clinic.own_patient.last_name


# Scoping of the list.


def test_clinician_lists_only_their_caseload(as_user, clinic):
    response = as_user("clinician").get(LIST_URL)

    assert ids(response) == {str(clinic.own_patient.id)}
    assert response.json()["count"] == 1


@pytest.mark.parametrize("role", ["front_desk", "supervisor"])
def test_front_desk_and_supervisor_list_every_patient(as_user, clinic, role):
    response = as_user(role).get(LIST_URL)

    assert ids(response) == {
        str(clinic.own_patient.id),
        str(clinic.other_patient.id),
        str(clinic.unassigned_patient.id),
    }


def test_clinician_lists_a_patient_of_a_case_they_are_on_the_care_team_of(as_user, clinician, clinic):
    team_case = CaseFactory(care_team=[clinician])

    response = as_user("clinician").get(LIST_URL)

    assert ids(response) == {str(clinic.own_patient.id), str(team_case.patient.id)}


def test_clinician_keeps_a_patient_whose_case_they_had_after_discharge(as_user, clinician):
    closed = ClosedCaseFactory(primary_clinician=clinician)

    response = as_user("clinician").get(detail_url(closed.patient))

    assert response.status_code == 200
    assert response.json()["current_case"] is None


def test_clinician_reads_a_patient_they_registered_before_a_case_is_opened(as_user, clinician):
    created = as_user("clinician").post(LIST_URL, NEW_PATIENT, format="json")

    response = as_user("clinician").get(f"{LIST_URL}{created.json()['id']}/")

    assert response.status_code == 200


# Shapes and writable fields.


def test_patient_shape(as_user, clinic):
    case = clinic.own_case

    response = as_user("front_desk").get(detail_url(case.patient))

    body = response.json()
    assert {
        "id", "mrn", "first_name", "last_name", "preferred_name", "date_of_birth", "sex_at_birth", "phone",
        "email", "current_case",
    } <= set(body)  # fmt: skip
    assert body["mrn"] == case.patient.mrn
    assert body["current_case"] == {"id": str(case.id), "stage": "intake"}


def test_registration_issues_a_new_mrn_and_records_the_patient(as_user, front_desk):
    response = as_user("front_desk").post(LIST_URL, NEW_PATIENT, format="json")

    assert response.status_code == 201
    patient = Patient.objects.get(pk=response.json()["id"])
    assert response.json()["mrn"] == patient.mrn
    assert patient.mrn.startswith("KR")
    assert (patient.last_name, patient.date_of_birth, patient.created_by) == (
        "Quillfeather",
        dt.date(1988, 3, 14),
        front_desk,
    )
    assert response.json()["current_case"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mrn", "KR9999999"),
        ("id", "00000000-0000-4000-8000-000000000000"),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("updated_at", "2020-01-01T00:00:00Z"),
        ("current_case", None),
        ("entered_in_error", True),
    ],
)
def test_server_owned_field_on_registration_is_a_400_naming_it(as_user, clinic, field, value):
    before = Patient.objects.count()

    response = as_user("front_desk").post(LIST_URL, {**NEW_PATIENT, field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Patient.objects.count() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mrn", "KR9999999"),
        ("id", "00000000-0000-4000-8000-000000000000"),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("entered_in_error", True),
    ],
)
def test_server_owned_field_on_patch_is_a_400_naming_it_and_changes_nothing(as_user, clinic, field, value):
    patient = clinic.own_patient

    response = as_user("supervisor").patch(
        detail_url(patient), {"phone": "785-555-0199", field: value}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [field]
    patient.refresh_from_db()
    assert (patient.mrn, patient.phone, patient.entered_in_error) == (
        clinic.own_patient.mrn,
        "785-555-0100",
        False,
    )


@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_demographics_edit_is_saved(as_user, clinic, role):
    response = as_user(role).patch(
        detail_url(clinic.own_patient), {"preferred_name": "Mari", "county": "Shawnee"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["preferred_name"] == "Mari"
    patient = Patient.objects.get(pk=clinic.own_patient.pk)
    assert (patient.preferred_name, patient.county) == ("Mari", "Shawnee")


# The duplicate check at registration.


def test_same_last_name_and_birth_date_is_a_409_listing_the_duplicate(as_user, clinic):
    existing = clinic.unassigned_patient
    body = {
        **NEW_PATIENT,
        "last_name": existing.last_name.upper(),
        "date_of_birth": str(existing.date_of_birth),
    }
    before = Patient.objects.count()

    response = as_user("front_desk").post(LIST_URL, body, format="json")

    assert response.status_code == 409
    assert response.json()["possible_duplicates"] == [
        {
            "id": str(existing.id),
            "mrn": existing.mrn,
            "first_name": existing.first_name,
            "last_name": existing.last_name,
            "date_of_birth": str(existing.date_of_birth),
        }
    ]
    assert response.json()["code"] == "possible_duplicates"
    assert "hidden_matches" not in response.json()
    assert Patient.objects.count() == before


def test_duplicates_outside_the_clinicians_caseload_are_neither_shown_nor_counted(as_user, clinic):
    own, other = clinic.own_patient, clinic.other_patient
    Patient.objects.filter(pk=other.pk).update(last_name=own.last_name, date_of_birth=own.date_of_birth)
    body = {**NEW_PATIENT, "last_name": own.last_name, "date_of_birth": str(own.date_of_birth)}

    response = as_user("clinician").post(LIST_URL, body, format="json")

    assert response.status_code == 409
    assert [row["id"] for row in response.json()["possible_duplicates"]] == [str(own.id)]
    assert str(other.id) not in response.content.decode()
    assert "hidden_matches" not in response.json()


def test_confirming_not_a_duplicate_registers_the_namesake(as_user, clinic):
    existing = clinic.unassigned_patient
    body = {**NEW_PATIENT, "last_name": existing.last_name, "date_of_birth": str(existing.date_of_birth)}

    response = as_user("front_desk").post(LIST_URL, {**body, "confirm_not_duplicate": True}, format="json")

    assert response.status_code == 201
    assert "confirm_not_duplicate" not in response.json()
    assert (
        Patient.objects.filter(last_name=existing.last_name, date_of_birth=existing.date_of_birth).count()
        == 2
    )


def test_same_last_name_with_another_birth_date_is_no_duplicate(as_user, clinic):
    existing = clinic.unassigned_patient
    body = {
        **NEW_PATIENT,
        "last_name": existing.last_name,
        "date_of_birth": str(existing.date_of_birth - dt.timedelta(days=1)),
    }

    response = as_user("front_desk").post(LIST_URL, body, format="json")

    assert response.status_code == 201


# Filters.


@pytest.fixture
def named_patients(supervisor):
    """Three patients with names to search for."""
    return {
        "ada": PatientFactory(first_name="Ada", last_name="Lovelace"),
        "adam": PatientFactory(first_name="Adam", last_name="Smithers"),
        "grace": PatientFactory(first_name="Grace", last_name="Hopper", preferred_name="Amazing"),
    }


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("ada", {"ada", "adam"}),  # first-name prefix
        ("ADAM", {"adam"}),
        ("lovel", {"ada"}),  # last-name prefix
        ("hop", {"grace"}),
        ("amaz", {"grace"}),  # preferred name
        ("ada lovelace", {"ada"}),  # two words: both must match
        ("lovelace ada", {"ada"}),
        ("ada hopper", set()),
        ("elace", set()),  # prefixes only, not substrings
        ("zzz", set()),
    ],
)
def test_search_matches_name_prefixes(as_user, named_patients, search, expected):
    response = as_user("supervisor").get(LIST_URL, {"search": search})

    assert ids(response) == {str(named_patients[key].id) for key in expected}


def test_search_matches_an_exact_mrn(as_user, named_patients):
    mrn = named_patients["grace"].mrn

    exact = as_user("supervisor").get(LIST_URL, {"search": mrn.lower()})
    partial = as_user("supervisor").get(LIST_URL, {"search": mrn[:-1]})

    assert ids(exact) == {str(named_patients["grace"].id)}
    assert ids(partial) == set()


def test_search_stays_inside_the_clinicians_caseload(as_user, clinic):
    response = as_user("clinician").get(LIST_URL, {"search": "otherly"})

    assert response.status_code == 200
    assert ids(response) == set()


@pytest.fixture
def staged_patients(supervisor):
    """One patient per open stage, one discharged (with no open case) and one readmitted after discharge."""
    by_stage = {stage: case_in_stage(stage, actor=supervisor).patient for stage in Case.Stage.values}
    readmitted = ClosedCaseFactory(opened_on=timezone.localdate() - dt.timedelta(days=200)).patient
    CaseFactory(patient=readmitted)
    return by_stage, readmitted


@pytest.mark.parametrize("stage", ["intake", "assessment", "treatment", "recovery"])
def test_stage_filter_selects_patients_by_their_open_cases_stage(as_user, staged_patients, stage):
    by_stage, readmitted = staged_patients
    expected = {str(by_stage[stage].id)} | ({str(readmitted.id)} if stage == "intake" else set())

    response = as_user("supervisor").get(LIST_URL, {"stage": stage})

    assert ids(response) == expected


def test_stage_filter_discharged_selects_patients_without_an_open_case(as_user, staged_patients):
    by_stage, _ = staged_patients

    response = as_user("supervisor").get(LIST_URL, {"stage": "discharged"})

    assert ids(response) == {str(by_stage["discharged"].id)}


def test_clinician_filter_selects_primary_and_care_team_patients(as_user, clinician, other_clinician, clinic):
    team_case = CaseFactory(primary_clinician=other_clinician, care_team=[clinician])

    response = as_user("supervisor").get(LIST_URL, {"clinician": str(clinician.id)})

    assert ids(response) == {str(clinic.own_patient.id), str(team_case.patient.id)}


@pytest.mark.parametrize(("value", "expected"), [("true", "with"), ("false", "without")])
def test_has_open_case_filter(as_user, clinic, value, expected):
    closed = ClosedCaseFactory().patient
    groups = {
        "with": {str(clinic.own_patient.id), str(clinic.other_patient.id)},
        "without": {str(clinic.unassigned_patient.id), str(closed.id)},
    }

    response = as_user("supervisor").get(LIST_URL, {"has_open_case": value})

    assert ids(response) == groups[expected]


# Pagination.


@pytest.fixture
def many_patients(db):
    """210 patients, created in bulk."""
    mrns = mrn_allocate(210)
    return Patient.objects.bulk_create(
        [
            Patient(
                mrn=mrn,
                first_name="Pat",
                last_name=f"Many{n:03d}",
                date_of_birth=dt.date(1980, 1, 1),
                sex_at_birth="male",
            )
            for n, mrn in enumerate(mrns)
        ]
    )


@pytest.mark.parametrize(
    ("query", "page_length"),
    [({}, 50), ({"page_size": 10}, 10), ({"page_size": 200}, 200), ({"page_size": 500}, 200)],
)
def test_page_size_defaults_to_50_and_caps_at_200(as_user, many_patients, query, page_length):
    response = as_user("supervisor").get(LIST_URL, query)

    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 210
    assert len(body["results"]) == page_length


def test_pages_link_to_each_other_and_cover_every_patient(as_user, many_patients):
    client = as_user("supervisor")
    first = client.get(LIST_URL, {"page_size": 100}).json()
    last = client.get(LIST_URL, {"page_size": 100, "page": 3}).json()

    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert last["next"] is None
    assert "page=2" in last["previous"]
    assert len(last["results"]) == 10
    seen = {
        row["id"]
        for page in (1, 2, 3)
        for row in client.get(LIST_URL, {"page_size": 100, "page": page}).json()["results"]
    }
    assert seen == {str(p.id) for p in many_patients}


def test_page_past_the_end_is_a_404(as_user, many_patients):
    response = as_user("supervisor").get(LIST_URL, {"page": 99})

    assert response.status_code == 404


def test_list_is_ordered_by_last_then_first_name(as_user, named_patients):
    response = as_user("supervisor").get(LIST_URL)

    assert [row["last_name"] for row in response.json()["results"]] == ["Hopper", "Lovelace", "Smithers"]


# Break-glass.


def test_break_glass_grants_four_hours_and_records_the_reason(as_user, clinician, clinic):
    response = as_user("clinician").post(
        break_glass_url(clinic.other_patient), {"reason": REASON}, format="json"
    )

    assert response.status_code == 201
    grant = BreakGlassGrant.objects.get(user=clinician, patient=clinic.other_patient)
    assert grant.reason == REASON
    assert grant.expires_at - grant.granted_at == dt.timedelta(hours=4)
    assert response.json()["id"] == str(grant.id)
    assert response.json()["patient"] == str(clinic.other_patient.id)


def test_after_break_glass_the_clinician_reads_the_patient_and_its_clinical_content(as_user, clinic):
    client = as_user("clinician")
    client.post(break_glass_url(clinic.other_patient), {"reason": REASON}, format="json")

    patient = client.get(detail_url(clinic.other_patient))
    case = client.get(f"/api/v1/cases/{clinic.other_case.id}/")
    visit = client.get(f"/api/v1/visits/{clinic.other_visit.id}/")

    assert patient.status_code == 200
    assert case.status_code == 200
    assert case.json()["kratom_form"] == "powder"
    assert case.json()["stage_history"][0]["reason"] == "Case opened"
    assert visit.status_code == 200
    assert visit.json()["subjective"] == clinic.other_visit.subjective


def test_an_expired_grant_no_longer_opens_the_patient(as_user, clinician, clinic):
    granted_at = timezone.now() - dt.timedelta(hours=5)
    BreakGlassGrantFactory(
        user=clinician,
        patient=clinic.other_patient,
        granted_at=granted_at,
        expires_at=granted_at + dt.timedelta(hours=4),
    )

    response = as_user("clinician").get(detail_url(clinic.other_patient))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [({"reason": "because"}, "reason"), ({"reason": "          "}, "reason"), ({}, "reason")],
    ids=["short", "blank", "missing"],
)
def test_break_glass_without_a_real_reason_is_a_400(as_user, clinic, body, field):
    response = as_user("clinician").post(break_glass_url(clinic.other_patient), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert BreakGlassGrant.objects.count() == 0


def test_second_break_glass_on_a_patient_now_in_reach_is_a_400(as_user, clinician, clinic):
    client = as_user("clinician")
    client.post(break_glass_url(clinic.other_patient), {"reason": REASON}, format="json")

    response = client.post(break_glass_url(clinic.other_patient), {"reason": REASON}, format="json")

    assert response.status_code == 400
    assert BreakGlassGrant.objects.filter(user=clinician).count() == 1


def test_break_glass_on_a_caseload_patient_is_a_400(as_user, clinic):
    response = as_user("clinician").post(
        break_glass_url(clinic.own_patient), {"reason": REASON}, format="json"
    )

    assert response.status_code == 400
    assert BreakGlassGrant.objects.count() == 0


@pytest.mark.parametrize("role", ["front_desk", "supervisor", "administrator"])
def test_break_glass_is_refused_to_roles_without_it_and_grants_nothing(as_user, clinic, role):
    response = as_user(role).post(break_glass_url(clinic.other_patient), {"reason": REASON}, format="json")

    assert response.status_code == 403
    assert BreakGlassGrant.objects.count() == 0


def test_break_glass_on_an_unknown_patient_is_a_404(as_user, clinic):
    response = as_user("clinician").post(
        "/api/v1/patients/00000000-0000-4000-8000-000000000000/break-glass/",
        {"reason": REASON},
        format="json",
    )

    assert response.status_code == 404


# Query counts: the bound holds for 5 rows and for 60.

# The audit event of the read is part of the count.
LIST_QUERIES = 4 + AUDIT_APPEND_QUERIES  # groups, count, page, open cases; audit event
DETAIL_QUERIES = 3 + AUDIT_APPEND_QUERIES  # groups, patient, open cases; audit event


@pytest.mark.parametrize("rows", [5, 60])
def test_patient_list_query_count_does_not_grow_with_rows(
    as_user, busy_caseload, rows, django_assert_max_num_queries
):
    busy_caseload(rows)
    client = as_user("clinician")

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(LIST_URL, {"page_size": 60})

    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [5, 60])
def test_patient_detail_query_count_does_not_grow_with_cases(
    as_user, clinician, rows, django_assert_max_num_queries
):
    patient = PatientFactory()
    for n in range(rows):
        ClosedCaseFactory(
            patient=patient,
            primary_clinician=clinician,
            opened_on=timezone.localdate() - dt.timedelta(days=1000 - 10 * n),
            closed_on=timezone.localdate() - dt.timedelta(days=995 - 10 * n),
        )
    CaseFactory(patient=patient, primary_clinician=clinician)
    client = as_user("clinician")

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(detail_url(patient))

    assert response.json()["current_case"]["stage"] == "intake"


def test_patient_list_query_bound_is_tight(as_user, busy_caseload):
    busy_caseload(5)
    client = as_user("clinician")

    with CaptureQueriesContext(connection) as queries:
        client.get(LIST_URL)

    assert len(queries) == LIST_QUERIES
