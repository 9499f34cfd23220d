"""Authenticator (TOTP) enrolment by its owner only, signed in (SPEC section 2): nobody enrols a device for
someone else (the admin lists and removes devices, never adds them; `manage.py enroll_authenticator` only
bootstraps the first administrator).

`GET /accounts/authenticator/` shows the signed-in user a new secret as a QR code (an unconfirmed device of
theirs); `POST` with the app's current 6-digit code confirms it. A device that was never confirmed never signs
anyone in. Audited as `update` on the user (`detail.authenticator`)."""

import base64
import io

import qrcode
import qrcode.image.svg
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.audit import audit_record
from clinic.models import AuditAction, User

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
