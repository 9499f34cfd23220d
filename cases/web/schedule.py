"""The schedule page (`/schedule/`, issue 15): the visits of a day or a week, for the whole clinic or one clinician,
with previous / next and a clinician filter. Server-rendered; the attendance cell is the dashboard's fragment.

Who sees what is the policy's: the roles that schedule visits, each within the patients their scope allows
(front desk and supervisors every patient, a clinician their caseload: `visits_visible_to`).
"""

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from cases.models import Visit, VisitEvent
from cases.selectors import clinical_staff, visits_visible_to
from cases.web.access import audit_page_read, page
from cases.web.dashboard import DAY_RANGE_YEARS, with_attendance_controls
from clinic.models import AuditAction, AuditDataCategory, User
from clinic.policy import Capability

TEMPLATE = "cases/web/schedule/page.html"
VIEWS = (("day", "Day"), ("week", "Week"))


class ScheduleFilterForm(forms.Form):
    """`?view=day|week&day=YYYY-MM-DD&clinician=<id>`; anything that is not one of these is a 400 naming it."""

    view = forms.ChoiceField(label="View", choices=VIEWS, required=False)
    day = forms.DateField(
        label="Day", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    clinician = forms.ModelChoiceField(
        label="Clinician",
        required=False,
        empty_label="Whole clinic",
        queryset=clinical_staff().order_by("last_name", "first_name", "username"),
    )

    def clean_day(self) -> dt.date:
        day: dt.date | None = self.cleaned_data["day"]
        if day is None:
            return timezone.localdate()
        if abs(day.year - timezone.localdate().year) > DAY_RANGE_YEARS:
            raise forms.ValidationError(f"Pick a day within {DAY_RANGE_YEARS} years of today.")
        return day


def visits_between(user: User, first: dt.date, last: dt.date, clinician: User | None) -> QuerySet[Visit]:
    """The visits the user may schedule from `first` to `last` (clinic days, both included), by time."""
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min))
    visits = (
        visits_visible_to(user, Capability.SCHEDULE_VISITS)
        .filter(scheduled_at__gte=start, scheduled_at__lt=end)
        .select_related("case__patient", "clinician")
        .prefetch_related(None)
        .prefetch_related(Prefetch("events", queryset=VisitEvent.objects.order_by("at")))
        .order_by("scheduled_at", "id")
    )
    return visits.filter(clinician=clinician) if clinician is not None else visits


def _link(view: str, day: dt.date, clinician: User | None) -> str:
    query = {"view": view, "day": day.isoformat()}
    if clinician is not None:
        query["clinician"] = str(clinician.pk)
    return "?" + urlencode(query)


@require_GET
@page(Capability.SCHEDULE_VISITS)
def schedule(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = ScheduleFilterForm(request.GET)
    if not form.is_valid():
        return render(request, TEMPLATE, {"form": form}, status=400)
    view = form.cleaned_data["view"] or "day"
    day: dt.date = form.cleaned_data["day"]
    clinician: User | None = form.cleaned_data["clinician"]
    if view == "week":
        first = day - dt.timedelta(days=day.weekday())  # the Monday
        last, step = first + dt.timedelta(days=6), dt.timedelta(days=7)
    else:
        first = last = day
        step = dt.timedelta(days=1)
    rows = with_attendance_controls(visits_between(user, first, last, clinician))
    days: list[dict[str, Any]] = []
    for n in range((last - first).days + 1):
        date = first + dt.timedelta(days=n)
        days.append({"date": date, "visits": [v for v in rows if timezone.localdate(v.scheduled_at) == date]})
    if rows:
        audit_page_read(
            request,
            action=AuditAction.LIST,
            object_type="schedule",
            data_category=AuditDataCategory.VISIT_SCHEDULE,
            patients_seen=list(dict.fromkeys(v.case.patient_id for v in rows)),
        )
    context = {
        "form": form,
        "view": view,
        "day": day,
        "first": first,
        "last": last,
        "days": days,
        "count": len(rows),
        "clinician": clinician,
        "today": timezone.localdate(),
        "previous_url": _link(view, day - step, clinician),
        "next_url": _link(view, day + step, clinician),
        "today_url": _link(view, timezone.localdate(), clinician),
        "other_view_url": _link("week" if view == "day" else "day", day, clinician),
        "next": request.get_full_path(),
    }
    return render(request, TEMPLATE, context)


urlpatterns = [path("schedule/", schedule, name="schedule")]
