"""Audit shapes: the audit log's events (SPEC section 10) and the break-glass grants supervisors review."""

from typing import Any

from rest_framework import serializers

from api.serializers.base import StrictSerializer
from cases.models import BreakGlassGrant
from clinic.inputguard import SHORT_TEXT_MAX_LENGTH
from clinic.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    """One event. `user` and `roles` are as they were when it happened (the account may have changed since)."""

    user = serializers.CharField(source="username", help_text="Username (as typed, for a failed login).")
    user_id = serializers.UUIDField(allow_null=True, help_text="The account, when there was one.")
    roles = serializers.ListField(child=serializers.CharField())
    patient = serializers.UUIDField(source="patient_id", allow_null=True)
    patients_seen = serializers.SerializerMethodField(help_text="Patients a list showed.")
    detail = serializers.DictField()

    class Meta:
        model = AuditEvent
        fields = (
            "id", "sequence", "occurred_at", "user", "user_id", "roles", "action", "object_type", "object_id",
            "patient", "patients_seen", "data_category", "outcome", "ip", "request_id", "detail", "hash",
            "prev_hash",
        )  # fmt: skip
        read_only_fields = fields

    def get_patients_seen(self, event: AuditEvent) -> list[str]:
        return event.patients_seen.split()


class GrantActivitySerializer(serializers.ModelSerializer):
    """Something the grant's holder viewed or did on the patient while the grant ran."""

    class Meta:
        model = AuditEvent
        fields = ("id", "occurred_at", "action", "object_type", "object_id", "data_category", "outcome")
        read_only_fields = fields


class BreakGlassReviewSerializer(serializers.ModelSerializer):
    """A grant as its reviewer sees it: who, which patient, why, when, and what was viewed under it."""

    username = serializers.CharField(source="user.username")
    user_full_name = serializers.CharField(source="user.full_name")
    patient_mrn = serializers.CharField(source="patient.mrn")
    active = serializers.BooleanField(source="is_active", help_text="The grant is running now.")
    activity_count = serializers.SerializerMethodField(
        help_text="Events of the grant's holder on this patient between `granted_at` and `expires_at`."
    )
    activity = GrantActivitySerializer(many=True, help_text="Those events, oldest first.")
    ended_by = serializers.CharField(source="ended_by.username", allow_null=True, default=None)
    reviewed_by = serializers.CharField(source="reviewed_by.username", allow_null=True, default=None)

    class Meta:
        model = BreakGlassGrant
        fields = (
            "id", "user", "username", "user_full_name", "patient", "patient_mrn", "reason", "granted_at",
            "expires_at", "active", "activity_count", "activity", "ended_at", "ended_by", "reviewed_at",
            "reviewed_by", "review_verdict", "review_note",
        )  # fmt: skip
        read_only_fields = fields

    def get_activity_count(self, grant: Any) -> int:
        return len(grant.activity)


class BreakGlassVerdictSerializer(StrictSerializer):
    """A supervisor's review of a grant (SPEC section 2)."""

    verdict = serializers.ChoiceField(choices=BreakGlassGrant.Verdict.choices)
    note = serializers.CharField(max_length=SHORT_TEXT_MAX_LENGTH)
