"""The clinical record over the API: assessments, plan goals, medications, drug screens and liver panels. Roles
and scoping, shapes, scores computed and kept by the server, derived lab values, alerts raised, query bounds."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.instruments import INSTRUMENTS
from cases.models import ANALYTES, Alert, Assessment, DrugScreen, LiverPanel, Medication, TreatmentGoal
from tests.api.conftest import AUDIT_APPEND_QUERIES, ids
from tests.factories import ClosedCaseFactory

# The users and the clinic are built once for this module (tests/conftest.py): every test sees them; `records`
# are built for each test that asks for them (most tests here expect a case without them).
pytestmark = pytest.mark.rows_built_once()

RESOURCES = ("assessments", "goals", "medications", "drug-screens", "liver-panels")
CORRECTABLE = ("goals", "medications", "drug-screens", "liver-panels")
MODELS = {
    "assessments": Assessment,
    "goals": TreatmentGoal,
    "medications": Medication,
    "drug-screens": DrugScreen,
    "liver-panels": LiverPanel,
}
# SPEC section 10, and what this API adds.
KEYS = {
    "assessments": {
        "id", "case", "instrument", "responses", "administered_at", "total", "band", "by", "diagnosis_code",
        "recorded_at", "entered_in_error", "entered_in_error_reason", "entered_in_error_at", "entered_in_error_by",
    },
    "goals": {
        "id", "case", "problem", "goal", "interventions", "target_date", "status", "review_date", "created_at",
        "updated_at", "created_by",
    },
    "medications": {
        "id", "case", "medication", "other_name", "dose", "frequency", "start_date", "stop_date", "prescriber",
        "on_admission", "created_at", "updated_at", "created_by",
    },
    "drug-screens": {"id", "case", "collected_on", "results", "created_at", "created_by"},
    "liver-panels": {
        "id", "case", "collected_on", "alt", "alt_uln", "ast", "ast_uln", "alp", "alp_uln", "total_bilirubin",
        "total_bilirubin_uln", "meets_dili_criteria", "r_ratio", "pattern", "hys_law", "created_at", "created_by",
    },
}  # fmt: skip


def list_url(resource: str) -> str:
    return f"/api/v1/{resource}/"


def detail_url(resource: str, record) -> str:
    return f"/api/v1/{resource}/{record.pk}/"


def entered_in_error_url(assessment) -> str:
    return f"/api/v1/assessments/{assessment.pk}/entered-in-error/"


def today() -> str:
    return timezone.localdate().isoformat()


def new_body(resource: str, case) -> dict[str, object]:
    """A valid body recording one record of `resource` on `case`; it raises no alert."""
    return {"case": str(case.pk)} | {
        "assessments": {"instrument": "gad7", "responses": {f"q{i}": 1 for i in range(1, 8)}},
        "goals": {"problem": "Poor sleep", "goal": "Sleep seven hours", "interventions": "CBT-I", "target_date": "2099-01-01"},
        "medications": {
            "medication": "clonidine", "dose": "0.1 mg", "frequency": "twice daily", "start_date": today(),
            "prescriber": "Dr. Reyes",
        },
        "drug-screens": {"collected_on": today(), "results": {"mitragynine": "positive", "fentanyl": "negative"}},
        "liver-panels": {
            "collected_on": today(), "alt": 60, "alt_uln": 40, "ast": 30, "ast_uln": 40, "alp": 100, "alp_uln": 120,
            "total_bilirubin": 1.0, "total_bilirubin_uln": 1.2,
        },
    }[resource]  # fmt: skip


PATCHES = {
    "goals": {"status": "met"},
    "medications": {"stop_date": "TODAY"},
    "drug-screens": {"results": {"cocaine": "negative"}},
    "liver-panels": {"alt": 45},
}


def patch_body(resource: str) -> dict[str, object]:
    return {key: today() if value == "TODAY" else value for key, value in PATCHES[resource].items()}


def call(client, resource: str, action: str, clinic, records):
    """One request of `action` on `resource`, aimed at `clinician`'s own case and record."""
    record = records.own[resource]
    method, url, body = {
        "list": ("get", list_url(resource), None),
        "create": ("post", list_url(resource), new_body(resource, clinic.own_case)),
        "retrieve": ("get", detail_url(resource, record), None),
        "patch": ("patch", detail_url(resource, record), PATCHES.get(resource, {"total": 0})),
    }[action]
    if action == "patch" and resource in PATCHES:
        body = patch_body(resource)
    return getattr(client, method)(url, body, format="json")


def expected_status(role: str, resource: str, action: str) -> int:
    if role == "anonymous":
        return 401
    if resource == "assessments" and action == "patch":
        return 405  # a recorded score never changes, whoever asks
    if role in ("front_desk", "administrator"):
        return 403  # clinical content: caseload clinicians and supervisors only (SPEC section 2)
    return {"list": 200, "create": 201, "retrieve": 200, "patch": 200}[action]


ROLES = ("anonymous", "front_desk", "clinician", "supervisor", "administrator")
MATRIX = [
    (role, resource, action, expected_status(role, resource, action))
    for resource in RESOURCES
    for action in ("list", "create", "retrieve", "patch")
    for role in ROLES
]


