"""The visits pages (SPEC 3.4): schedule a visit, log and edit its note, sign it, add addenda; and the chart's
visits section.

Who may do what is `clinic.policy`'s (schedule: front desk all, clinicians their caseload, supervisors all; the
note, signing and addenda: clinicians their caseload, supervisors all); the rules of a visit (ranges, a note only
on an attended visit, a signed note locked) are `cases.services.visits`'; these views translate HTTP to those calls
and back. Front desk sees a visit's date, time, type, clinician and attendance, never its note (SPEC section 2).
"""

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.errors import Conflict, DomainError, SchedulingConflict
from cases.measures import BloodPressureClass, blood_pressure_class
from cases.models import Case, Draft, Patient, Visit, VisitAddendum, VisitEvent
from cases.services.drafts import draft_discard, drafts_restore_for_patient
from cases.services.visits import (
    NOTE_FIELDS,
    visit_add_addendum,
    visit_reschedule,
    visit_schedule,
    visit_sign,
    visit_update,
)
from cases.web.access import (
    add_domain_errors,
    audit_page_read,
    case_or_404,
    in_scope_or_404,
    page,
    refusal_status,
)
from cases.web.dashboard import with_attendance_controls
from cases.web.drafts import discarded, draft_notice, restore_into, saved
from cases.web.visits_forms import NoteForm, RescheduleForm, ScheduleForm
from clinic.formats import show_datetime
from clinic.models import AuditAction, AuditDataCategory, User
from clinic.policy import Capability, capabilities_on, visits_in_scope, writable_visit_fields

SECTION = "cases/web/visits/section.html"
VISITS_SHOWN = 10  # the chart shows the latest ten; "Show all visits" shows the rest
LOCKED = "Signed notes can't change; add an addendum."

# How a blood pressure class reads on the chart, and the badge it wears (ACC/AHA 2017, cases.measures).
BP_WORDS: dict[BloodPressureClass, tuple[str, str]] = {
    BloodPressureClass.NORMAL: ("Normal", "ok"),
    BloodPressureClass.ELEVATED: ("Elevated", ""),
    BloodPressureClass.STAGE_1: ("Stage 1 hypertension", "warning"),
    BloodPressureClass.STAGE_2: ("Stage 2 hypertension", "warning"),
    BloodPressureClass.CRISIS: ("Hypertensive crisis", "urgent"),
}
STATUS_TONES: dict[str, str] = {
    Visit.Status.ATTENDED: "attended",
    Visit.Status.NO_SHOW: "warning",
    Visit.Status.LATE_CANCEL: "warning",
}
SYMPTOMS = dict(Visit.WithdrawalSymptom.choices)


# --- Shared by the visit and assessment pages ---------------------------------------------------------------


def chart_url(patient_id: uuid.UUID) -> str:
    return reverse("chart", args=[patient_id])


def renamed(error: DomainError, name: Callable[[str], str]) -> DomainError:
    """The service's refusal with its field names turned into the form's."""
    return DomainError(error.message, errors={name(field): m for field, m in error.errors.items()})


def local(moment: dt.datetime) -> str:
    """A moment as the pages write it, with its weekday (clinic.formats)."""
    return show_datetime(moment, weekday=True)


# --- Reading visits -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitRow:
    """A visit with what the chart shows beside its own fields."""

    visit: Visit
    has_note: bool
    bp_words: str
    bp_tone: str
    status_tone: str
    symptoms: list[str]
    addendum_draft: str = ""  # the user's unsaved addendum on this visit, restored into its form


def _row(visit: Visit, addendum_draft: Draft | None = None) -> VisitRow:
    bp = blood_pressure_class(visit.bp_systolic, visit.bp_diastolic)
    words, tone = BP_WORDS[bp] if bp is not None else ("", "")
    return VisitRow(
        visit=visit,
        has_note=any(getattr(visit, name) for name in NOTE_FIELDS),
        bp_words=words,
        bp_tone=tone,
        status_tone=STATUS_TONES.get(visit.status, ""),
        symptoms=[SYMPTOMS.get(code, code) for code in visit.withdrawal_symptoms or []],
        addendum_draft="".join(addendum_draft.data.get("text", [])) if addendum_draft else "",
    )


def _addenda() -> Prefetch:
    return Prefetch("addenda", queryset=VisitAddendum.objects.select_related("author").order_by("created_at"))


