"""Clinical record shapes: the instrument registry, assessments, plan goals, medications, drug screens, liver
panels and alerts. Reads show what the domain stored or derives; writes carry only what a clinician enters."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.base import ScopedRelatedField, StrictModelSerializer, StrictSerializer
from cases.instruments import INSTRUMENTS
from cases.measures import liver_findings
from cases.models import (
    ANALYTES,
    Alert,
    AlertEvidence,
    Assessment,
    ClinicalEvent,
    DrugScreen,
    LiverPanel,
    Medication,
    TreatmentGoal,
)
from cases.selectors import evidence_newest_first
from cases.services.clinical import GOAL_FIELDS, LIVER_FIELDS, MEDICATION_FIELDS
from cases.services.events import CLINICAL_EVENT_FIELDS
from clinic.inputguard import RECORD_TEXT_MAX_LENGTH, SHORT_TEXT_MAX_LENGTH
from clinic.policy import Capability, cases_in_scope

TEXT_MAX_LENGTH = RECORD_TEXT_MAX_LENGTH
NOTE_MAX_LENGTH = SHORT_TEXT_MAX_LENGTH
# The most items any instrument has: more keys than this cannot be a set of responses.
MAX_RESPONSES = max(len(instrument.items) for instrument in INSTRUMENTS.values())
RESPONSE_VALUE_SCHEMA = {"oneOf": [{"type": "integer"}, {"type": "boolean"}]}


def _case_field() -> ScopedRelatedField:
    """The case a record is written on: one the user may record clinical content for; else 'does not exist'."""
    return ScopedRelatedField(
        scoped=lambda user: cases_in_scope(user, Capability.RECORD_CLINICAL), pk_field=serializers.UUIDField()
    )


# --- The instrument registry --------------------------------------------------------------------------------


@extend_schema_field(RESPONSE_VALUE_SCHEMA)
class ResponseValueField(serializers.Field):
    """An item's value: an integer score, or true/false for a checklist criterion. Checked by the instrument,
    which names the item whatever the value (null included)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


# `label` and `required` name a Field's own attributes in the type stubs; as declared fields they are fine.


class ChoiceSerializer(serializers.Serializer):
    value = ResponseValueField()
    label = serializers.CharField()  # type: ignore[assignment]


class ItemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The key of this item in an assessment's `responses`.")
    label = serializers.CharField()  # type: ignore[assignment]
    choices = ChoiceSerializer(many=True, help_text="The only values this item accepts, with their labels.")
    required = serializers.BooleanField()  # type: ignore[assignment]
    counted = serializers.BooleanField(help_text="False for a modifier that does not add to the total.")


class BandSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    low = serializers.IntegerField()
    high = serializers.IntegerField()


class InstrumentSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=Assessment.Instrument.choices)
    name = serializers.CharField()
    reference = serializers.CharField()
    scoring = serializers.ChoiceField(choices=["sum", "count_true"])
    max_total = serializers.IntegerField()
    items = ItemSerializer(many=True)
    bands = BandSerializer(many=True, help_text="Empty for an instrument without bands (SOWS).")
    withdrawn = serializers.DictField(
        child=serializers.CharField(),
        help_text="Items no longer part of the instrument, with why: sending one is a 400 naming it.",
    )
    exclusions = serializers.SerializerMethodField(
        help_text="Deprecated, always empty: the one exclusion (medical supervision on the DSM-5 checklist) is "
        "withdrawn (see `withdrawn`). Kept so that clients reading it keep working."
    )
    diagnosis_codes = serializers.DictField(
        child=serializers.CharField(), help_text="Suggested ICD-10-CM code per band (DSM-5 checklist only)."
    )

    @extend_schema_field(serializers.DictField(child=serializers.ListField(child=serializers.CharField())))
    def get_exclusions(self, instrument: object) -> dict[str, list[str]]:
        return {}

    notes = serializers.ListField(child=serializers.CharField())


# --- Assessments --------------------------------------------------------------------------------------------


class AssessmentSerializer(serializers.ModelSerializer):
    """A recorded administration; total and band are the server's, never the client's."""

    responses = serializers.DictField(child=ResponseValueField(), read_only=True)
    diagnosis_code = serializers.SerializerMethodField(
        help_text="Suggested ICD-10-CM code of a DSM-5 checklist on its own (F19.10 mild, F19.20 moderate or "
        "severe); the case's `diagnosis_code` adds the remission (F19.11 / F19.21)."
    )

    class Meta:
        model = Assessment
        fields = (
            "id", "case", "instrument", "responses", "administered_at", "total", "band", "diagnosis_code", "by",
            "recorded_at", "entered_in_error", "entered_in_error_reason", "entered_in_error_at",
            "entered_in_error_by",
        )  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["F19.10", "F19.20"], allow_null=True))
    def get_diagnosis_code(self, assessment: Assessment) -> str | None:
        instrument = INSTRUMENTS.get(assessment.instrument)
        return instrument.diagnosis_codes.get(assessment.band or "") if instrument else None


