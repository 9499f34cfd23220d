"""Error answers: JSON under /api/ and a page elsewhere, each with the request id; the database being unavailable
(restart, outage, lock timeout) is a 503 with Retry-After instead of a 500."""

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


def test_a_lock_timeout_is_a_503_not_a_500(raw_client):
    api = raw_client.get("/api/v1/lock-timeout/")
    page = raw_client.get("/lock-timeout/")

    assert (api.status_code, api.json()["code"], api["Retry-After"]) == (503, "database_unavailable", "5")
    assert (page.status_code, page["Retry-After"]) == (503, "5")


def test_retry_after_is_configurable(raw_client, settings):
    settings.RETRY_AFTER_SECONDS = 12

    assert raw_client.get("/api/v1/lock-timeout/")["Retry-After"] == "12"


def test_a_request_for_a_host_not_served_is_a_json_400(raw_client, clinician):
    raw_client.force_login(clinician)

    response = raw_client.get("/api/v1/me/", HTTP_HOST="not-a-served-host.example")

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
