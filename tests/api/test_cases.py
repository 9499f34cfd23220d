"""Cases: scoping, clinical fields per role, writable fields, assignment, opening, stage changes, filters."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import CareTeamMember, Case, StageTransition
from clinic.roles import Role
from tests.api.conftest import AUDIT_APPEND_QUERIES, ids
from tests.factories import CaseFactory, ClosedCaseFactory, UserFactory, case_in_stage

LIST_URL = "/api/v1/cases/"
CASE_CLINICAL_KEYS = {
    "kratom_form",
    "kratom_daily_grams",
    "kratom_years_used",
    "reasons_for_use",
    "other_substances",
}
SERVER_OWNED = [
    ("stage", "treatment"),
    ("status", "closed"),
    ("closed_on", "2025-01-01"),
    ("discharge_reason", "completed"),
    ("version", 7),
    ("id", "00000000-0000-4000-8000-000000000000"),
    ("created_at", "2020-01-01T00:00:00Z"),
    ("stage_history", []),
]


def detail_url(case: Case) -> str:
    return f"/api/v1/cases/{case.id}/"


def transition_url(case: Case) -> str:
    return f"/api/v1/cases/{case.id}/transition/"


ENDPOINTS = {
    "list": ("get", lambda c: LIST_URL, lambda c: None),
    "create": (
        "post",
        lambda c: LIST_URL,
        lambda c: {"patient": str(c.unassigned_patient.id), "referral_source": "family"},
    ),
    "retrieve": ("get", lambda c: detail_url(c.own_case), lambda c: None),
    "patch": ("patch", lambda c: detail_url(c.own_case), lambda c: {"referral_source": "primary_care"}),
    "transition": ("post", lambda c: transition_url(c.own_case), lambda c: {"to_stage": "assessment"}),
}

ROLE_MATRIX = [
    ("anonymous", "list", 401),
    ("anonymous", "create", 401),
    ("anonymous", "retrieve", 401),
    ("anonymous", "patch", 401),
    ("anonymous", "transition", 401),
    ("front_desk", "list", 200),
    ("front_desk", "create", 201),
    ("front_desk", "retrieve", 200),
    ("front_desk", "patch", 200),
    ("front_desk", "transition", 403),
    ("clinician", "list", 200),
    ("clinician", "create", 201),
    ("clinician", "retrieve", 200),
    ("clinician", "patch", 200),
    ("clinician", "transition", 201),
    ("supervisor", "list", 200),
    ("supervisor", "create", 201),
    ("supervisor", "retrieve", 200),
    ("supervisor", "patch", 200),
    ("supervisor", "transition", 201),
    ("administrator", "list", 403),
    ("administrator", "create", 403),
    ("administrator", "retrieve", 403),
    ("administrator", "patch", 403),
    ("administrator", "transition", 403),
]


def call(client, clinic, endpoint: str):
    method, url, body = ENDPOINTS[endpoint]
    return getattr(client, method)(url(clinic), body(clinic), format="json")


@pytest.mark.parametrize(("role", "endpoint", "expected"), ROLE_MATRIX)
def test_role_gets_the_expected_status(as_user, clinic, role, endpoint, expected):
    response = call(as_user(role), clinic, endpoint)

    assert response.status_code == expected, response.content


@pytest.mark.parametrize("role", ["anonymous", "front_desk", "administrator"])
def test_refused_transition_leaves_the_stage_alone(as_user, clinic, role):
    call(as_user(role), clinic, "transition")

    assert Case.objects.get(pk=clinic.own_case.pk).stage == "intake"
    assert StageTransition.objects.filter(case=clinic.own_case).count() == 1


@pytest.mark.parametrize("role", ["anonymous", "administrator"])
def test_refused_opening_creates_no_case(as_user, clinic, role):
    call(as_user(role), clinic, "create")

    assert not Case.objects.filter(patient=clinic.unassigned_patient).exists()


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", detail_url, None),
        ("patch", detail_url, {"referral_source": "court"}),
        ("post", transition_url, {"to_stage": "assessment"}),
    ],
    ids=["retrieve", "patch", "transition"],
)
def test_clinician_gets_404_for_another_clinicians_case_and_nothing_changes(
    as_user, clinic, method, url, body
):
    response = getattr(as_user("clinician"), method)(url(clinic.other_case), body, format="json")

    assert response.status_code == 404
    case = Case.objects.get(pk=clinic.other_case.pk)
    assert (case.stage, case.referral_source, case.version) == ("intake", "self", 1)


def test_clinician_lists_only_their_caseloads_cases(as_user, clinic):
    response = as_user("clinician").get(LIST_URL)

    assert ids(response) == {str(clinic.own_case.id)}


def test_filtering_on_another_clinicians_patient_finds_nothing(as_user, clinic):
    response = as_user("clinician").get(LIST_URL, {"patient": str(clinic.other_patient.id)})

    assert response.status_code == 200
    assert ids(response) == set()


@pytest.mark.parametrize("role", ["front_desk", "supervisor"])
def test_front_desk_and_supervisor_list_every_case(as_user, clinic, role):
    response = as_user(role).get(LIST_URL)

    assert ids(response) == {str(clinic.own_case.id), str(clinic.other_case.id)}


def test_care_team_member_reads_the_case(as_user, clinician):
    case = CaseFactory(care_team=[clinician])

    response = as_user("clinician").get(detail_url(case))

    assert response.status_code == 200
    assert response.json()["care_team"] == [str(clinician.id)]


def test_reassigned_case_leaves_the_former_clinicians_reach(as_user, clinic, other_clinician):
    as_user("supervisor").patch(
        detail_url(clinic.own_case), {"primary_clinician": str(other_clinician.id)}, format="json"
    )

    assert as_user("clinician").get(detail_url(clinic.own_case)).status_code == 404


# Clinical fields per role.


@pytest.mark.parametrize("endpoint", ["list", "retrieve"])
def test_front_desk_sees_no_substance_profile_and_no_transition_reasons(as_user, clinic, endpoint):
    response = call(as_user("front_desk"), clinic, endpoint)

    body = response.json()
    rows = body["results"] if endpoint == "list" else [body]
    assert rows
    for row in rows:
        assert CASE_CLINICAL_KEYS.isdisjoint(row)
        assert row["stage_history"]
        for entry in row["stage_history"]:
            assert "reason" not in entry
            assert {"from_stage", "to_stage", "effective_at", "by"} <= set(entry)


@pytest.mark.parametrize("endpoint", ["create", "patch"])
def test_front_desk_write_responses_carry_no_clinical_fields(as_user, clinic, endpoint):
    response = call(as_user("front_desk"), clinic, endpoint)

    assert CASE_CLINICAL_KEYS.isdisjoint(response.json())
    assert all("reason" not in entry for entry in response.json()["stage_history"])


@pytest.mark.parametrize("role", ["clinician", "supervisor"])
@pytest.mark.parametrize("endpoint", ["list", "retrieve"])
def test_clinicians_see_the_substance_profile_of_their_caseload(as_user, clinic, role, endpoint):
    response = call(as_user(role), clinic, endpoint)

    body = response.json()
    row = (
        next(r for r in body["results"] if r["id"] == str(clinic.own_case.id)) if endpoint == "list" else body
    )
    assert set(row) >= CASE_CLINICAL_KEYS
    assert row["kratom_form"] == "powder"
    assert row["stage_history"][0]["reason"] == "Case opened"


def test_case_shape(as_user, clinician, supervisor):
    case = case_in_stage(Case.Stage.DISCHARGED, actor=supervisor, primary_clinician=clinician)

    body = as_user("clinician").get(detail_url(case)).json()

    assert {
        "id", "patient", "status", "stage", "opened_on", "closed_on", "referral_source", "primary_clinician",
        "care_team", "discharge_reason", "kratom_form", "kratom_daily_grams", "stage_history",
    } <= set(body)  # fmt: skip
    assert (body["patient"], body["status"], body["stage"]) == (str(case.patient.id), "closed", "discharged")
    assert (body["primary_clinician"], body["care_team"]) == (str(clinician.id), [])
    assert (body["closed_on"], body["discharge_reason"]) == (str(timezone.localdate()), "completed")
    assert [(h["from_stage"], h["to_stage"]) for h in body["stage_history"]] == [
        (None, "intake"),
        ("intake", "assessment"),
        ("assessment", "treatment"),
        ("treatment", "recovery"),
        ("recovery", "discharged"),
    ]
    assert body["stage_history"][-1]["by"] == str(supervisor.id)


# Opening a case.


def test_clinician_opening_a_case_becomes_its_primary_clinician(as_user, clinician, clinic):
    response = call(as_user("clinician"), clinic, "create")

    assert response.status_code == 201
    case = Case.objects.get(patient=clinic.unassigned_patient)
    assert case.primary_clinician == clinician
    assert response.json()["primary_clinician"] == str(clinician.id)
    assert (case.stage, case.status, case.created_by) == ("intake", "open", clinician)


@pytest.mark.parametrize("role", ["front_desk", "supervisor"])
def test_front_desk_or_supervisor_opening_a_case_leaves_it_unassigned(as_user, clinic, role):
    response = call(as_user(role), clinic, "create")

    assert response.status_code == 201
    assert response.json()["primary_clinician"] is None
    assert Case.objects.get(patient=clinic.unassigned_patient).primary_clinician is None


def test_clinician_records_the_substance_profile_when_opening_the_case(as_user, clinic):
    body = {
        "patient": str(clinic.unassigned_patient.id),
        "referral_source": "self",
        "kratom_form": "extract",
        "kratom_daily_grams": 12.5,
        "reasons_for_use": ["pain", "energy"],
    }

    response = as_user("clinician").post(LIST_URL, body, format="json")

    assert response.status_code == 201, response.content
    case = Case.objects.get(patient=clinic.unassigned_patient)
    assert (case.kratom_form, float(case.kratom_daily_grams), case.reasons_for_use) == (
        "extract",
        12.5,
        ["energy", "pain"],
    )


def test_front_desk_may_not_record_the_substance_profile(as_user, clinic):
    body = {"patient": str(clinic.unassigned_patient.id), "referral_source": "self", "kratom_form": "extract"}

    response = as_user("front_desk").post(LIST_URL, body, format="json")

    assert response.status_code == 403
    assert not Case.objects.filter(patient=clinic.unassigned_patient).exists()


@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_second_open_case_is_a_409(as_user, clinic, role):
    body = {"patient": str(clinic.own_patient.id), "referral_source": "self"}

    response = as_user(role).post(LIST_URL, body, format="json")

    assert response.status_code == 409
    assert "patient" in response.json()
    assert Case.objects.filter(patient=clinic.own_patient).count() == 1


def test_readmission_after_discharge_opens_a_new_case(as_user, clinician):
    closed = ClosedCaseFactory(primary_clinician=clinician)

    response = as_user("clinician").post(
        LIST_URL, {"patient": str(closed.patient.id), "referral_source": "self"}, format="json"
    )

    assert response.status_code == 201
    assert Case.objects.filter(patient=closed.patient).count() == 2


@pytest.mark.parametrize(("field", "value"), SERVER_OWNED)
def test_server_owned_field_on_opening_is_a_400_naming_it(as_user, clinic, field, value):
    body = {"patient": str(clinic.unassigned_patient.id), "referral_source": "self", field: value}

    response = as_user("supervisor").post(LIST_URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Case.objects.filter(patient=clinic.unassigned_patient).exists()


# Editing a case.


@pytest.mark.parametrize(("field", "value"), SERVER_OWNED)
def test_server_owned_field_on_patch_is_a_400_naming_it_and_changes_nothing(as_user, clinic, field, value):
    response = as_user("supervisor").patch(
        detail_url(clinic.own_case), {"referral_source": "court", field: value}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [field]
    case = Case.objects.get(pk=clinic.own_case.pk)
    assert (case.stage, case.status, case.closed_on, case.version, case.referral_source) == (
        "intake",
        "open",
        None,
        1,
        "self",
    )


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
@pytest.mark.parametrize(
    "body",
    [
        lambda other: {"primary_clinician": str(other.id)},
        lambda other: {"care_team": [str(other.id)]},
        lambda other: {"primary_clinician": None},
    ],
    ids=["primary", "care-team", "unassign"],
)
def test_only_supervisors_assign_clinicians(as_user, clinic, clinician, other_clinician, role, body):
    response = as_user(role).patch(detail_url(clinic.own_case), body(other_clinician), format="json")

    assert response.status_code == 403
    case = Case.objects.get(pk=clinic.own_case.pk)
    assert case.primary_clinician == clinician
    assert not CareTeamMember.objects.filter(case=case).exists()


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
def test_only_supervisors_assign_clinicians_when_opening(as_user, clinic, other_clinician, role):
    body = {
        "patient": str(clinic.unassigned_patient.id),
        "referral_source": "self",
        "care_team": [str(other_clinician.id)],
    }

    response = as_user(role).post(LIST_URL, body, format="json")

    assert response.status_code == 403
    assert not Case.objects.filter(patient=clinic.unassigned_patient).exists()


def test_supervisor_assigns_the_primary_clinician_and_care_team(as_user, clinic, clinician, other_clinician):
    nurse = UserFactory(roles=[Role.CLINICIAN])
    body = {"primary_clinician": str(other_clinician.id), "care_team": [str(clinician.id), str(nurse.id)]}

    response = as_user("supervisor").patch(detail_url(clinic.own_case), body, format="json")

    assert response.status_code == 200
    case = Case.objects.get(pk=clinic.own_case.pk)
    assert case.primary_clinician == other_clinician
    assert set(case.care_team.all()) == {clinician, nurse}
    assert response.json()["primary_clinician"] == str(other_clinician.id)
    assert set(response.json()["care_team"]) == {str(clinician.id), str(nurse.id)}


def test_supervisor_replaces_the_care_team(as_user, clinician, other_clinician):
    case = CaseFactory(care_team=[clinician])

    response = as_user("supervisor").patch(
        detail_url(case), {"care_team": [str(other_clinician.id)]}, format="json"
    )

    assert response.status_code == 200
    assert list(case.care_team.all()) == [other_clinician]


def test_supervisor_opens_a_case_with_its_clinicians(as_user, clinic, clinician, other_clinician):
    body = {
        "patient": str(clinic.unassigned_patient.id),
        "referral_source": "emergency_department",
        "primary_clinician": str(clinician.id),
        "care_team": [str(other_clinician.id)],
    }

    response = as_user("supervisor").post(LIST_URL, body, format="json")

    assert response.status_code == 201
    case = Case.objects.get(patient=clinic.unassigned_patient)
    assert case.primary_clinician == clinician
    assert list(case.care_team.all()) == [other_clinician]


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
def test_staff_without_a_caseload_cannot_be_assigned(as_user, clinic, users, role):
    response = as_user("supervisor").patch(
        detail_url(clinic.own_case), {"primary_clinician": str(users[role].id)}, format="json"
    )

    assert response.status_code == 400
    assert "primary_clinician" in response.json()
    assert Case.objects.get(pk=clinic.own_case.pk).primary_clinician is not None


def test_clinician_edits_the_substance_profile_of_their_case(as_user, clinic):
    response = as_user("clinician").patch(
        detail_url(clinic.own_case), {"kratom_form": "capsules", "other_substances": "Alcohol"}, format="json"
    )

    assert response.status_code == 200
    case = Case.objects.get(pk=clinic.own_case.pk)
    assert (case.kratom_form, case.other_substances) == ("capsules", "Alcohol")


def test_front_desk_editing_the_substance_profile_is_refused(as_user, clinic):
    response = as_user("front_desk").patch(
        detail_url(clinic.own_case), {"kratom_form": "capsules"}, format="json"
    )

    assert response.status_code == 403
    assert Case.objects.get(pk=clinic.own_case.pk).kratom_form == "powder"


# Stage changes.


def test_transition_moves_the_case_and_appends_history(as_user, clinic, clinician):
    response = call(as_user("clinician"), clinic, "transition")

    assert response.status_code == 201
    assert response.json()["stage"] == "assessment"
    case = Case.objects.get(pk=clinic.own_case.pk)
    assert (case.stage, case.version) == ("assessment", 2)
    last = case.stage_history.order_by("-sequence").first()
    assert (last.from_stage, last.to_stage, last.by) == ("intake", "assessment", clinician)


def test_discharge_closes_the_case(as_user, clinic):
    response = as_user("clinician").post(
        transition_url(clinic.own_case),
        {"to_stage": "discharged", "discharge_reason": "transferred"},
        format="json",
    )

    assert response.status_code == 201
    case = Case.objects.get(pk=clinic.own_case.pk)
    assert (case.status, case.closed_on, case.discharge_reason) == (
        "closed",
        timezone.localdate(),
        "transferred",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to_stage": "treatment"}, "to_stage"),
        ({"to_stage": "discharged"}, "discharge_reason"),
        ({"to_stage": "limbo"}, "to_stage"),
        ({"to_stage": "assessment", "stage": "assessment"}, "stage"),
    ],
)
def test_transition_the_workflow_refuses_is_a_400(as_user, clinic, body, field):
    response = as_user("clinician").post(transition_url(clinic.own_case), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Case.objects.get(pk=clinic.own_case.pk).stage == "intake"


def test_transition_of_a_discharged_case_is_a_400(as_user, clinician, supervisor):
    case = case_in_stage(Case.Stage.DISCHARGED, actor=supervisor, primary_clinician=clinician)

    response = as_user("clinician").post(transition_url(case), {"to_stage": "treatment"}, format="json")

    assert response.status_code == 400
    assert Case.objects.get(pk=case.pk).stage == "discharged"


# Filters.


@pytest.fixture
def filtered_cases(clinician, other_clinician, supervisor):
    return {
        "intake": CaseFactory(primary_clinician=clinician),
        "treatment": case_in_stage(Case.Stage.TREATMENT, actor=supervisor, primary_clinician=other_clinician),
        "team": CaseFactory(primary_clinician=other_clinician, care_team=[clinician]),
        "closed": ClosedCaseFactory(primary_clinician=clinician),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"stage": "intake"}, {"intake", "team"}),
        ({"stage": "treatment"}, {"treatment"}),
        ({"stage": "discharged"}, {"closed"}),
        ({"status": "open"}, {"intake", "treatment", "team"}),
        ({"status": "closed"}, {"closed"}),
        ({"clinician": "clinician"}, {"intake", "team", "closed"}),
        ({"clinician": "other_clinician"}, {"treatment", "team"}),
        ({"clinician": "clinician", "status": "open"}, {"intake", "team"}),
    ],
)
def test_case_filters(as_user, users, clinician, other_clinician, filtered_cases, query, expected):
    people = {"clinician": clinician, "other_clinician": other_clinician}
    query = {key: str(people[v].id) if key == "clinician" else v for key, v in query.items()}

    response = as_user("supervisor").get(LIST_URL, query)

    assert ids(response) == {str(filtered_cases[key].id) for key in expected}


def test_patient_filter_lists_every_case_of_the_patient(as_user, clinician):
    closed = ClosedCaseFactory(
        primary_clinician=clinician, opened_on=timezone.localdate() - dt.timedelta(days=90)
    )
    reopened = CaseFactory(patient=closed.patient, primary_clinician=clinician)
    CaseFactory(primary_clinician=clinician)

    response = as_user("clinician").get(LIST_URL, {"patient": str(closed.patient.id)})

    assert [row["id"] for row in response.json()["results"]] == [str(reopened.id), str(closed.id)]


# Query counts: the bound holds for 5 rows and for 60.

# List: groups, count, page, care teams, stage histories (remission: subqueries of the page's own query).
# Detail: groups, case (with its remission), care team, stage history.
# Then, for both, the audit event of the read.
LIST_QUERIES = 5 + AUDIT_APPEND_QUERIES
DETAIL_QUERIES = 4 + AUDIT_APPEND_QUERIES


@pytest.mark.parametrize("rows", [5, 60])
def test_case_list_query_count_does_not_grow_with_rows(
    as_user, busy_caseload, rows, django_assert_max_num_queries
):
    busy_caseload(rows)
    client = as_user("clinician")

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(LIST_URL, {"page_size": 60})

    assert len(response.json()["results"]) == min(2 * rows, 60)


def case_with_long_history(rows: int, clinician) -> Case:
    """An open case whose history bounces between treatment and recovery `rows` times, with a care team of
    `rows` clinicians."""
    case = CaseFactory(
        primary_clinician=clinician, care_team=UserFactory.create_batch(rows, roles=[Role.CLINICIAN])
    )
    opened = case.stage_history.get().effective_at
    stages = ["intake", "assessment"] + ["treatment", "recovery"] * rows
    StageTransition.objects.bulk_create(
        [
            StageTransition(
                case=case,
                sequence=n + 2,
                from_stage=stages[n],
                to_stage=stages[n + 1],
                effective_at=opened + dt.timedelta(hours=n + 1),
                reason="Back to treatment after a lapse." if stages[n + 1] == "treatment" else "",
            )
            for n in range(rows)
        ]
    )
    return case


@pytest.mark.parametrize("rows", [5, 60])
@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_case_detail_query_count_does_not_grow_with_history_or_team(
    as_user, clinician, role, rows, django_assert_max_num_queries
):
    case = case_with_long_history(rows, clinician)
    client = as_user(role)

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(detail_url(case))

    assert len(response.json()["stage_history"]) == rows + 1
    assert len(response.json()["care_team"]) == rows


@pytest.mark.parametrize(("url", "bound"), [(LIST_URL, LIST_QUERIES), ("detail", DETAIL_QUERIES)])
def test_case_query_bounds_are_tight(as_user, busy_caseload, url, bound):
    case = busy_caseload(5)[0]
    client = as_user("clinician")

    with CaptureQueriesContext(connection) as queries:
        client.get(detail_url(case) if url == "detail" else url)

    assert len(queries) == bound


@pytest.mark.parametrize(("query", "length"), [({"page_size": 1}, 1), ({"page_size": 500}, 2), ({}, 2)])
def test_case_list_is_paginated(as_user, clinic, query, length):
    body = as_user("supervisor").get(LIST_URL, query).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert (body["count"], len(body["results"]), body["previous"]) == (2, length, None)
    assert (body["next"] is not None) is (length == 1)


def test_clinician_also_at_the_front_desk_sees_clinical_fields_only_for_their_caseload(
    as_user, clinic, clinician
):
    clinician.groups.add(Group.objects.get(name=Role.FRONT_DESK))

    rows = {row["id"]: row for row in as_user(clinician).get(LIST_URL).json()["results"]}

    assert set(rows) == {str(clinic.own_case.id), str(clinic.other_case.id)}
    assert set(rows[str(clinic.own_case.id)]) >= CASE_CLINICAL_KEYS
    assert CASE_CLINICAL_KEYS.isdisjoint(rows[str(clinic.other_case.id)])
    assert "reason" not in rows[str(clinic.other_case.id)]["stage_history"][0]