@pytest.mark.parametrize(("role", "resource", "action", "expected"), MATRIX)
def test_role_gets_the_expected_status(as_user, clinic, records, role, resource, action, expected):
    response = call(as_user(role), resource, action, clinic, records)

    assert response.status_code == expected, response.content


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("role", ["anonymous", "front_desk", "administrator"])
def test_refused_writes_record_and_change_nothing(as_user, clinic, records, role, resource):
    model = MODELS[resource]
    record = records.own[resource]
    before = (model.objects.count(), model.objects.filter(pk=record.pk).values().get())
    client = as_user(role)

    call(client, resource, "create", clinic, records)
    call(client, resource, "patch", clinic, records)

    assert (model.objects.count(), model.objects.filter(pk=record.pk).values().get()) == before


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
@pytest.mark.parametrize("resource", RESOURCES)
def test_front_desk_and_administrators_get_403_even_for_a_record_they_name(as_user, records, role, resource):
    response = as_user(role).get(detail_url(resource, records.other[resource]))

    assert response.status_code == 403


# Scoping: the caseload only, for clinicians.


@pytest.mark.parametrize("resource", RESOURCES)
def test_clinician_lists_only_their_caseloads_records(as_user, records, resource):
    response = as_user("clinician").get(list_url(resource))

    assert response.status_code == 200
    assert ids(response) == {str(records.own[resource].pk)}


@pytest.mark.parametrize("resource", RESOURCES)
def test_supervisor_lists_every_record(as_user, records, resource):
    response = as_user("supervisor").get(list_url(resource))

    assert ids(response) == {str(records.own[resource].pk), str(records.other[resource].pk)}


@pytest.mark.parametrize("resource", RESOURCES)
def test_clinician_gets_404_for_a_record_outside_their_caseload(as_user, records, resource):
    response = as_user("clinician").get(detail_url(resource, records.other[resource]))

    assert response.status_code == 404


@pytest.mark.parametrize("resource", CORRECTABLE)
def test_clinician_gets_404_correcting_a_record_outside_their_caseload_and_nothing_changes(
    as_user, records, resource
):
    record = records.other[resource]
    model = MODELS[resource]
    before = model.objects.filter(pk=record.pk).values().get()

    response = as_user("clinician").patch(detail_url(resource, record), patch_body(resource), format="json")

    assert response.status_code == 404
    assert model.objects.filter(pk=record.pk).values().get() == before


