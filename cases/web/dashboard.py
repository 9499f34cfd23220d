"""The dashboard (`/`) and the attendance endpoint its schedule (and the chart's visits section) post to.

Each section of the dashboard belongs to a capability, asked of the policy, so a user with several roles sees
each of theirs: the worklist of open alerts and the user's own visits and caseload (clinical staff), the clinic's
schedule with check-in / no-show / cancel buttons (whoever schedules for the whole clinic: front desk and
supervisors), the unassigned cases (whoever assigns clinicians), break-glass grants to review (reviewers who may
read every patient's name), and, for administrators, links and counts that carry no patient data.
"""

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from cases.errors import DomainError
from cases.models import Alert, BreakGlassGrant, Case, Draft, DuplicateReview, Visit, VisitEvent
from cases.selectors import (
    break_glass_activity,
    clinical_staff,
    duplicate_reviews_visible_to,
    visits_visible_to,
    worklist_for,
)
from cases.services.visits import (
    REASON_MAX_LENGTH,
    attendance_correction_open,
    attendance_late_entry,
    visit_record_attendance,
)
from cases.web.access import add_domain_errors, audit_page_read, in_scope_or_404, page, refusal_status
from clinic.admin_site import may_use_admin
from clinic.formats import show_datetime
from clinic.models import AuditAction, AuditDataCategory, User
from clinic.policy import (
    Capability,
    Scope,
    cases_in_scope,
    has_capability,
    patients_in_scope,
    scope,
    visits_in_scope,
)

TEMPLATE = "cases/web/dashboard/index.html"
ATTENDANCE_TEMPLATE = "cases/web/dashboard/attendance.html"

WORKLIST_LIMIT = 50  # alerts shown; the rest are counted
UNASSIGNED_LIMIT = 50
GRANTS_LIMIT = 20
GRANTS_REVIEW_DAYS = 14  # grants granted this recently (or still running) are up for review
DAY_RANGE_YEARS = 10  # how far from today the day picker goes

# The dashboard's one audit event names the most sensitive kind of data it showed.
DRAFTS_LIMIT = 20  # a user with more unsaved drafts than this has other troubles; the newest show
CATEGORY_ORDER = (
    AuditDataCategory.CLINICAL_NOTE,  # the patients the user has unsaved notes on
    AuditDataCategory.ALERT,
    AuditDataCategory.ACCESS,
    AuditDataCategory.CASE,
    AuditDataCategory.VISIT_SCHEDULE,
    AuditDataCategory.DEMOGRAPHICS,  # the phone and contact preferences beside a visit
)


