"""django-filter filter sets for every list. A malformed value is a 400 naming the parameter."""

import datetime as dt
import uuid

import django_filters as filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from cases.models import Alert, Assessment, CareTeamMember, Case, Patient, TreatmentGoal, Visit

MAX_SEARCH_TERMS = 5


class PatientFilter(filters.FilterSet):
    search = filters.CharFilter(method="filter_search", max_length=100, help_text="Name(s) or MRN")
    stage = filters.ChoiceFilter(
        choices=Case.Stage.choices, method="filter_stage", help_text="Stage of the open case"
    )
    clinician = filters.UUIDFilter(
        method="filter_clinician", help_text="Primary clinician or care-team member (user id)"
    )
    has_open_case = filters.BooleanFilter(method="filter_has_open_case")

    class Meta:
        model = Patient
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        for term in value.split()[:MAX_SEARCH_TERMS]:
            queryset = queryset.filter(
                Q(mrn__iexact=term)
                | Q(last_name__istartswith=term)
                | Q(first_name__istartswith=term)
                | Q(preferred_name__istartswith=term)
            )
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


class GoalFilter(ClinicalRecordFilter):
    status = filters.ChoiceFilter(choices=TreatmentGoal.Status.choices)


class AlertFilter(filters.FilterSet):
    case = filters.UUIDFilter(field_name="case_id")
    patient = filters.UUIDFilter(field_name="patient_id")
    status = filters.ChoiceFilter(choices=Alert.Status.choices, help_text="`open`: the worklist")
    severity = filters.ChoiceFilter(choices=Alert.Severity.choices)
    kind = filters.ChoiceFilter(choices=Alert.Kind.choices)
