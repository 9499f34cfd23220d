"""The OpenAPI 3 schema at /api/schema/ and Swagger UI at /api/docs/ (SPEC section 8): every endpoint with its
request and response shapes and the errors it can answer with, generated without a warning, and docs whose
assets the app serves itself (no CDN)."""

import json
import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client, override_settings
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema

from cases.models import Visit
from clinic.roles import Role
from tests.factories import AttendedVisitFactory, CaseFactory, UserFactory

V1 = "/api/v1"
# SPEC section 8, the resources built so far: path -> methods (lower case), exactly.
ENDPOINTS = {
    "/auth/token/": {"post"},
    "/auth/logout/": {"post"},
    "/me/": {"get"},
    "/patients/": {"get", "post"},
    "/patients/{id}/": {"get", "patch"},
    "/patients/{id}/break-glass/": {"post"},
    "/cases/": {"get", "post"},
    "/cases/{id}/": {"get", "patch"},
    "/cases/{id}/transition/": {"post"},
    "/visits/": {"get", "post"},
    "/visits/{id}/": {"get", "patch"},
    "/visits/{id}/sign/": {"post"},
    "/visits/{id}/addenda/": {"post"},
    "/visits/{id}/attendance/": {"post"},
    "/visits/{id}/reschedule/": {"post"},
    "/staff/": {"get"},
    "/staff/{id}/": {"get"},
    "/instruments/": {"get"},
    "/instruments/{code}/": {"get"},
    "/assessments/": {"get", "post"},
    "/assessments/{id}/": {"get"},
    "/assessments/{id}/entered-in-error/": {"post"},
    "/goals/": {"get", "post"},
    "/goals/{id}/": {"get", "patch"},
    "/medications/": {"get", "post"},
    "/medications/{id}/": {"get", "patch"},
    "/drug-screens/": {"get", "post"},
    "/drug-screens/{id}/": {"get", "patch"},
    "/liver-panels/": {"get", "post"},
    "/liver-panels/{id}/": {"get", "patch"},
    "/alerts/": {"get"},
    "/alerts/{id}/": {"get"},
    "/alerts/{id}/acknowledge/": {"post"},
    "/alerts/{id}/resolve/": {"post"},
    "/audit-events/": {"get"},
    "/patients/{id}/access-log/": {"get"},
    "/break-glass-grants/": {"get"},
    "/break-glass-grants/{id}/": {"get"},
    # Section 12 (42 CFR Part 2)
    "/consents/": {"get", "post"},
    "/consents/{id}/": {"get"},
    "/consents/{id}/revoke/": {"post"},
    "/consents/{id}/expiry-event/": {"post"},
    "/consents/{id}/document/": {"get", "post"},
    "/disclosures/": {"get", "post"},
    "/disclosures/{id}/": {"get"},
    "/patients/{id}/disclosures/": {"get"},
    "/accounting-requests/": {"get", "post"},
    "/accounting-requests/{id}/": {"get"},
    "/accounting-requests/{id}/extend/": {"post"},
    "/accounting-requests/{id}/fulfil/": {"post"},
    "/counseling-notes/": {"get", "post"},
    "/counseling-notes/{id}/": {"get"},
    # Section 13 (record release)
    "/patients/{id}/release/": {"post"},
}
LISTS = {
    "/patients/", "/cases/", "/visits/", "/staff/", "/instruments/", "/assessments/", "/goals/", "/medications/",
    "/drug-screens/", "/liver-panels/", "/alerts/", "/audit-events/", "/patients/{id}/access-log/",
    "/break-glass-grants/", "/consents/", "/disclosures/", "/patients/{id}/disclosures/", "/accounting-requests/",
    "/counseling-notes/",
}  # fmt: skip
# The one file upload (SPEC section 10: multipart field `file`) and the one file download, the signed consent form:
# the only bodies that are not JSON.
FILES = {
    ("/consents/{id}/document/", "post"): {"multipart/form-data"},
    ("/consents/{id}/document/", "get"): {"application/pdf", "image/png", "image/jpeg"},
}
# Operations that answer a document rather than JSON: the record release (FHIR Bundle or printable summary).
DOCUMENTS = {("/patients/{id}/release/", "post"): {"application/fhir+json", "text/html"}}
# Actions that take no input: no request body in the schema.
NO_BODY = {("/auth/logout/", "post"), ("/visits/{id}/sign/", "post")}
CONFLICTS = {
    ("/patients/", "post"),  # possible duplicates
    ("/cases/", "post"),  # the patient already has an open case
    ("/cases/{id}/transition/", "post"),  # someone else changed the case first
    ("/visits/", "post"),  # overlaps other visits (issue 15)
    ("/visits/{id}/", "patch"),  # the note is signed
    ("/visits/{id}/attendance/", "post"),  # an attendance rule refuses it now
    ("/visits/{id}/reschedule/", "post"),  # overlaps, or the visit is no longer scheduled
    ("/visits/{id}/sign/", "post"),  # already signed
    ("/alerts/{id}/acknowledge/", "post"),  # already acknowledged or resolved
    ("/alerts/{id}/resolve/", "post"),  # already resolved
    ("/consents/{id}/document/", "post"),  # a scan is already on file
}
AUDIT_FILTERS = {"user", "action", "outcome", "since", "until", "data_category", "object_type", "object_id"}
CDN_MARKERS = ("cdn.", "unpkg", "jsdelivr", "cdnjs", "googleapis", "//")