class DayForm(forms.Form):
    day = forms.DateField(
        label="Day",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    clinician = forms.ModelChoiceField(
        label="Clinician",
        required=False,
        empty_label="All clinicians",
        queryset=clinical_staff().order_by("last_name", "first_name", "username"),
    )

    def clean_day(self) -> dt.date | None:
        day: dt.date | None = self.cleaned_data["day"]
        if day is not None and abs(day.year - timezone.localdate().year) > DAY_RANGE_YEARS:
            raise forms.ValidationError(f"Pick a day within {DAY_RANGE_YEARS} years of today.")
        return day


class AttendanceForm(forms.Form):
    status = forms.ChoiceField(label="Attendance", choices=Visit.Status.choices)
    reason = forms.CharField(
        label="Reason for the correction", required=False, max_length=REASON_MAX_LENGTH, strip=True
    )


def with_attendance_controls(visits: Iterable[Visit]) -> list[Visit]:
    """The visits, each told whether the pages offer to correct its attendance now (`correctable`, the
    service's answer; its `events` prefetched, so no query per visit)."""
    rows = list(visits)
    for visit in rows:
        visit.correctable = attendance_correction_open(visit)  # type: ignore[attr-defined]
        visit.late_entry = attendance_late_entry(visit)  # type: ignore[attr-defined]
    return rows


def with_contact(user: User, visits: list[Visit], shown: "Shown") -> list[Visit]:
    """The visits, each told whether the user may read its patient's phone and contact preferences
    (`show_contact`: demographics, as the policy scopes them; no query when the user reads every patient's)."""
    patient_ids = {visit.case.patient_id for visit in visits}
    granted = scope(user, Capability.READ_DEMOGRAPHICS)
    if granted is Scope.ALL or not patient_ids:
        readable = patient_ids
    elif granted is Scope.NONE:
        readable = set()
    else:
        readable = set(
            patients_in_scope(user, Capability.READ_DEMOGRAPHICS)
            .filter(pk__in=patient_ids)
            .values_list("pk", flat=True)
        )
    for visit in visits:
        visit.show_contact = visit.case.patient_id in readable  # type: ignore[attr-defined]
    shown.add(AuditDataCategory.DEMOGRAPHICS, readable)
    return visits


class Shown:
    """The patients a page showed, and the kinds of data it showed of them (for its one audit event)."""

    def __init__(self) -> None:
        self.patients: dict[uuid.UUID, None] = {}
        self.categories: set[str] = set()

    def add(self, category: str, patient_ids: Iterable[uuid.UUID]) -> None:
        ids = list(patient_ids)
        if ids:
            self.patients.update(dict.fromkeys(ids))
            self.categories.add(category)

    @property
    def category(self) -> str:
        return next(c for c in CATEGORY_ORDER if c in self.categories)


# --- The dashboard --------------------------------------------------------------------------------------------


def chosen_day(request: HttpRequest) -> tuple[dt.date, User | None]:
    """`?day=YYYY-MM-DD` (clinic-local), or today, and `?clinician=<id>` (the clinic schedule's filter); what is
    not one is said so, and today's whole schedule is shown."""
    form = DayForm(request.GET)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        messages.warning(request, f"{first} Showing today's schedule.")
        return timezone.localdate(), None
    day: dt.date | None = form.cleaned_data["day"]
    return day or timezone.localdate(), form.cleaned_data["clinician"]


def day_link(day: dt.date, clinician: User | None) -> str:
    query = {"day": day.isoformat(), **({"clinician": str(clinician.pk)} if clinician else {})}
    return "?" + urlencode(query)


def visits_on(user: User, day: dt.date) -> QuerySet[Visit]:
    """Visits the user may schedule (and so see on a schedule) on a clinic-local day, by time."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    return (
        visits_visible_to(user, Capability.SCHEDULE_VISITS)
        .filter(scheduled_at__gte=start, scheduled_at__lt=end)
        .select_related("case__patient", "clinician")
        .prefetch_related(None)  # the addenda are a note's; a schedule shows none
        .prefetch_related(Prefetch("events", queryset=VisitEvent.objects.order_by("at")))
        .order_by("scheduled_at", "id")
    )


def drafts_section(user: User, shown: Shown) -> dict[str, Any] | None:
    """The user's own unsaved drafts (never anyone else's), newest first, each with the way back to its form; only
    on patients still in their scope (a break-glass grant that ended takes its drafts off the list)."""
    if not has_capability(user, Capability.WRITE_NOTES):
        return None
    drafts = (
        Draft.objects.filter(
            author=user,
            expires_at__gt=timezone.now(),
            patient__in=patients_in_scope(user, Capability.WRITE_NOTES),
        )
        .select_related("patient")
        .order_by("-saved_at")[:DRAFTS_LIMIT]
    )
    rows = [(draft, draft_resume_url(draft)) for draft in drafts]
    if not rows:
        return None
    shown.add(AuditDataCategory.CLINICAL_NOTE, (draft.patient_id for draft, _ in rows))
    return {"rows": rows}


def draft_resume_url(draft: Draft) -> str:
    if draft.form == Draft.Form.VISIT_NOTE:
        return reverse("visit-note", args=[draft.object_id])
    return f"{reverse('chart', args=[draft.patient_id])}#visit-{draft.object_id}"


def worklist_section(user: User, shown: Shown) -> dict[str, Any] | None:
    """Open alerts over the caseload (every patient for a supervisor), urgent first, as `alerts/?status=open`."""
    if not has_capability(user, Capability.READ_CLINICAL):
        return None
    alerts = worklist_for(user).filter(status=Alert.Status.OPEN)
    rows = list(alerts.select_related("patient")[:WORKLIST_LIMIT])
    total = alerts.count() if len(rows) == WORKLIST_LIMIT else len(rows)
    shown.add(AuditDataCategory.ALERT, (alert.patient_id for alert in rows))
    return {
        "alerts": rows,
        "more": total - len(rows),
        "clinic_wide": scope(user, Capability.READ_CLINICAL) is Scope.ALL,
        "may_settle": has_capability(user, Capability.RECORD_CLINICAL),
    }


def my_visits_section(user: User, day: dt.date, shown: Shown) -> dict[str, Any] | None:
    """The user's own visits (as the clinician who sees the patient) on the day."""
    if not has_capability(user, Capability.WRITE_NOTES):
        return None
    rows = with_contact(user, with_attendance_controls(visits_on(user, day).filter(clinician=user)), shown)
    shown.add(AuditDataCategory.VISIT_SCHEDULE, (visit.case.patient_id for visit in rows))
    return {"visits": rows}