@pytest.mark.parametrize("resource", RESOURCES)
def test_recording_on_a_case_outside_the_caseload_is_a_400_naming_the_case(as_user, clinic, resource):
    model = MODELS[resource]

    response = as_user("clinician").post(
        list_url(resource), new_body(resource, clinic.other_case), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["case"]
    assert "does not exist" in response.json()["case"][0]
    assert not model.objects.exists()


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("key", ["case", "patient"])
def test_filtering_on_another_clinicians_case_or_patient_finds_nothing(
    as_user, clinic, records, resource, key
):
    value = clinic.other_case.pk if key == "case" else clinic.other_patient.pk

    response = as_user("clinician").get(list_url(resource), {key: str(value)})

    assert response.status_code == 200
    assert ids(response) == set()


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("key", ["case", "patient"])
def test_case_and_patient_filters(as_user, clinic, records, resource, key):
    value = clinic.other_case.pk if key == "case" else clinic.other_patient.pk

    response = as_user("supervisor").get(list_url(resource), {key: str(value)})

    assert ids(response) == {str(records.other[resource].pk)}


@pytest.mark.parametrize("resource", RESOURCES)
def test_recording_on_a_closed_case_is_a_400_naming_the_case(as_user, clinician, resource):
    closed = ClosedCaseFactory(primary_clinician=clinician)

    response = as_user("clinician").post(list_url(resource), new_body(resource, closed), format="json")

    assert response.status_code == 400
    assert "case" in response.json()
    assert not MODELS[resource].objects.exists()


# Shapes.


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("action", ["list", "retrieve", "create"])
def test_shape(as_user, clinic, records, resource, action):
    response = call(as_user("clinician"), resource, action, clinic, records)

    body = response.json()
    row = body["results"][0] if action == "list" else body
    assert set(row) == KEYS[resource]


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_record_is_stored_as_sent_by_the_user_who_sent_it(as_user, clinic, clinician, resource):
    response = as_user("clinician").post(
        list_url(resource), new_body(resource, clinic.own_case), format="json"
    )

    assert response.status_code == 201, response.content
    record = MODELS[resource].objects.get()
    assert response.json()["id"] == str(record.pk)
    assert record.case == clinic.own_case
    author = record.by if resource == "assessments" else record.created_by
    assert author == clinician


def test_goal_is_stored_and_shown_as_sent(as_user, clinic):
    body = new_body("goals", clinic.own_case)

    shown = as_user("clinician").post(list_url("goals"), body, format="json").json()

    goal = TreatmentGoal.objects.get()
    assert (goal.problem, goal.goal, goal.interventions, goal.target_date.isoformat()) == (
        "Poor sleep",
        "Sleep seven hours",
        "CBT-I",
        "2099-01-01",
    )
    assert shown | {"id": None, "created_at": None, "updated_at": None} == {
        **body,
        "id": None,
        "status": "active",
        "review_date": today(),  # defaults to today
        "created_at": None,
        "updated_at": None,
        "created_by": str(goal.created_by_id),
    }


def test_medication_is_stored_and_shown_as_sent(as_user, clinic):
    body = new_body("medications", clinic.own_case)

    shown = as_user("clinician").post(list_url("medications"), body, format="json").json()

    medication = Medication.objects.get()
    assert (medication.medication, medication.dose, medication.prescriber) == (
        "clonidine",
        "0.1 mg",
        "Dr. Reyes",
    )
    assert {key: shown[key] for key in body} == body
    assert (shown["other_name"], shown["stop_date"]) == ("", None)


def test_assessment_shape_carries_the_server_score(as_user, clinic, clinician):
    body = new_body("assessments", clinic.own_case)

    shown = as_user("clinician").post(list_url("assessments"), body, format="json").json()

    assessment = Assessment.objects.get()
    assert shown == {
        "id": str(assessment.pk),
        "case": str(clinic.own_case.pk),
        "instrument": "gad7",
        "responses": body["responses"],
        "administered_at": shown["administered_at"],
        "total": 7,
        "band": "mild",
        "diagnosis_code": None,
        "by": str(clinician.pk),
        "recorded_at": shown["recorded_at"],
        "entered_in_error": False,
        "entered_in_error_reason": "",
        "entered_in_error_at": None,
        "entered_in_error_by": None,
    }
    assert (assessment.total, assessment.band) == (7, "mild")


# Assessments: the server scores, and a recorded score never changes.


def all_at(code: str, pick) -> dict[str, object]:
    """Every counted item of instrument `code` answered with `pick(allowed values)`."""
    return {item.code: pick(item.allowed) for item in INSTRUMENTS[code].items if item.required}


DSM5_NONE = dict.fromkeys(all_at("dsm5_sud", max), False)
PUBLISHED = [
    ("cows", all_at("cows", max), 48, "severe", None),
    ("cows", all_at("cows", min), 0, "none", None),
    ("cows", {**all_at("cows", min), "pulse": 4}, 4, "none", None),
    ("cows", {**all_at("cows", min), "pulse": 4, "gooseflesh": 3, "restlessness": 5}, 12, "mild", None),
    ("cows", {**all_at("cows", min), "pulse": 4, "gooseflesh": 5, "restlessness": 5}, 14, "moderate", None),
    ("cows", {**all_at("cows", max), "gooseflesh": 0, "gi_upset": 3}, 41, "severe", None),
    ("sows", all_at("sows", max), 64, None, None),
    ("sows", all_at("sows", min), 0, None, None),
    ("phq9", all_at("phq9", min), 0, "minimal", None),
    ("phq9", {**all_at("phq9", min), "q1": 3, "q2": 2}, 5, "mild", None),
    ("phq9", {**all_at("phq9", max), "q9": 0}, 24, "severe", None),
    ("gad7", all_at("gad7", max), 21, "severe", None),
    ("gad7", {**all_at("gad7", min), "q1": 3, "q2": 3, "q3": 3, "q4": 1}, 10, "moderate", None),
    ("dsm5_sud", all_at("dsm5_sud", max), 11, "severe", "F19.20"),
    ("dsm5_sud", {**DSM5_NONE, "craving": True}, 1, "none", None),
    ("dsm5_sud", {**DSM5_NONE, "craving": True, "cut_down": True}, 2, "mild", "F19.10"),
    ("dsm5_sud", {**DSM5_NONE, "craving": True, "cut_down": True, "tolerance": True, "withdrawal": True}, 4,
     "moderate", "F19.20"),
]  # fmt: skip


@pytest.mark.parametrize(("instrument", "responses", "total", "band", "diagnosis_code"), PUBLISHED)
def test_each_instrument_recorded_returns_its_published_total_and_band(
    as_user, clinic, instrument, responses, total, band, diagnosis_code
):
    body = {"case": str(clinic.own_case.pk), "instrument": instrument, "responses": responses}

    response = as_user("clinician").post(list_url("assessments"), body, format="json")

    assert response.status_code == 201, response.content
    shown = response.json()
    assert (shown["total"], shown["band"], shown["diagnosis_code"]) == (total, band, diagnosis_code)
    stored = Assessment.objects.get()
    assert (stored.instrument, stored.total, stored.band, stored.responses) == (
        instrument,
        total,
        band,
        responses,
    )


@pytest.mark.parametrize(
    ("instrument", "responses", "key"),
    [
        ("cows", {**all_at("cows", min), "pulse": 3}, "responses.pulse"),
        ("cows", {**all_at("cows", min), "gooseflesh": 1}, "responses.gooseflesh"),
        ("cows", {**all_at("cows", min), "restlessness": 2}, "responses.restlessness"),
        ("phq9", {**all_at("phq9", min), "q4": 4}, "responses.q4"),
        ("phq9", {**all_at("phq9", min), "q4": -1}, "responses.q4"),
        ("phq9", {**all_at("phq9", min), "q4": 1.0}, "responses.q4"),
        ("phq9", {**all_at("phq9", min), "q4": "1"}, "responses.q4"),
        ("phq9", {**all_at("phq9", min), "q4": True}, "responses.q4"),
        ("phq9", {**all_at("phq9", min), "q4": None}, "responses.q4"),
        ("phq9", {**all_at("phq9", min), "q4": [1]}, "responses.q4"),
        ("gad7", {**all_at("gad7", min), "q8": 0}, "responses.q8"),
        ("sows", {**all_at("sows", min), "q16": 5}, "responses.q16"),
        ("dsm5_sud", {**DSM5_NONE, "craving": 1}, "responses.craving"),
        ("dsm5_sud", {**DSM5_NONE, "craving": "yes"}, "responses.craving"),
        ("dsm5_sud", {**DSM5_NONE, "under_medical_supervision": 0}, "responses.under_medical_supervision"),
        # SPEC v2 section 4: no medical-supervision exclusion for kratom; sending the box is refused by name
        ("dsm5_sud", {**DSM5_NONE, "under_medical_supervision": True}, "responses.under_medical_supervision"),
        (
            "dsm5_sud",
            {**DSM5_NONE, "under_medical_supervision": False},
            "responses.under_medical_supervision",
        ),
    ],
)
def test_an_off_scale_or_unknown_response_is_a_400_naming_the_item(
    as_user, clinic, instrument, responses, key
):
    body = {"case": str(clinic.own_case.pk), "instrument": instrument, "responses": responses}

    response = as_user("clinician").post(list_url("assessments"), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [key]
    assert not Assessment.objects.exists()
    assert not Alert.objects.exists()


@pytest.mark.parametrize("instrument", list(INSTRUMENTS))
def test_a_missing_item_is_a_400_naming_it(as_user, clinic, instrument):
    responses = all_at(instrument, min)
    last = list(responses)[-1]
    del responses[last]
    body = {"case": str(clinic.own_case.pk), "instrument": instrument, "responses": responses}

    response = as_user("clinician").post(list_url("assessments"), body, format="json")

    assert response.status_code == 400
    assert response.json() == {f"responses.{last}": ["This item is required."]}
    assert not Assessment.objects.exists()


def test_every_missing_and_unknown_item_is_named_at_once(as_user, clinic):
    body = {"case": str(clinic.own_case.pk), "instrument": "gad7", "responses": {"q1": 0, "q9": 0}}

    response = as_user("clinician").post(list_url("assessments"), body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"responses.q9", *(f"responses.q{i}" for i in range(2, 8))}


@pytest.mark.parametrize("field", ["total", "band", "diagnosis_code", "by", "entered_in_error", "id"])
def test_a_client_sent_score_or_server_field_is_refused_as_unknown(as_user, clinic, field):
    body = {
        **new_body("assessments", clinic.own_case),
        field: {"total": 0, "band": "minimal"}.get(field, "x"),
    }

    response = as_user("clinician").post(list_url("assessments"), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Assessment.objects.exists()


@pytest.mark.parametrize(
    ("administered_at", "key"),
    [
        ("IN_AN_HOUR", "administered_at"),
        ("2001-01-01T10:00:00-06:00", "administered_at"),  # before the case opened
        ("2026-02-30T10:00:00-06:00", "administered_at"),
    ],
)
def test_an_impossible_administration_time_is_a_400(as_user, clinic, administered_at, key):
    if administered_at == "IN_AN_HOUR":
        administered_at = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    body = {**new_body("assessments", clinic.own_case), "administered_at": administered_at}

    response = as_user("clinician").post(list_url("assessments"), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [key]
    assert not Assessment.objects.exists()


def test_a_back_dated_administration_is_kept(as_user, clinic):
    when = timezone.now() - dt.timedelta(days=3)
    body = {**new_body("assessments", clinic.own_case), "administered_at": when.isoformat()}

    response = as_user("clinician").post(list_url("assessments"), body, format="json")

    assert response.status_code == 201
    assert Assessment.objects.get().administered_at == when


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
@pytest.mark.parametrize("role", ["clinician", "supervisor"])
def test_a_recorded_assessment_cannot_be_changed_or_deleted(as_user, records, method, role):
    assessment = records.own["assessments"]
    before = Assessment.objects.filter(pk=assessment.pk).values().get()

    response = getattr(as_user(role), method)(
        detail_url("assessments", assessment), {"total": 0, "responses": {}}, format="json"
    )

    assert response.status_code == 405
    assert Assessment.objects.filter(pk=assessment.pk).values().get() == before


@pytest.mark.parametrize("resource", CORRECTABLE)
@pytest.mark.parametrize("method", ["put", "delete"])
def test_other_records_are_corrected_with_patch_only_and_never_deleted(as_user, records, resource, method):
    record = records.own[resource]

    response = getattr(as_user("supervisor"), method)(detail_url(resource, record), {}, format="json")

    assert response.status_code == 405
    assert MODELS[resource].objects.filter(pk=record.pk).exists()


def test_marking_an_assessment_entered_in_error_keeps_it_with_who_when_and_why(as_user, records, clinician):
    assessment = records.own["assessments"]

    response = as_user("clinician").post(
        entered_in_error_url(assessment), {"reason": "Wrong patient's answers."}, format="json"
    )

    assert response.status_code == 200
    stored = Assessment.objects.get(pk=assessment.pk)
    assert (stored.entered_in_error, stored.entered_in_error_reason, stored.entered_in_error_by) == (
        True,
        "Wrong patient's answers.",
        clinician,
    )
    assert (stored.total, stored.band, stored.responses) == (
        assessment.total,
        assessment.band,
        assessment.responses,
    )
    shown = response.json()
    assert (shown["entered_in_error"], shown["entered_in_error_reason"], shown["entered_in_error_by"]) == (
        True,
        "Wrong patient's answers.",
        str(clinician.pk),
    )
    assert shown["entered_in_error_at"] is not None


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 400), ({"reason": "  "}, 400), ({"reason": "x" * 2001}, 400), ({"reason": "Again."}, 400)],
    ids=["missing", "blank", "too-long", "already-marked"],
)
def test_entered_in_error_needs_a_reason_and_happens_once(as_user, records, body, status):
    assessment = records.own["assessments"]
    if body.get("reason") == "Again.":
        as_user("clinician").post(entered_in_error_url(assessment), {"reason": "First time."}, format="json")

    response = as_user("clinician").post(entered_in_error_url(assessment), body, format="json")

    assert response.status_code == status
    assert list(response.json()) == ["reason"]
    assert Assessment.objects.get(pk=assessment.pk).entered_in_error_reason in ("", "First time.")


@pytest.mark.parametrize(
    ("role", "target", "expected"),
    [
        ("anonymous", "own", 401),
        ("front_desk", "own", 403),
        ("administrator", "own", 403),
        ("clinician", "other", 404),
        ("supervisor", "other", 200),
    ],
)
def test_entered_in_error_by_role(as_user, records, role, target, expected):
    assessment = getattr(records, target)["assessments"]

    response = as_user(role).post(entered_in_error_url(assessment), {"reason": "Wrong form."}, format="json")

    assert response.status_code == expected
    assert Assessment.objects.get(pk=assessment.pk).entered_in_error is (expected == 200)


def test_scores_that_count_exclude_those_entered_in_error(as_user, clinic, records):
    marked = records.own["assessments"]
    as_user("clinician").post(entered_in_error_url(marked), {"reason": "Wrong form."}, format="json")
    kept = as_user("clinician").post(
        list_url("assessments"), new_body("assessments", clinic.own_case), format="json"
    )

    counting = as_user("clinician").get(list_url("assessments"), {"entered_in_error": "false"})
    everything = as_user("clinician").get(list_url("assessments"))

    assert ids(counting) == {kept.json()["id"]}
    assert ids(everything) == {kept.json()["id"], str(marked.pk)}


def test_instrument_filter(as_user, clinic, records):
    gad7 = as_user("clinician").post(
        list_url("assessments"), new_body("assessments", clinic.own_case), format="json"
    )

    phq9 = as_user("clinician").get(list_url("assessments"), {"instrument": "phq9"})
    only_gad7 = as_user("clinician").get(list_url("assessments"), {"instrument": "gad7"})

    assert ids(phq9) == {str(records.own["assessments"].pk)}
    assert ids(only_gad7) == {gad7.json()["id"]}


def test_a_case_assessments_are_listed_oldest_first(as_user, clinic):
    client = as_user("clinician")
    created = []
    for days_ago in (1, 5, 3):
        when = (timezone.now() - dt.timedelta(days=days_ago)).isoformat()
        body = {**new_body("assessments", clinic.own_case), "administered_at": when}
        created.append((days_ago, client.post(list_url("assessments"), body, format="json").json()["id"]))

    response = client.get(list_url("assessments"), {"case": str(clinic.own_case.pk)})

    assert [row["id"] for row in response.json()["results"]] == [i for _, i in sorted(created, reverse=True)]


# Alerts raised by what arrives through the API (SPEC section 5).


def test_phq9_item_9_above_0_raises_an_urgent_suicide_risk_alert_on_the_worklist(as_user, clinic, records):
    body = {
        "case": str(clinic.own_case.pk),
        "instrument": "phq9",
        "responses": {**all_at("phq9", min), "q9": 1},
    }
    client = as_user("clinician")

    recorded = client.post(list_url("assessments"), body, format="json")
    worklist = client.get("/api/v1/alerts/", {"status": "open"}).json()["results"]

    assert recorded.status_code == 201
    alert = Alert.objects.get(kind="suicide_risk")
    assert (alert.severity, alert.status, alert.case, alert.patient) == (
        "urgent",
        "open",
        clinic.own_case,
        clinic.own_patient,
    )
    assert (alert.source_type, str(alert.source_id)) == ("assessment", recorded.json()["id"])
    assert worklist[0]["id"] == str(alert.pk)
    assert worklist[0]["kind"] == "suicide_risk"


@pytest.mark.parametrize(("pulse", "raised"), [(0, False), (4, True)])
def test_cows_13_or_more_raises_a_withdrawal_alert(as_user, clinic, pulse, raised):
    responses = {**all_at("cows", min), "pulse": pulse, "restlessness": 5, "gooseflesh": 3, "sweating": 1}
    body = {"case": str(clinic.own_case.pk), "instrument": "cows", "responses": responses}

    response = as_user("clinician").post(list_url("assessments"), body, format="json")

    assert response.json()["total"] == 9 + pulse
    assert Alert.objects.filter(kind="withdrawal_moderate", severity="warning").exists() is raised


def test_a_fentanyl_positive_screen_raises_an_urgent_alert(as_user, clinic):
    body = {**new_body("drug-screens", clinic.own_case), "results": {"fentanyl": "positive"}}

    response = as_user("clinician").post(list_url("drug-screens"), body, format="json")

    assert response.status_code == 201
    alert = Alert.objects.get()
    assert (alert.kind, alert.severity, alert.case) == ("fentanyl_positive", "urgent", clinic.own_case)


def test_a_screen_corrected_to_fentanyl_positive_raises_the_alert(as_user, records):
    screen = records.own["drug-screens"]

    response = as_user("clinician").patch(
        detail_url("drug-screens", screen), {"results": {"fentanyl": "positive"}}, format="json"
    )

    assert response.status_code == 200
    assert Alert.objects.filter(kind="fentanyl_positive", case=screen.case).count() == 1


@pytest.mark.parametrize(
    ("values", "kinds"),
    [
        ({"alt": 200, "alt_uln": 40}, {"liver_injury"}),  # ALT exactly 5 x ULN
        ({"alt": 199, "alt_uln": 40}, set()),
        # Issue 11: the cholestatic injury typical of kratom.
        ({"alt": 80, "ast": 60, "alp": 480, "total_bilirubin": 2.2}, {"liver_injury"}),
        # Issue 11: potential Hy's law is urgent, not only a warning.
        ({"alt": 800, "alp": 150, "total_bilirubin": 4.0}, {"liver_injury", "hys_law"}),
        # Issue 11: ALP at 5 x ULN is cholestasis, not Hy's law.
        ({"alt": 120, "alp": 600, "total_bilirubin": 3.0}, {"liver_injury"}),
    ],
)
def test_a_liver_panel_meeting_the_dili_criteria_raises_its_alerts(as_user, clinic, values, kinds):
    body = {**new_body("liver-panels", clinic.own_case), "alt_uln": 40, "ast_uln": 40, "alp_uln": 120,
            "total_bilirubin_uln": 1.2, **values}  # fmt: skip

    response = as_user("clinician").post(list_url("liver-panels"), body, format="json")

    assert response.status_code == 201
    raised = dict(Alert.objects.values_list("kind", "severity"))
    assert set(raised) == kinds
    if "hys_law" in kinds:
        assert raised["hys_law"] == "urgent"
        assert "potential Hy's law" in Alert.objects.get(kind="hys_law").message


def test_the_liver_alert_names_the_multiples_and_the_pattern(as_user, clinic):
    body = {**new_body("liver-panels", clinic.own_case), "alt": 80, "alt_uln": 40, "ast": 60, "ast_uln": 40,
            "alp": 480, "alp_uln": 120, "total_bilirubin": 2.2, "total_bilirubin_uln": 1.2}  # fmt: skip

    as_user("clinician").post(list_url("liver-panels"), body, format="json")

    message = Alert.objects.get(kind="liver_injury").message
    assert "ALT 80 (2.0 x ULN)" in message and "ALP 480 (4.0 x ULN)" in message
    assert "cholestatic pattern (R 0.5)" in message


# Liver panels: derived values.


@pytest.mark.parametrize(
    ("values", "meets", "r_ratio", "pattern", "hys_law"),
    [
        ({"alt": 400, "alt_uln": 40, "alp": 100, "alp_uln": 100, "total_bilirubin": 3, "total_bilirubin_uln": 1.2},
         True, 10.0, "hepatocellular", True),
        ({"alt": 200, "alt_uln": 40, "alp": 100, "alp_uln": 100}, True, 5.0, "hepatocellular", False),
        ({"alt": 120, "alt_uln": 40, "alp": 120, "alp_uln": 120, "total_bilirubin": 2.4, "total_bilirubin_uln": 1.2},
         False, 3.0, None, False),  # bilirubin exactly 2 x ULN: below the criteria, no pattern
        ({"alt": 80, "alt_uln": 40, "alp": 240, "alp_uln": 120}, True, 1.0, "cholestatic", False),
        ({"alt": 80, "alt_uln": 40, "alp": 100, "alp_uln": 100}, False, 2.0, None, False),  # normal: no pattern
        # Issue 11: R 4.9975 is shown as 5.0 but classified mixed.
        ({"alt": 199.9, "alt_uln": 40, "alp": 120, "alp_uln": 120, "total_bilirubin": 3.0, "total_bilirubin_uln": 1.2},
         True, 5.0, "mixed", True),
    ],
)  # fmt: skip
def test_liver_panel_derives_criteria_r_ratio_pattern_and_hys_law(
    as_user, clinic, values, meets, r_ratio, pattern, hys_law
):
    body = {**new_body("liver-panels", clinic.own_case), **values}
    client = as_user("clinician")

    created = client.post(list_url("liver-panels"), body, format="json").json()
    shown = client.get(f"/api/v1/liver-panels/{created['id']}/").json()

    for row in (created, shown):
        assert (row["meets_dili_criteria"], row["r_ratio"], row["pattern"], row["hys_law"]) == (
            meets, r_ratio, pattern, hys_law,
        )  # fmt: skip
    assert LiverPanel.objects.get().alt == Decimal(str(values["alt"]))


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("total_bilirubin_uln", 21, ["mg/dL", "µmol/L", "1.23 mg/dL"]),
        ("total_bilirubin_uln", 17, ["mg/dL", "µmol/L"]),
        ("total_bilirubin_uln", 0.4, ["mg/dL", "0.5"]),
        ("total_bilirubin", 51, ["mg/dL", "µmol/L"]),
        ("alt_uln", 400, ["U/L", "10", "100"]),
        ("alt_uln", 9, ["U/L"]),
        ("ast_uln", 101, ["U/L"]),
        ("alp_uln", 49, ["U/L", "50", "200"]),
        ("alp_uln", 201, ["U/L"]),
        ("alt", 20001, ["U/L", "20000"]),
        ("ast", 20001, ["U/L"]),
        ("alp", 0, ["U/L", "1", "5000"]),
        ("alp", 5001, ["U/L"]),
    ],
)
def test_an_implausible_liver_value_is_a_400_naming_the_field_and_the_unit(
    as_user, clinic, field, value, words
):
    body = {**new_body("liver-panels", clinic.own_case), field: value}

    response = as_user("clinician").post(list_url("liver-panels"), body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    message = " ".join(errors[field])
    assert all(word in message for word in words), message
    assert not LiverPanel.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("total_bilirubin_uln", 0.5), ("total_bilirubin_uln", 2.0), ("alt_uln", 10), ("alt_uln", 100),
     ("alp_uln", 50), ("alp_uln", 200), ("alp", 1), ("alt", 20000), ("total_bilirubin", 50)],
)  # fmt: skip
def test_the_edges_of_the_plausible_ranges_are_accepted(as_user, clinic, field, value):
    body = {**new_body("liver-panels", clinic.own_case), field: value}

    assert as_user("clinician").post(list_url("liver-panels"), body, format="json").status_code == 201


