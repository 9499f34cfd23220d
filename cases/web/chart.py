"""The patient chart (`/patients/<id>/`): demographics, the current case with its stage timeline, the stage change
and clinician assignment forms, open alerts, and the sections of visits, assessments and the clinical record.

What a role sees is the policy's answer, passed to the template as booleans: front desk reads demographics and the
case's stage, status and clinicians (what the API shows it), never clinical content; clinicians read their caseload
(or a patient under their break-glass grant) in full; supervisors read everyone. One `view` audit event per chart,
categorised by whether clinical content was shown.

Forms post to their own URLs and go back to the chart (htmx: `HX-Redirect`); a refusal re-renders the form alone
(400, or 409 for a stale stage change or an alert settled meanwhile) and saves nothing. Alerts are settled in place:
htmx swaps the alert's row.
"""

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cases.errors import ConcurrentChange, DomainError
from cases.models import Alert, BreakGlassGrant, Case, Patient
from cases.remission import diagnosis_code, remission_questioned_by, with_remission
from cases.selectors import cases_visible_to, clinical_records_visible_to, worklist_for
from cases.services.alerts import alert_acknowledge, alert_resolve
from cases.services.cases import case_assign_clinicians
from cases.services.stages import allowed_next_stages, case_transition, open_urgent_alerts
from cases.web.access import (
    add_domain_errors,
    audit_page_read,
    case_or_404,
    page,
    patient_or_404,
    refusal_status,
)
from cases.web.assessments import assessments_section
from cases.web.chart_forms import AlertNoteForm, ClinicianAssignmentForm, StageChangeForm
from cases.web.clinical_events import clinical_events_section
from cases.web.clinical_record import (
    back_to_chart,
    clinical_record_section,
    in_scope_or_404,
    render_form,
)
from cases.web.visits import visits_section
from clinic.models import AuditAction, AuditEvent, User
from clinic.policy import Capability, has_capability, may, may_read_clinical, release_refusal

CHART = "cases/web/chart/chart.html"
# The audit category of a chart that showed clinical content (notes, scores, labs, medications, plan, alerts):
# the enum has no "clinical" of its own, and the chart's notes are the most sensitive thing on it.
CLINICAL_CHART_CATEGORY = AuditEvent.DataCategory.CLINICAL_NOTE


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True)
class AlertRow:
    alert: Alert
    form: AlertNoteForm


def alert_row(alert: Alert, form: AlertNoteForm | None = None) -> AlertRow:
    return AlertRow(alert, form or AlertNoteForm(alert_id=alert.pk))


def alert_counts(alerts: list[Alert]) -> dict[str, int]:
    """For the strip at the top of the chart: unresolved alerts by severity, and how many are still open (not
    acknowledged)."""
    return {
        "urgent": sum(a.severity == Alert.Severity.URGENT for a in alerts),
        "warning": sum(a.severity == Alert.Severity.WARNING for a in alerts),
        "open": sum(a.status == Alert.Status.OPEN for a in alerts),
    }


def stage_change_context(
    case: Case,
    bound: StageChangeForm | None = None,
    *,
    stale: bool = False,
    open_urgent: list[Alert] | None = None,
) -> dict[str, Any]:
    """One form per move the workflow allows from the case's stage; a posted form stands in for its move (or, if
    that move is not offered, shows its errors above them). A move to recovery or discharge lists the case's
    unresolved urgent alerts (`open_urgent`, read here when not given) and asks to confirm them."""
    if open_urgent is None:
        open_urgent = list(open_urgent_alerts(case))
    moves = [
        bound
        if bound is not None and bound.move == to_stage
        else StageChangeForm(case=case, to_stage=to_stage, open_urgent=open_urgent)
        for to_stage in allowed_next_stages(case)
    ]
    unplaced = bound is not None and bound not in moves
    return {"case": case, "stage_moves": moves, "unplaced_form": bound if unplaced else None, "stale": stale}


