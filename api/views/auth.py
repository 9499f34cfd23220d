"""Authentication: expiring tokens (stored as digests by knox), logout, and who am I."""

from django.conf import settings
from django.contrib.auth import authenticate, logout
from drf_spectacular.utils import extend_schema
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.staff import StaffSerializer, TokenRequestSerializer, TokenSerializer


class TokenView(APIView):
    """Exchange a username and password for a token that expires after a shift (8 hours)."""

    authentication_classes = [TokenAuthentication]  # only so that a refusal is a 401 with WWW-Authenticate
    permission_classes = [AllowAny]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise AuthenticationFailed("Unable to log in with the username and password given.")
        instance, token = AuthToken.objects.create(user, settings.REST_KNOX["TOKEN_TTL"])
        return Response(TokenSerializer({"token": token, "expires_at": instance.expiry}).data)


class LogoutView(APIView):
    """Revoke the token used for this request (or end the browser session)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AuthToken):
            request.auth.delete()
        else:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=StaffSerializer)
    def get(self, request: Request) -> Response:
        return Response(StaffSerializer(request.user).data)
