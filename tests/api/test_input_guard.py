# ruff: noqa: F811 (the `world` and `module_world` fixtures are test_bad_input's)
"""The input guard (clinic/inputguard.py, api/parsers.py; SPEC section 8): nested JSON, NUL bytes, over-long texts
and oversized bodies are refused the same way on every JSON endpoint, with or without credentials, and the pages
refuse the same texts with the same words."""

import json

import pytest
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from cases.models import VisitAddendum
from clinic.inputguard import MAX_JSON_DEPTH, NOTE_TEXT_MAX_LENGTH, json_too_deep
from tests.api.test_bad_input import ENDPOINTS, client_for, module_world, send, snapshot, world  # noqa: F401

pytestmark = pytest.mark.django_db


def nested(depth: int) -> str:
    """An object whose `first_name` is `depth` - 1 arrays deep: `depth` levels in all."""
    return '{"first_name": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def test_the_depth_scan_ignores_brackets_inside_strings():
    assert not json_too_deep(json.dumps({"text": "[" * 500 + '\\"{' * 100}))
    assert json_too_deep("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert not json_too_deep("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_deeply_nested_json_to_the_token_endpoint_is_a_400_without_credentials(depth):
    body = "[" * depth + "]" * depth
    response = APIClient().post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper than 64 levels" in response.json()["detail"]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(world, endpoint):
    client = client_for(world, endpoint.role)
    before = snapshot(world, endpoint)
    response = send(client, endpoint.method, endpoint.url(world), nested(1000), "application/json")
    assert response.status_code == 400, response.content[:300]
    assert "nested deeper than 64 levels" in response.json()["detail"]
    assert snapshot(world, endpoint) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_json_64_levels_deep_reaches_the_fields_validation(world, endpoint):
    client = client_for(world, endpoint.role)
    response = send(client, endpoint.method, endpoint.url(world), nested(MAX_JSON_DEPTH), "application/json")
    assert response.status_code == 400, response.content[:300]
    assert "nested deeper" not in response.content.decode()


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_a_nul_byte_in_any_key_or_value_is_a_400_naming_the_field(world, endpoint):
    client = client_for(world, endpoint.role)
    body = endpoint.valid(world)
    key = next(iter(body), "extra")
    for hostile in ({**body, key: "a\u0000b"}, {**body, "extra": {"inner": ["ok", "x\u0000"]}}):
        before = snapshot(world, endpoint)
        response = send(client, endpoint.method, endpoint.url(world), json.dumps(hostile), "application/json")
        assert response.status_code == 400, response.content[:300]
        errors = response.json()
        named = key if "\u0000" in str(hostile.get(key)) else "extra.inner.1"
        assert errors == {named: ["Null characters are not allowed."]}
        assert snapshot(world, endpoint) == before


def test_a_nul_byte_in_a_nested_key_names_its_parent(as_user, clinic):
    body = {"case": str(clinic.own_case.pk), "instrument": "phq9", "responses": {"q\u00001": 1}}
    response = as_user("clinician").post("/api/v1/assessments/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"responses": ["Null characters are not allowed."]}


@override_settings(MAX_REQUEST_BODY_BYTES=1024)
def test_a_body_over_the_limit_is_the_apis_json_error_envelope_before_authentication():
    response = APIClient().post("/api/v1/auth/token/", "x" * 2048, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is larger than the 1 KB this server accepts.",
        "code": "request_too_large",
        "request_id": response["X-Request-ID"],
    }


@override_settings(MAX_REQUEST_BODY_BYTES=1024)
def test_a_page_post_over_the_limit_is_the_error_page_with_the_request_id(client, clinician):
    client.force_login(clinician)
    response = client.post(reverse("patient-register"), {"first_name": "x" * 4096})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<h1>Request too large</h1>" in page
    assert response["X-Request-ID"] in page
    assert "no-cache" in response["Cache-Control"]


@override_settings(MAX_REQUEST_BODY_BYTES=1024)
def test_an_htmx_post_over_the_limit_is_plain_text_for_the_pages_message_area(client, clinician):
    client.force_login(clinician)
    response = client.post(
        reverse("patient-register"), {"first_name": "x" * 4096}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert response["X-Request-ID"] in response.content.decode()


def test_the_default_limit_takes_a_ten_megabyte_scan_and_refuses_more_than_twelve(client, clinician):
    client.force_login(clinician)
    response = client.post(reverse("patient-register"), {"reason": "scan", "file": _upload(10 * 1024 * 1024)})
    assert response.status_code == 400  # the form's own answer: the body itself was accepted
    too_big = APIClient().generic(
        "POST", "/api/v1/auth/token/", b"x" * (12 * 1024 * 1024 + 1), "application/json"
    )
    assert too_big.status_code == 413


def _upload(size: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("consent.pdf", b"%PDF" + b"0" * (size - 4), content_type="application/pdf")


# --- The same text refused the same way by the API and by the page ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\u0000b", "Null characters are not allowed."),
        (
            "x" * (NOTE_TEXT_MAX_LENGTH + 1),
            f"Ensure this field has no more than {NOTE_TEXT_MAX_LENGTH} characters.",
        ),
    ],
    ids=["nul", "too-long"],
)
def test_an_addendum_is_refused_alike_by_the_api_and_the_page(
    as_user, client, clinic, clinician, text, message
):
    visit = clinic.own_signed_visit
    api_response = as_user("clinician").post(
        f"/api/v1/visits/{visit.pk}/addenda/", {"text": text}, format="json"
    )
    assert api_response.status_code == 400
    assert api_response.json() == {"text": [message]}
    client.force_login(clinician)
    page_response = client.post(reverse("visit-addendum", args=[visit.pk]), {"text": text})
    assert page_response.status_code == 400
    assert message.encode() in page_response.content.replace(b"&#x27;", b"'")
    assert not VisitAddendum.objects.filter(visit=visit).exists()
