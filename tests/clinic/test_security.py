"""Sign-in and session security on the staff pages: lockout, one-time codes, the idle timeout, server-side logout,
the audit of each sign-in and sign-out, the security headers and Content-Security-Policy, and the production
settings behind them (password hashing and rules, cookies, HSTS, the deploy check)."""

import datetime as dt
import io
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from clinic.models import AuditEvent
from clinic.security import IDLE_REMAINING_HEADER, LAST_ACTIVITY_KEY
from tests.factories import AuthenticatorFactory, current_code

pytestmark = pytest.mark.django_db

PROJECT_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery-staple"
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
HERE, ELSEWHERE = "203.0.113.10", "198.51.100.20"
MFA_ROLES = override_settings(MFA_REQUIRED_ROLES=["administrator", "supervisor"])


def sign_in(client, username, password=PASSWORD, *, ip=HERE, otp=None, url=LOGIN):
    data = {"username": username, "password": password}
    if otp is not None:
        data["otp"] = otp
    return client.post(url, data, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- Lockout ------------------------------------------------------------------------------------------------------


def test_five_failures_lock_the_username_at_that_address_even_against_the_right_password(client, clinician):
    responses = [sign_in(client, "clinician", "wrong-password") for _ in range(5)]

    refused = sign_in(client, "clinician")

    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    assert "did not match" in responses[0].content.decode()
    assert refused.status_code == 429
    assert "Too many failed sign-ins for this username from your address" in refused.content.decode()
    assert "locked for 15 minutes" in refused.content.decode()
    assert not signed_in(client)


def test_four_failures_do_not_lock_and_a_success_forgets_them(client, clinician):
    for _ in range(4):
        sign_in(client, "clinician", "wrong-password")

    assert sign_in(client, "clinician").status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, "clinician", "wrong-password")
    assert sign_in(client, "clinician").status_code == 302


def test_the_lockout_leaves_the_same_username_at_another_address_alone(client, clinician):
    for _ in range(5):
        sign_in(client, "clinician", "wrong-password")

    response = sign_in(client, "clinician", ip=ELSEWHERE)

    assert response.status_code == 302
    assert signed_in(client)


def test_the_lockout_leaves_another_username_at_the_same_address_alone(client, clinician, other_clinician):
    for _ in range(5):
        sign_in(client, "clinician", "wrong-password")

    response = sign_in(client, "otherclinician")

    assert response.status_code == 302


def test_the_lockout_ends_after_fifteen_minutes(client, clinician):
    for _ in range(5):
        sign_in(client, "clinician", "wrong-password")
    assert sign_in(client, "clinician").status_code == 429

    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15, seconds=1))

    assert sign_in(client, "clinician").status_code == 302


def test_an_administrator_unlocks_by_deleting_the_access_attempt(client, clinician, administrator):
    for _ in range(5):
        sign_in(client, "clinician", "wrong-password")
    attempt = AccessAttempt.objects.get(username="clinician")
    admin = Client()
    admin.force_login(administrator)

    response = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert sign_in(client, "clinician").status_code == 302


def test_the_lockout_is_in_the_audit_trail(client, clinician):
    for _ in range(6):
        sign_in(client, "clinician", "wrong-password")

    failures = events("login_failed")

    assert len(failures) == 6
    assert {(e.username, e.user_id, e.ip, e.outcome) for e in failures} == {
        ("clinician", clinician.pk, HERE, "denied")
    }
    assert [e.detail["locked_out"] for e in failures] == [False, False, False, False, True, True]
    assert [e.detail["reason"] for e in failures] == ["invalid_credentials"] * 5 + ["locked_out"]
    assert {e.detail["via"] for e in failures} == {"web"}


def test_the_admin_login_page_shares_the_lockout(client, administrator):
    for _ in range(5):
        sign_in(client, "administrator", "wrong-password", url=ADMIN_LOGIN)

    assert sign_in(client, "administrator").status_code == 429
    assert [e.detail["via"] for e in events("login_failed")] == ["admin"] * 5 + ["web"]


