"""The chart's clinical record: urine drug screens, liver panels, medications and the treatment plan, each with its
add form, and the edits a record allows (a goal's status and review, a medication's stop date).

`clinical_record_section(request, patient, case)` is the chart's context for `clinical_record/section.html`. The
form views take a POST, call the service, and go back to the chart's section (htmx: `HX-Redirect`, so that an
alert the new result raised shows too); a refusal re-renders the form alone with its message (400, nothing saved).
The record lookups below (`in_scope_or_404`, `render_form`, `back_to_chart`) serve the chart's forms as well.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from cases.errors import DomainError
from cases.measures import LiverFindings, liver_findings
from cases.models import ANALYTES, Case, DrugScreen, LiverPanel, Medication, Patient, TreatmentGoal
from cases.plan_review import with_review_due
from cases.selectors import clinical_records_visible_to
from cases.services.clinical import (
    drug_screen_record,
    goal_add,
    goal_update,
    liver_panel_record,
    medication_add,
    medication_update,
)
from cases.web.access import add_domain_errors, case_or_404, in_scope_or_404, page, refusal_status
from cases.web.chart_forms import (
    ALL_NEGATIVE,
    ANALYTE_ABBREVIATIONS,
    ANALYTE_LABELS,
    LIVER_LABELS,
    DrugScreenForm,
    GoalForm,
    GoalUpdateForm,
    LiverPanelForm,
    MedicationForm,
    MedicationStopForm,
    filled,
    focus_first_error,
)
from clinic.models import AuditAction, User
from clinic.policy import Capability, may, may_read_clinical

SECTION = "cases/web/clinical_record/section.html"
FORM_PAGE = "cases/web/chart/form_page.html"

M = TypeVar("M", bound=Model)


# --- Shared by the chart's form views -----------------------------------------------------------------------


def back_to_chart(request: HttpRequest, patient_id: uuid.UUID, anchor: str, message: str) -> HttpResponse:
    """After a change: the chart at the changed section (htmx reloads the page, so every section is current).
    From the chart itself that must be a refresh: a redirect to the same address plus an anchor only scrolls."""
    messages.success(request, message)
    chart = reverse("chart", kwargs={"patient_id": patient_id})
    url = f"{chart}#{anchor}"
    htmx = getattr(request, "htmx", None)
    if htmx:
        if urlsplit(htmx.current_url_abs_path or "").path == chart:
            return HttpResponseClientRefresh()
        return HttpResponseClientRedirect(url)
    return redirect(url)


def render_form(
    request: HttpRequest,
    fragment: str,
    context: dict[str, Any],
    *,
    patient: Patient,
    title: str,
    status: int,
) -> HttpResponse:
    """A refused form: for htmx the fragment alone (swapped in place), otherwise on a page of its own with a way
    back to the chart."""
    if getattr(request, "htmx", False):
        return render(request, fragment, context, status=status)
    page_context = {**context, "fragment": fragment, "patient": patient, "title": title}
    return render(request, FORM_PAGE, page_context, status=status)


# --- The section ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenRow:
    screen: DrugScreen
    results: list[tuple[str, str]]  # (analyte label, result code), in the lab's order
    earlier_episode: bool

    @property
    def positives(self) -> list[str]:
        return [label for label, result in self.results if result == DrugScreen.Result.POSITIVE]


@dataclass(frozen=True)
class LabValue:
    label: str
    value: Decimal
    uln: Decimal

    @property
    def above_uln(self) -> bool:
        return self.value > self.uln


@dataclass(frozen=True)
class PanelRow:
    panel: LiverPanel
    values: list[LabValue]
    findings: LiverFindings
    earlier_episode: bool


@dataclass(frozen=True)
class MedicationRow:
    medication: Medication
    stop_form: MedicationStopForm | None


@dataclass(frozen=True)
class GoalRow:
    goal: TreatmentGoal
    review_overdue: bool
    form: GoalUpdateForm | None


@dataclass
class ClinicalRecord:
    """What the section shows; the add forms are there when the user may record on the (open) case."""

    case: Case | None
    may_record: bool
    screens: list[ScreenRow] = field(default_factory=list)
    panels: list[PanelRow] = field(default_factory=list)
    current_medications: list[MedicationRow] = field(default_factory=list)
    stopped_medications: list[MedicationRow] = field(default_factory=list)
    goals: list[GoalRow] = field(default_factory=list)
    screen_form: forms.Form | None = None
    panel_form: forms.Form | None = None
    medication_form: forms.Form | None = None
    goal_form: forms.Form | None = None
    analytes: list[tuple[str, str]] = field(
        default_factory=lambda: [(ANALYTE_LABELS[a], ANALYTE_ABBREVIATIONS[a]) for a in ANALYTES]
    )


def screen_row(screen: DrugScreen, case: Case | None) -> ScreenRow:
    return ScreenRow(
        screen=screen,
        results=[(ANALYTE_LABELS[analyte], result) for analyte, result in screen.results.items()],
        earlier_episode=case is None or screen.case_id != case.pk,
    )


def panel_row(panel: LiverPanel, case: Case | None) -> PanelRow:
    """The values with their limits, and what the tracker derives (`cases.measures`, as the API shows them)."""
    values = [
        LabValue(LIVER_LABELS[name], getattr(panel, name), getattr(panel, f"{name}_uln"))
        for name in ("alt", "ast", "alp", "total_bilirubin")
    ]
    return PanelRow(
        panel=panel,
        values=values,
        findings=liver_findings(panel),
        earlier_episode=case is None or panel.case_id != case.pk,
    )


def clinical_record_section(
    request: HttpRequest,
    patient: Patient,
    case: Case | None,
    *,
    readable: bool | None = None,
    may_record: bool | None = None,
) -> dict[str, Any]:
    """Context for `clinical_record/section.html`: labs over all the patient's episodes (newest first; a result
    from an earlier episode is marked), medications and plan goals of the chart's case. Nothing for a user who may
    not read the patient's clinical content. `readable` and `may_record` are the policy's answers when the caller
    already has them (the chart does). Four queries, plus the policy's when asked here."""
    user: User = request.user  # type: ignore[assignment]
    if readable is None:
        readable = may_read_clinical(user, patient)
    if not readable:
        return {"clinical_record": None}
    if may_record is None:
        may_record = may(user, Capability.RECORD_CLINICAL, patient)
    writable = case is not None and case.is_open and may_record
    record = ClinicalRecord(case=case, may_record=writable)
    today = timezone.localdate()

    screens = clinical_records_visible_to(user, DrugScreen).filter(case__patient=patient)
    record.screens = [screen_row(s, case) for s in screens.order_by("-collected_on", "-created_at")]
    panels = clinical_records_visible_to(user, LiverPanel).filter(case__patient=patient)
    record.panels = [panel_row(p, case) for p in panels.order_by("-collected_on", "-created_at")]
    if case is not None:
        medications = clinical_records_visible_to(user, Medication).filter(case=case)
        for medication in medications.order_by("-start_date", "created_at"):
            stopped = medication.stop_date is not None and medication.stop_date <= today
            form = None if stopped or not writable else MedicationStopForm(medication=medication)
            row = MedicationRow(medication, form)
            (record.stopped_medications if stopped else record.current_medications).append(row)
        goals = with_review_due(clinical_records_visible_to(user, TreatmentGoal).filter(case=case), today)
        record.goals = [
            GoalRow(goal, goal.review_due, GoalUpdateForm(goal=goal) if writable else None)
            for goal in goals.order_by("created_at")
        ]
    if writable:
        record.screen_form = DrugScreenForm(initial={"collected_on": today})
        latest = record.panels[0].panel if record.panels else None
        record.panel_form = LiverPanelForm(initial={"collected_on": today}, latest=latest)
        record.medication_form = MedicationForm(initial={"start_date": today})
        record.goal_form = GoalForm(initial={"review_date": today})
    return {"clinical_record": record}


