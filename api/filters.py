"""django-filter filter sets for every list. A malformed value is a 400 naming the parameter."""

import datetime as dt
import uuid

import django_filters as filters
from django import forms
from django.db.models import Exists, F, Func, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Replace
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import extend_schema_field

from cases.models import (
    AccountingRequest,
    Alert,
    Assessment,
    BreakGlassGrant,
    CareTeamMember,
    Case,
    ClinicalEvent,
    Consent,
    CounselingNote,
    Disclosure,
    Patient,
    TreatmentGoal,
    Visit,
)
from clinic.audit import newest_first_from_index, touching_patient
from clinic.models import AuditEvent

MAX_SEARCH_TERMS = 5
SEARCH_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")
PHONE_PUNCTUATION = ("-", " ", "(", ")", ".", "+")


def _as_date(term: str) -> dt.date | None:
    for date_format in SEARCH_DATE_FORMATS:
        try:
            return dt.datetime.strptime(term, date_format).date()
        except ValueError:
            continue
    return None


def _phone_digits(term: str) -> str:
    """The digits of a term that is a phone number or a piece of one (4 digits or more, nothing but digits and
    phone punctuation), else ''."""
    digits = "".join(ch for ch in term if ch.isdigit())
    if len(digits) < 4 or any(not (ch.isdigit() or ch in PHONE_PUNCTUATION) for ch in term):
        return ""
    return digits


def _digits_of(field: str) -> Func:
    """The field with phone punctuation removed (the same on SQLite and PostgreSQL)."""
    expression: Func | F = F(field)
    for mark in PHONE_PUNCTUATION:
        expression = Replace(expression, Value(mark), Value(""))
    return expression  # type: ignore[return-value]


