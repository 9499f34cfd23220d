"""Authentication: expiring tokens (stored as digests by knox), logout, and who am I.

Signing in follows `clinic.signin` (lockout, then a one-time code for the roles that need one), like the login
pages. Logins and logouts reach Django's auth signals, which audit them (`clinic.security`)."""

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out
from drf_spectacular.utils import extend_schema
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from rest_framework import status
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.staff import StaffSerializer, TokenRequestSerializer, TokenSerializer
from api.throttles import AnonRateThrottle, SignInRateThrottle
from clinic.signin import LockedOut, SignInRefused, sign_in


class SignInLockedOut(APIException):
    """429 with `Retry-After`: the username is locked out at this address (`clinic.signin.LockedOut`)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"

    def __init__(self, refusal: LockedOut) -> None:
        super().__init__({"detail": refusal.message, "code": refusal.code})
        self.wait = refusal.retry_after


class TokenView(APIView):
    """Exchange a username and password (and, for the roles that need one, the current one-time code `otp`) for a
    token that expires after a shift (8 hours). A refusal is a 401 whose `code` says why: `invalid_credentials`,
    `otp_required`, `otp_invalid` or `otp_not_set_up`; five failures for a username from one address lock it
    there for 15 minutes (429, `locked_out`)."""

    authentication_classes = [TokenAuthentication]  # only so that a refusal is a 401 with WWW-Authenticate
    permission_classes = [AllowAny]
    throttle_classes = [SignInRateThrottle, AnonRateThrottle]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            user, device = sign_in(
                request=request._request,  # axes needs the request to key the lockout on the address
                username=data["username"],
                password=data["password"],
                otp=data.get("otp", ""),
            )
        except LockedOut as refusal:
            raise SignInLockedOut(refusal) from refusal
        except SignInRefused as refusal:
            raise AuthenticationFailed({"detail": refusal.message, "code": refusal.code}) from refusal
        instance, token = AuthToken.objects.create(user, settings.REST_KNOX["TOKEN_TTL"])
        if device is not None:
            user.otp_device = device  # type: ignore[attr-defined] # recorded in the audit event's detail
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response(TokenSerializer({"token": token, "expires_at": instance.expiry}).data)


class LogoutView(APIView):
    """Revoke the token used for this request (or end the browser session, deleting it on the server)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AuthToken):
            request.auth.delete()
            user_logged_out.send(sender=type(request.user), request=request._request, user=request.user)
        else:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=StaffSerializer)
    def get(self, request: Request) -> Response:
        return Response(StaffSerializer(request.user).data)