def schedule_section(
    user: User, day: dt.date, shown: Shown, clinician: User | None = None
) -> dict[str, Any] | None:
    """The whole clinic's visits on the day (or one clinician's), for those who schedule for every patient."""
    if scope(user, Capability.SCHEDULE_VISITS) is not Scope.ALL:
        return None
    visits = visits_on(user, day)
    rows = with_contact(
        user, with_attendance_controls(visits.filter(clinician=clinician) if clinician else visits), shown
    )
    shown.add(AuditDataCategory.VISIT_SCHEDULE, (visit.case.patient_id for visit in rows))
    return {"visits": rows}


def caseload_section(user: User) -> dict[str, Any] | None:
    """Open cases by stage (counts only) over the caseload, or the clinic for a supervisor."""
    if not has_capability(user, Capability.READ_CLINICAL):
        return None
    counts = dict(
        cases_in_scope(user, Capability.READ_CLINICAL)
        .filter(status=Case.Status.OPEN)
        .order_by()
        .values_list("stage")
        .annotate(n=Count("id"))
    )
    stages = [(stage.value, stage.label, counts.get(stage, 0)) for stage in Case.OPEN_STAGES]
    return {
        "stages": stages,
        "total": sum(n for _, _, n in stages),
        "clinic_wide": scope(user, Capability.READ_CLINICAL) is Scope.ALL,
    }


def unassigned_section(user: User, shown: Shown) -> dict[str, Any] | None:
    """Open cases with no primary clinician, oldest first, for those who assign clinicians (on the chart)."""
    if not has_capability(user, Capability.ASSIGN_CLINICIANS):
        return None
    cases = cases_in_scope(user, Capability.ASSIGN_CLINICIANS).filter(
        status=Case.Status.OPEN, primary_clinician__isnull=True
    )
    rows = list(cases.select_related("patient").order_by("opened_on", "id")[:UNASSIGNED_LIMIT])
    total = cases.count() if len(rows) == UNASSIGNED_LIMIT else len(rows)
    shown.add(AuditDataCategory.CASE, (case.patient_id for case in rows))
    return {"cases": rows, "more": total - len(rows)}


def break_glass_section(user: User, shown: Shown) -> dict[str, Any] | None:
    """Recent break-glass grants (or still running), newest first, with what was viewed under each: for
    reviewers who may read every patient's name (administrators review them in the audit log instead)."""
    if not (
        has_capability(user, Capability.REVIEW_BREAK_GLASS)
        and scope(user, Capability.READ_DEMOGRAPHICS) is Scope.ALL
    ):
        return None
    now = timezone.now()
    grants = BreakGlassGrant.objects.filter(
        Q(granted_at__gte=now - dt.timedelta(days=GRANTS_REVIEW_DAYS)) | Q(expires_at__gt=now)
    )
    rows = list(grants.select_related("user", "patient").order_by("-granted_at", "id")[:GRANTS_LIMIT])
    total = grants.count() if len(rows) == GRANTS_LIMIT else len(rows)
    break_glass_activity(rows)  # one query for all of them
    shown.add(AuditDataCategory.ACCESS, (grant.patient_id for grant in rows))
    return {"grants": rows, "more": total - len(rows), "days": GRANTS_REVIEW_DAYS}


def duplicates_section(user: User) -> dict[str, Any] | None:
    """How many registrations wait for the duplicate review (a count that names no one), for those who decide."""
    if not has_capability(user, Capability.REVIEW_DUPLICATES):
        return None
    waiting = duplicate_reviews_visible_to(user).filter(status=DuplicateReview.Status.OPEN).count()
    return {"waiting": waiting} if waiting else None


