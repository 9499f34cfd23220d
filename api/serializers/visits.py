"""Visit shapes: scheduling and attendance for everyone who schedules; the note and vitals for clinicians."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.base import (
    ClinicalFieldsMixin,
    ClinicianField,
    ScopedRelatedField,
    StrictModelSerializer,
    StrictSerializer,
)
from cases.measures import BloodPressureClass, blood_pressure_class
from cases.models import Visit, VisitAddendum, VisitEvent
from cases.models.ranges import RANGES, min_max
from cases.services.visits import REASON_MAX_LENGTH
from clinic.inputguard import NOTE_TEXT_MAX_LENGTH
from clinic.policy import Capability, cases_in_scope

NOTE_MAX_LENGTH = NOTE_TEXT_MAX_LENGTH
SCHEDULING_FIELDS = Visit.SCHEDULING_FIELDS
RANGED_FIELDS = tuple(name for name in (*SCHEDULING_FIELDS, *Visit.CLINICAL_FIELDS) if name in RANGES)
VISIT_CLINICAL_FIELDS = (*Visit.CLINICAL_FIELDS, "bp_class", "signed_at", "signed_by", "addenda")


class AddendumSerializer(serializers.ModelSerializer):
    class Meta:
        model = VisitAddendum
        fields = ("id", "author", "created_at", "text")
        read_only_fields = fields


class WithdrawalSymptomsField(serializers.ListField):
    child = serializers.ChoiceField(choices=Visit.WithdrawalSymptom.choices)
    max_length = len(Visit.WithdrawalSymptom.choices)


class VisitEventSerializer(serializers.ModelSerializer):
    """One entry of a visit's history: attendance recorded or corrected, or the visit moved."""

    by = serializers.CharField(source="by.username", read_only=True, default=None)
    # Blank on a move (declared: a read-only model field loses `allow_blank`, and the schema with it).
    from_status = serializers.ChoiceField(choices=Visit.Status.choices, allow_blank=True, read_only=True)
    to_status = serializers.ChoiceField(choices=Visit.Status.choices, allow_blank=True, read_only=True)

    class Meta:
        model = VisitEvent
        fields = (
            "kind",
            "from_status",
            "to_status",
            "from_scheduled_at",
            "to_scheduled_at",
            "reason",
            "by",
            "at",
        )
        read_only_fields = fields


class VisitSerializer(ClinicalFieldsMixin, serializers.ModelSerializer):
    """The read shape; rows whose patient the user may not read clinically carry no clinical fields."""

    clinical_fields = VISIT_CLINICAL_FIELDS
    patient = serializers.UUIDField(source="case.patient_id", read_only=True)
    addenda = AddendumSerializer(many=True, read_only=True)
    history = VisitEventSerializer(source="events", many=True, read_only=True)
    withdrawal_symptoms = WithdrawalSymptomsField(read_only=True)
    bp_class = serializers.SerializerMethodField(
        help_text="Blood pressure class, ACC/AHA 2017; null without both."
    )

    class Meta:
        model = Visit
        fields: tuple[str, ...] = (
            "id",
            "case",
            "patient",
            *SCHEDULING_FIELDS,
            "status",
            "history",
            *VISIT_CLINICAL_FIELDS,
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = fields

    @extend_schema_field(
        serializers.ChoiceField(choices=[c.code for c in BloodPressureClass], allow_null=True)
    )
    def get_bp_class(self, visit: Visit) -> str | None:
        bp_class = blood_pressure_class(visit.bp_systolic, visit.bp_diastolic)
        return None if bp_class is None else bp_class.code


_NOTE = {"max_length": NOTE_MAX_LENGTH, "required": False, "allow_blank": True}


class VisitListSerializer(VisitSerializer):
    """A visit in a list (the schedule): the read shape without its history, which the visit's own read carries."""

    class Meta(VisitSerializer.Meta):
        fields = tuple(field for field in VisitSerializer.Meta.fields if field != "history")
        read_only_fields = fields


class VisitWriteSerializer(StrictModelSerializer):
    """Every writable visit field; the view narrows it to what the user may write for this patient."""

    case = ScopedRelatedField(scoped=lambda user: cases_in_scope(user, Capability.SCHEDULE_VISITS))
    clinician = ClinicianField()
    withdrawal_symptoms = WithdrawalSymptomsField(required=False)
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Why attendance is corrected, or the visit moved (required for either).",
    )
    confirm_conflicts = serializers.BooleanField(
        required=False,
        write_only=True,
        help_text="Book (or move) even over the overlapping visits a 409 `scheduling_conflict` listed.",
    )

    class Meta:
        model = Visit
        fields = (
            "case",
            *SCHEDULING_FIELDS,
            "status",
            "reason",
            "confirm_conflicts",
            *Visit.CLINICAL_FIELDS,
        )
        extra_kwargs = {
            # The plausible ranges (`cases.models.ranges.RANGES`), so the schema states them too.
            **{name: min_max(name) for name in RANGED_FIELDS},
            "subjective": _NOTE,
            "objective": _NOTE,
            "assessment": _NOTE,
            "plan": _NOTE,
        }

    def __init__(self, *args: Any, writable: tuple[str, ...] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if writable is not None:
            for name in set(self.fields) - set(writable):
                del self.fields[name]


class AddendumRequestSerializer(StrictSerializer):
    text = serializers.CharField(max_length=NOTE_MAX_LENGTH)


class AttendanceRequestSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Visit.Status.choices)
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Required when the visit's attendance was already recorded (a correction).",
    )


class RescheduleRequestSerializer(StrictSerializer):
    scheduled_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(**min_max("duration_minutes"), required=False)
    clinician = ClinicianField(required=False)
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, help_text="Why the visit moves.")
    confirm_conflicts = serializers.BooleanField(required=False, default=False)


class SchedulingConflictSerializer(serializers.Serializer):
    """The 409 of a booking or move that overlaps other visits (sent again with `confirm_conflicts: true`)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    conflicts = serializers.ListField(child=serializers.DictField())


class RescheduleRefusalSerializer(SchedulingConflictSerializer):
    """The 409 of a move: it overlaps other visits (`conflicts`), or the visit is no longer scheduled
    (`visit_not_scheduled`, no `conflicts`)."""

    conflicts = serializers.ListField(child=serializers.DictField(), required=False)
