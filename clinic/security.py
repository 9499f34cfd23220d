"""Session and sign-in security: the audit of logins, logouts and failed logins, the idle timeout, the lockout
response and the response headers that django's SecurityMiddleware and django-csp do not set.

Logins, logouts and failed logins are audited from Django's auth signals (connected in `ClinicConfig.ready()`),
so every path that signs someone in or out (the login page, the admin's login page, the API's token endpoint and
logout, the idle timeout) writes exactly one event without each remembering to:

- `user_logged_in` -> `login`, allowed; `detail`: `via` (web, admin, api) and `mfa` (a TOTP code was checked).
- `user_logged_out` -> `logout`, allowed; `detail`: `via` and `reason` (`signed_out`, `idle_timeout`).
- `user_login_failed` -> `login_failed`, denied, with the username as typed (and the account, when one has that
  username); `detail`: `via`, `reason` (`invalid_credentials`, `locked_out`, `otp_required`, `otp_invalid`,
  `otp_not_set_up`) and `locked_out` (this failure tripped the lockout, or was refused because of it).

Axes' receivers are connected first (`axes` is listed before `clinic` in INSTALLED_APPS), so by the time the
audit receiver runs, a failure that trips the lockout is already flagged on the request.
"""

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.cache import add_never_cache_headers

from clinic.audit import audit_record
from clinic.models import AuditEvent, User
from clinic.signin import LockedOut, lockout_seconds_left

# Session key holding the time (Unix seconds) of the last request seen from the signed-in user.
LAST_ACTIVITY_KEY = "clinic_last_activity"
# The last activity is rewritten at most this often, so that a burst of requests costs one session write.
# Logout can therefore come up to this much earlier than SESSION_IDLE_TIMEOUT after the very last request (a tenth
# of the timeout instead, when that is shorter).
ACTIVITY_RESOLUTION = 30
# Seconds left before the idle timeout, on every response to a signed-in browser session (for the pages'
# "you will be signed out" warning).
IDLE_REMAINING_HEADER = "X-Session-Idle-Remaining"
# Sent by the pages on requests the user did not make (a draft saved because the idle warning showed): they are
# served, but do not count as activity, so the session still ends on time.
PASSIVE_HEADER = "X-Idle-Passive"

PERMISSIONS_POLICY = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"


# --- Audit of sign-in and sign-out ------------------------------------------------------------------------------


def _via(request: HttpRequest | None) -> str:
    path = getattr(request, "path", "") or ""
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "web"


def audit_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    audit_record(
        user=user,
        action=AuditEvent.Action.LOGIN,
        outcome=AuditEvent.Outcome.ALLOWED,
        detail={"via": _via(request), "mfa": getattr(user, "otp_device", None) is not None},
    )
    session = getattr(request, "session", None)
    if session is not None and SESSION_KEY in session:  # a browser session (not a token) starts now
        session[LAST_ACTIVITY_KEY] = time.time()