class AssessmentWriteSerializer(StrictSerializer):
    """Record an administration: the server checks each response against the instrument and scores it."""

    case = _case_field()
    instrument = serializers.ChoiceField(choices=Assessment.Instrument.choices)
    responses = serializers.DictField(
        child=ResponseValueField(),
        help_text="Item code -> value, per the instrument's definition (`GET instruments/{code}/`).",
    )
    administered_at = serializers.DateTimeField(
        required=False, help_text="Defaults to now; may be back-dated, never into the future."
    )

    def validate_responses(self, responses: dict[str, Any]) -> dict[str, Any]:
        if len(responses) > MAX_RESPONSES:
            raise serializers.ValidationError(f"No instrument has more than {MAX_RESPONSES} items.")
        return responses


class EnteredInErrorRequestSerializer(StrictSerializer):
    """Why the recorded assessment or event is wrong; it then stays on record but no longer counts."""

    reason = serializers.CharField(max_length=NOTE_MAX_LENGTH)


# --- Treatment plan and medications -------------------------------------------------------------------------


class GoalSerializer(serializers.ModelSerializer):
    class Meta:
        model = TreatmentGoal
        fields = ("id", "case", *GOAL_FIELDS, "created_at", "updated_at", "created_by")
        read_only_fields = fields


class GoalWriteSerializer(StrictModelSerializer):
    """A goal of the case's treatment plan."""

    case = _case_field()

    class Meta:
        model = TreatmentGoal
        fields: tuple[str, ...] = ("case", *GOAL_FIELDS)
        extra_kwargs = {
            "problem": {"max_length": TEXT_MAX_LENGTH},
            "goal": {"max_length": TEXT_MAX_LENGTH},
            "interventions": {"max_length": TEXT_MAX_LENGTH},
            "review_date": {"required": False, "help_text": "Defaults to today; never in the future."},
        }


class GoalUpdateSerializer(GoalWriteSerializer):
    class Meta(GoalWriteSerializer.Meta):
        fields = GOAL_FIELDS


class MedicationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Medication
        fields = ("id", "case", *MEDICATION_FIELDS, "created_at", "updated_at", "created_by")
        read_only_fields = fields


class MedicationWriteSerializer(StrictModelSerializer):
    """A medication on the case; `other_name` names one that is not on the list."""

    case = _case_field()

    class Meta:
        model = Medication
        fields: tuple[str, ...] = ("case", *MEDICATION_FIELDS)
        extra_kwargs = {"other_name": {"help_text": "Required when `medication` is `other`."}}


class MedicationUpdateSerializer(MedicationWriteSerializer):
    class Meta(MedicationWriteSerializer.Meta):
        fields = MEDICATION_FIELDS


# --- Labs ---------------------------------------------------------------------------------------------------


class ScreenResultsSerializer(serializers.Serializer):
    """`{analyte: result}`; an analyte left out of a request is `not_tested`."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            analyte: serializers.ChoiceField(choices=DrugScreen.Result.choices, required=False)
            for analyte in ANALYTES
        }


class DrugScreenSerializer(serializers.ModelSerializer):
    results = ScreenResultsSerializer(read_only=True)

    class Meta:
        model = DrugScreen
        fields = ("id", "case", "collected_on", "results", "created_at", "created_by")
        read_only_fields = fields


@extend_schema_field(ScreenResultsSerializer)
class ScreenResultsField(serializers.DictField):
    """Checked analyte by analyte by the domain, which names each offending one as `results.<analyte>`."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if len(value) > len(ANALYTES):
            raise serializers.ValidationError(f"A screen has at most {len(ANALYTES)} analytes.")
        return value


class DrugScreenWriteSerializer(StrictSerializer):
    """A urine drug screen: the collection date and `{analyte: result}` (one left out is `not_tested`)."""

    case = _case_field()
    collected_on = serializers.DateField()
    results = ScreenResultsField(required=False, default=dict)


class DrugScreenUpdateSerializer(StrictSerializer):
    """A correction: `results` replaces only the analytes it names."""

    collected_on = serializers.DateField(required=False)
    results = ScreenResultsField(required=False, help_text="Replaces only the analytes it names.")