def chart_context(request: HttpRequest, patient: Patient, *, all_visits: bool = False) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    today = timezone.localdate()
    clinical = may_read_clinical(user, patient)
    cases = cases_visible_to(user).filter(patient=patient).select_related("primary_clinician")
    cases = cases.prefetch_related("stage_history__by")
    if clinical:
        cases = with_remission(cases)
    episodes = list(cases)  # newest first
    case = next((c for c in episodes if c.is_open), episodes[0] if episodes else None)
    earlier = [c for c in episodes if c is not case]
    is_open = case is not None and case.is_open

    context: dict[str, Any] = {
        "patient": patient,
        "age": age_on(patient.date_of_birth, today),
        "case": case,
        "earlier_cases": earlier,
        "may_read_clinical": clinical,
        "may_edit_demographics": may(user, Capability.EDIT_DEMOGRAPHICS, patient),
        "may_release": has_capability(user, Capability.RELEASE_RECORDS)
        and release_refusal(user, patient) is None,
        "may_open_case": not is_open and may(user, Capability.OPEN_CASE, patient),
        "may_change_stage": is_open and may(user, Capability.CHANGE_STAGE, patient),
        "may_assign": is_open and may(user, Capability.ASSIGN_CLINICIANS, patient),
        "may_record": clinical and may(user, Capability.RECORD_CLINICAL, patient),
        "remission": getattr(case, "remission", None) if clinical else None,
        "remission_questioned_by": remission_questioned_by(case) if clinical and case is not None else None,
        "diagnosis_code": diagnosis_code(
            getattr(case, "dsm5_severity", None), getattr(case, "remission", None)
        )
        if clinical
        else None,
        "reasons_for_use": [Case.ReasonForUse(code).label for code in case.reasons_for_use] if case else [],
        "break_glass": None,
        "alerts": [],
    }
    if has_capability(user, Capability.BREAK_GLASS):
        context["break_glass"] = (
            BreakGlassGrant.objects.running()
            .filter(user=user, patient=patient)
            .order_by("-expires_at")
            .first()
        )
    if context["may_assign"]:
        context["assign_form"] = ClinicianAssignmentForm(case=case)  # type: ignore[arg-type]
    if clinical:
        unresolved = worklist_for(user).filter(patient=patient).exclude(status=Alert.Status.RESOLVED)
        context["alerts"] = [alert_row(a) for a in unresolved.select_related("acknowledged_by")]
        context["alert_counts"] = alert_counts([row.alert for row in context["alerts"]])
    if context["may_change_stage"]:
        # The chart's own alerts when it reads them (a user who may change the stage may read them: no query).
        urgent = [
            row.alert
            for row in context["alerts"]
            if row.alert.severity == Alert.Severity.URGENT and row.alert.case_id == case.pk  # type: ignore[union-attr]
        ]
        context |= stage_change_context(case, open_urgent=urgent if clinical else None)  # type: ignore[arg-type]
    # The other sections: each builds its own context (visits show front desk the schedule, not the notes).
    context |= visits_section(request, patient, case, all_visits=all_visits)
    if clinical:
        context |= assessments_section(request, patient, case)
        context |= clinical_events_section(
            request, patient, case, readable=True, may_record=context["may_record"]
        )
        context |= clinical_record_section(
            request, patient, case, readable=True, may_record=context["may_record"]
        )
    return context


def _chart_read(request: HttpRequest, patient_id: uuid.UUID, *, all_visits: bool = False) -> dict[str, Any]:
    """The chart as the user may read it, and its one audited read: the chart page and its print view both come
    through here (one policy question, one `view` event with the same data category)."""
    patient = patient_or_404(request, patient_id, Capability.READ_DEMOGRAPHICS)
    context = chart_context(request, patient, all_visits=all_visits)
    audit_page_read(
        request,
        action=AuditAction.VIEW,
        object_type="patient",
        object_id=patient.pk,
        patient_id=patient.pk,
        data_category=CLINICAL_CHART_CATEGORY
        if context["may_read_clinical"]
        else AuditEvent.DataCategory.DEMOGRAPHICS,
    )
    return context