# --- Adding to the record ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddForm:
    """One add form: its form, the service call, where it sits in the section and what it says."""

    form_class: type[forms.Form]
    record: Callable[[Case, User, Any], Model]
    partial: str
    anchor: str
    title: str
    done: str


ADD_FORMS: dict[str, AddForm] = {
    "drug-screen": AddForm(
        DrugScreenForm,
        lambda case, actor, form: drug_screen_record(case=case, actor=actor, **form.record_kwargs()),
        "screen_form",
        "drug-screens",
        "Record a urine drug screen",
        "Urine drug screen recorded.",
    ),
    "liver-panel": AddForm(
        LiverPanelForm,
        lambda case, actor, form: liver_panel_record(case=case, actor=actor, data=filled(form.cleaned_data)),
        "panel_form",
        "liver-panels",
        "Record a liver panel",
        "Liver panel recorded.",
    ),
    "medication": AddForm(
        MedicationForm,
        lambda case, actor, form: medication_add(case=case, actor=actor, data=filled(form.cleaned_data)),
        "medication_form",
        "medications",
        "Add a medication",
        "Medication added.",
    ),
    "goal": AddForm(
        GoalForm,
        lambda case, actor, form: goal_add(case=case, actor=actor, data=filled(form.cleaned_data)),
        "goal_form",
        "plan",
        "Add a plan goal",
        "Plan goal added.",
    ),
}


def _add(request: HttpRequest, case_id: uuid.UUID, spec: AddForm) -> HttpResponse:
    case = case_or_404(request, case_id, Capability.RECORD_CLINICAL, action=AuditAction.CREATE)
    form = spec.form_class(request.POST)
    status = 400
    if form.is_valid():
        try:
            spec.record(case, request.user, form)  # type: ignore[arg-type]
        except DomainError as error:
            add_domain_errors(form, error)
            status = refusal_status(error)
        else:
            return back_to_chart(request, case.patient_id, spec.anchor, spec.done)
    focus_first_error(form)
    context = {"form": form, "case": case}
    return render_form(
        request, f"{SECTION}#{spec.partial}", context, patient=case.patient, title=spec.title, status=status
    )


