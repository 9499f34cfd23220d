"""Authenticator (TOTP) enrolment by its owner only, signed in (SPEC section 2): nobody enrols a device for
someone else (the admin lists and removes devices, never adds them; `manage.py enroll_authenticator` only
bootstraps the first administrator).

`GET /accounts/authenticator/` shows the signed-in user a new secret as a QR code (an unconfirmed device of
theirs); `POST` with the app's current 6-digit code confirms it. A device that was never confirmed never signs
anyone in. Audited as `update` on the user (`detail.authenticator`).

The sign-in step (SPEC section 2, "a sign-in step when a required device is missing"): a user whose role needs a
second factor (`clinic.signin.mfa_required`) and who has no confirmed device signs in with the password on the
login pages, and `EnrolmentGateMiddleware` then holds the session to this page (and sign-out) until a device is
confirmed here, which also verifies the session (django-otp's `otp_device_id`). Any session of such a user without
a verified device is held the same way, whatever signed it in: the gate fails closed. The token endpoint never
issues a token without a code (`otp_not_set_up`)."""

import base64
import io
from collections.abc import Callable

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.audit import audit_record
from clinic.errors import error_response
from clinic.models import AuditAction, User
from clinic.signin import mfa_required

DEVICE_NAME = "Authenticator app"


def _qr_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=1)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    error = ""
    status = 200
    if request.method == "POST" and pending is not None:
        code = "".join(request.POST.get("otp", "").split())
        if code.isdigit() and len(code) == 6 and pending.verify_token(code):
            pending.confirmed = True
            pending.save(update_fields=["confirmed"])
            django_otp.login(request, pending)  # this session is now verified: the gate opens
            audit_record(
                user=user,
                action=AuditAction.UPDATE,
                object_type="user",
                object_id=user.pk,
                detail={"username": user.username, "authenticator": "enrolled", "device": str(pending.pk)},
            )
            return render(request, "clinic/authenticator.html", {"done": True})
        error = "That code does not match: enter the 6-digit code your app shows now."
        status = 400
    if pending is None and not confirmed:
        pending = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    context = {
        "confirmed": confirmed,
        "pending": pending,
        "qr": _qr_data_uri(pending.config_url) if pending is not None else "",
        "error": error,
    }
    return render(request, "clinic/authenticator.html", context, status=status)


def session_needs_enrolment(request: HttpRequest) -> bool:
    """A signed-in browser session of a user who must sign in with a code but whose session has no verified
    device (they have none yet: they are enrolling)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not mfa_required(user):
        return False
    return not request.session.get(django_otp.DEVICE_ID_SESSION_KEY)


class EnrolmentGateMiddleware:
    """Holds a session that needs enrolment (`session_needs_enrolment`) to the enrolment page and sign-out: a page
    is redirected there, an API request (session-authenticated) answers 403 `otp_enrolment_required`. After the
    authentication middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if session_needs_enrolment(request) and not self._open(request.path):
            if request.path.startswith("/api/"):
                return error_response(
                    request,
                    status=403,
                    code="otp_enrolment_required",
                    detail="Set up your authenticator app at /accounts/authenticator/ before anything else.",
                )
            return redirect("authenticator-enrol")
        return self.get_response(request)

    @staticmethod
    def _open(path: str) -> bool:
        allowed = (reverse("authenticator-enrol"), reverse("logout"), reverse("keepalive"))
        return path in allowed or path.startswith("/" + settings.STATIC_URL.lstrip("/"))
