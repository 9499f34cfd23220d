"""The token endpoint's protection: the lockout, one-time codes, throttling per username and address (never per
shared address alone), and the audit of each token login, logout and refusal."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.test import override_settings
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from clinic.models import AuditEvent
from clinic.roles import Role
from tests.api.conftest import PASSWORD
from tests.factories import AuthenticatorFactory, UserFactory, current_code

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
LOGOUT_URL = "/api/v1/auth/logout/"
ME_URL = "/api/v1/me/"
HERE, ELSEWHERE = "203.0.113.10", "198.51.100.20"
MFA_ROLES = override_settings(MFA_REQUIRED_ROLES=["administrator", "supervisor"])


def request_token(api, username, password=PASSWORD, *, ip=HERE, **extra):
    return api.post(
        TOKEN_URL, {"username": username, "password": password, **extra}, format="json", REMOTE_ADDR=ip
    )


def audit(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- Lockout ------------------------------------------------------------------------------------------------------


def test_five_failures_lock_the_username_at_that_address_even_against_the_right_password(api, clinician):
    statuses = [request_token(api, "clinician", "wrong-password").status_code for _ in range(5)]

    response = request_token(api, "clinician")

    assert statuses == [401, 401, 401, 401, 429]
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    assert "Too many failed sign-ins for this username from your address" in response.json()["detail"]
    assert 890 <= int(response["Retry-After"]) <= 900
    assert AuthToken.objects.count() == 0


def test_the_lockout_leaves_the_same_username_at_another_address_alone(api, clinician):
    for _ in range(5):
        request_token(api, "clinician", "wrong-password")

    assert request_token(api, "clinician", ip=ELSEWHERE).status_code == 200


def test_the_lockout_leaves_another_username_at_the_same_address_alone(api, clinician, other_clinician):
    for _ in range(5):
        request_token(api, "clinician", "wrong-password")

    assert request_token(api, "otherclinician").status_code == 200


def test_the_lockout_ends_after_fifteen_minutes(api, clinician):
    for _ in range(5):
        request_token(api, "clinician", "wrong-password")
    assert request_token(api, "clinician").status_code == 429

    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15, seconds=1))

    assert request_token(api, "clinician").status_code == 200


def test_the_web_login_and_the_token_endpoint_share_one_lockout(api, client, clinician):
    for _ in range(5):
        client.post("/accounts/login/", {"username": "clinician", "password": "wrong"}, REMOTE_ADDR=HERE)

    assert request_token(api, "clinician").status_code == 429


def test_the_lockout_is_in_the_audit_trail(api, clinician):
    for _ in range(6):
        request_token(api, "clinician", "wrong-password")

    failures = audit("login_failed")
    assert [(e.username, e.ip, e.outcome, e.detail["via"]) for e in failures] == [
        ("clinician", HERE, "denied", "api")
    ] * 6
    assert [(e.detail["reason"], e.detail["locked_out"]) for e in failures] == [
        *[("invalid_credentials", False)] * 4,
        ("invalid_credentials", True),
        ("locked_out", True),
    ]


# --- Multi-factor sign-in ------------------------------------------------------------------------------------------


@MFA_ROLES
def test_a_supervisor_without_a_code_gets_a_401_naming_the_otp(api, supervisor):
    AuthenticatorFactory(user=supervisor)

    response = request_token(api, "supervisor")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "otp_required"
    assert "`otp`" in response.json()["detail"]
    assert AuthToken.objects.count() == 0


@MFA_ROLES
@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMINISTRATOR])
def test_a_role_that_needs_a_code_gets_a_token_with_the_current_code(api, role):
    user = UserFactory(username="director", roles=[role])
    device = AuthenticatorFactory(user=user)

    response = request_token(api, "director", otp=current_code(device))

    assert response.status_code == 200
    assert AuthToken.objects.filter(user=user).count() == 1
    (login,) = audit("login")
    assert (login.user_id, login.detail) == (user.pk, {"via": "api", "mfa": True})


@MFA_ROLES
def test_a_wrong_code_is_a_401_naming_the_otp(api, supervisor):
    AuthenticatorFactory(user=supervisor)

    response = request_token(api, "supervisor", otp="000000")

    assert (response.status_code, response.json()["code"]) == (401, "otp_invalid")
    assert audit("login_failed")[-1].detail["reason"] == "otp_invalid"


@MFA_ROLES
def test_a_code_cannot_be_replayed_for_a_second_token(api, supervisor):
    device = AuthenticatorFactory(user=supervisor)
    code = current_code(device)
    assert request_token(api, "supervisor", otp=code).status_code == 200

    response = request_token(api, "supervisor", otp=code)

    assert (response.status_code, response.json()["code"]) == (401, "otp_invalid")


@MFA_ROLES
def test_a_supervisor_without_an_authenticator_is_sent_to_set_one_up_on_the_pages(api, supervisor):
    response = request_token(api, "supervisor", otp="123456")

    assert (response.status_code, response.json()["code"]) == (401, "otp_not_set_up")
    assert "/accounts/authenticator/" in response.json()["detail"]


@MFA_ROLES
def test_a_clinician_is_not_asked_for_a_code(api, clinician):
    response = request_token(api, "clinician")

    assert response.status_code == 200


@MFA_ROLES
def test_five_wrong_codes_lock_the_supervisor_out(api, supervisor):
    device = AuthenticatorFactory(user=supervisor)
    statuses = [request_token(api, "supervisor", otp="000000").status_code for _ in range(5)]

    response = request_token(api, "supervisor", otp=current_code(device))

    assert statuses == [401, 401, 401, 401, 429]
    assert (response.status_code, response.json()["code"]) == (429, "locked_out")


def test_the_schema_documents_the_otp_field_and_the_429(api, front_desk):
    api.force_authenticate(front_desk)
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"][TOKEN_URL]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]

    assert "otp" in schema["components"]["schemas"][body]["properties"]
    assert "otp" not in schema["components"]["schemas"][body]["required"]
    assert "locked out" in operation["responses"]["429"]["description"]


# --- Throttling ---------------------------------------------------------------------------------------------------


def test_token_requests_are_throttled_per_username_and_address(api, clinician, other_clinician):
    statuses = [request_token(api, "clinician").status_code for _ in range(11)]

    assert statuses == [200] * 10 + [429]
    assert request_token(api, "otherclinician").status_code == 200
    assert request_token(api, "clinician", ip=ELSEWHERE).status_code == 200


def test_throttled_token_requests_say_when_to_retry(api, clinician):
    for _ in range(10):
        request_token(api, "clinician")

    response = request_token(api, "clinician")

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def test_fifty_staff_behind_one_address_all_sign_in_at_the_start_of_a_shift(api):
    staff = UserFactory.create_batch(50, roles=[Role.CLINICIAN])

    statuses = [request_token(api, user.username).status_code for user in staff]

    assert statuses == [200] * 50
    assert AuthToken.objects.count() == 50


def test_a_forged_forwarded_address_does_not_escape_the_throttle(api, clinician):
    statuses = [
        api.post(
            TOKEN_URL,
            {"username": "clinician", "password": PASSWORD},
            format="json",
            REMOTE_ADDR=HERE,
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}",
        ).status_code
        for n in range(11)
    ]

    assert statuses[-1] == 429


def test_signed_in_api_use_is_throttled_per_user(api, as_user, clinician, other_clinician, monkeypatch):
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "3/min", "sign_in": "3/min"}
    )
    client = as_user(clinician)

    statuses = [client.get(ME_URL).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert as_user(other_clinician).get(ME_URL).status_code == 200


def test_the_default_rates_are_generous_for_people_and_strict_for_guessing():
    from django.conf import settings

    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {
        "user": "600/min",
        "anon": "300/min",
        "sign_in": "10/min",
    }


# --- Audit of token logins and logouts ----------------------------------------------------------------------------


def test_a_token_login_is_audited_once_with_username_address_and_outcome(api, clinician):
    request_token(api, "clinician")

    (login,) = audit("login")
    assert (login.username, login.user_id, login.ip, login.outcome, login.roles) == (
        "clinician",
        clinician.pk,
        HERE,
        "allowed",
        ["clinician"],
    )
    assert login.detail == {"via": "api", "mfa": False}
    assert audit("login_failed") == []


def test_a_token_login_starts_no_browser_session(api, clinician):
    response = request_token(api, "clinician")

    assert "sessionid" not in response.cookies


@pytest.mark.parametrize("username", ["clinician", "no.such.person"])
def test_a_refused_token_request_is_audited_once_with_the_username_given(api, clinician, username):
    request_token(api, username, "wrong-password")

    (failure,) = audit("login_failed")
    assert (failure.username, failure.ip, failure.outcome) == (username, HERE, "denied")
    assert failure.user_id == (clinician.pk if username == "clinician" else None)
    assert failure.detail == {"via": "api", "reason": "invalid_credentials", "locked_out": False}
    assert audit("login") == []


def test_a_token_logout_is_audited(api, clinician):
    token = request_token(api, "clinician").json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert api.post(LOGOUT_URL, REMOTE_ADDR=HERE).status_code == 204

    (logout,) = audit("logout")
    assert (logout.username, logout.user_id, logout.ip, logout.outcome) == (
        "clinician",
        clinician.pk,
        HERE,
        "allowed",
    )
    assert logout.detail == {"via": "api", "reason": "signed_out"}


def test_a_browser_session_logout_through_the_api_is_audited(api, clinician):
    api.force_login(clinician)

    api.post(LOGOUT_URL, REMOTE_ADDR=HERE)

    assert [(e.username, e.ip, e.detail["via"]) for e in audit("logout")] == [("clinician", HERE, "api")]


def test_an_anonymous_client_cannot_log_out_and_nothing_is_audited():
    response = APIClient().post(LOGOUT_URL)

    assert response.status_code == 401
    assert audit("logout") == []


# --- Secrets never reach the audit trail or the logs ---------------------------------------------------------------


@MFA_ROLES
def test_no_password_token_or_one_time_code_appears_in_an_audit_event_or_a_log_line(api, client, caplog):
    import json
    import logging

    supervisor = UserFactory(username="supervisor", roles=[Role.SUPERVISOR])
    device = AuthenticatorFactory(user=supervisor)
    wrong_password, wrong_code = "not-the-password-4711", "000000"
    caplog.set_level(logging.DEBUG)

    request_token(api, "supervisor", wrong_password)
    code = current_code(device)
    granted = request_token(api, "supervisor", otp=code)
    assert granted.status_code == 200, granted.json()
    token = granted.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    api.get(ME_URL)
    api.post(LOGOUT_URL)
    api.credentials()
    request_token(api, "supervisor", otp=wrong_code)  # last: a failed code throttles the device for a while
    client.post("/accounts/login/", {"username": "supervisor", "password": wrong_password}, REMOTE_ADDR=HERE)

    assert granted.status_code == 200
    trail = json.dumps(
        [
            {field.name: str(getattr(event, field.name)) for field in AuditEvent._meta.fields}
            for event in AuditEvent.objects.all()
        ]
    )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert AuditEvent.objects.filter(action__in=["login", "login_failed", "logout"]).count() >= 4
    for secret in (PASSWORD, wrong_password, token, code):
        assert secret not in trail
        assert secret not in logged