# --- Multi-factor sign-in ------------------------------------------------------------------------------------------


@MFA_ROLES
def test_a_supervisor_without_a_code_is_refused_and_asked_for_one(client, supervisor):
    AuthenticatorFactory(user=supervisor)

    response = sign_in(client, "supervisor")

    assert response.status_code == 200
    assert "enter the 6-digit code" in response.content.decode()
    assert not signed_in(client)
    assert events("login_failed")[-1].detail["reason"] == "otp_required"


@MFA_ROLES
def test_a_supervisor_with_the_current_code_signs_in(client, supervisor):
    device = AuthenticatorFactory(user=supervisor)

    response = sign_in(client, "supervisor", otp=current_code(device))

    assert (response.status_code, response["Location"]) == (302, "/")
    assert signed_in(client)
    assert client.session["otp_device_id"] == device.persistent_id
    login = events("login")[-1]
    assert (login.user_id, login.detail) == (supervisor.pk, {"via": "web", "mfa": True})


@MFA_ROLES
@pytest.mark.parametrize("code", ["000000", "not-a-code", "EXPIRED"])
def test_a_wrong_or_expired_code_is_refused(client, supervisor, code):
    device = AuthenticatorFactory(user=supervisor)
    if code == "EXPIRED":
        code = current_code(device, steps_ago=3)

    response = sign_in(client, "supervisor", otp=code)

    assert response.status_code == 200
    assert "wrong or has expired" in response.content.decode()
    assert not signed_in(client)
    assert events("login_failed")[-1].detail["reason"] == "otp_invalid"


@MFA_ROLES
def test_a_code_cannot_be_used_twice(client, supervisor):
    device = AuthenticatorFactory(user=supervisor)
    code = current_code(device)
    assert sign_in(client, "supervisor", otp=code).status_code == 302
    client.logout()

    response = sign_in(client, "supervisor", otp=code)

    assert response.status_code == 200
    assert not signed_in(client)


# A supervisor without an authenticator: tests/clinic/test_enrolment_step.py (signed in to the enrolment step only).


@MFA_ROLES
def test_the_wrong_password_is_refused_before_any_code_is_asked(client, supervisor):
    AuthenticatorFactory(user=supervisor)

    response = sign_in(client, "supervisor", "wrong-password")

    assert "did not match" in response.content.decode()
    assert events("login_failed")[-1].detail["reason"] == "invalid_credentials"


@MFA_ROLES
def test_a_clinician_is_not_asked_for_a_code(client, clinician):
    response = sign_in(client, "clinician")

    assert response.status_code == 302
    assert events("login")[-1].detail == {"via": "web", "mfa": False}


@override_settings(MFA_REQUIRED_ROLES=["clinician"])
def test_the_roles_that_need_a_code_come_from_the_setting(client, clinician, supervisor):
    assert sign_in(client, "supervisor").status_code == 302
    assert client.get("/").status_code == 200
    client.logout()
    assert sign_in(client, "clinician").status_code == 302
    assert client.get("/")["Location"] == "/accounts/authenticator/"  # no device yet: the enrolment step only


@MFA_ROLES
def test_failed_codes_count_towards_the_lockout(client, supervisor):
    device = AuthenticatorFactory(user=supervisor)
    for _ in range(5):
        sign_in(client, "supervisor", otp="000000")

    response = sign_in(client, "supervisor", otp=current_code(device))

    assert response.status_code == 429
    assert not signed_in(client)


@pytest.mark.parametrize(("mfa_roles", "asked"), [(["administrator", "supervisor"], True), ([], False)])
def test_a_superuser_needs_a_code_whenever_any_role_does(client, superuser, mfa_roles, asked):
    with override_settings(MFA_REQUIRED_ROLES=mfa_roles):
        sign_in(client, "superuser")
        home = client.get("/")

    # Asked: with no authenticator yet, the superuser is held at the enrolment step.
    assert (home.status_code, home.get("Location")) == (
        (302, "/accounts/authenticator/") if asked else (200, None)
    )


