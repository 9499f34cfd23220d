"""The sign-in enrolment step (SPEC v2 section 2; issue 12): with the production setting (every role signs in with
TOTP, as when DEBUG is off), a user with no confirmed authenticator signs in with the password to the owner-only
enrolment page and reaches nothing else until a device is confirmed; the token endpoint issues no token."""

import pytest
from django.test import override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from clinic.models import AuditEvent
from clinic.roles import Role
from tests.factories import AuthenticatorFactory, current_code

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"
ENROL = "/accounts/authenticator/"
PRODUCTION_MFA = override_settings(MFA_REQUIRED_ROLES=list(Role.values))  # the default when DEBUG is off
HELD = ["/", "/patients/", "/patients/new/", "/reports/", "/audit/", "/admin/", "/patients/break-glass/"]


def sign_in(client, username, otp=None):
    data = {"username": username, "password": PASSWORD}
    if otp is not None:
        data["otp"] = otp
    return client.post("/accounts/login/", data)


def confirm(client, user):
    """Scan the page's secret and confirm it with the app's current code."""
    client.get(ENROL)
    pending = TOTPDevice.objects.get(user=user, confirmed=False)
    return client.post(ENROL, {"otp": current_code(pending)})


@PRODUCTION_MFA
@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor", "administrator"])
def test_a_user_without_an_authenticator_signs_in_to_the_enrolment_page(client, request, role):
    user = request.getfixturevalue(role)

    response = sign_in(client, user.username)

    assert response.status_code == 302
    assert client.get(response["Location"])["Location"] == ENROL
    page = client.get(ENROL)
    assert page.status_code == 200
    assert "Scan this code with your authenticator app" in page.content.decode()
    assert TOTPDevice.objects.filter(user=user, confirmed=False).count() == 1


@PRODUCTION_MFA
@pytest.mark.parametrize("path", HELD)
def test_nothing_else_is_reachable_before_enrolment(client, clinician, path):
    sign_in(client, "clinician")

    response = client.get(path)

    assert (response.status_code, response["Location"]) == (302, ENROL)


@PRODUCTION_MFA
@pytest.mark.parametrize("method", ["get", "post"])
def test_the_api_answers_a_session_awaiting_enrolment_with_a_403(client, clinician, own_case, method):
    sign_in(client, "clinician")

    response = getattr(client, method)("/api/v1/patients/", content_type="application/json")

    assert response.status_code == 403
    assert response.json()["code"] == "otp_enrolment_required"
    assert str(own_case.patient_id) not in response.content.decode()


@PRODUCTION_MFA
def test_a_confirmed_authenticator_opens_the_session_and_is_audited(client, clinician):
    sign_in(client, "clinician")

    done = confirm(client, clinician)

    assert done.status_code == 200
    assert "Your authenticator app is set up" in done.content.decode()
    assert client.get("/").status_code == 200
    device = TOTPDevice.objects.get(user=clinician)
    assert device.confirmed
    assert client.session["otp_device_id"] == device.persistent_id
    event = AuditEvent.objects.get(action="update", object_type="user")
    assert event.detail["authenticator"] == "enrolled"


@PRODUCTION_MFA
def test_a_wrong_code_keeps_the_session_held(client, clinician):
    sign_in(client, "clinician")
    client.get(ENROL)

    response = client.post(ENROL, {"otp": "000000"})

    assert response.status_code == 400
    assert client.get("/patients/")["Location"] == ENROL
    assert not TOTPDevice.objects.filter(user=clinician, confirmed=True).exists()


@PRODUCTION_MFA
def test_after_enrolment_the_next_sign_in_needs_the_code(client, clinician):
    sign_in(client, "clinician")
    confirm(client, clinician)
    client.post("/accounts/logout/")

    without = sign_in(client, "clinician")
    device = TOTPDevice.objects.get(user=clinician)
    with_code = sign_in(client, "clinician", otp=current_code(device, steps_ago=-1))  # a code is used once

    assert without.status_code == 200
    assert "enter the 6-digit code" in without.content.decode()
    assert with_code.status_code == 302
    assert client.get("/").status_code == 200


@PRODUCTION_MFA
def test_signing_out_is_open_while_held(client, clinician):
    sign_in(client, "clinician")

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


@PRODUCTION_MFA
def test_a_session_without_a_verified_device_is_held_whatever_signed_it_in(client, supervisor):
    """Fails closed: even a session that skipped the login form (a device exists, none was verified) is held."""
    AuthenticatorFactory(user=supervisor)
    client.force_login(supervisor)

    assert client.get("/")["Location"] == ENROL


@PRODUCTION_MFA
def test_the_token_endpoint_issues_no_token_to_a_user_without_an_authenticator(clinician):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "clinician", "password": PASSWORD}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (401, "otp_not_set_up")
    assert "/accounts/authenticator/" in response.json()["detail"]


@PRODUCTION_MFA
def test_a_user_with_an_authenticator_is_not_held(client, clinician):
    device = AuthenticatorFactory(user=clinician)

    response = sign_in(client, "clinician", otp=current_code(device))

    assert response.status_code == 302
    assert client.get("/").status_code == 200


@override_settings(MFA_REQUIRED_ROLES=[])
def test_with_debug_no_role_is_asked_to_enrol(client, clinician):
    sign_in(client, "clinician")

    assert client.get("/").status_code == 200
