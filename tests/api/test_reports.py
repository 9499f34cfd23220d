"""The report endpoints (SPEC sections 6, 8, 10; docs/reports.md): who may run them, JSON and CSV, the
de-identified export, bad parameters, the audit of every run, and a fixed number of queries per request. The
numbers themselves are tested in tests/cases/test_reports.py."""

import csv
import datetime as dt
import io

import pytest
from django.db.models import Max
from django.urls import reverse

from cases.models import Case, Visit
from cases.reports import REPORTS
from clinic.models import AuditEvent
from tests.api.conftest import AUDIT_APPEND_QUERIES
from tests.factories import PatientFactory
from tests.report_builders import (
    QUERIES,
    SETUP_QUERIES,
    closed_case,
    episode,
    local,
    score,
    screen,
    visit,
)

pytestmark = pytest.mark.django_db

D = dt.date
NAMES = list(REPORTS)
RANGE = {"start": "2025-01-01", "end": "2025-03-31"}
# SPEC section 10, the keys a client relies on.
SPEC_KEYS = {
    "census": {"as_of", "open_by_stage", "open_by_clinician", "admissions", "readmissions", "discharges",
               "discharges_by_reason"},
    "retention": {"cohort_size", "days", "median_length_of_stay_days"},
    "visits": {"rows"},
    "outcomes": {"instruments", "mitragynine_negative_share", "median_days_in_stage", "remission"},
}  # fmt: skip


def url(name: str) -> str:
    return reverse(f"report-{name}")


def last_sequence() -> int:
    return AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0


def events_since(sequence: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=sequence).order_by("id"))


@pytest.fixture
def cohort(clinician, other_clinician, supervisor):
    """Two of `clinician`'s cases (one a readmission, discharged in the range), one of `other_clinician`'s."""
    patient = PatientFactory(first_name="Quilla", last_name="Zephyrine", date_of_birth=D(1961, 7, 14))
    closed_case(D(2024, 1, 1), D(2024, 6, 1), patient=patient, primary=clinician)
    own = closed_case(D(2025, 1, 10), D(2025, 2, 20), patient=patient, primary=clinician)
    other = episode(D(2025, 2, 1), (Case.Stage.ASSESSMENT, D(2025, 2, 3)), primary=other_clinician)
    visit(own, clinician, local(D(2025, 1, 12)), Visit.Status.ATTENDED, Visit.VisitType.INTAKE)
    visit(other, other_clinician, local(D(2025, 2, 2)), Visit.Status.NO_SHOW, Visit.VisitType.INTAKE)
    score(own, "phq9", D(2025, 1, 11), total=20, by=clinician)
    score(own, "phq9", D(2025, 2, 11), total=3, by=clinician)
    screen(other, D(2025, 2, 5), "negative", by=other_clinician)
    return {"own": own, "other": other}


# --- Who may run a report ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 401),
        ("front_desk", 403),
        ("clinician", 200),
        ("supervisor", 200),
        ("administrator", 200),
    ],
)
def test_who_may_run_each_report(as_user, cohort, name, role, status):
    response = as_user(role).get(url(name), RANGE)

    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("query", [RANGE, {**RANGE, "format": "csv"}])
def test_front_desk_is_refused_and_the_refusal_is_audited(as_user, cohort, query):
    before = last_sequence()

    response = as_user("front_desk").get(url("census"), query)

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    [event] = events_since(before)
    assert (event.action, event.object_type, event.object_id, event.outcome, event.patient_id) == (
        "view", "report", "census", "denied", None,
    )  # fmt: skip


def test_anonymous_requests_are_refused_unrecorded(api, cohort):
    before = last_sequence()

    assert api.get(url("outcomes")).status_code == 401
    assert events_since(before) == []


# --- JSON ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_each_report_answers_the_spec_shape_with_its_parameters(as_user, cohort, name):
    body = as_user("supervisor").get(url(name), RANGE).json()

    assert SPEC_KEYS[name] <= set(body)
    assert body["parameters"] == {"start": "2025-01-01", "end": "2025-03-31", "clinician": None}
    assert body["deidentified"] is False