def test_liver_panel_correction_updates_the_derived_values(as_user, records):
    panel = records.own["liver-panels"]

    response = as_user("clinician").patch(detail_url("liver-panels", panel), {"alt": 250}, format="json")

    assert response.status_code == 200
    # ALT 250/40 = 6.25 x ULN meets the criteria; R = 6.25 / (80/120) = 9.375: hepatocellular.
    body = response.json()
    assert (body["alt"], body["meets_dili_criteria"], body["r_ratio"], body["pattern"]) == (
        250.0, True, 9.38, "hepatocellular",
    )  # fmt: skip
    assert LiverPanel.objects.get(pk=panel.pk).alt == 250
    assert Alert.objects.filter(kind="liver_injury", case=panel.case).count() == 1


# Drug screens: one column per analyte in the database, `results` in the API.


def test_a_screen_maps_results_to_columns_and_leaves_the_rest_not_tested(as_user, clinic):
    body = {
        **new_body("drug-screens", clinic.own_case),
        "results": {"fentanyl": "negative", "mitragynine": "positive"},
    }

    response = as_user("clinician").post(list_url("drug-screens"), body, format="json")

    expected = dict.fromkeys(ANALYTES, "not_tested") | {"fentanyl": "negative", "mitragynine": "positive"}
    assert response.json()["results"] == expected
    assert DrugScreen.objects.get().results == expected