class LiverPanelSerializer(serializers.ModelSerializer):
    """The values as entered, and what the tracker derives from them (SPEC 3.5)."""

    meets_dili_criteria = serializers.SerializerMethodField(
        help_text="Drug-induced liver injury criteria (Aithal et al. 2011): ALT >= 5 x ULN, or ALP >= 2 x ULN, or "
        "ALT >= 3 x ULN with total bilirubin > 2 x ULN; potential Hy's law always meets them."
    )
    r_ratio = serializers.SerializerMethodField(
        help_text="(ALT/ULN) / (ALP/ULN) rounded to 2 places (classified from the exact value); null when ALP is 0."
    )
    pattern = serializers.SerializerMethodField(
        help_text="hepatocellular (R >= 5), mixed, cholestatic (R <= 2); null below the DILI criteria."
    )
    hys_law = serializers.SerializerMethodField(
        help_text="Potential Hy's law (FDA 2009): ALT or AST >= 3 x ULN, total bilirubin > 2 x ULN, ALP < 2 x ULN."
    )

    class Meta:
        model = LiverPanel
        fields = (
            "id", "case", *LIVER_FIELDS, "meets_dili_criteria", "r_ratio", "pattern", "hys_law", "created_at",
            "created_by",
        )  # fmt: skip
        read_only_fields = fields

    def get_meets_dili_criteria(self, panel: LiverPanel) -> bool:
        return liver_findings(panel).meets_dili_criteria

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_r_ratio(self, panel: LiverPanel) -> float | None:
        ratio = liver_findings(panel).r_ratio
        return None if ratio is None else float(ratio)

    @extend_schema_field(
        serializers.ChoiceField(choices=["hepatocellular", "mixed", "cholestatic"], allow_null=True)
    )
    def get_pattern(self, panel: LiverPanel) -> str | None:
        return liver_findings(panel).pattern

    def get_hys_law(self, panel: LiverPanel) -> bool:
        return liver_findings(panel).hys_law


class LiverPanelWriteSerializer(StrictModelSerializer):
    """ALT, AST, ALP (U/L) and total bilirubin (mg/dL), each with the lab's upper limit of normal."""

    case = _case_field()

    class Meta:
        model = LiverPanel
        fields: tuple[str, ...] = ("case", *LIVER_FIELDS)


class LiverPanelUpdateSerializer(LiverPanelWriteSerializer):
    class Meta(LiverPanelWriteSerializer.Meta):
        fields = LIVER_FIELDS


# --- Clinical events ----------------------------------------------------------------------------------------


class ClinicalEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClinicalEvent
        fields = (
            "id", "case", *CLINICAL_EVENT_FIELDS, "created_at", "created_by", "entered_in_error",
            "entered_in_error_reason", "entered_in_error_at", "entered_in_error_by",
        )  # fmt: skip
        read_only_fields = fields


class ClinicalEventWriteSerializer(StrictModelSerializer):
    """A serious event on the case (SPEC 3.6); a seizure or an overdose raises its urgent alert."""

    case = _case_field()

    class Meta:
        model = ClinicalEvent
        fields: tuple[str, ...] = ("case", *CLINICAL_EVENT_FIELDS)
        extra_kwargs = {
            "description": {"max_length": TEXT_MAX_LENGTH},
            "occurred_on": {
                "help_text": "The day it happened: not in the future, not before the case opened."
            },
            "related_to_kratom": {"required": False, "help_text": "yes, no or unknown (the default)."},
            "naloxone_given": {
                "required": False,
                "help_text": "Overdoses only: true, false, or null when not known; refused for other kinds.",
            },
        }


# --- Alerts -------------------------------------------------------------------------------------------------


class AlertEvidenceSerializer(serializers.ModelSerializer):
    """One record that triggered the alert; `struck` when that record was marked entered in error or corrected."""

    type = serializers.CharField(source="source_type", help_text="assessment, visit, drugscreen, liverpanel, "
                                 "clinicalevent, or case (a time-based rule)")  # fmt: skip
    id = serializers.UUIDField(source="source_id")

    class Meta:
        model = AlertEvidence
        fields = ("type", "id", "at", "summary", "severity", "struck", "struck_at", "struck_reason")
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    evidence = serializers.SerializerMethodField(help_text="The triggering records, newest first.")

    class Meta:
        model = Alert
        fields = (
            "id", "patient", "case", "kind", "severity", "status", "message", "raised_at", "acknowledged_at",
            "acknowledged_by", "acknowledge_note", "resolved_at", "resolved_by", "resolve_note", "reopened_at",
            "source_type", "source_id", "evidence",
        )  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(AlertEvidenceSerializer(many=True))
    def get_evidence(self, alert: Alert) -> list[dict[str, Any]]:
        return AlertEvidenceSerializer(evidence_newest_first(alert), many=True).data  # type: ignore[return-value]


class AlertNoteRequestSerializer(StrictSerializer):
    """What was done about the alert."""

    note = serializers.CharField(max_length=NOTE_MAX_LENGTH)