def test_the_census_over_the_api(as_user, cohort, clinician, other_clinician):
    # A supervisor: administrators' reports are always de-identified (SPEC section 2, version 2).
    body = as_user("supervisor").get(url("census"), RANGE).json()

    assert body == {
        "as_of": "2025-03-31",
        "open_by_stage": {"intake": 0, "assessment": 1, "treatment": 0, "recovery": 0},
        "open_by_clinician": [
            {"clinician": str(other_clinician.pk), "clinician_name": other_clinician.full_name, "open": 1}
        ],
        "admissions": 2,
        "readmissions": 1,
        "discharges": 1,
        "discharges_by_reason": {
            reason: int(reason == "completed") for reason in Case.DischargeReason.values
        },
        "parameters": {"start": "2025-01-01", "end": "2025-03-31", "clinician": None},
        "deidentified": False,
    }


def test_a_clinician_reports_on_their_caseload_only(as_user, cohort, other_clinician):
    own = as_user("clinician").get(url("census"), RANGE).json()
    colleague = (
        as_user("clinician").get(url("census"), {**RANGE, "clinician": str(other_clinician.pk)}).json()
    )

    assert (own["admissions"], own["discharges"], own["open_by_clinician"]) == (1, 1, [])
    # naming a colleague: the colleague's part of the clinician's own caseload, here nothing
    assert (colleague["admissions"], colleague["discharges"]) == (0, 0)
    assert colleague["parameters"]["clinician"] == str(other_clinician.pk)


def test_the_defaults_are_the_twelve_months_to_today(as_user, cohort):
    from cases.measures import add_months
    from cases.reports.params import clinic_today

    body = as_user("supervisor").get(url("retention")).json()

    today = clinic_today()
    assert body["parameters"] == {
        "start": (add_months(today, -12) + dt.timedelta(days=1)).isoformat(),
        "end": today.isoformat(),
        "clinician": None,
    }


@pytest.mark.parametrize("name", NAMES)
def test_no_report_names_a_patient(as_user, cohort, name):
    for query in ({**RANGE}, {**RANGE, "format": "csv"}):
        text = as_user("supervisor").get(url(name), query).content.decode()
        patient = cohort["own"].patient
        for identifier in ("Quilla", "Zephyrine", patient.mrn, "1961-07-14", str(patient.pk)):
            assert identifier not in text