def audit_logout(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is None:  # logging out an anonymous visitor ends nothing
        return
    audit_record(
        user=user,
        action=AuditEvent.Action.LOGOUT,
        outcome=AuditEvent.Outcome.ALLOWED,
        detail={"via": _via(request), "reason": getattr(request, "logout_reason", "signed_out")},
    )


def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username") or "")[:150]
    locked_out = bool(getattr(request, "axes_locked_out", False))
    # Axes refused before any password was checked when it flagged the request without counting a failure.
    refused_by_lockout = locked_out and getattr(request, "axes_failures_since_start", None) is None
    reason = kwargs.get("reason") or ("locked_out" if refused_by_lockout else "invalid_credentials")
    account = User.objects.filter(username=username).first() if username else None
    audit_record(
        user=account,
        username=username,
        action=AuditEvent.Action.LOGIN_FAILED,
        outcome=AuditEvent.Outcome.DENIED,
        detail={"via": _via(request), "reason": reason, "locked_out": locked_out},
    )


def connect_signals() -> None:
    user_logged_in.connect(audit_login, dispatch_uid="clinic.security.audit_login")
    user_logged_out.connect(audit_logout, dispatch_uid="clinic.security.audit_logout")
    user_login_failed.connect(audit_login_failed, dispatch_uid="clinic.security.audit_login_failed")


# --- Lockout response (axes' AXES_LOCKOUT_CALLABLE) -------------------------------------------------------------


def lockout_response(
    request: HttpRequest, original_response: HttpResponseBase | None = None, credentials: dict | None = None
) -> HttpResponseBase:
    """What a locked-out sign-in answers: 429, with the reason in the page or the JSON body.

    The login forms and the token endpoint already answer the lockout themselves (the form shows the message, the
    endpoint a JSON 429); this keeps their answer, with status 429 for the form, and covers any other caller."""
    username = str((credentials or {}).get("username") or "")
    if original_response is not None and original_response.status_code == 429:
        return original_response
    if original_response is not None and original_response.status_code == 200 and not _is_api(request):
        original_response.status_code = 429  # the login page, re-rendered with the lockout message
        return original_response
    refusal = LockedOut(retry_after=lockout_seconds_left(request, username))
    headers = {"Retry-After": str(refusal.retry_after)}
    if _is_api(request):
        return JsonResponse({"detail": refusal.message, "code": refusal.code}, status=429, headers=headers)
    return HttpResponse(
        refusal.message, status=429, content_type="text/plain; charset=utf-8", headers=headers
    )


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


# --- Middleware ---------------------------------------------------------------------------------------------------


class SessionIdleTimeoutMiddleware:
    """Signs a browser session out, server-side, after SESSION_IDLE_TIMEOUT seconds without a request.

    A middleware rather than `SESSION_SAVE_EVERY_REQUEST` with a short `SESSION_COOKIE_AGE`: the session is written
    at most every ACTIVITY_RESOLUTION seconds instead of on every request, the timeout is enforced here on the
    server whatever the browser does with its cookie, the logout is audited (reason `idle_timeout`), and the
    time left is sent in `X-Session-Idle-Remaining` for the pages' warning. Token-authenticated API requests carry
    no session and are not affected (tokens expire after a shift, `REST_KNOX`).

    Placed after the authentication and message middleware."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timeout: int = settings.SESSION_IDLE_TIMEOUT
        if SESSION_KEY in request.session:
            now = time.time()
            last = request.session.get(LAST_ACTIVITY_KEY)
            if isinstance(last, int | float) and now - last > timeout:
                request.logout_reason = "idle_timeout"  # type: ignore[attr-defined]
                logout(request)  # flushes the session row: the old cookie no longer signs anyone in
                if not _is_api(request):
                    minutes = max(1, timeout // 60)
                    messages.info(request, f"You were signed out after {minutes} minutes without activity.")
            elif request.headers.get(PASSIVE_HEADER) and isinstance(last, int | float):
                pass  # served, not activity
            elif not isinstance(last, int | float) or now - last >= min(ACTIVITY_RESOLUTION, timeout / 10):
                request.session[LAST_ACTIVITY_KEY] = now
        response: HttpResponse = self.get_response(request)
        if SESSION_KEY in request.session:
            last = request.session.get(LAST_ACTIVITY_KEY, time.time())
            response[IDLE_REMAINING_HEADER] = str(max(0, int(timeout - (time.time() - last))))
        return response


class SecurityHeadersMiddleware:
    """Headers that neither SecurityMiddleware nor django-csp set: a Permissions-Policy that denies device APIs,
    Cross-Origin-Resource-Policy, and `Cache-Control: no-store` on the API and on every page shown to a signed-in
    user (they hold patient data, which must not stay in a shared browser's or a proxy's cache)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        if "Cache-Control" not in response and (_is_api(request) or getattr(user, "is_authenticated", False)):
            add_never_cache_headers(response)
        return response
