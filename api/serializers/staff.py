"""Staff shapes: the signed-in user (`me/`) and the staff list."""

from rest_framework import serializers

from api.serializers.base import StrictSerializer
from clinic.models import AccessChange, User


class StaffSerializer(serializers.ModelSerializer):
    """A member of staff; `credentials` (read-only here: administrators set them in the admin, audited) are what
    their signature shows after the name ("Chidi Okafor, MD"); empty for none."""

    full_name = serializers.CharField(read_only=True)
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ("id", "username", "full_name", "credentials", "roles", "is_active")
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


class AccessChangeSerializer(serializers.ModelSerializer):
    """A change of someone's access waiting for (or given) a second person's decision (SPEC section 2)."""

    subject = serializers.CharField(source="subject.username")
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)

    class Meta:
        model = AccessChange
        fields = (
            "id", "subject", "kind", "status", "roles_before", "roles_after", "email_before", "email_after",
            "requested_by", "requested_at", "decided_by", "decided_at",
        )  # fmt: skip
        read_only_fields = fields
