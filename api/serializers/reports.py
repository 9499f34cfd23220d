"""Report shapes (SPEC section 10), for the schema: the views return the domain's dicts as they are
(`cases.reports`); these serializers document them. In a de-identified report (`?deidentified=true`) a count
from 1 to 10 is the string "<11" and a value computed from such a small group is the string "suppressed"."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.instruments import INSTRUMENTS
from cases.models import Case, Visit

COUNT_SCHEMA = {
    "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "enum": ["<11"]}],
    "description": 'A count; "<11" in a de-identified report when it is from 1 to 10.',
}
NULLABLE_COUNT_SCHEMA = {
    "oneOf": [{"type": "integer", "minimum": 0, "nullable": True}, {"type": "string", "enum": ["<11"]}],
    "description": 'A count, or null where it does not apply; "<11" in a de-identified report when it is from 1 '
    "to 10.",
}
FIGURE_SCHEMA = {
    "oneOf": [{"type": "number", "nullable": True}, {"type": "string", "enum": ["suppressed"]}],
    "description": 'Null when there is nothing to compute it from; "suppressed" in a de-identified report when '
    "it rests on a group of 1 to 10.",
}


class _AsIs(serializers.Field):
    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(COUNT_SCHEMA)
class CountField(_AsIs):
    pass


@extend_schema_field(NULLABLE_COUNT_SCHEMA)
class NullableCountField(_AsIs):
    pass


@extend_schema_field(FIGURE_SCHEMA)
class FigureField(_AsIs):
    pass


OPEN_STAGES = [stage.value for stage in Case.OPEN_STAGES]


def _per(
    codes: list[str], field: type[serializers.Field], name: str, doc: str
) -> type[serializers.Serializer]:
    """A serializer with one field per code (a `{code: value}` object with every code present)."""
    return type(name, (serializers.Serializer,), {"__doc__": doc, **{code: field() for code in codes}})


OpenByStageSerializer = _per(OPEN_STAGES, CountField, "OpenByStageSerializer", "Open cases per stage.")
DischargesByReasonSerializer = _per(
    list(Case.DischargeReason.values), CountField, "DischargesByReasonSerializer", "Discharges per reason."
)
MedianDaysInStageSerializer = _per(
    OPEN_STAGES, FigureField, "MedianDaysInStageSerializer", "Median days of the completed stays per stage."
)
CompletedStaysSerializer = _per(
    OPEN_STAGES, CountField, "CompletedStaysSerializer", "Completed stays behind each median."
)
RemissionSerializer = _per(["early", "sustained"], CountField, "RemissionSerializer", "Cases in remission.")


class ReportParametersSerializer(serializers.Serializer):
    """The parameters as applied (defaults filled in)."""

    start = serializers.DateField()
    end = serializers.DateField()
    clinician = serializers.UUIDField(allow_null=True)


class _ReportSerializer(serializers.Serializer):
    parameters = ReportParametersSerializer()
    deidentified = serializers.BooleanField()


class OpenByClinicianSerializer(serializers.Serializer):
    clinician = serializers.UUIDField(allow_null=True, help_text="User id; null for cases with no clinician.")
    clinician_name = serializers.CharField()
    open = CountField()


class CensusReportSerializer(_ReportSerializer):
    as_of = serializers.DateField()
    open_by_stage = OpenByStageSerializer()
    open_by_clinician = OpenByClinicianSerializer(many=True)
    admissions = CountField()
    readmissions = CountField()
    discharges = CountField()
    discharges_by_reason = DischargesByReasonSerializer()


class RetentionDaySerializer(serializers.Serializer):
    day = serializers.ChoiceField(choices=[30, 90, 180])
    eligible = CountField()
    retained = CountField()
    rate = FigureField()


class RetentionReportSerializer(_ReportSerializer):
    cohort_size = CountField()
    days = RetentionDaySerializer(many=True)
    median_length_of_stay_days = FigureField()
    open_cases = CountField()


class _VisitCountsSerializer(serializers.Serializer):
    scheduled = CountField()
    attended = CountField()
    no_show = CountField()
    cancelled = CountField()
    late_cancel = CountField()
    attendance_rate = FigureField()


class VisitRowSerializer(_VisitCountsSerializer):
    month = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="YYYY-MM, clinic time.")
    visit_type = serializers.ChoiceField(choices=Visit.VisitType.choices)


class VisitsByClinicianSerializer(_VisitCountsSerializer):
    clinician = serializers.UUIDField()
    clinician_name = serializers.CharField()


class VisitsReportSerializer(_ReportSerializer):
    rows = VisitRowSerializer(many=True)
    by_clinician = VisitsByClinicianSerializer(many=True)


class InstrumentOutcomeSerializer(serializers.Serializer):
    instrument = serializers.ChoiceField(choices=list(INSTRUMENTS))
    cases = CountField()
    mean_first = FigureField()
    mean_latest = FigureField()
    mean_change = FigureField()
    improved = NullableCountField(
        help_text="Cases whose latest band is better than their first; null for SOWS."
    )
    improved_share = FigureField()


class OutcomesReportSerializer(_ReportSerializer):
    instruments = InstrumentOutcomeSerializer(many=True)
    mitragynine_negative_share = FigureField()
    mitragynine_screens = CountField()
    mitragynine_negative = CountField()
    median_days_in_stage = MedianDaysInStageSerializer()
    completed_stays = CompletedStaysSerializer()
    remission = RemissionSerializer()


REPORT_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    "census": CensusReportSerializer,
    "retention": RetentionReportSerializer,
    "visits": VisitsReportSerializer,
    "outcomes": OutcomesReportSerializer,
}