def reader() -> Client:
    """A client the schema answers: signed in (SPEC section 2: the schema and docs need a signed-in user unless
    DEBUG). A session without a database row would do, but a real user keeps this honest."""
    client = Client()
    client.force_login(UserFactory(roles=[Role.FRONT_DESK]))
    return client


@pytest.fixture(scope="module")
def schema() -> dict:
    with override_settings(DEBUG=True):  # the same document a signed-in user gets, without a module-wide user
        response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path.removeprefix(V1), method, operation


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_schema_and_docs_need_a_signed_in_user_unless_debug(db, path):
    assert Client().get(path).status_code in (401, 403)
    assert reader().get(path).status_code == 200
    with override_settings(DEBUG=True):
        assert Client().get(path).status_code == 200


def test_the_schema_is_openapi_3_in_yaml_and_json(db):
    client = reader()
    as_yaml = client.get("/api/schema/")
    assert as_yaml.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    document = yaml.safe_load(as_yaml.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    as_json = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert as_json.status_code == 200
    assert json.loads(as_json.content)["openapi"] == document["openapi"]


def test_the_schema_generates_and_validates_without_a_warning(tmp_path, db):
    """`manage.py spectacular --validate --fail-on-warn` raises on any generator warning or error, and on a
    document that does not validate against the OpenAPI 3 meta-schema."""
    GENERATOR_STATS.reset()  # warnings are counted once per process: start clean so that all are seen
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert not GENERATOR_STATS, "drf-spectacular reported warnings or errors"
    validate_schema(yaml.safe_load(target.read_text()))


def test_every_endpoint_and_method_of_the_spec_built_so_far_is_documented(schema):
    documented: dict[str, set[str]] = {}
    for path, method, _ in operations(schema):
        documented.setdefault(path, set()).add(method)
    assert {path: documented.get(path) for path in ENDPOINTS} == ENDPOINTS
    assert all(path.startswith(V1) for path in schema["paths"]), "the API lives under /api/v1/"


def test_every_operation_documents_a_success_shape_its_json_body_and_refused_credentials(schema):
    """Holds for endpoints added later too."""
    for path, method, operation in operations(schema):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        successes = [code for code in responses if code.startswith("2")]
        assert len(successes) == 1, where
        if (path, method) in FILES:
            media = FILES[path, method]
            assert media == set((operation.get("requestBody") or responses[successes[0]])["content"]), where
        elif (path, method) in DOCUMENTS:
            assert set(responses[successes[0]]["content"]) == DOCUMENTS[path, method], where
        elif successes != ["204"]:
            assert "application/json" in responses[successes[0]]["content"], where
        if "requestBody" in operation and (path, method) not in FILES:
            assert set(operation["requestBody"]["content"]) == {"application/json"}, where
        assert "401" in responses, where
        for code in (code for code in responses if code.startswith("4")):
            assert responses[code]["description"], f"{where} {code}"
            assert "application/json" in responses[code]["content"], f"{where} {code}"


@pytest.mark.parametrize(
    ("path", "method"), sorted((p, m) for p, methods in ENDPOINTS.items() for m in methods)
)
def test_each_operation_documents_its_request_its_response_and_its_errors(schema, path, method):
    operation = schema["paths"][V1 + path][method]
    responses = operation["responses"]

    if (path, method) in FILES and method == "post":
        body = operation["requestBody"]["content"]
        assert set(body) == FILES[path, method], "a file upload"
        assert resolve(schema, body["multipart/form-data"]["schema"]).get("properties"), "request fields"
    elif method in {"post", "patch"} and (path, method) not in NO_BODY:
        body = operation["requestBody"]["content"]
        assert set(body) == {"application/json"}, "the API parses JSON only"
        assert resolve(schema, body["application/json"]["schema"]).get("properties"), "request fields"
    else:
        assert "requestBody" not in operation

    successes = [code for code in responses if code.startswith("2")]
    assert len(successes) == 1
    if path == "/auth/logout/":
        assert successes == ["204"]
    elif (path, method) in FILES and method == "get":
        assert set(responses[successes[0]]["content"]) == FILES[path, method]
    elif (path, method) in DOCUMENTS:
        assert set(responses[successes[0]]["content"]) == DOCUMENTS[path, method]
    else:
        success = responses[successes[0]]["content"]["application/json"]["schema"]
        assert resolve(schema, success).get("properties"), "response fields"

    expected_errors = {"401", "429"}  # every operation is throttled
    if path != "/auth/token/":
        expected_errors.add("403")
    is_list = method == "get" and path in LISTS
    if method != "get" or is_list:  # bad input; on lists, bad filters
        expected_errors.add("400")
    if method != "get":
        expected_errors.add("415")
    if "{" in path or is_list:  # out of scope, or a page past the end
        expected_errors.add("404")
    if (path, method) in CONFLICTS:
        expected_errors.add("409")
    assert {code for code in responses if code.startswith("4")} == expected_errors
    for code in expected_errors:
        assert responses[code]["description"]
        assert "application/json" in responses[code]["content"]


def test_lists_document_pagination_and_their_filters(schema):
    filters = {
        "/patients/": {"search", "stage", "clinician", "has_open_case", "mrn"},
        "/cases/": {"patient", "stage", "clinician", "status"},
        "/visits/": {"case", "patient", "clinician", "status", "date_from", "date_to"},
        "/staff/": {"role", "is_active"},
        "/instruments/": set(),
        "/assessments/": {"case", "patient", "instrument", "entered_in_error"},
        "/goals/": {"case", "patient", "status"},
        "/medications/": {"case", "patient"},
        "/drug-screens/": {"case", "patient"},
        "/liver-panels/": {"case", "patient"},
        "/alerts/": {"case", "patient", "status", "severity", "kind"},
        "/audit-events/": {*AUDIT_FILTERS, "patient", "format"},
        "/patients/{id}/access-log/": {*AUDIT_FILTERS, "id", "format"},
        "/break-glass-grants/": {"user", "patient", "active", "since"},
    }
    for path, expected in filters.items():
        operation = schema["paths"][V1 + path]["get"]
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert names == {*expected, "page", "page_size"}, path
        page = resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
        assert {"count", "next", "previous", "results"} <= set(page["properties"])


def test_codes_are_enums_with_the_spec_vocabulary(schema):
    components = schema["components"]["schemas"]
    assert components["StageEnum"]["enum"] == ["intake", "assessment", "treatment", "recovery", "discharged"]
    assert set(components["DischargeReasonEnum"]["enum"]) == {
        "completed", "left_against_advice", "terminated_by_facility", "transferred", "incarcerated", "death", "other",
    }  # fmt: skip
    assert set(components["VisitStatusEnum"]["enum"]) == {
        "scheduled",
        "attended",
        "no_show",
        "cancelled",
        "late_cancel",
    }
    assert components["InstrumentEnum"]["enum"] == ["dsm5_sud", "cows", "sows", "phq9", "gad7"]
    assert components["ScreenResultEnum"]["enum"] == ["positive", "negative", "not_tested"]
    assert set(components["AlertKindEnum"]["enum"]) == {
        "suicide_risk", "hypertensive_crisis", "elevated_bp", "alpha2_hypotension", "liver_injury", "hys_law",
        "withdrawal_moderate", "seizure", "overdose", "engagement_risk", "fentanyl_positive", "return_to_use",
        "plan_review_overdue",
    }  # fmt: skip
    assert components["AlertSeverityEnum"]["enum"] == ["urgent", "warning"]
    assert components["AlertStatusEnum"]["enum"] == ["open", "acknowledged", "resolved"]
    assert components["GoalStatusEnum"]["enum"] == ["active", "met", "revised", "discontinued"]
    assert components["BpClassEnum"]["enum"] == ["normal", "elevated", "stage_1", "stage_2", "crisis"]
    assert components["PatternEnum"]["enum"] == ["hepatocellular", "mixed", "cholestatic"]
    results = components["ScreenResultsRequest"]["properties"]
    assert set(results) == {
        "mitragynine", "seven_oh_mitragynine", "opioids", "fentanyl", "buprenorphine", "methadone", "benzodiazepines",
        "amphetamines", "cocaine", "cannabinoids", "alcohol",
    }  # fmt: skip
    transition = components["TransitionRequestRequest"]
    assert transition["required"] == ["to_stage"]
    has_open_case = next(
        p for p in schema["paths"][f"{V1}/patients/"]["get"]["parameters"] if p["name"] == "has_open_case"
    )
    assert has_open_case["schema"]["type"] == "boolean"


def test_clinical_fields_are_optional_in_responses_since_some_rows_leave_them_out(schema):
    """Front desk gets visits and cases without clinical content (SPEC section 2): the schema must not promise
    those fields, or every such response would break it."""
    components = schema["components"]["schemas"]
    visit_required = set(components["Visit"]["required"])
    assert not visit_required & {*Visit.CLINICAL_FIELDS, "bp_class", "signed_at", "signed_by", "addenda"}
    assert {"id", "case", "patient", "clinician", "visit_type", "scheduled_at", "status"} <= visit_required
    case_required = set(components["Case"]["required"])
    assert not case_required & {"kratom_form", "kratom_daily_grams", "reasons_for_use", "other_substances"}
    assert {"id", "patient", "stage", "status", "stage_history", "version"} <= case_required
    assert "reason" not in components["StageTransition"]["required"]
    # "" (not given) is a kratom form the API answers with
    kratom_form = components["Case"]["properties"]["kratom_form"]
    refs = {option["$ref"].rsplit("/", 1)[-1] for option in kratom_form["oneOf"]}
    assert refs == {"KratomFormEnum", "BlankEnum"}


def test_what_front_desk_is_sent_fits_the_schema(schema, front_desk, clinician):
    """The keys of a front-desk visit and case are all documented, and every required one is there."""
    case = CaseFactory(primary_clinician=clinician)
    AttendedVisitFactory(case=case, clinician=clinician)
    client = Client()
    client.force_login(front_desk)
    components = schema["components"]["schemas"]
    for url, component in (("/api/v1/visits/", "VisitList"), ("/api/v1/cases/", "Case")):
        row = client.get(url).json()["results"][0]
        assert set(components[component]["required"]) <= set(row) <= set(components[component]["properties"])


def test_staff_credentials_are_documented_read_only(schema):
    credentials = schema["components"]["schemas"]["Staff"]["properties"]["credentials"]

    assert credentials["readOnly"] is True
    assert credentials["type"] == "string"
    assert "signed notes" in credentials["description"]


def test_swagger_ui_is_served_with_its_assets_from_the_app_not_a_cdn(db):
    page = reader().get("/api/docs/")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "/api/schema/" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the page references its scripts and styles"
    for marker in CDN_MARKERS:
        assert not any(marker in asset for asset in assets), f"an asset comes from elsewhere: {marker}"
    assert not re.search(r"https?://", html.replace("http://www.w3.org", "")), "no absolute URLs at all"
    static = [asset for asset in assets if asset.startswith("/static/")]
    assert {asset.rsplit("/", 1)[-1] for asset in static} >= {
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-ui.css",
    }
    for asset in static:
        # On disk in the app's static files (drf-spectacular-sidecar), so `collectstatic` ships it ...
        assert finders.find(asset.removeprefix("/static/")), asset
    # ... and served by the app itself: WhiteNoise serves collected files in production; in tests (nothing is
    # collected) the same middleware serves them straight from the finders.
    with override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True):
        client = Client()
        for asset in static:
            response = client.get(asset)
            assert response.status_code == 200, asset
            assert int(response.get("Content-Length", "1")) > 0


def test_the_audit_log_documents_its_csv_export_and_json_errors(schema):
    """`?format=csv` answers text/csv (the whole filtered log, not a page); errors stay JSON."""
    for path in ("/audit-events/", "/patients/{id}/access-log/"):
        operation = schema["paths"][V1 + path]["get"]
        ok = operation["responses"]["200"]["content"]
        assert set(ok) == {"application/json", "text/csv"}, path
        assert ok["text/csv"]["schema"] == {"type": "string"}
        page = resolve(schema, ok["application/json"]["schema"])
        assert {"count", "next", "previous", "results"} <= set(page["properties"])
        format_parameter = next(p for p in operation["parameters"] if p["name"] == "format")
        assert set(format_parameter["schema"]["enum"]) == {"json", "csv"}
        for code, response in operation["responses"].items():
            if code.startswith("4"):
                assert set(response["content"]) == {"application/json"}, f"{path} {code}"
    event = schema["components"]["schemas"]["AuditEvent"]["properties"]
    assert {
        "id", "occurred_at", "user", "roles", "action", "object_type", "object_id", "patient", "outcome", "ip",
        "request_id", "hash", "prev_hash", "data_category", "detail",
    } <= set(event)  # fmt: skip