@MFA_ROLES
def test_the_first_administrator_enrolled_from_the_command_line_signs_in(client, administrator):
    out = io.StringIO()
    call_command("enroll_authenticator", "administrator", stdout=out)

    device = administrator.totpdevice_set.get()
    assert device.confirmed
    assert device.config_url in out.getvalue()
    assert sign_in(client, "administrator", url=ADMIN_LOGIN, otp=current_code(device)).status_code == 302


def test_enrolling_an_unknown_username_is_refused(db):
    with pytest.raises(CommandError, match="No member of staff has the username 'nobody'"):
        call_command("enroll_authenticator", "nobody")


@pytest.mark.parametrize(("mfa_roles", "shown"), [(["administrator", "supervisor"], True), ([], False)])
@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_the_code_field_shows_on_the_login_pages_whenever_a_role_needs_it(client, mfa_roles, shown, url):
    with override_settings(MFA_REQUIRED_ROLES=mfa_roles):
        response = client.get(url)

    assert response.status_code == 200
    assert ('name="otp"' in response.content.decode()) is shown


@MFA_ROLES
def test_an_administrator_signs_in_to_the_admin_with_a_code(client, administrator):
    device = AuthenticatorFactory(user=administrator)
    assert sign_in(client, "administrator", url=ADMIN_LOGIN).status_code == 200

    response = client.post(
        f"{ADMIN_LOGIN}?next=/admin/",
        {"username": "administrator", "password": PASSWORD, "otp": current_code(device), "next": "/admin/"},
    )

    assert (response.status_code, response["Location"]) == (302, "/admin/")


def test_an_administrator_cannot_set_up_an_authenticator_for_someone_else_in_the_admin(
    client, administrator, supervisor
):
    """Owner-only enrolment (SPEC section 2): clinic/enrolment.py; tests/clinic/test_approvals.py."""
    client.force_login(administrator)

    response = client.post(
        "/admin/otp_totp/totpdevice/add/",
        {"user": str(supervisor.pk), "name": "Supervisor's phone", "confirmed": "on", "key": "31" * 20},
    )

    assert response.status_code == 403
    assert not supervisor.totpdevice_set.exists()


def test_a_password_of_eleven_characters_is_refused():
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Kx9#mQ2$vLp")


def test_a_long_uncommon_password_is_accepted():
    validate_password("violet-harbor-tractor-91")


# --- Idle timeout and logout ---------------------------------------------------------------------------------------


def _last_active(client, seconds_ago: float) -> None:
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - seconds_ago
    session.save()


def test_a_session_idle_for_more_than_fifteen_minutes_is_signed_out_on_the_server(client, clinician):
    sign_in(client, "clinician")
    session_key = client.session.session_key
    _last_active(client, 15 * 60 + 1)

    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/")
    assert not Session.objects.filter(session_key=session_key).exists()
    logout = events("logout")[-1]
    assert (logout.user_id, logout.detail) == (clinician.pk, {"via": "web", "reason": "idle_timeout"})
    assert "signed out after 15 minutes without activity" in client.get(LOGIN).content.decode()


def test_a_session_active_within_fifteen_minutes_stays_and_its_clock_restarts(client, clinician):
    sign_in(client, "clinician")
    _last_active(client, 14 * 60)

    response = client.get("/")

    assert response.status_code == 200
    assert int(response[IDLE_REMAINING_HEADER]) >= 15 * 60 - 5
    assert client.session[LAST_ACTIVITY_KEY] >= time.time() - 5


def test_the_time_left_before_the_idle_timeout_is_on_each_signed_in_response(client, clinician):
    sign_in(client, "clinician")
    _last_active(client, 20)  # within the resolution: not rewritten

    response = client.get("/")

    assert 15 * 60 - 25 <= int(response[IDLE_REMAINING_HEADER]) <= 15 * 60 - 19
    assert IDLE_REMAINING_HEADER not in Client().get(LOGIN)


@override_settings(SESSION_IDLE_TIMEOUT=60)
def test_the_idle_timeout_comes_from_the_setting(client, clinician):
    sign_in(client, "clinician")
    _last_active(client, 61)

    assert client.get("/").status_code == 302