def administration_section(user: User, day: dt.date) -> dict[str, Any] | None:
    """Links to the administrators' pages, and clinic-wide counts that name no one."""
    if not (has_capability(user, Capability.AUDIT_LOG) or has_capability(user, Capability.MANAGE_STAFF)):
        return None
    numbers: list[tuple[str, int]] = []
    if scope(user, Capability.REPORTS) is Scope.ALL:
        numbers.append(
            (
                "Open cases",
                cases_in_scope(user, Capability.REPORTS).filter(status=Case.Status.OPEN).count(),
            )
        )
        start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        numbers.append(
            (
                "Visits scheduled today",
                visits_in_scope(user, Capability.REPORTS)
                .filter(scheduled_at__gte=start, scheduled_at__lt=start + dt.timedelta(days=1))
                .count(),
            )
        )
    if has_capability(user, Capability.REVIEW_BREAK_GLASS):
        numbers.append(("Break-glass grants running now", BreakGlassGrant.objects.running().count()))
    return {
        "reports": has_capability(user, Capability.REPORTS),
        "audit_log": has_capability(user, Capability.AUDIT_LOG),
        "staff_admin": may_use_admin(user),
        "numbers": numbers,
    }


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    day, clinician = chosen_day(request)
    shown = Shown()
    sections = {
        "drafts": drafts_section(user, shown),
        "worklist": worklist_section(user, shown),
        "my_visits": my_visits_section(user, day, shown),
        "schedule": schedule_section(user, day, shown, clinician),
        "caseload": caseload_section(user),
        "unassigned": unassigned_section(user, shown),
        "break_glass": break_glass_section(user, shown),
        "duplicates": duplicates_section(user),
        "administration": administration_section(user, timezone.localdate()),
    }
    if shown.patients:
        audit_page_read(
            request,
            action=AuditAction.LIST,
            object_type="dashboard",
            data_category=shown.category,
            patients_seen=list(shown.patients),
        )
    context = {
        **sections,
        "any_section": any(section is not None for section in sections.values()),
        "roles": sorted(user.roles),
        "day": day,
        "is_today": day == timezone.localdate(),
        "day_form": DayForm(initial={"day": day, "clinician": clinician}),
        "clinician": clinician,
        "previous_day_url": day_link(day - dt.timedelta(days=1), clinician),
        "next_day_url": day_link(day + dt.timedelta(days=1), clinician),
        "next": request.get_full_path(),
    }
    return render(request, TEMPLATE, context)


# --- Attendance -----------------------------------------------------------------------------------------------


def visit_or_404(request: HttpRequest, visit_id: uuid.UUID) -> Visit:
    """The visit, if the user may record its attendance; otherwise an audited 404 (existence not revealed)."""
    visits = visits_visible_to(request.user, Capability.SCHEDULE_VISITS)  # type: ignore[arg-type]
    return in_scope_or_404(
        request,
        visits.select_related("clinician").prefetch_related(None),
        visit_id,
        object_type="visit",
        patient_path="case__patient_id",
        action=AuditAction.UPDATE,
    )


def safe_next(request: HttpRequest, url: str) -> str:
    """Where to go back to: a local URL of this site, else the dashboard."""
    if url.startswith("/") and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return "/"


@require_POST
@page(Capability.SCHEDULE_VISITS)
def visit_attendance(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    """Record a visit's attendance (`status`) through the same service as `PATCH visits/{id}/`. htmx gets the
    attendance fragment back (with the error, 400/409, on a refusal); a plain form post is redirected to `next`
    with a message, or shown the fragment on its own page when refused."""
    visit = visit_or_404(request, visit_id)
    form = AttendanceForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            visit_record_attendance(
                visit=visit,
                actor=request.user,  # type: ignore[arg-type]
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
            )
            status = 200
        except DomainError as error:
            add_domain_errors(form, error)
            status = refusal_status(error)
    next_url = safe_next(request, request.POST.get("next", ""))
    with_attendance_controls([visit])
    context = {"visit": visit, "form": form, "next": next_url, "saved": status == 200}
    if getattr(request, "htmx", False):
        return render(request, f"{ATTENDANCE_TEMPLATE}#attendance", context, status=status)
    if status == 200:
        when = show_datetime(visit.scheduled_at)
        messages.success(request, f"The visit of {when} is now marked {visit.get_status_display().lower()}.")
        return redirect(next_url)
    return render(request, ATTENDANCE_TEMPLATE, context, status=status)


urlpatterns = [
    path("", dashboard, name="home"),
    path("visits/<uuid:visit_id>/attendance/", visit_attendance, name="visit-attendance"),
]
