"""django-filter filter sets of the domain's lists, read by the API's viewsets and the staff pages alike (the same
rules for `?search=`, `?stage=`, ...). A malformed value is a 400 naming the parameter. The audit log's are in
clinic/filters.py."""

import datetime as dt
import uuid

import django_filters as filters
from django.db.models import Exists, F, Func, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Replace
from django.utils import timezone

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
    DuplicateReview,
    Patient,
    TreatmentGoal,
    Visit,
)
from cases.models.access import running_grant_q
from clinic.filters import MomentFilter, filter_user_by_id_or_name, local_midnight

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
        return queryset.filter(scheduled_at__gte=local_midnight(value))

    def filter_date_to(self, queryset: QuerySet[Visit], name: str, value: dt.date) -> QuerySet[Visit]:
        if value >= dt.date.max:
            return queryset
        return queryset.filter(scheduled_at__lt=local_midnight(value + dt.timedelta(days=1)))


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


# --- Break-glass review ---------------------------------------------------------------------------------------


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
        return filter_user_by_id_or_name(queryset, value, id_field="user_id", name_field="user__username")

    def filter_active(
        self, queryset: QuerySet[BreakGlassGrant], name: str, value: bool
    ) -> QuerySet[BreakGlassGrant]:
        running = running_grant_q()
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


class DuplicateReviewFilter(filters.FilterSet):
    """The front desk's duplicate review list: `?status=`."""

    status = filters.ChoiceFilter(choices=DuplicateReview.Status.choices, help_text="`open`: still to review")

    class Meta:
        model = DuplicateReview
        fields: list[str] = []