def test_an_idle_browser_session_is_refused_by_the_api_too(client, clinician):
    sign_in(client, "clinician")
    _last_active(client, 16 * 60)

    response = client.get("/api/v1/me/")

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "url", "status"), [("post", "/accounts/logout/", 302), ("post", "/api/v1/auth/logout/", 204)]
)
def test_logout_deletes_the_session_so_the_old_cookie_no_longer_works(client, clinician, method, url, status):
    sign_in(client, "clinician")
    old_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    assert getattr(client, method)(url).status_code == status

    assert not Session.objects.filter(session_key=old_cookie).exists()
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    assert replay.get("/").status_code == 302
    assert replay.get("/api/v1/me/").status_code == 401


# --- Audit of sign-in and sign-out ---------------------------------------------------------------------------------


def test_a_web_login_and_logout_are_audited_once_each_with_username_address_and_outcome(client, clinician):
    sign_in(client, "clinician")
    client.post("/accounts/logout/", REMOTE_ADDR=HERE)

    rows = [
        (e.action, e.username, e.user_id, e.ip, e.outcome, e.detail)
        for e in AuditEvent.objects.filter(action__in=["login", "logout", "login_failed"]).order_by(
            "sequence"
        )
    ]
    assert rows == [
        ("login", "clinician", clinician.pk, HERE, "allowed", {"via": "web", "mfa": False}),
        ("logout", "clinician", clinician.pk, HERE, "allowed", {"via": "web", "reason": "signed_out"}),
    ]


def test_a_failed_web_login_for_an_unknown_username_is_audited_with_that_username(client):
    sign_in(client, "no.such.person", "whatever-password")

    (event,) = events("login_failed")
    assert (event.username, event.user_id, event.ip, event.outcome) == (
        "no.such.person",
        None,
        HERE,
        "denied",
    )
    assert event.detail == {"via": "web", "reason": "invalid_credentials", "locked_out": False}