def _history() -> Prefetch:
    return Prefetch("events", queryset=VisitEvent.objects.select_related("by").order_by("at"))


def _visit_or_404(
    request: HttpRequest, visit_id: uuid.UUID, capability: Capability, *, action: str, shown: bool = True
) -> Visit:
    """The visit in the user's scope for `capability`, or an audited 404. `shown=False` for a write that answers
    with a redirect or a fresh read: one query, without the addenda and history a page shows."""
    visits = visits_in_scope(request.user, capability).select_related("case__patient")  # type: ignore[arg-type]
    if shown:
        visits = visits.select_related("clinician", "signed_by").prefetch_related(_addenda(), _history())
    return in_scope_or_404(
        request,
        visits,
        visit_id,
        object_type="visit",
        patient_path="case__patient_id",
        action=action,
    )


def _permissions(user: User, patient: Patient, *, found_with: Capability | None = None) -> dict[str, Any]:
    """What the user may do with this patient's visits: one policy question (`capabilities_on`: one query at
    most, none when the visit was found in the caseload's scope of `found_with`)."""
    allowed = capabilities_on(
        user,
        patient,
        (Capability.READ_CLINICAL, Capability.SCHEDULE_VISITS, Capability.WRITE_NOTES),
        found_with=found_with,
    )
    return {
        "visits_clinical": Capability.READ_CLINICAL in allowed,
        "visits_may_schedule": Capability.SCHEDULE_VISITS in allowed,
        "visits_may_write": Capability.WRITE_NOTES in allowed,
        "visits_chart_url": chart_url(patient.pk),
    }


def visits_section(
    request: HttpRequest, patient: Patient, case: Case | None, *, all_visits: bool = False
) -> dict[str, Any]:
    """Context for `cases/web/visits/section.html`, included in the patient chart: the case's visits, newest first
    (the latest `VISITS_SHOWN`, or all with `?visits=all`), with their notes for those who may read them.

    Queries: one for the policy's answer (for a clinician; none for a supervisor or front desk), one for
    the visits, and one for their addenda when the note is shown; never one per visit. Not audited here: the
    chart's one `view` event covers it."""
    if case is None:
        return {"visits": [], "visits_more": False}
    user: User = request.user  # type: ignore[assignment]
    context = _permissions(user, patient)
    visits: QuerySet[Visit] = (
        visits_in_scope(user, Capability.SCHEDULE_VISITS)
        .filter(case=case)
        .select_related("clinician")
        .order_by("-scheduled_at", "-created_at")
    )
    if context["visits_clinical"]:
        visits = visits.select_related("signed_by").prefetch_related(_addenda())
    visits = visits.prefetch_related(_history())
    show_all = all_visits or request.GET.get("visits") == "all"
    shown = with_attendance_controls(visits if show_all else visits[: VISITS_SHOWN + 1])
    drafts: dict[uuid.UUID, Draft] = {}
    if context["visits_may_write"] and any(visit.is_signed for visit in shown):
        drafts = drafts_restore_for_patient(author=user, form=Draft.Form.ADDENDUM, patient_id=patient.pk)
    return {
        **context,
        "visits": [
            _row(visit, drafts.get(visit.pk)) for visit in shown[: None if show_all else VISITS_SHOWN]
        ],
        "visits_more": len(shown) > VISITS_SHOWN and not show_all,
    }


def conflicts_context(error: SchedulingConflict) -> dict[str, Any]:
    """The overlap warning's context: the service's list, each with its start as a clinic-time datetime."""
    rows = [
        {**c, "at": timezone.localtime(dt.datetime.fromisoformat(str(c["scheduled_at"])))}
        for c in error.conflicts
    ]
    return {"conflicts": rows, "conflicts_message": error.message}


def _one_visit(
    request: HttpRequest,
    visit: Visit,
    *,
    status: int = 200,
    audit: bool = True,
    template: str = "cases/web/visits/visit.html",
    found_with: Capability | None = None,
    **extra: Any,
) -> HttpResponse:
    """One visit as the chart shows it: the fragment for htmx, or a page of its own (a refusal without htmx)."""
    user: User = request.user  # type: ignore[assignment]
    patient = visit.case.patient
    with_attendance_controls([visit])
    context = {
        "patient": patient,
        "case": visit.case,
        "row": _row(visit),
        **_permissions(user, patient, found_with=found_with),
        **extra,
    }
    if audit:  # a write's own event (from the service) covers a successful request
        audit_page_read(
            request,
            action=AuditAction.VIEW,
            object_type="visit",
            object_id=visit.pk,
            patient_id=patient.pk,
            data_category=AuditDataCategory.CLINICAL_NOTE
            if context["visits_clinical"]
            else AuditDataCategory.VISIT_SCHEDULE,
        )
    if request.htmx:  # type: ignore[attr-defined]
        template = f"{SECTION}#visit"
    return render(request, template, context, status=status)


