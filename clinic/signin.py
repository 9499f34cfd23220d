"""Signing in: a password checked under the lockout (django-axes), then a one-time code for the roles that need one.

The web login form, the admin's login form and the API's token endpoint all sign in through these functions, so
the rule lives here once:

1. `check_password`: `authenticate()` with the request, as axes needs. Axes refuses a username that has failed
   `AXES_FAILURE_LIMIT` times from the same address within `AXES_COOLOFF_TIME` (`LockedOut`), whatever the
   password; a wrong password is `BadCredentials`.
2. `check_second_factor`: a user with a role in `MFA_REQUIRED_ROLES` (or a superuser, when the setting names any
   role) must also give the current code of one of their TOTP devices (django-otp). No code, a wrong one, or no
   device at all is refused, naming which, except on the login pages, where a user with no device yet signs in
   to the enrolment step only (`clinic.enrolment`): devices are enrolled by their owner.

Every refusal reaches Django's `user_login_failed` signal exactly once (from `authenticate()` for a password, from
`_refuse` for a code), so that axes counts it towards the lockout and `clinic.security` writes it to the audit
trail. A refusal that trips the lockout is reported as `LockedOut`.
"""

import datetime as dt
import math
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django_otp import devices_for_user
from django_otp.models import Device

from clinic.models import User
from clinic.network import client_ip


class SignInRefused(Exception):
    """Why a sign-in was refused: `code` for machines, `message` for the person signing in."""

    code = "invalid_credentials"
    default_message = "Your username and password did not match. Please try again."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class BadCredentials(SignInRefused):
    pass


class LockedOut(SignInRefused):
    code = "locked_out"

    def __init__(self, *, retry_after: int) -> None:
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            "Too many failed sign-ins for this username from your address. Sign-in is locked for "
            f"{minutes} minute{'s' if minutes != 1 else ''}; an administrator can unlock it sooner."
        )


class OtpRequired(SignInRefused):
    code = "otp_required"
    default_message = (
        "Your role signs in with a one-time code: enter the 6-digit code (`otp`) from your authenticator app."
    )


class OtpInvalid(SignInRefused):
    code = "otp_invalid"
    default_message = "That one-time code (`otp`) is wrong or has expired: enter the current code from your authenticator app."


class OtpNotSetUp(SignInRefused):
    code = "otp_not_set_up"
    default_message = (
        "Your role signs in with a one-time code, but no authenticator app is set up for your account: sign in "
        "on the staff pages once to set one up (/accounts/authenticator/)."
    )


def mfa_required(user: User) -> bool:
    """Whether the user holds a role listed in `MFA_REQUIRED_ROLES`; superusers (operations accounts, which see
    everything in the admin) too, whenever any role needs a second factor."""
    required = set(settings.MFA_REQUIRED_ROLES)
    return bool(required) and (user.is_superuser or not required.isdisjoint(user.roles))


def check_password(*, request: HttpRequest, username: str, password: str) -> User:
    """The active user with this username and password, unless axes has locked the username out at this address."""
    user = authenticate(request, username=username, password=password)
    if _locked_out(request):
        raise LockedOut(retry_after=lockout_seconds_left(request, username))
    if user is None:
        raise BadCredentials()
    return user


def check_second_factor(
    *, request: HttpRequest, user: User, otp: str, enrolment_allowed: bool = False
) -> Device | None:
    """The device that verified `otp`, or None when the user's roles need no second factor. A user who needs one
    but has no device yet is refused (`OtpNotSetUp`), except on the login pages (`enrolment_allowed`), where None
    lets them in to the enrolment step only (`clinic.enrolment.EnrolmentGateMiddleware` holds the session there)."""
    if not mfa_required(user):
        return None
    code = "".join((otp or "").split())
    if not any(True for _ in devices_for_user(user, confirmed=True)):
        if enrolment_allowed:
            return None
        _refuse(request, user, OtpNotSetUp())
    if not code:
        _refuse(request, user, OtpRequired())
    device = _verify(user, code)
    if device is None:
        _refuse(request, user, OtpInvalid())
    return device


def sign_in(
    *, request: HttpRequest, username: str, password: str, otp: str = ""
) -> tuple[User, Device | None]:
    """Both factors, for callers with no further checks between them (the API's token endpoint)."""
    user = check_password(request=request, username=username, password=password)
    return user, check_second_factor(request=request, user=user, otp=otp)


def lockout_seconds_left(request: HttpRequest, username: str) -> int:
    """Seconds until the lockout of `username` at this request's address ends (the cool-off after the last
    counted failure)."""
    from axes.models import AccessAttempt  # axes' models load only once apps are ready

    cool_off: dt.timedelta = settings.AXES_COOLOFF_TIME
    address = getattr(request, "axes_ip_address", None) or client_ip(request)
    last = AccessAttempt.objects.filter(username=username, ip_address=address).aggregate(
        at=Max("attempt_time")
    )
    if last["at"] is None:
        return int(cool_off.total_seconds())
    return max(1, math.ceil((last["at"] + cool_off - timezone.now()).total_seconds()))


def _verify(user: User, code: str) -> Device | None:
    """Try the code on each confirmed device (rows locked, so one code cannot be used twice concurrently).
    Each device throttles its own failures and refuses a code it has already accepted."""
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if device.verify_token(code):
                return device
    return None


def _refuse(request: HttpRequest, user: User, refusal: SignInRefused) -> None:
    """Report a refused second factor as a failed login (counted by axes, audited), then raise it; or raise
    `LockedOut` when this failure is the one that locks the username out."""
    credentials: dict[str, Any] = {"username": user.get_username()}
    user_login_failed.send(sender=__name__, credentials=credentials, request=request, reason=refusal.code)
    if _locked_out(request):
        raise LockedOut(retry_after=lockout_seconds_left(request, user.get_username()))
    raise refusal


def _locked_out(request: HttpRequest) -> bool:
    return bool(getattr(request, "axes_locked_out", False))
