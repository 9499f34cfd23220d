"""Reads that need thought: querysets scoped once by the access policy, reused by the API and the pages."""

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db.models import Case as DbCase
from django.db.models import Model, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from cases.models import (
    Alert,
    AlertEvidence,
    BreakGlassGrant,
    Case,
    Disclosure,
    DuplicateReview,
    Patient,
    StageTransition,
    Visit,
    VisitAddendum,
    VisitEvent,
)
from cases.names import names_resemble
from clinic.audit import touching_patient
from clinic.backends import user_with_roles
from clinic.models import AuditEvent, User
from clinic.policy import (
    Capability,
    Scope,
    cases_in_scope,
    clinical_access,
    is_clinical_staff,
    patients_in_scope,
    scope,
    visits_in_scope,
)
from clinic.roles import CLINICAL_ROLES

ClinicalRecord = TypeVar("ClinicalRecord", bound=Model)


def open_case_prefetch() -> Prefetch:
    """Each patient's open case (at most one) as `patient.open_cases`, in one query for a whole page."""
    return Prefetch("cases", queryset=Case.objects.filter(status=Case.Status.OPEN), to_attr="open_cases")


def patients_visible_to(
    user: User, capability: Capability = Capability.READ_DEMOGRAPHICS
) -> QuerySet[Patient]:
    return patients_in_scope(user, capability).prefetch_related(open_case_prefetch())


def patient_by_exact_mrn(mrn: str) -> QuerySet[Patient]:
    """The one patient (not entered in error) with this MRN, letter case aside: an administrator's privacy lookup
    (`clinic.policy.finds_patients_by_mrn_only`). Nothing for an empty or partial number."""
    mrn = mrn.strip()
    if not mrn:
        return Patient.objects.none()
    return Patient.objects.filter(mrn__iexact=mrn, entered_in_error=False)


def cases_visible_to(user: User, capability: Capability = Capability.READ_DEMOGRAPHICS) -> QuerySet[Case]:
    """Cases with their care team and history prefetched, annotated `clinical_visible` per row."""
    return (
        cases_in_scope(user, capability)
        .annotate(clinical_visible=clinical_access(user, "patient_id"))
        .prefetch_related(
            "care_team",
            Prefetch("stage_history", queryset=StageTransition.objects.order_by("sequence")),
        )
    )


def visits_visible_to(
    user: User, capability: Capability = Capability.SCHEDULE_VISITS, *, with_history: bool = True
) -> QuerySet[Visit]:
    """Visits with their case, addenda and (unless `with_history` is off, as for lists) history, annotated
    `clinical_visible` per row."""
    visits = (
        visits_in_scope(user, capability)
        .select_related("case")
        .annotate(clinical_visible=clinical_access(user, "case__patient_id"))
        .prefetch_related(Prefetch("addenda", queryset=VisitAddendum.objects.order_by("created_at")))
    )
    if with_history:
        visits = visits.prefetch_related(
            Prefetch("events", queryset=VisitEvent.objects.select_related("by").order_by("at"))
        )
    return visits


# Patients born on one day are few (a clinic of 100,000 has about 4 per day); the cap only bounds a pathological
# day (a placeholder date of birth typed for many): past it the nearest candidates by last name are compared.
MAX_SAME_BIRTHDAY_CANDIDATES = 1000


def patient_near_duplicates(
    *, first_name: str, last_name: str, date_of_birth: dt.date, exclude: Patient | None = None
) -> list[Patient]:
    """Registered patients (not entered in error) born on `date_of_birth` whose name resembles this one
    (`cases.names.names_resemble`: the same last name, or a similar full name such as "Jonathan Pahm" for
    "Jonathan Pham"). The database narrows by date of birth; the names are compared in Python, so the rule is the
    same on SQLite and PostgreSQL. Ordered by name."""
    candidates = Patient.objects.filter(date_of_birth=date_of_birth, entered_in_error=False).order_by(
        "last_name", "first_name", "mrn"
    )
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude.pk)
    return [
        patient
        for patient in candidates[:MAX_SAME_BIRTHDAY_CANDIDATES]
        if names_resemble(first_name, last_name, patient.first_name, patient.last_name)
    ]