@require_GET
@page(Capability.READ_CLINICAL)
def visit_print(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    """A visit summary to print: the note, its signature and addenda, as the chart shows them to a reader of
    clinical content (the visit read's own policy question and audit event), without the controls."""
    visit = _visit_or_404(request, visit_id, Capability.READ_CLINICAL, action=AuditAction.VIEW)
    return _one_visit(
        request,
        visit,
        template="cases/web/visits/print.html",
        found_with=Capability.READ_CLINICAL,
        printing=True,
        printed_at=timezone.now(),
    )


def _written(request: HttpRequest, visit: Visit, done: str) -> HttpResponse:
    """After a write: htmx gets the visit's fresh fragment (read again); a plain POST goes back to the chart with
    a message."""
    if request.htmx:  # type: ignore[attr-defined]
        fresh = _visit_or_404(request, visit.pk, Capability.WRITE_NOTES, action=AuditAction.VIEW)
        return _one_visit(request, fresh, audit=False, found_with=Capability.WRITE_NOTES, visit_notice=done)
    messages.success(request, done)
    return redirect(f"{chart_url(visit.case.patient_id)}#visit-{visit.pk}")


def _refused(request: HttpRequest, visit: Visit, error: DomainError, **extra: Any) -> HttpResponse:
    status = refusal_status(error)
    fresh = _visit_or_404(request, visit.pk, Capability.WRITE_NOTES, action=AuditAction.VIEW)
    return _one_visit(
        request,
        fresh,
        status=status,
        found_with=Capability.WRITE_NOTES,
        visit_error=error.message,
        **extra,
    )


# --- Pages --------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@page(Capability.SCHEDULE_VISITS)
def schedule(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """Schedule a visit on an open case: type, date and time (clinic time), duration, clinician (the case's
    primary clinician unless another is chosen)."""
    posted = request.method == "POST"
    action = AuditAction.CREATE if posted else AuditAction.VIEW
    case = case_or_404(request, case_id, Capability.SCHEDULE_VISITS, action=action)
    form = ScheduleForm(request.POST if posted else None, case=case)
    warning: dict[str, Any] = {}
    if posted and form.is_valid():
        try:
            visit = visit_schedule(
                case=case,
                actor=request.user,  # type: ignore[arg-type]
                clinician=form.cleaned_data["clinician"],
                visit_type=form.cleaned_data["visit_type"],
                scheduled_at=form.scheduled_at(),
                duration_minutes=form.cleaned_data["duration_minutes"],
                confirm_conflicts=form.cleaned_data["confirm_conflicts"],
            )
        except SchedulingConflict as error:
            warning = conflicts_context(error)
        except DomainError as error:
            add_domain_errors(
                form, renamed(error, lambda field: "date" if field == "scheduled_at" else field)
            )
        else:
            messages.success(
                request, f"{visit.get_visit_type_display()} scheduled for {local(visit.scheduled_at)}."
            )
            return redirect(f"{chart_url(case.patient_id)}#visit-{visit.pk}")
    audit_page_read(
        request,
        action=AuditAction.VIEW,
        object_type="case",
        object_id=case.pk,
        patient_id=case.patient_id,
        data_category=AuditDataCategory.VISIT_SCHEDULE,
    )
    context = {
        "patient": case.patient,
        "case": case,
        "form": form,
        "chart_url": chart_url(case.patient_id),
        **warning,
    }
    status = 409 if warning else 400 if posted else 200
    return render(request, "cases/web/visits/schedule.html", context, status=status)


@require_http_methods(["GET", "POST"])
@page(Capability.SCHEDULE_VISITS)
def reschedule(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    """Move a scheduled visit to a new date and time, with a reason: the same visit, its move in its history (the
    service refuses a visit no longer scheduled, a missing reason, and warns of overlaps)."""
    posted = request.method == "POST"
    visit = _visit_or_404(
        request,
        visit_id,
        Capability.SCHEDULE_VISITS,
        action=AuditAction.UPDATE if posted else AuditAction.VIEW,
    )
    form = RescheduleForm(request.POST if posted else None, visit=visit)
    warning: dict[str, Any] = {}
    status = 200
    if posted and form.is_valid():
        try:
            visit_reschedule(
                visit=visit,
                actor=request.user,  # type: ignore[arg-type]
                scheduled_at=form.scheduled_at(),
                duration_minutes=form.cleaned_data["duration_minutes"],
                reason=form.cleaned_data["reason"],
                confirm_conflicts=form.cleaned_data["confirm_conflicts"],
            )
        except SchedulingConflict as error:
            warning, status = conflicts_context(error), 409
        except DomainError as error:
            add_domain_errors(
                form, renamed(error, lambda field: "date" if field == "scheduled_at" else field)
            )
            status = refusal_status(error)
        else:
            messages.success(request, f"Visit moved to {local(visit.scheduled_at)}.")
            return redirect(f"{chart_url(visit.case.patient_id)}#visit-{visit.pk}")
    elif posted:
        status = 400
    audit_page_read(
        request,
        action=AuditAction.VIEW,
        object_type="visit",
        object_id=visit.pk,
        patient_id=visit.case.patient_id,
        data_category=AuditDataCategory.VISIT_SCHEDULE,
    )
    context = {
        "patient": visit.case.patient,
        "visit": visit,
        "form": form,
        "chart_url": chart_url(visit.case.patient_id),
        **warning,
    }
    return render(request, "cases/web/visits/reschedule.html", context, status=status)


@require_http_methods(["GET", "POST"])
@page(Capability.WRITE_NOTES)
def note(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    """Log or edit the note of a visit (marking it attended first if need be). A signed note answers 409."""
    posted = request.method == "POST"
    action = AuditAction.UPDATE if posted else AuditAction.VIEW
    visit = _visit_or_404(request, visit_id, Capability.WRITE_NOTES, action=action, shown=not posted)
    if visit.is_signed:  # a posted note re-reads the visit to show it (read without its addenda above)
        if posted:
            return _refused(request, visit, Conflict(LOCKED))
        return _one_visit(request, visit, status=409, found_with=Capability.WRITE_NOTES, visit_error=LOCKED)
    # The fields are the policy's answer (as for the API's PATCH); the form offers only those.
    writable = writable_visit_fields(request.user, visit.case.patient, found_with=Capability.WRITE_NOTES)  # type: ignore[arg-type]
    form = NoteForm(request.POST if posted else None, visit=visit, writable=writable)
    if posted and form.is_valid():
        changes = form.changes()
        try:
            visit_update(visit=visit, actor=request.user, data=changes)  # type: ignore[arg-type]
        except Conflict:
            return _refused(request, visit, Conflict(LOCKED))
        except DomainError as error:
            add_domain_errors(
                form,
                renamed(
                    error,
                    lambda f: "mark_attended" if f == "status" and "mark_attended" in form.fields else f,
                ),
            )
        else:
            user: User = request.user  # type: ignore[assignment]
            draft_discard(author=user, form=Draft.Form.VISIT_NOTE, object_id=visit.pk, reason="submitted")
            messages.success(request, "Note saved." if changes else "Nothing changed.")
            return redirect(f"{chart_url(visit.case.patient_id)}#visit-{visit.pk}")
    draft = None if posted else restore_into(request, form, form=Draft.Form.VISIT_NOTE, object_id=visit.pk)
    audit_page_read(
        request,
        action=AuditAction.VIEW,
        object_type="visit",
        object_id=visit.pk,
        patient_id=visit.case.patient_id,
        data_category=AuditDataCategory.CLINICAL_NOTE,
    )
    context = {
        "patient": visit.case.patient,
        "case": visit.case,
        "visit": visit,
        "form": form,
        "chart_url": chart_url(visit.case.patient_id),
        "draft_notice": draft_notice(draft),
    }
    return render(request, "cases/web/visits/note.html", context, status=400 if posted else 200)


@require_POST
@page(Capability.WRITE_NOTES, action=AuditAction.DRAFT)
def note_draft(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    """Keep what the user has typed into the note form so far (never the note itself: nothing is written on the
    visit). A signed note takes no draft (409)."""
    visit = _visit_or_404(request, visit_id, Capability.WRITE_NOTES, action=AuditAction.DRAFT)
    if visit.is_signed:
        return HttpResponse(LOCKED, status=409, content_type="text/plain; charset=utf-8")
    fields = NoteForm(visit=visit).fields
    return saved(
        request,
        form=Draft.Form.VISIT_NOTE,
        object_id=visit.pk,
        patient_id=visit.case.patient_id,
        fields=fields,
    )


@require_POST
@page(Capability.WRITE_NOTES, action=AuditAction.DRAFT)
def note_draft_discard(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    """Cancel on the note form: the draft goes, the note stays as it was saved."""
    visit = _visit_or_404(request, visit_id, Capability.WRITE_NOTES, action=AuditAction.DRAFT)
    back = f"{chart_url(visit.case.patient_id)}#visit-{visit.pk}"
    return discarded(request, form=Draft.Form.VISIT_NOTE, object_id=visit.pk, back=back)


@require_POST
@page(Capability.WRITE_NOTES, action=AuditAction.SIGN)
def sign(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    """Sign and lock the note."""
    visit = _visit_or_404(request, visit_id, Capability.WRITE_NOTES, action=AuditAction.SIGN, shown=False)
    try:
        visit_sign(visit=visit, actor=request.user)  # type: ignore[arg-type]
    except DomainError as error:
        return _refused(request, visit, error)
    return _written(request, visit, "Note signed.")


@require_POST
@page(Capability.WRITE_NOTES, action=AuditAction.ADDENDUM)
def addendum(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    """Append a correction to a signed note (field `text`)."""
    visit = _visit_or_404(request, visit_id, Capability.WRITE_NOTES, action=AuditAction.ADDENDUM, shown=False)
    text = request.POST.get("text", "")
    try:
        visit_add_addendum(visit=visit, actor=request.user, text=text)  # type: ignore[arg-type]
    except DomainError as error:
        return _refused(request, visit, error, addendum_text=text, addendum_error="text" in error.errors)
    user: User = request.user  # type: ignore[assignment]
    draft_discard(author=user, form=Draft.Form.ADDENDUM, object_id=visit.pk, reason="submitted")
    return _written(request, visit, "Addendum added.")


@require_POST
@page(Capability.WRITE_NOTES, action=AuditAction.DRAFT)
def addendum_draft(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    """Keep the addendum being typed (field `text`) as the user's draft."""
    visit = _visit_or_404(request, visit_id, Capability.WRITE_NOTES, action=AuditAction.DRAFT)
    return saved(
        request,
        form=Draft.Form.ADDENDUM,
        object_id=visit.pk,
        patient_id=visit.case.patient_id,
        fields=["text"],
    )


@require_POST
@page(Capability.WRITE_NOTES, action=AuditAction.DRAFT)
def addendum_draft_discard(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    """Throw away the addendum being typed; back to the visit on the chart."""
    visit = _visit_or_404(request, visit_id, Capability.WRITE_NOTES, action=AuditAction.DRAFT)
    back = f"{chart_url(visit.case.patient_id)}#visit-{visit.pk}"
    return discarded(request, form=Draft.Form.ADDENDUM, object_id=visit.pk, back=back)


urlpatterns = [
    path("cases/<uuid:case_id>/visits/new/", schedule, name="visit-schedule"),
    path("visits/<uuid:visit_id>/note/", note, name="visit-note"),
    path("visits/<uuid:visit_id>/print/", visit_print, name="visit-print"),
    path("visits/<uuid:visit_id>/reschedule/", reschedule, name="visit-reschedule-page"),
    path("visits/<uuid:visit_id>/note/draft/", note_draft, name="visit-note-draft"),
    path("visits/<uuid:visit_id>/note/draft/discard/", note_draft_discard, name="visit-note-draft-discard"),
    path("visits/<uuid:visit_id>/sign/", sign, name="visit-note-sign"),
    path("visits/<uuid:visit_id>/addenda/", addendum, name="visit-addendum"),
    path("visits/<uuid:visit_id>/addenda/draft/", addendum_draft, name="visit-addendum-draft"),
    path(
        "visits/<uuid:visit_id>/addenda/draft/discard/",
        addendum_draft_discard,
        name="visit-addendum-draft-discard",
    ),
]