@require_GET
@page(Capability.READ_DEMOGRAPHICS)
def chart(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    return render(request, CHART, _chart_read(request, patient_id))


@require_GET
@page(Capability.READ_DEMOGRAPHICS)
def chart_print(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """The chart to print: the same reading as the chart (what the user may see, audited the same way), without
    its controls, under a header naming who printed it and when; every visit, not the latest ten."""
    context = _chart_read(request, patient_id, all_visits=True)
    return render(request, CHART, {**context, "printing": True, "printed_at": timezone.now()})


# --- The case: stage and clinicians --------------------------------------------------------------------------


@require_POST
@page(Capability.CHANGE_STAGE, action=AuditAction.TRANSITION)
def case_transition_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """Move the case one step of the workflow (`case_transition` decides; a stale `version` is its 409)."""
    case = case_or_404(request, case_id, Capability.CHANGE_STAGE, action=AuditAction.TRANSITION)
    open_urgent = list(open_urgent_alerts(case))
    to_stage = request.POST.get("to_stage", "")
    form = StageChangeForm(request.POST, case=case, to_stage=to_stage, open_urgent=open_urgent)
    status, stale = 400, False
    if form.is_valid():
        case.version = form.cleaned_data["version"]  # the version the form was rendered with
        try:
            case_transition(case=case, actor=request.user, **form.transition_kwargs())  # type: ignore[arg-type]
        except DomainError as error:
            add_domain_errors(form, error)
            status, stale = refusal_status(error), isinstance(error, ConcurrentChange)
        else:
            done = f"Stage changed: the case is now in {case.get_stage_display().lower()}."
            return back_to_chart(request, case.patient_id, "case", done)
    case.refresh_from_db(fields=["stage", "status"])  # the moves offered now
    context = stage_change_context(case, form, stale=stale, open_urgent=open_urgent)
    return render_form(
        request, f"{CHART}#stage_change", context, patient=case.patient, title="Change stage", status=status
    )


@require_POST
@page(Capability.ASSIGN_CLINICIANS, action=AuditAction.UPDATE)
def case_clinicians(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """Set the primary clinician and the care team (supervisors)."""
    case = case_or_404(request, case_id, Capability.ASSIGN_CLINICIANS, action=AuditAction.UPDATE)
    form = ClinicianAssignmentForm(request.POST, case=case)
    status = 400
    if form.is_valid():
        try:
            case_assign_clinicians(
                case=case,
                actor=request.user,  # type: ignore[arg-type]
                primary_clinician=form.cleaned_data["primary_clinician"],
                care_team=form.cleaned_data["care_team"],
            )
        except DomainError as error:
            add_domain_errors(form, error)
            status = refusal_status(error)
        else:
            return back_to_chart(request, case.patient_id, "case", "Clinicians assigned.")
    context = {"case": case, "assign_form": form}
    return render_form(
        request,
        f"{CHART}#clinicians",
        context,
        patient=case.patient,
        title="Assign clinicians",
        status=status,
    )


# --- Alerts --------------------------------------------------------------------------------------------------


def _settle(
    request: HttpRequest, alert_id: uuid.UUID, settle: Callable[..., Alert], done: str
) -> HttpResponse:
    """Acknowledge or resolve with a note, scoped as the API's alerts are (404 outside the caseload). htmx gets
    the alert's row back, settled or with the refusal."""
    user: User = request.user  # type: ignore[assignment]
    alerts = clinical_records_visible_to(user, Alert, Capability.RECORD_CLINICAL).select_related(
        "patient", "acknowledged_by", "resolved_by"
    )
    alert = in_scope_or_404(
        request, alerts, alert_id, object_type="alert", patient_path="patient_id", action=AuditAction.UPDATE
    )
    form = AlertNoteForm(request.POST, alert_id=alert.pk)
    status = 400
    if form.is_valid():
        try:
            settled = settle(alert=alert, actor=user, note=form.cleaned_data["note"])
        except DomainError as error:
            add_domain_errors(form, error)
            status = refusal_status(error)
        else:
            if not getattr(request, "htmx", False):
                return back_to_chart(request, alert.patient_id, "alerts", done)
            return render(request, f"{CHART}#alert_row", {"row": alert_row(settled), "may_record": True})
    # The row shows the alert again (as it now stands): a read of its own, audited as one.
    audit_page_read(
        request,
        action=AuditAction.VIEW,
        object_type="alert",
        object_id=alert.pk,
        patient_id=alert.patient_id,
        data_category=AuditEvent.DataCategory.ALERT,
    )
    context = {"row": alert_row(alert, form), "may_record": True}
    return render_form(
        request, f"{CHART}#alert_row", context, patient=alert.patient, title="Settle an alert", status=status
    )


@require_POST
@page(Capability.RECORD_CLINICAL, action=AuditAction.UPDATE)
def alert_acknowledge_view(request: HttpRequest, alert_id: uuid.UUID) -> HttpResponse:
    return _settle(request, alert_id, alert_acknowledge, "Alert acknowledged.")


@require_POST
@page(Capability.RECORD_CLINICAL, action=AuditAction.UPDATE)
def alert_resolve_view(request: HttpRequest, alert_id: uuid.UUID) -> HttpResponse:
    return _settle(request, alert_id, alert_resolve, "Alert resolved.")


urlpatterns = [
    path("patients/<uuid:patient_id>/", chart, name="chart"),
    path("patients/<uuid:patient_id>/print/", chart_print, name="chart-print"),
    path("cases/<uuid:case_id>/transition/", case_transition_view, name="case-stage-change"),
    path("cases/<uuid:case_id>/clinicians/", case_clinicians, name="case-clinicians"),
    path("alerts/<uuid:alert_id>/acknowledge/", alert_acknowledge_view, name="alert-acknowledge-page"),
    path("alerts/<uuid:alert_id>/resolve/", alert_resolve_view, name="alert-resolve-page"),
]
