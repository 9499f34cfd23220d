"""Case shapes: the episode, its care team and its stage history; the transition request."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.base import (
    ClinicalFieldsMixin,
    ScopedRelatedField,
    StrictModelSerializer,
    StrictSerializer,
)
from cases.models import Case, StageTransition
from cases.models.ranges import min_max
from cases.remission import diagnosis_code, remission_questioned_by
from cases.selectors import clinical_staff
from cases.services.stages import allowed_next_stages
from clinic.policy import CASE_PROFILE_FIELDS, Capability, patients_in_scope


class StageTransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = StageTransition
        fields = ("from_stage", "to_stage", "effective_at", "by", "reason", "discharge_reason")
        read_only_fields = fields


# Read from `cases.remission.with_remission` (the view's queryset): clinical content.
REMISSION_FIELDS = ("remission", "remission_assessed_on", "remission_questioned_by", "diagnosis_code")


class QuestionedBySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["drug_screen", "visit"])
    id = serializers.UUIDField()
    on = serializers.DateField()


class ReasonsForUseField(serializers.ListField):
    child = serializers.ChoiceField(choices=Case.ReasonForUse.choices)
    max_length = len(Case.ReasonForUse.choices)


class CaseSerializer(ClinicalFieldsMixin, serializers.ModelSerializer):
    """The read shape. Clinical fields (and transition reasons) are left out for rows the user may not read."""

    # The presenting substance profile (the policy's list) and remission are clinical content.
    clinical_fields = (*CASE_PROFILE_FIELDS, *REMISSION_FIELDS)
    stage_history = StageTransitionSerializer(many=True, read_only=True)
    allowed_transitions = serializers.SerializerMethodField()
    remission = serializers.ChoiceField(
        choices=["early", "sustained"],
        allow_null=True,
        read_only=True,
        help_text="DSM-5-TR remission specifier from the case's dated checklists (docs/clinical.md), else null.",
    )
    remission_assessed_on = serializers.DateField(
        allow_null=True,
        read_only=True,
        help_text="The date of the checklist that documents the remission (C).",
    )
    remission_questioned_by = serializers.SerializerMethodField(
        help_text="The latest positive screen (mitragynine, 7-OH, opioids, fentanyl) or visit reporting current "
        "kratom use on or after `remission_assessed_on`: re-assess. Null when nothing questions it."
    )
    reasons_for_use = ReasonsForUseField(required=False)
    # Declared so that the schema's enum admits "" (not given): a read-only model field loses allow_blank.
    kratom_form = serializers.ChoiceField(choices=Case.KratomForm.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Case
        fields = (
            "id", "patient", "status", "stage", "opened_on", "closed_on", "referral_source", "primary_clinician",
            "care_team", "discharge_reason", *CASE_PROFILE_FIELDS, "stage_history", "allowed_transitions",
            *REMISSION_FIELDS, "version", "created_at", "updated_at",
        )  # fmt: skip
        read_only_fields = fields

    def get_allowed_transitions(self, case: Case) -> list[str]:
        return allowed_next_stages(case)

    diagnosis_code = serializers.SerializerMethodField(
        help_text="Suggested ICD-10-CM code: F19.10 / F19.20 by the severity of the checklist that established the "
        "diagnosis (mild / moderate or severe), F19.11 / F19.21 in early or sustained remission; null without one."
    )

    @extend_schema_field(
        serializers.ChoiceField(choices=["F19.10", "F19.11", "F19.20", "F19.21"], allow_null=True)
    )
    def get_diagnosis_code(self, case: Case) -> str | None:
        return diagnosis_code(getattr(case, "dsm5_severity", None), getattr(case, "remission", None))

    @extend_schema_field(QuestionedBySerializer(allow_null=True))
    def get_remission_questioned_by(self, case: Case) -> dict[str, Any] | None:
        return remission_questioned_by(case)

    def to_representation(self, instance: Case) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not getattr(instance, "clinical_visible", False):
            for row in data["stage_history"]:
                row.pop("reason", None)
        return data


class CaseWriteSerializer(StrictModelSerializer):
    """Fields a client may write at intake or later. Which of them a given user may send is the view's call."""

    patient = ScopedRelatedField(scoped=lambda user: patients_in_scope(user, Capability.OPEN_CASE))
    reasons_for_use = ReasonsForUseField(required=False)
    primary_clinician = serializers.PrimaryKeyRelatedField(
        queryset=clinical_staff(), required=False, allow_null=True
    )
    care_team = serializers.PrimaryKeyRelatedField(queryset=clinical_staff(), many=True, required=False)
    other_substances = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    class Meta:
        model = Case
        fields: tuple[str, ...] = (
            "patient",
            "opened_on",
            "referral_source",
            "primary_clinician",
            "care_team",
            *CASE_PROFILE_FIELDS,
        )
        extra_kwargs = {
            "opened_on": {"required": False},
            "kratom_daily_grams": min_max("kratom_daily_grams"),  # cases.models.ranges.RANGES
            "kratom_years_used": min_max("kratom_years_used"),
        }


class CaseUpdateSerializer(CaseWriteSerializer):
    class Meta(CaseWriteSerializer.Meta):
        fields = ("referral_source", "primary_clinician", "care_team", *CASE_PROFILE_FIELDS)
        extra_kwargs = {
            "referral_source": {"required": False},
            **CaseWriteSerializer.Meta.extra_kwargs,
        }


class TransitionRequestSerializer(StrictSerializer):
    to_stage = serializers.ChoiceField(choices=Case.Stage.choices)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    discharge_reason = serializers.ChoiceField(
        choices=Case.DischargeReason.choices, required=False, allow_null=True, default=None
    )
    effective_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Defaults to now; may be back-dated."
    )
    confirm_open_alerts = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A move to recovery or discharge while urgent alerts are unresolved answers 409 "
        "`open_urgent_alerts` listing them; send true to move anyway (audited with the alerts passed over).",
    )
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The case's `version` as you read it. If the case has changed since, the answer is 409 "
        "(without it, the version the server reads when the request arrives is the one checked).",
    )