# --- CSV and the de-identified export -----------------------------------------------------------------------------


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("name", NAMES)
def test_format_csv_is_a_table_of_the_same_numbers_as_an_attachment(as_user, cohort, name):
    client = as_user("supervisor")

    response = client.get(url(name), {**RANGE, "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="report-{name}-2025-01-01-to-2025-03-31.csv"'
    )
    from cases.reports import ReportParams, csv_rows
    from clinic.models import User

    supervisor = User.objects.get(username="supervisor")
    expected = csv_rows(name, REPORTS[name](supervisor, ReportParams(D(2025, 1, 1), D(2025, 3, 31))))
    assert rows_of(response) == expected


def test_the_census_csv(as_user, cohort):
    rows = rows_of(as_user("supervisor").get(url("census"), {**RANGE, "format": "csv"}))

    assert rows[0] == ["section", "group", "subgroup", "label", "measure", "value"]
    assert ["summary", "", "", "", "admissions", "2"] in rows
    assert ["open_by_stage", "assessment", "", "Assessment", "open", "1"] in rows


def test_the_deidentified_export_suppresses_small_cells_in_json_and_csv(as_user, cohort):
    client = as_user("supervisor")

    body = client.get(url("census"), {**RANGE, "deidentified": "true"}).json()
    rows = rows_of(client.get(url("census"), {**RANGE, "deidentified": "true", "format": "csv"}))
    retention = client.get(url("retention"), {**RANGE, "deidentified": "true"}).json()

    assert body["deidentified"] is True
    assert (body["admissions"], body["readmissions"], body["discharges"]) == ("<11", "<11", "<11")
    assert body["open_by_stage"] == {"intake": 0, "assessment": "<11", "treatment": 0, "recovery": 0}
    assert body["discharges_by_reason"]["death"] == 0
    assert ["summary", "", "", "", "admissions", "<11"] in rows
    assert retention["days"][0] == {"day": 30, "eligible": "<11", "retained": "<11", "rate": "suppressed"}
    assert retention["median_length_of_stay_days"] == "suppressed"
    export = client.get(url("census"), {**RANGE, "deidentified": "true", "format": "csv"})
    assert export["Content-Disposition"].endswith('-deidentified.csv"')


# --- Bad parameters -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2025-02-30"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"start": "2025-04-01", "end": "2025-03-31"}, "start"),
        ({"start": "1990-01-01", "end": "2025-01-01"}, "start"),
        ({"clinician": "12345"}, "clinician"),
        ({"clinician": "7d0d2b4c-0000-4000-8000-000000000000"}, "clinician"),
        ({"deidentified": "maybe"}, "deidentified"),
    ],
)
@pytest.mark.parametrize("name", ["census", "outcomes"])
def test_a_bad_parameter_is_a_400_naming_it_and_runs_nothing(as_user, cohort, name, query, field):
    before = last_sequence()

    response = as_user("supervisor").get(url(name), {**query, "format": "csv"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert field in response.json()
    assert events_since(before) == []


def test_a_front_desk_id_as_clinician_is_a_400(as_user, cohort, front_desk):
    response = as_user("supervisor").get(url("visits"), {"clinician": str(front_desk.pk)})

    assert response.status_code == 400
    assert response.json() == {"clinician": ["This user is not a clinician or supervisor."]}


def test_an_unknown_format_is_a_json_404(as_user, cohort):
    response = as_user("supervisor").get(url("census"), {"format": "xlsx"})

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_an_empty_range_answers_zeros(as_user, cohort):
    body = as_user("supervisor").get(url("visits"), {"start": "2019-01-01", "end": "2019-12-31"}).json()

    assert (body["rows"], body["by_clinician"]) == ([], [])


# --- Audit and query counts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_each_run_is_audited_once_view_for_json_and_export_for_csv(as_user, cohort, name, clinician):
    client = as_user("clinician")
    before = last_sequence()

    client.get(url(name), {**RANGE, "clinician": str(clinician.pk)})
    client.get(url(name), {**RANGE, "format": "csv", "deidentified": "true"})

    viewed, exported = events_since(before)
    assert (viewed.action, viewed.object_type, viewed.object_id, viewed.outcome) == (
        "view",
        "report",
        name,
        "allowed",
    )
    assert (viewed.patient_id, viewed.patients_seen, viewed.username) == (None, "", "clinician")
    assert viewed.detail == {
        "parameters": {"start": "2025-01-01", "end": "2025-03-31", "clinician": str(clinician.pk)},
        "deidentified": False,
    }
    assert (exported.action, exported.object_id) == ("export", name)
    assert exported.detail == {
        "query": {"format": "csv"},
        "parameters": {"start": "2025-01-01", "end": "2025-03-31", "clinician": None},
        "deidentified": True,
    }


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [1, 12])
def test_a_report_request_runs_a_fixed_number_of_queries(
    as_user, supervisor, name, size, django_assert_max_num_queries
):
    for n in range(size):
        case = episode(D(2025, 1, 1 + n), (Case.Stage.ASSESSMENT, D(2025, 1, 20)), (Case.Stage.TREATMENT,
                       D(2025, 2, 1 + n)), primary=supervisor)  # fmt: skip
        visit(case, supervisor, local(D(2025, 2, 1 + n)), Visit.Status.ATTENDED, Visit.VisitType.INTAKE)
        score(case, "gad7", D(2025, 1, 2), total=15, by=supervisor)
        score(case, "gad7", D(2025, 3, 2), total=2, by=supervisor)
        screen(case, D(2025, 3, 1), "negative", by=supervisor)
    client = as_user("supervisor")

    # + the user's roles, + the clinician and their roles, + the audit append
    with django_assert_max_num_queries(QUERIES[name] + SETUP_QUERIES + 1 + 2 + AUDIT_APPEND_QUERIES):
        response = client.get(url(name), {**RANGE, "clinician": str(supervisor.pk)})

    assert response.status_code == 200


# --- What is sent fits the schema -----------------------------------------------------------------------------------


def json_schema(schema: dict, node: object) -> object:
    """An OpenAPI 3.0 schema node as plain JSON Schema: references resolved, `nullable` as a null type."""
    if isinstance(node, list):
        return [json_schema(schema, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return json_schema(schema, schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]])
    converted = {key: json_schema(schema, value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") and "type" in node:
        converted["type"] = [node["type"], "null"]
    return converted


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("deidentified", ["false", "true"])
def test_what_each_report_sends_fits_its_documented_schema(as_user, cohort, name, deidentified):
    import jsonschema
    from django.test import Client, override_settings

    with override_settings(DEBUG=True):  # the document a signed-in user gets
        schema = Client().get("/api/schema/?format=json").json()
    operation = schema["paths"][f"/api/v1/reports/{name}/"]["get"]
    documented = json_schema(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])

    body = as_user("supervisor").get(url(name), {**RANGE, "deidentified": deidentified}).json()

    jsonschema.validate(body, documented)  # type: ignore[arg-type]
    assert set(body) == set(documented["properties"])  # type: ignore[index]
