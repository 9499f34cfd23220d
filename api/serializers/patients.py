"""Patient shapes: demographics plus the current case's id and stage."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.base import StrictModelSerializer, StrictSerializer
from cases.models import BreakGlassGrant, DuplicateReview, Patient
from cases.models.patients import DuplicateReviewOutcome
from cases.services.patients import DEMOGRAPHIC_FIELDS
from clinic.inputguard import SHORT_TEXT_MAX_LENGTH


class CurrentCaseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    stage = serializers.CharField()


class PatientSerializer(StrictModelSerializer):
    current_case = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields: tuple[str, ...] = (
            "id",
            "mrn",
            *DEMOGRAPHIC_FIELDS,
            "current_case",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "mrn", "current_case", "created_at", "updated_at")
        extra_kwargs = {
            "first_name": {"allow_blank": False},
            "last_name": {"allow_blank": False},
        }

    @extend_schema_field(CurrentCaseSerializer(allow_null=True))
    def get_current_case(self, patient: Patient) -> dict[str, Any] | None:
        """The open case, from the `open_cases` prefetch (see `cases.selectors.patients_visible_to`)."""
        open_cases = getattr(patient, "open_cases", None)
        if open_cases is None:
            open_cases = list(patient.cases.filter(status="open"))
        return {"id": open_cases[0].id, "stage": open_cases[0].stage} if open_cases else None


class PatientRegisterSerializer(PatientSerializer):
    confirm_not_duplicate = serializers.BooleanField(
        default=False,
        write_only=True,
        help_text="Set to true to register although patients with the same last name and date of birth exist.",
    )

    class Meta(PatientSerializer.Meta):
        fields = (*PatientSerializer.Meta.fields, "confirm_not_duplicate")


class PatientLookupSerializer(serializers.ModelSerializer):
    """The identifying fields only: an administrator's exact-MRN lookup, a possible duplicate at registration."""

    class Meta:
        model = Patient
        fields = ("id", "mrn", "first_name", "last_name", "date_of_birth")
        read_only_fields = fields


PossibleDuplicateSerializer = PatientLookupSerializer


class DuplicateWarningSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(help_text="`possible_duplicates`")
    possible_duplicates = PossibleDuplicateSerializer(many=True)


class DuplicateCandidateSerializer(serializers.ModelSerializer):
    """What the front desk compares in the duplicate review: who, born when, reached how."""

    class Meta:
        model = Patient
        fields = (
            "id", "mrn", "first_name", "last_name", "preferred_name", "date_of_birth", "phone", "email",
            "address_line1", "city", "entered_in_error",
        )  # fmt: skip
        read_only_fields = fields


class DuplicateReviewSerializer(serializers.ModelSerializer):
    patient = DuplicateCandidateSerializer(read_only=True)
    matches = DuplicateCandidateSerializer(many=True, read_only=True)
    flagged_by = serializers.CharField(
        source="flagged_by.username", allow_null=True, default=None, read_only=True
    )
    resolved_by = serializers.CharField(
        source="resolved_by.username", allow_null=True, default=None, read_only=True
    )

    class Meta:
        model = DuplicateReview
        fields = (
            "id", "patient", "matches", "flagged_at", "flagged_by", "status", "resolved_at", "resolved_by", "note",
        )  # fmt: skip
        read_only_fields = fields


class DuplicateReviewResolveSerializer(StrictSerializer):
    outcome = serializers.ChoiceField(
        choices=DuplicateReviewOutcome.choices,
        help_text="`distinct`: a different person; `entered_in_error`: a duplicate, marked entered in error.",
    )
    note = serializers.CharField(max_length=SHORT_TEXT_MAX_LENGTH, allow_blank=True)


class BreakGlassRequestSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=SHORT_TEXT_MAX_LENGTH)


class BreakGlassFindSerializer(StrictSerializer):
    """`{"mrn", "reason"}` or `{"first_name", "last_name", "date_of_birth", "reason"}` (SPEC section 8). Only the
    shapes are checked here; which combination, and the reason, are the service's (the same for every patient)."""

    mrn = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    date_of_birth = serializers.DateField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=SHORT_TEXT_MAX_LENGTH, allow_blank=True)


class BreakGlassGrantSerializer(serializers.ModelSerializer):
    class Meta:
        model = BreakGlassGrant
        fields = ("id", "patient", "reason", "granted_at", "expires_at")
        read_only_fields = fields
        extra_kwargs = {
            "patient": {"help_text": "The patient's id: their record is readable until `expires_at`."}
        }
