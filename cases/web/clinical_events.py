"""The chart's clinical events (SPEC 3.6): seizures, overdoses, emergency visits and hospitalizations over all the
patient's episodes, the form that records one on the open case, and marking one entered in error.

`clinical_events_section(request, patient, case, ...)` is the chart's context for `clinical_events/section.html`;
the views call the services (`cases.services.events`) and go back to the chart (a seizure or an overdose raised an
urgent alert: the whole chart reloads so that the alert strip shows it); a refusal re-renders the form alone (400,
nothing saved).
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from cases.errors import DomainError
from cases.models import Case, ClinicalEvent, Patient
from cases.selectors import clinical_records_visible_to
from cases.services.events import clinical_event_mark_entered_in_error, clinical_event_record
from cases.web.access import add_domain_errors, case_or_404, in_scope_or_404, page, refusal_status
from cases.web.chart_forms import NOTE_MAX_LENGTH, TEXT_MAX_LENGTH, filled, model_field
from cases.web.clinical_record import back_to_chart, render_form
from clinic.models import AuditAction, User
from clinic.policy import Capability, may, may_read_clinical

SECTION = "cases/web/clinical_events/section.html"
ANCHOR = "clinical-events"
NALOXONE_CHOICES = [("", "Not known / not an overdose"), ("yes", "Yes"), ("no", "No")]


class ClinicalEventForm(forms.Form):
    """Shapes only; the service decides (a date neither future nor before the case, naloxone for overdoses)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_event_%s")
        super().__init__(*args, **kwargs)
        self.fields["kind"] = model_field(ClinicalEvent, "kind", label="Event")
        self.fields["occurred_on"] = model_field(ClinicalEvent, "occurred_on", label="Date", help_text="")
        self.fields["description"] = model_field(ClinicalEvent, "description", max_length=TEXT_MAX_LENGTH)
        self.fields["related_to_kratom"] = model_field(
            ClinicalEvent, "related_to_kratom", label="Related to kratom"
        )
        self.fields["naloxone_given"] = forms.ChoiceField(
            label="Naloxone given (overdose)", choices=NALOXONE_CHOICES, required=False
        )

    def record_data(self) -> dict[str, Any]:
        data = filled(self.cleaned_data)
        naloxone = data.pop("naloxone_given", None)
        if naloxone:
            data["naloxone_given"] = naloxone == "yes"
        return data


class EnteredInErrorForm(forms.Form):
    reason = forms.CharField(max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, event: ClinicalEvent, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"id_event_{event.pk}_%s")
        super().__init__(*args, **kwargs)


@dataclass(frozen=True)
class EventRow:
    event: ClinicalEvent
    earlier_episode: bool
    error_form: EnteredInErrorForm | None

    @property
    def naloxone(self) -> str:
        if self.event.kind != ClinicalEvent.Kind.OVERDOSE:
            return ""
        return {True: "Naloxone given", False: "No naloxone", None: "Naloxone not known"}[
            self.event.naloxone_given
        ]


def clinical_events_section(
    request: HttpRequest,
    patient: Patient,
    case: Case | None,
    *,
    readable: bool | None = None,
    may_record: bool | None = None,
) -> dict[str, Any]:
    """The patient's events, newest first (from every episode; one from an earlier episode is marked), and the add
    form when the user may record on the open case. One query, plus the policy's when not given."""
    user: User = request.user  # type: ignore[assignment]
    if readable is None:
        readable = may_read_clinical(user, patient)
    if not readable:
        return {"clinical_events": None}
    if may_record is None:
        may_record = may(user, Capability.RECORD_CLINICAL, patient)
    writable = case is not None and case.is_open and may_record
    events = (
        clinical_records_visible_to(user, ClinicalEvent)
        .filter(case__patient=patient)
        .select_related("entered_in_error_by")
        .order_by("-occurred_on", "-created_at")
    )
    rows = [
        EventRow(
            event,
            earlier_episode=case is None or event.case_id != case.pk,
            error_form=EnteredInErrorForm(event=event) if may_record and not event.entered_in_error else None,
        )
        for event in events
    ]
    form = ClinicalEventForm(initial={"occurred_on": timezone.localdate()}) if writable else None
    return {"clinical_events": {"rows": rows, "form": form, "case": case}}


@require_POST
@page(Capability.RECORD_CLINICAL, action=AuditAction.CREATE)
def clinical_event_new(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    case = case_or_404(request, case_id, Capability.RECORD_CLINICAL, action=AuditAction.CREATE)
    form = ClinicalEventForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            event = clinical_event_record(case=case, actor=request.user, data=form.record_data())  # type: ignore[arg-type]
        except DomainError as error:
            add_domain_errors(form, error)
            status = refusal_status(error)
        else:
            return back_to_chart(request, case.patient_id, ANCHOR, f"{event.get_kind_display()} recorded.")
    return render_form(
        request,
        f"{SECTION}#event_form",
        {"form": form, "case": case},
        patient=case.patient,
        title="Record a clinical event",
        status=status,
    )


@require_POST
@page(Capability.RECORD_CLINICAL, action=AuditAction.UPDATE)
def clinical_event_entered_in_error(request: HttpRequest, event_id: uuid.UUID) -> HttpResponse:
    """Mark an event entered in error (field `reason`): it stays on the chart, struck through, and its alert
    evidence is struck."""
    user: User = request.user  # type: ignore[assignment]
    events = clinical_records_visible_to(user, ClinicalEvent, Capability.RECORD_CLINICAL).select_related(
        "case__patient"
    )
    event = in_scope_or_404(
        request,
        events,
        event_id,
        object_type="clinicalevent",
        patient_path="case__patient_id",
        action=AuditAction.UPDATE,
    )
    form = EnteredInErrorForm(request.POST, event=event)
    status = 400
    if form.is_valid():
        try:
            clinical_event_mark_entered_in_error(event=event, actor=user, reason=form.cleaned_data["reason"])
        except DomainError as error:
            add_domain_errors(form, error)
            status = refusal_status(error)
        else:
            done = f"{event.get_kind_display()} of {event.occurred_on} marked entered in error."
            return back_to_chart(request, event.case.patient_id, ANCHOR, done)
    row = EventRow(event, earlier_episode=False, error_form=form)
    return render_form(
        request,
        f"{SECTION}#event_error_form",
        {"row": row},
        patient=event.case.patient,
        title="Mark a clinical event entered in error",
        status=status,
    )


urlpatterns = [
    path("cases/<uuid:case_id>/clinical-events/new/", clinical_event_new, name="clinical-event-add"),
    path(
        "clinical-events/<uuid:event_id>/entered-in-error/",
        clinical_event_entered_in_error,
        name="clinical-event-mark-entered-in-error",
    ),
]