def test_a_failed_web_login_of_a_deactivated_account_is_audited(client, clinician):
    clinician.is_active = False
    clinician.save(update_fields=["is_active"])

    sign_in(client, "clinician")

    assert [e.username for e in events("login_failed")] == ["clinician"]


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_audit_records_the_address_the_proxy_saw(client):
    client.post(
        LOGIN,
        {"username": "nobody", "password": "x"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=f"1.2.3.4, {HERE}",
    )

    assert events("login_failed")[-1].ip == HERE


def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(client):
    client.post(
        LOGIN, {"username": "nobody", "password": "x"}, REMOTE_ADDR=HERE, HTTP_X_FORWARDED_FOR="1.2.3.4"
    )

    assert events("login_failed")[-1].ip == HERE


# --- Headers and Content-Security-Policy ------------------------------------------------------------------------


def _policy(response) -> dict[str, list[str]]:
    directives = [part.strip().split() for part in response["Content-Security-Policy"].split(";")]
    return {name: values for name, *values in directives}


STRICT_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


@pytest.mark.parametrize("path", [LOGIN, "/", "/admin/", "/api/v1/me/"])
def test_pages_carry_the_strict_content_security_policy(client, clinician, path):
    client.force_login(clinician)

    response = client.get(path)

    assert _policy(response) == STRICT_POLICY
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def test_the_api_docs_render_under_the_policy_with_a_nonce_on_their_inline_script_and_style(
    client, front_desk
):
    client.force_login(front_desk)  # the docs need a signed-in user unless DEBUG
    response = client.get("/api/docs/")

    assert response.status_code == 200
    policy = _policy(response)
    (nonce,) = [v for v in policy["script-src"] if v.startswith("'nonce-")]
    assert policy["script-src"] == ["'self'", nonce]
    assert policy["style-src"] == ["'self'", nonce]
    html = response.content.decode()
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    inline_styles = re.findall(r"<style([^>]*)>", html)
    assert inline_scripts and inline_styles
    for attributes in inline_scripts + inline_styles:
        assert f'nonce="{nonce[7:-1]}"' in attributes
    for asset in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
        assert finders.find(asset), asset  # the Swagger UI files are served by the app itself
    assert "SwaggerUIBundle" in html


def test_each_response_gets_a_fresh_nonce(client, front_desk):
    client.force_login(front_desk)
    first, second = client.get("/api/docs/"), client.get("/api/docs/")

    assert _policy(first)["script-src"] != _policy(second)["script-src"]


def test_the_other_security_headers_are_set(client, clinician):
    client.force_login(clinician)

    response = client.get("/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "no-store" in response["Cache-Control"]


def test_api_responses_are_never_cached(client):
    response = client.get("/api/v1/me/")

    assert "no-store" in response["Cache-Control"]


# --- Production settings (a fresh interpreter on clinic.settings) ---------------------------------------------------


def _production(code: str, **environ: str) -> subprocess.CompletedProcess[str]:
    script = (
        "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'clinic.settings'; import django; django.setup(); "
        "from django.conf import settings as s; " + code
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SECRET_KEY": "x" * 50, **environ}
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", script], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def _production_settings(**environ: str) -> dict:
    result = _production(
        "from django.contrib.auth.hashers import make_password; print(json.dumps({"
        "'hashers': s.PASSWORD_HASHERS, 'hash': make_password('violet-harbor-tractor-91'),"
        "'mfa': s.MFA_REQUIRED_ROLES, 'idle': s.SESSION_IDLE_TIMEOUT, 'cache': s.CACHES['default']['BACKEND'],"
        "'cookies': [s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY],"
        "'https': [s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS],"
        "'backends': s.AUTHENTICATION_BACKENDS, 'axes': [s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(),"
        " s.AXES_LOCKOUT_PARAMETERS]}))",
        **environ,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_hashes_passwords_with_argon2id():
    values = _production_settings()

    assert values["hashers"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert values["hash"].startswith("argon2$argon2id$")


def test_production_defaults_are_strict():
    values = _production_settings()

    assert values["mfa"] == ["front_desk", "clinician", "supervisor", "administrator"]  # every role (SPEC 2)
    assert values["idle"] == 15 * 60
    assert values["cookies"] == [True, True, True, True]
    assert values["https"] == [True, 31_536_000, True]
    assert values["backends"][0] == "axes.backends.AxesStandaloneBackend"
    assert values["axes"] == [5, 900.0, [["username", "ip_address"]]]
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"


def test_debug_needs_no_second_factor_by_default():
    assert _production_settings(DEBUG="true")["mfa"] == []


def test_production_warns_at_start_up_when_a_role_signs_in_without_a_second_factor():
    exempting = _production("print('started')", MFA_REQUIRED_ROLES="administrator,supervisor")
    assert exempting.returncode == 0, exempting.stderr
    assert "MFA_REQUIRED_ROLES leaves out clinician, front_desk" in exempting.stderr
    strict = _production("print('started')")
    assert strict.returncode == 0, strict.stderr
    assert "MFA_REQUIRED_ROLES" not in strict.stderr


def test_the_roles_that_need_a_second_factor_and_the_idle_timeout_come_from_the_environment():
    values = _production_settings(MFA_REQUIRED_ROLES="administrator,clinician", SESSION_IDLE_TIMEOUT="600")

    assert (values["mfa"], values["idle"]) == (["administrator", "clinician"], 600)


def test_a_redis_cache_url_configures_a_shared_cache():
    values = _production_settings(CACHE_URL="redis://cache.internal:6379/0")

    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MFA_REQUIRED_ROLES": "administrator,nurse"}, "MFA_REQUIRED_ROLES names unknown roles ['nurse']"),
        ({"SESSION_IDLE_TIMEOUT": "0"}, "SESSION_IDLE_TIMEOUT must be a positive number"),
        ({"CACHE_URL": "memcached://x"}, "CACHE_URL must be redis://"),
    ],
)
def test_settings_refuse_a_bad_security_variable(environ, message):
    result = _production("print('started')", **environ)

    assert result.returncode != 0
    assert message in result.stderr


def test_the_deploy_check_is_clean_under_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_DIR,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "clinic.example.org",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