def test_a_screen_without_results_is_all_not_tested(as_user, clinic):
    body = {"case": str(clinic.own_case.pk), "collected_on": today()}

    response = as_user("clinician").post(list_url("drug-screens"), body, format="json")

    assert response.status_code == 201
    assert set(response.json()["results"].values()) == {"not_tested"}


def test_a_screen_correction_replaces_only_the_analytes_it_names(as_user, records):
    screen = records.own["drug-screens"]

    response = as_user("clinician").patch(
        detail_url("drug-screens", screen), {"results": {"cocaine": "positive"}}, format="json"
    )

    assert response.status_code == 200
    stored = DrugScreen.objects.get(pk=screen.pk)
    assert (stored.cocaine, stored.mitragynine, stored.fentanyl) == ("positive", "negative", "not_tested")
    assert response.json()["results"] == stored.results


@pytest.mark.parametrize(
    ("results", "key"),
    [
        ({"heroin": "positive"}, "results.heroin"),
        ({"fentanyl": "maybe"}, "results.fentanyl"),
        ({"fentanyl": None}, "results.fentanyl"),
        ({"fentanyl": True}, "results.fentanyl"),
        (["fentanyl"], "results"),
        ("positive", "results"),
    ],
)
def test_an_unknown_analyte_or_result_is_a_400_naming_it(as_user, clinic, results, key):
    body = {**new_body("drug-screens", clinic.own_case), "results": results}

    response = as_user("clinician").post(list_url("drug-screens"), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [key]
    assert not DrugScreen.objects.exists()


# Goals and medications: the rules of the domain, named by field.


@pytest.mark.parametrize(
    ("resource", "overrides", "key"),
    [
        ("goals", {"review_date": "TOMORROW"}, "review_date"),
        ("goals", {"review_date": "2001-01-01"}, "review_date"),
        ("goals", {"problem": "  "}, "problem"),
        ("goals", {"status": "abandoned"}, "status"),
        ("medications", {"medication": "other"}, "other_name"),
        ("medications", {"medication": "kratom"}, "medication"),
        ("medications", {"stop_date": "2001-01-01"}, "stop_date"),
        ("medications", {"dose": ""}, "dose"),
        ("drug-screens", {"collected_on": "TOMORROW"}, "collected_on"),
        ("liver-panels", {"collected_on": "TOMORROW"}, "collected_on"),
        ("liver-panels", {"alt": -1}, "alt"),
        ("liver-panels", {"alt_uln": 0}, "alt_uln"),
    ],
)
def test_a_record_the_domain_refuses_is_a_400_naming_the_field(as_user, clinic, resource, overrides, key):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    body = new_body(resource, clinic.own_case) | {
        k: tomorrow if v == "TOMORROW" else v for k, v in overrides.items()
    }

    response = as_user("clinician").post(list_url(resource), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [key]
    assert not MODELS[resource].objects.exists()


def test_a_medication_named_other_keeps_its_name(as_user, clinic):
    body = {**new_body("medications", clinic.own_case), "medication": "other", "other_name": "Gabapentin"}

    response = as_user("clinician").post(list_url("medications"), body, format="json")

    assert response.status_code == 201
    assert (response.json()["medication"], response.json()["other_name"]) == ("other", "Gabapentin")


def test_stopping_a_medication_before_it_started_is_a_400(as_user, records):
    medication = records.own["medications"]

    response = as_user("clinician").patch(
        detail_url("medications", medication), {"stop_date": "2001-01-01"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["stop_date"]
    assert Medication.objects.get(pk=medication.pk).stop_date is None


@pytest.mark.parametrize(
    ("resource", "attribute", "stored", "shown"),
    [
        ("goals", "status", "met", lambda body: body["status"]),
        ("medications", "stop_date", "TODAY", lambda body: body["stop_date"]),
        ("drug-screens", "cocaine", "negative", lambda body: body["results"]["cocaine"]),
        ("liver-panels", "alt", Decimal(45), lambda body: body["alt"]),
    ],
)
def test_a_correction_is_saved_and_shown(as_user, records, resource, attribute, stored, shown):
    record = records.own[resource]

    response = as_user("clinician").patch(detail_url(resource, record), patch_body(resource), format="json")

    assert response.status_code == 200, response.content
    expected = timezone.localdate() if stored == "TODAY" else stored
    assert getattr(MODELS[resource].objects.get(pk=record.pk), attribute) == expected
    assert shown(response.json()) == (today() if stored == "TODAY" else expected)


@pytest.mark.parametrize("resource", CORRECTABLE)
@pytest.mark.parametrize(
    "field", ["case", "id", "created_by", "created_at", "r_ratio", "hys_law", "pattern", "updated_at"]
)
def test_server_owned_field_on_a_correction_is_a_400_naming_it(as_user, clinic, records, resource, field):
    record = records.own[resource]
    model = MODELS[resource]
    before = model.objects.filter(pk=record.pk).values().get()
    value = str(clinic.other_case.pk) if field == "case" else "x"

    response = as_user("clinician").patch(
        detail_url(resource, record), {**patch_body(resource), field: value}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert model.objects.filter(pk=record.pk).values().get() == before


# Query counts: the bound holds for 5 rows and for 60.

LIST_QUERIES = 3 + AUDIT_APPEND_QUERIES  # groups, count, page; then the audit event of the read
DETAIL_QUERIES = 2 + AUDIT_APPEND_QUERIES  # groups, record; then the audit event


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("rows", [5, 60])
def test_list_query_count_does_not_grow_with_rows(
    as_user, many_records, resource, rows, django_assert_max_num_queries
):
    many_records(resource, rows)
    client = as_user("clinician")

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(list_url(resource), {"page_size": 60})

    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("resource", RESOURCES)
def test_detail_query_count(as_user, records, resource, django_assert_max_num_queries):
    client = as_user("clinician")

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(detail_url(resource, records.own[resource]))

    assert response.status_code == 200


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize(("url", "bound"), [("list", LIST_QUERIES), ("detail", DETAIL_QUERIES)])
def test_query_bounds_are_tight(as_user, records, resource, url, bound):
    client = as_user("clinician")

    with CaptureQueriesContext(connection) as queries:
        client.get(list_url(resource) if url == "list" else detail_url(resource, records.own[resource]))

    assert len(queries) == bound


@pytest.mark.parametrize("resource", RESOURCES)
def test_lists_are_paginated(as_user, records, resource):
    body = as_user("supervisor").get(list_url(resource), {"page_size": 1}).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert (body["count"], len(body["results"]), body["previous"]) == (2, 1, None)
    assert body["next"] is not None