@require_POST
@page(Capability.RECORD_CLINICAL, action=AuditAction.CREATE)
def drug_screen_new(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """Record a screen; with `fill=negative` ("All negative"), the form back with the usual panel's unanswered
    analytes marked negative and the focus on "Record screen" (nothing saved: the second click records)."""
    if request.POST.get("fill") != ALL_NEGATIVE:
        return _add(request, case_id, ADD_FORMS["drug-screen"])
    spec = ADD_FORMS["drug-screen"]
    case = case_or_404(request, case_id, Capability.RECORD_CLINICAL, action=AuditAction.CREATE)
    form = DrugScreenForm.with_usual_panel_negative(request.POST)
    context = {"form": form, "case": case, "ready": True}
    return render_form(
        request, f"{SECTION}#{spec.partial}", context, patient=case.patient, title=spec.title, status=200
    )


@require_POST
@page(Capability.RECORD_CLINICAL, action=AuditAction.CREATE)
def liver_panel_new(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    return _add(request, case_id, ADD_FORMS["liver-panel"])


@require_POST
@page(Capability.RECORD_CLINICAL, action=AuditAction.CREATE)
def medication_new(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    return _add(request, case_id, ADD_FORMS["medication"])


@require_POST
@page(Capability.RECORD_CLINICAL, action=AuditAction.CREATE)
def goal_new(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    return _add(request, case_id, ADD_FORMS["goal"])


# --- Editing a record ----------------------------------------------------------------------------------------


@require_POST
@page(Capability.RECORD_CLINICAL, action=AuditAction.UPDATE)
def goal_edit(request: HttpRequest, goal_id: uuid.UUID) -> HttpResponse:
    """A goal's status and the date its plan was reviewed."""
    user: User = request.user  # type: ignore[assignment]
    goals = clinical_records_visible_to(user, TreatmentGoal, Capability.RECORD_CLINICAL).select_related(
        "case__patient"
    )
    goal = in_scope_or_404(
        request,
        goals,
        goal_id,
        object_type="treatmentgoal",
        patient_path="case__patient_id",
        action=AuditAction.UPDATE,
    )
    form = GoalUpdateForm(request.POST, goal=goal)
    status = 400
    if form.is_valid():
        try:
            goal_update(goal=goal, actor=user, data=form.cleaned_data)
        except DomainError as error:
            add_domain_errors(form, error)
            status = refusal_status(error)
        else:
            return back_to_chart(request, goal.case.patient_id, "plan", "Plan goal updated.")
    context = {"row": GoalRow(goal, False, form), "case": goal.case}
    return render_form(
        request,
        f"{SECTION}#goal_update_form",
        context,
        patient=goal.case.patient,
        title="Update a plan goal",
        status=status,
    )


@require_POST
@page(Capability.RECORD_CLINICAL, action=AuditAction.UPDATE)
def medication_edit(request: HttpRequest, medication_id: uuid.UUID) -> HttpResponse:
    """A medication's stop date."""
    user: User = request.user  # type: ignore[assignment]
    medications = clinical_records_visible_to(user, Medication, Capability.RECORD_CLINICAL).select_related(
        "case__patient"
    )
    medication = in_scope_or_404(
        request,
        medications,
        medication_id,
        object_type="medication",
        patient_path="case__patient_id",
        action=AuditAction.UPDATE,
    )
    form = MedicationStopForm(request.POST, medication=medication)
    status = 400
    if form.is_valid():
        try:
            medication_update(medication=medication, actor=user, data=form.cleaned_data)
        except DomainError as error:
            add_domain_errors(form, error)
            status = refusal_status(error)
        else:
            return back_to_chart(request, medication.case.patient_id, "medications", "Stop date recorded.")
    context = {"row": MedicationRow(medication, form), "case": medication.case}
    return render_form(
        request,
        f"{SECTION}#medication_stop_form",
        context,
        patient=medication.case.patient,
        title="Stop a medication",
        status=status,
    )


urlpatterns = [
    path("cases/<uuid:case_id>/drug-screens/new/", drug_screen_new, name="drug-screen-add"),
    path("cases/<uuid:case_id>/liver-panels/new/", liver_panel_new, name="liver-panel-add"),
    path("cases/<uuid:case_id>/medications/new/", medication_new, name="medication-add"),
    path("cases/<uuid:case_id>/goals/new/", goal_new, name="goal-add"),
    path("goals/<uuid:goal_id>/edit/", goal_edit, name="goal-update"),
    path("medications/<uuid:medication_id>/edit/", medication_edit, name="medication-update"),
]
