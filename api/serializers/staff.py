"""Staff shapes: the signed-in user (`me/`) and the staff list."""

from rest_framework import serializers

from api.serializers.base import StrictSerializer
from clinic.models import User


class StaffSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ("id", "username", "full_name", "roles", "is_active")
        read_only_fields = fields

    def get_roles(self, user: User) -> list[str]:
        return sorted(user.roles)


class TokenRequestSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(
        max_length=12,
        required=False,
        allow_blank=True,
        help_text="The current code of your authenticator app; required for the roles in MFA_REQUIRED_ROLES "
        "(by default administrators and supervisors).",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