class PatientFilter(filters.FilterSet):
    search = filters.CharFilter(
        method="filter_search", max_length=100, help_text="Name(s), MRN, date of birth or phone digits"
    )
    stage = filters.ChoiceFilter(
        choices=Case.Stage.choices, method="filter_stage", help_text="Stage of the open case"
    )
    clinician = filters.UUIDFilter(
        method="filter_clinician", help_text="Primary clinician or care-team member (user id)"
    )
    has_open_case = filters.BooleanFilter(method="filter_has_open_case")
    mrn = filters.CharFilter(
        method="filter_mrn", max_length=16, help_text="The exact MRN (letter case aside)"
    )

    class Meta:
        model = Patient
        fields: list[str] = []

    def filter_mrn(self, queryset: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        return queryset.filter(mrn__iexact=value.strip())

    def filter_search(self, queryset: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        """Every term must match: a name's start, the exact MRN, a date of birth (2026-12-03 or 12/03/2026), or
        four or more digits of the phone number, whatever its punctuation."""
        terms = value.split()[:MAX_SEARCH_TERMS]
        if any(_phone_digits(term) for term in terms):
            queryset = queryset.annotate(phone_digits=_digits_of("phone"))
        for term in terms:
            match = (
                Q(mrn__iexact=term)
                | Q(last_name__istartswith=term)
                | Q(first_name__istartswith=term)
                | Q(preferred_name__istartswith=term)
            )
            born = _as_date(term)
            if born is not None:
                match |= Q(date_of_birth=born)
            digits = _phone_digits(term)
            if digits:
                match |= Q(phone_digits__contains=digits)
            queryset = queryset.filter(match)
        return queryset

    def filter_stage(self, queryset: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        if value == Case.Stage.DISCHARGED:
            return queryset.filter(cases__stage=value).exclude(cases__status=Case.Status.OPEN).distinct()
        return queryset.filter(
            Exists(Case.objects.filter(patient=OuterRef("pk"), status="open", stage=value))
        )

    def filter_clinician(self, queryset: QuerySet[Patient], name: str, value: uuid.UUID) -> QuerySet[Patient]:
        cases = Case.objects.filter(Q(primary_clinician_id=value) | Q(care_team_members__user_id=value))
        return queryset.filter(pk__in=cases.values("patient_id"))

    def filter_has_open_case(self, queryset: QuerySet[Patient], name: str, value: bool) -> QuerySet[Patient]:
        # Not called for an empty or unrecognised value (`?has_open_case=maybe` filters nothing).
        open_case = Exists(Case.objects.filter(patient=OuterRef("pk"), status=Case.Status.OPEN))
        return queryset.filter(open_case) if value else queryset.exclude(open_case)


class PatientMrnLookupFilter(filters.FilterSet):
    """An administrator's privacy lookup (`GET patients/?mrn=`): the exact MRN and nothing else, so no other
    parameter (a stage, a clinician) can tell them anything about the patient's care."""

    mrn = filters.CharFilter(
        method="filter_mrn", max_length=16, help_text="The exact MRN (letter case aside)"
    )

    class Meta:
        model = Patient
        fields: list[str] = []

    def filter_mrn(self, queryset: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        return queryset.filter(mrn__iexact=value.strip())


class CaseFilter(filters.FilterSet):
    patient = filters.UUIDFilter(field_name="patient_id")
    stage = filters.ChoiceFilter(choices=Case.Stage.choices)
    status = filters.ChoiceFilter(choices=Case.Status.choices)
    clinician = filters.UUIDFilter(
        method="filter_clinician", help_text="Primary clinician or care-team member (user id)"
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def filter_clinician(self, queryset: QuerySet[Case], name: str, value: uuid.UUID) -> QuerySet[Case]:
        on_team = Exists(CareTeamMember.objects.filter(case=OuterRef("pk"), user_id=value))
        return queryset.filter(Q(primary_clinician_id=value) | on_team)


class VisitFilter(filters.FilterSet):
    case = filters.UUIDFilter(field_name="case_id")
    patient = filters.UUIDFilter(field_name="case__patient_id")
    clinician = filters.UUIDFilter(field_name="clinician_id")
    status = filters.ChoiceFilter(choices=Visit.Status.choices)
    date_from = filters.DateFilter(method="filter_date_from", help_text="On or after this clinic-local date")
    date_to = filters.DateFilter(method="filter_date_to", help_text="On or before this clinic-local date")

    class Meta:
        model = Visit
        fields: list[str] = []

    def filter_date_from(self, queryset: QuerySet[Visit], name: str, value: dt.date) -> QuerySet[Visit]:
        return queryset.filter(scheduled_at__gte=_local_midnight(value))

    def filter_date_to(self, queryset: QuerySet[Visit], name: str, value: dt.date) -> QuerySet[Visit]:
        if value >= dt.date.max:
            return queryset
        return queryset.filter(scheduled_at__lt=_local_midnight(value + dt.timedelta(days=1)))


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class ClinicalRecordFilter(filters.FilterSet):
    """`?case=` and `?patient=`, for every kind of clinical record (each has a `case`)."""

    case = filters.UUIDFilter(field_name="case_id")
    patient = filters.UUIDFilter(field_name="case__patient_id")


class AssessmentFilter(ClinicalRecordFilter):
    instrument = filters.ChoiceFilter(choices=Assessment.Instrument.choices)
    entered_in_error = filters.BooleanFilter(help_text="false: only the scores that count")


class ClinicalEventFilter(ClinicalRecordFilter):
    kind = filters.ChoiceFilter(choices=ClinicalEvent.Kind.choices)
    entered_in_error = filters.BooleanFilter(help_text="false: only the events that stand")


class GoalFilter(ClinicalRecordFilter):
    status = filters.ChoiceFilter(choices=TreatmentGoal.Status.choices)


class AlertFilter(filters.FilterSet):
    case = filters.UUIDFilter(field_name="case_id")
    patient = filters.UUIDFilter(field_name="patient_id")
    status = filters.ChoiceFilter(choices=Alert.Status.choices, help_text="`open`: the worklist")
    severity = filters.ChoiceFilter(choices=Alert.Severity.choices)
    kind = filters.ChoiceFilter(choices=Alert.Kind.choices)


# --- The audit log and break-glass review -------------------------------------------------------------------


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
            return queryset.filter(
                **{f"{self.field_name}__lt": _local_midnight(value + dt.timedelta(days=1))}
            )
        if value <= dt.date.min:
            return queryset
        return queryset.filter(**{f"{self.field_name}__gte": _local_midnight(value)})


def _filter_user(queryset: QuerySet, value: str, *, id_field: str, name_field: str) -> QuerySet:
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
        return _filter_user(queryset, value, id_field="user_id", name_field="username")


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


class BreakGlassGrantFilter(filters.FilterSet):
    user = filters.CharFilter(method="filter_user", max_length=150, help_text="User id or username")
    patient = filters.UUIDFilter(field_name="patient_id")
    active = filters.BooleanFilter(method="filter_active", help_text="true: running now; false: expired.")
    since = MomentFilter(field_name="granted_at", help_text="Granted at or after this date-time or date.")

    class Meta:
        model = BreakGlassGrant
        fields: list[str] = []

    def filter_user(
        self, queryset: QuerySet[BreakGlassGrant], name: str, value: str
    ) -> QuerySet[BreakGlassGrant]:
        return _filter_user(queryset, value, id_field="user_id", name_field="user__username")

    def filter_active(
        self, queryset: QuerySet[BreakGlassGrant], name: str, value: bool
    ) -> QuerySet[BreakGlassGrant]:
        now = timezone.now()
        running = Q(granted_at__lte=now, expires_at__gt=now)
        return queryset.filter(running) if value else queryset.exclude(running)


# --- 42 CFR Part 2 (SPEC section 12) ---------------------------------------------------------------------------


class ConsentFilter(filters.FilterSet):
    patient = filters.UUIDFilter(field_name="patient_id")
    kind = filters.ChoiceFilter(choices=Consent.Kind.choices)

    class Meta:
        model = Consent
        fields: list[str] = []


class DisclosureFilter(filters.FilterSet):
    patient = filters.UUIDFilter(field_name="patient_id")
    basis = filters.ChoiceFilter(choices=Disclosure.Basis.choices)
    needs_privacy_review = filters.BooleanFilter(
        method="filter_review", help_text="True: releases without consent, flagged for the privacy officer."
    )
    since = MomentFilter(field_name="disclosed_at", help_text="Disclosed at or after this date-time or date.")
    until = MomentFilter(
        field_name="disclosed_at", until=True, help_text="Up to this date-time, or the end of this date."
    )

    class Meta:
        model = Disclosure
        fields: list[str] = []

    def filter_review(self, queryset: QuerySet[Disclosure], name: str, value: bool) -> QuerySet[Disclosure]:
        flagged = ~Q(basis=Disclosure.Basis.CONSENT)
        return queryset.filter(flagged if value else ~flagged)


class AccountingRequestFilter(filters.FilterSet):
    patient = filters.UUIDFilter(field_name="patient_id")
    status = filters.ChoiceFilter(
        choices=AccountingRequest.Status.choices,
        method="filter_status",
        help_text="`open` (not yet due), `late` (past its due date, extension included), `fulfilled`.",
    )

    class Meta:
        model = AccountingRequest
        fields: list[str] = []

    def filter_status(
        self, queryset: QuerySet[AccountingRequest], name: str, value: str
    ) -> QuerySet[AccountingRequest]:
        if value == AccountingRequest.Status.FULFILLED:
            return queryset.filter(fulfilled_on__isnull=False)
        today = timezone.localdate()
        due = Q(extended_due_on__isnull=True, due_on__lt=today) | Q(extended_due_on__lt=today)
        open_requests = queryset.filter(fulfilled_on__isnull=True)
        return (
            open_requests.filter(due)
            if value == AccountingRequest.Status.LATE
            else open_requests.exclude(due)
        )


class CounselingNoteFilter(filters.FilterSet):
    case = filters.UUIDFilter(field_name="case_id")
    patient = filters.UUIDFilter(field_name="case__patient_id")

    class Meta:
        model = CounselingNote
        fields: list[str] = []