def duplicate_reviews_visible_to(user: User) -> QuerySet[DuplicateReview]:
    """The flagged registrations the user may decide (front desk and supervisors: all), oldest first, with the
    patients to compare in one query more."""
    if scope(user, Capability.REVIEW_DUPLICATES) is not Scope.ALL:
        return DuplicateReview.objects.none()
    return DuplicateReview.objects.select_related("patient", "flagged_by", "resolved_by").prefetch_related(
        Prefetch("matches", queryset=Patient.objects.order_by("last_name", "first_name", "mrn"))
    )


def clinical_staff() -> QuerySet[User]:
    """Active users who can carry a caseload (`CLINICAL_ROLES`: clinicians and supervisors), for pickers."""
    return (
        User.objects.filter(is_active=True, groups__name__in=sorted(CLINICAL_ROLES))
        .distinct()
        .prefetch_related("groups")
    )


def clinical_staff_member(user_id: Any) -> User | None:
    """One of `clinical_staff()` by id, read with the user's roles in one query (`clinic.backends`), for a form or
    serializer field that takes one clinician; None for anyone else (not found, inactive, not clinical staff)."""
    user = user_with_roles(user_id)
    return user if user is not None and is_clinical_staff(user) else None


def staff_members() -> QuerySet[User]:
    return User.objects.prefetch_related("groups").order_by("last_name", "first_name", "username")


def clinical_records_visible_to(
    user: User, model: type[ClinicalRecord], capability: Capability = Capability.READ_CLINICAL
) -> QuerySet[ClinicalRecord]:
    """Assessments, goals, medications, screens, panels or alerts of the patients whose clinical content the
    user may read (or write, with `RECORD_CLINICAL`)."""
    return model.objects.filter(case__patient__in=patients_in_scope(user, capability))  # type: ignore[attr-defined]


def worklist_for(user: User) -> QuerySet[Alert]:
    """Alerts over the user's caseload (all patients for supervisors): urgent first, then oldest first; their
    evidence prefetched (one query for a page)."""
    urgent_first = DbCase(When(severity=Alert.Severity.URGENT, then=Value(0)), default=Value(1))
    return (
        clinical_records_visible_to(user, Alert)
        .order_by(urgent_first, "raised_at", "id")
        .prefetch_related("evidence")
    )


def evidence_newest_first(alert: Alert) -> list[AlertEvidence]:
    """The alert's evidence, newest finding first (from the prefetch when there is one)."""
    return sorted(alert.evidence.all(), key=lambda e: (e.at, e.added_at), reverse=True)


def break_glass_activity(grants: Sequence[BreakGlassGrant]) -> None:
    """Set `grant.activity` on each grant: what its holder viewed or did on the patient while it ran (their audit
    events naming the patient or listing it, the grant's own `break_glass` event left out), oldest first. One
    query for all the grants, not one per grant."""
    for grant in grants:
        grant.activity = []  # type: ignore[attr-defined]
    if not grants:
        return
    during = Q()
    for grant in grants:
        during |= Q(
            touching_patient(grant.patient_id),
            user_id=grant.user_id,
            occurred_at__gte=grant.granted_at,
            occurred_at__lt=grant.expires_at,
        )
    events = AuditEvent.objects.filter(during).exclude(action=AuditEvent.Action.BREAK_GLASS).order_by("id")
    by_user: dict[object, list[BreakGlassGrant]] = {}
    for grant in grants:
        by_user.setdefault(grant.user_id, []).append(grant)
    for event in events:
        for grant in by_user.get(event.user_id, []):
            if grant.granted_at <= event.occurred_at < grant.expires_at and (
                event.patient_id == grant.patient_id or str(grant.patient_id) in event.patients_seen.split()
            ):
                grant.activity.append(event)  # type: ignore[attr-defined]


def accounting_of_disclosures(patient: Patient, *, as_of: dt.date | None = None) -> QuerySet[Disclosure]:
    """A patient's disclosures of the six years up to `as_of` (default today, clinic time), newest first: the
    accounting of 42 CFR 2.25 and HIPAA 164.528. The window starts on the same date six years earlier, inclusive."""
    from cases.services.part2 import accounting_window_start

    as_of = as_of or timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(accounting_window_start(as_of), dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min))
    return (
        Disclosure.objects.filter(patient=patient, disclosed_at__gte=start, disclosed_at__lt=end)
        .select_related("released_by")
        .prefetch_related("counseling_notes")
        .order_by("-disclosed_at", "-recorded_at", "id")
    )
