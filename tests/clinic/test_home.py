"""The login page and /healthz (the dashboard at `/` is tested in tests/web/test_dashboard.py)."""

import pytest

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"


def test_healthz_answers_ok_without_signing_in(client):
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_the_login_page_renders_the_sign_in_form(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()
    assert 'name="password"' in response.content.decode()


def test_signing_in_with_the_right_password_redirects_home(client, clinician):
    response = client.post("/accounts/login/", {"username": "clinician", "password": PASSWORD})

    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.session["_auth_user_id"] == str(clinician.pk)


def test_signing_in_with_a_wrong_password_shows_the_form_again(client, clinician):
    response = client.post("/accounts/login/", {"username": "clinician", "password": "not-the-password"})

    assert response.status_code == 200
    assert "did not match" in response.content.decode()
    assert "_auth_user_id" not in client.session
