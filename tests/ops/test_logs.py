"""Structured logs: one JSON object per line, UTC, the request id and user id on every line of a request, an access
line per request, and never a secret, a note's text or a patient's name."""

import datetime as dt
import io
import json
import logging

import pytest
from django.test import RequestFactory
from django.utils import timezone

from clinic.logs import JsonFormatter, RequestLogFilter, request_id_for
from tests.factories import CaseFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ops.urls")]

PASSWORD = "correct-horse-battery-staple"  # the factories' password


@pytest.fixture
def log_lines():
    """The formatted lines every logger writes during the test, as the production handler formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestLogFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def test_every_line_is_one_json_object_with_time_in_utc_level_and_logger(log_lines):
    logging.getLogger("clinic.test").warning("something happened", extra={"count": 3})

    [line] = log_lines()
    record = json.loads(line)
    assert record["level"] == "WARNING"
    assert record["logger"] == "clinic.test"
    assert record["message"] == "something happened"
    assert record["count"] == 3
    assert dt.datetime.fromisoformat(record["time"]).utcoffset() == dt.timedelta(0)


def test_a_traceback_stays_on_one_line(log_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("clinic.test").exception("failed")

    [line] = log_lines()
    assert "ValueError: boom" in json.loads(line)["exc_info"]


def test_a_request_writes_one_access_line_with_its_request_id_and_user(client, clinician, log_lines):
    client.force_login(clinician)

    response = client.get("/patients/?search=Garcia")

    access = [json.loads(line) for line in log_lines() if json.loads(line)["logger"] == "clinic.access"]
    assert len(access) == 1
    assert access[0] | {"duration_ms": 0} == access[0] | {
        "method": "GET",
        "path": "/patients/",
        "status": 200,
        "duration_ms": 0,
        "request_id": response["X-Request-ID"],
        "user_id": str(clinician.pk),
    }


def test_every_line_written_during_a_request_carries_its_request_id(raw_client, log_lines):
    response = raw_client.get("/api/v1/crash/")

    records = [json.loads(line) for line in log_lines()]
    assert {record["logger"] for record in records} >= {"django.request", "clinic.access"}
    assert {record["request_id"] for record in records} == {response["X-Request-ID"]}


def test_a_token_users_id_is_on_the_access_line(client, clinician, log_lines):
    token = client.post(
        "/api/v1/auth/token/",
        {"username": "clinician", "password": PASSWORD},
        content_type="application/json",
    ).json()["token"]

    client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")

    access = [json.loads(line) for line in log_lines() if '"clinic.access"' in line]
    assert access[-1]["user_id"] == str(clinician.pk)


@pytest.fixture
def named_case(clinician):
    return CaseFactory(primary_clinician=clinician, patient__last_name="Quibblefrost")


def test_no_secret_note_text_or_patient_name_reaches_a_log_line(client, clinician, named_case, log_lines):
    case = named_case
    note = "Patient disclosed sensitive-detail-8841 during counseling."
    client.post("/accounts/login/", {"username": "clinician", "password": "wrong-password-7731"})
    token = client.post(
        "/api/v1/auth/token/",
        {"username": "clinician", "password": PASSWORD},
        content_type="application/json",
    ).json()["token"]
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    client.get("/api/v1/patients/?search=Quibblefrost", **headers)
    created = client.post(
        "/api/v1/visits/",
        {
            "case": str(case.pk),
            "clinician": clinician.pk,
            "scheduled_at": timezone.now().isoformat(),
            "visit_type": "individual_counseling",
        },
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201, created.json()
    noted = client.patch(
        f"/api/v1/visits/{created.json()['id']}/",
        {"status": "attended", "subjective": note},
        content_type="application/json",
        **headers,
    )
    assert noted.status_code == 200, noted.json()
    logging.getLogger("clinic.test").info("context", extra={"password": PASSWORD, "auth_token": token})

    logged = "\n".join(log_lines())
    assert logged
    for secret in (PASSWORD, "wrong-password-7731", token, note, "sensitive-detail-8841", "Quibblefrost"):
        assert secret not in logged


def test_django_request_logger_lines_drop_the_request_and_its_query_string(raw_client, log_lines):
    raw_client.get("/api/v1/crash/?search=Quibblefrost")

    logged = "\n".join(log_lines())
    assert "Quibblefrost" not in logged
    assert "WSGIRequest" not in logged


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("3f2a9c4e-1b7d-4c8e-9a55-0d6f1e2b3c4d", True),
        ("edge-proxy:1733210000.123", True),
        ("short", False),
        ("x" * 65, False),
        ('abc"} {"injected": 1', False),
        ("line\nbreak-0123456789", False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_well_formed(incoming, kept):
    request = RequestFactory().get("/", HTTP_X_REQUEST_ID=incoming)

    request_id = request_id_for(request)

    assert (request_id == incoming) is kept
    assert 8 <= len(request_id) <= 64
