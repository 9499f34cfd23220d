"""Error answers: JSON under /api/ and a page elsewhere, each with the request id; the database being busy (a lock
or statement timeout) or unavailable (restart, outage, connection lost) is a 503 with Retry-After instead of a
500, classified once (clinic.errors.database_failure) for both."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ops.urls")]


def test_an_api_error_is_json_with_the_request_id(raw_client):
    response = raw_client.get("/api/v1/crash/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "server_error"
    assert body["request_id"] == response["X-Request-ID"]
    assert "Garcia" not in response.content.decode()


def test_a_page_error_is_a_page_with_the_request_id(raw_client):
    response = raw_client.get("/crash/")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Something went wrong" in page
    assert response["X-Request-ID"] in page
    assert "Garcia" not in page


def test_an_htmx_error_is_plain_text_for_the_message_area(raw_client):
    response = raw_client.get("/crash/", HTTP_HX_REQUEST="true")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/plain")
    assert response["X-Request-ID"] in response.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/patients/", "/api/v1/me/"])
def test_the_api_answers_503_json_with_retry_after_while_the_database_is_down(
    raw_client, clinician, database_down, path
):
    raw_client.force_login(clinician)
    database_down()

    response = raw_client.get(path)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable"
    assert response.json()["request_id"] == response["X-Request-ID"]


def test_a_token_request_is_a_503_too_while_the_database_is_down(raw_client, database_down):
    database_down()

    response = raw_client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token abcdef0123456789")

    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


@pytest.mark.parametrize("path", ["/", "/patients/", "/accounts/login/"])
def test_the_pages_answer_a_503_page_with_retry_after_while_the_database_is_down(
    raw_client, clinician, database_down, path
):
    raw_client.force_login(clinician)
    database_down()

    response = raw_client.get(path)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Temporarily unavailable" in response.content.decode()
    assert response["X-Request-ID"] in response.content.decode()


@pytest.mark.parametrize(
    ("failure", "code", "title"),
    [
        ("lock-timeout", "busy", "The system is busy"),
        ("connection-lost", "database_unavailable", "not answering"),
    ],
)
def test_a_database_failure_is_the_same_503_from_a_view_and_a_page(raw_client, caplog, failure, code, title):
    caplog.set_level("WARNING", logger="clinic.errors")
    api = raw_client.get(f"/api/v1/{failure}/")
    page = raw_client.get(f"/{failure}/")
    htmx = raw_client.get(f"/{failure}/", HTTP_HX_REQUEST="true")

    assert (api.status_code, api.json()["code"], api["Retry-After"]) == (503, code, "5")
    assert title in api.json()["detail"]
    assert (page.status_code, page["Retry-After"]) == (503, "5")
    assert title in page.content.decode()
    assert (htmx.status_code, htmx["Retry-After"]) == (503, "5")
    assert title in htmx.content.decode()
    logged = [record for record in caplog.records if record.name == "clinic.errors"]
    assert [(record.getMessage(), record.code) for record in logged] == [("database failure", code)] * 3


@pytest.mark.parametrize(
    ("sqlstate", "code"),
    [
        ("55P03", "busy"),  # lock_not_available: lock_timeout
        ("57014", "busy"),  # query_canceled: statement_timeout
        ("40001", "busy"),  # serialization_failure
        ("40P01", "busy"),  # deadlock_detected
        (None, "database_unavailable"),  # no server answered: refused, connection lost
        ("57P01", "database_unavailable"),  # admin_shutdown: the server is restarting
        ("08006", "database_unavailable"),  # connection_failure
    ],
)
def test_database_errors_are_classified_in_one_place(sqlstate, code):
    from clinic.errors import database_failure
    from tests.ops.urls import database_error

    assert database_failure(database_error("x", sqlstate)).code == code


@pytest.mark.parametrize("sqlstate", ["25P03", "25P04", "57P05"])
def test_a_session_the_server_ended_on_its_timer_is_unavailable_not_a_500(sqlstate):
    """A worker that stalled mid-transaction (`make freeze`) resumes on a connection PostgreSQL ended after
    idle_in_transaction_session_timeout; psycopg raises that as InternalError, not OperationalError."""
    from django.db import InternalError

    from clinic.errors import database_failure
    from tests.ops.urls import DriverError

    error = InternalError("terminating connection due to idle-in-transaction timeout")
    error.__cause__ = DriverError("terminating connection", sqlstate)
    assert database_failure(error).code == "database_unavailable"
    other = InternalError("current transaction is aborted")
    other.__cause__ = DriverError("aborted", "25P02")
    assert database_failure(other) is None


def test_a_locked_sqlite_file_is_busy_too_and_other_errors_are_not_database_failures():
    import sqlite3

    from django.db import IntegrityError, InterfaceError, OperationalError

    from clinic.errors import database_failure

    locked = OperationalError("database is locked")
    driver = sqlite3.OperationalError("database is locked")
    driver.sqlite_errorcode = 5  # SQLITE_BUSY
    locked.__cause__ = driver

    assert database_failure(locked).code == "busy"
    assert database_failure(InterfaceError("connection already closed")).code == "database_unavailable"
    assert database_failure(IntegrityError("duplicate key")) is None
    assert database_failure(RuntimeError("a bug")) is None


def test_retry_after_is_configurable(raw_client, settings):
    settings.RETRY_AFTER_SECONDS = 12

    assert raw_client.get("/api/v1/lock-timeout/")["Retry-After"] == "12"


def test_a_request_for_a_host_not_served_is_a_json_400(raw_client, clinician):
    raw_client.force_login(clinician)

    response = raw_client.get("/api/v1/me/", HTTP_HOST="not-a-served-host.example")

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
