"""django-filter filter sets of the audit log (the API's `audit-events/`, a patient's access log, the audit page)
and of the staff list, and the filters every date-time list shares. A malformed value is a 400 naming the parameter."""

import datetime as dt
import uuid

import django_filters as filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import extend_schema_field

from clinic.audit import newest_first_from_index, touching_patient
from clinic.models import AuditEvent
from clinic.roles import Role


def local_midnight(day: dt.date) -> dt.datetime:
    """The start of a clinic-local day (what `?date_from=`, `?since=` and the ends of days are reckoned from)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class MomentField(forms.CharField):
    """A date (`2026-03-01`, a whole clinic-local day) or a date-time (ISO 8601; clinic time if no offset)."""

    def to_python(self, value: str | None) -> dt.date | dt.datetime | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            day = parse_date(text)
            if day is not None:
                return day
            moment = parse_datetime(text)
            if moment is not None:
                moment = moment if timezone.is_aware(moment) else timezone.make_aware(moment)
                # In UTC: out of range is refused here, and an offset PostgreSQL refuses (beyond 15:59) is gone.
                return moment.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            pass
        raise forms.ValidationError("Enter a date (YYYY-MM-DD) or an ISO 8601 date-time.", code="invalid")


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
        "description": "An ISO 8601 date-time (clinic time without an offset), or a date: `since` from its start, "
        "`until` to its end (clinic time).",
    }
)
class MomentFilter(filters.Filter):
    """`since` (from the moment, or the start of the day, on) or `until` (up to the moment, or to the end of the
    day) on a date-time field."""

    field_class = MomentField

    def __init__(self, *, until: bool = False, **kwargs: object) -> None:
        self.until = until
        super().__init__(**kwargs)

    def filter(self, queryset: QuerySet, value: dt.date | dt.datetime | None) -> QuerySet:
        if value is None:
            return queryset
        if isinstance(value, dt.datetime):
            lookup = "lte" if self.until else "gte"
            return queryset.filter(**{f"{self.field_name}__{lookup}": value})
        if self.until:
            if value >= dt.date.max:
                return queryset
            return queryset.filter(**{f"{self.field_name}__lt": local_midnight(value + dt.timedelta(days=1))})
        if value <= dt.date.min:
            return queryset
        return queryset.filter(**{f"{self.field_name}__gte": local_midnight(value)})


def filter_user_by_id_or_name(queryset: QuerySet, value: str, *, id_field: str, name_field: str) -> QuerySet:
    """A user id (UUID) or a username."""
    try:
        return queryset.filter(**{id_field: uuid.UUID(value)})
    except ValueError:
        return queryset.filter(**{name_field: value})


class PatientAccessLogFilter(filters.FilterSet):
    """The audit log of one patient (the patient is in the path)."""

    user = filters.CharFilter(method="filter_user", max_length=150, help_text="User id or username")
    action = filters.MultipleChoiceFilter(
        choices=AuditEvent.Action.choices, help_text="One or more (`?action=list&action=view`)."
    )
    outcome = filters.ChoiceFilter(choices=AuditEvent.Outcome.choices)
    data_category = filters.ChoiceFilter(choices=AuditEvent.DataCategory.choices)
    object_type = filters.CharFilter(max_length=40, help_text="`patient`, `case`, `visit`, `assessment`, ...")
    object_id = filters.CharFilter(max_length=64)
    since = MomentFilter(
        field_name="occurred_at", help_text="From this date-time, or the start of this date."
    )
    until = MomentFilter(
        field_name="occurred_at", until=True, help_text="Up to this date-time, or the end of this date."
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def filter_user(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        return filter_user_by_id_or_name(queryset, value, id_field="user_id", name_field="username")


class AuditEventFilter(PatientAccessLogFilter):
    patient = filters.UUIDFilter(
        method="filter_patient",
        help_text="Events about this patient, including the lists that showed it: who accessed the record.",
    )

    def filter_patient(
        self, queryset: QuerySet[AuditEvent], name: str, value: uuid.UUID
    ) -> QuerySet[AuditEvent]:
        # Newest first by `id + 0`: PostgreSQL then uses the indexes, not the primary key walked backwards.
        return queryset.filter(touching_patient(value)).order_by(newest_first_from_index())


class StaffFilter(filters.FilterSet):
    """The staff list: `?role=` (a role code), `?is_active=`."""

    role = filters.ChoiceFilter(choices=Role.choices, field_name="groups__name")
    is_active = filters.BooleanFilter()
