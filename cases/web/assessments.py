"""The assessment pages (SPEC section 4): the form built from an instrument's definition with its running total
and band, marking a score entered in error, and the chart's assessments section (a trend chart and a table per
instrument).

Scores are the scorer's (`cases.instruments.scoring`), writes the service's (`cases.services.clinical`), the
alerts a score raises the alert rules' (`cases.services.alerts.RULES`, read here to warn before saving): these
views hold no rule of their own. Clinical content: front desk and administrators never see this section.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods, require_POST

from cases.errors import DomainError
from cases.instruments.definitions import INSTRUMENTS, Instrument
from cases.instruments.definitions import Band as InstrumentBand
from cases.instruments.scoring import score_responses
from cases.models import Alert, Assessment, Case, Patient
from cases.selectors import clinical_records_visible_to
from cases.services.alerts import RULES
from cases.services.clinical import assessment_mark_entered_in_error, assessment_record
from cases.web.access import (
    add_domain_errors,
    audit_page_read,
    case_or_404,
    page,
    patient_or_404,
    refusal_status,
)
from cases.web.assessments_forms import AssessmentForm
from cases.web.charts import Band, line_chart
from cases.web.visits import chart_url, local, renamed
from clinic.models import AuditAction, AuditDataCategory, User
from clinic.policy import Capability, may, may_read_clinical

SECTION = "cases/web/assessments/section.html"
RECORD = "cases/web/assessments/record.html"
# The names clinicians say; an instrument missing here is called by its full name.
SHORT_NAMES = {
    "dsm5_sud": "DSM-5 checklist",
    "cows": "COWS",
    "sows": "SOWS",
    "phq9": "PHQ-9",
    "gad7": "GAD-7",
}
SEVERITY_TONES: dict[str, str] = {Alert.Severity.URGENT: "error", Alert.Severity.WARNING: "warning"}


def short_name(instrument: Instrument) -> str:
    return SHORT_NAMES.get(instrument.code, instrument.name)


def _instrument_or_404(code: str) -> Instrument:
    instrument = INSTRUMENTS.get(code)
    if instrument is None:
        raise Http404("No such instrument.")
    return instrument


# --- The running score --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertPreview:
    tone: str
    title: str
    message: str


@dataclass(frozen=True)
class LiveScore:
    total: int
    complete: bool
    answered: int
    items: int
    band: InstrumentBand | None
    diagnosis_code: str | None
    alerts: list[AlertPreview]


def live_score(instrument: Instrument, answered: dict[str, Any]) -> LiveScore:
    """The total so far and, once every item is answered, the band; plus the alerts saving would raise.

    The one scorer computes it: each unanswered item counts at its lowest allowed value, so the partial total is
    what the answers given add up to (and an alert that fires on it fires on any completion)."""
    answered = {code: value for code, value in answered.items() if code not in instrument.withdrawn}
    required = [item for item in instrument.items if item.required]
    missing = [item for item in required if item.code not in answered]
    filled = {**{item.code: min(item.allowed) for item in missing}, **answered}
    clean, score = score_responses(instrument.code, filled)
    candidate = Assessment(instrument=instrument.code, responses=clean, total=score.total, band=score.band)
    alerts = [
        AlertPreview(
            SEVERITY_TONES.get(rule.severity, "warning"), Alert.Kind(rule.kind).label, rule.message(candidate)
        )
        for rule in RULES
        if rule.source is Assessment and rule.fires(candidate)
    ]
    complete = not missing
    return LiveScore(
        total=score.total,
        complete=complete,
        answered=len(required) - len(missing),
        items=len(required),
        band=instrument.band_for(score.total) if complete else None,
        diagnosis_code=score.diagnosis_code if complete else None,
        alerts=alerts,
    )


# --- The chart's section ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentRow:
    assessment: Assessment
    band_label: str
    diagnosis_code: str
    unscored: list[tuple[str, str]]  # answers outside the total (PHQ-9's difficulty), shown with the score


def unscored_answers(instrument: Instrument, responses: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, answer) of each unscored item answered, in the instrument's order."""
    found = []
    for item in instrument.items:
        if not item.counted and item.code in responses:
            label = next(
                (c.label for c in item.choices if c.value == responses[item.code]), str(responses[item.code])
            )
            found.append((item.short_label or item.label, label))
    return found


@dataclass(frozen=True)
class InstrumentPanel:
    """One instrument's scores on a case: the trend of the valid ones, and every one in a table, newest first."""

    instrument: Instrument
    short_name: str
    rows: list[AssessmentRow]
    chart: SafeString | None


def _panel(instrument: Instrument, assessments: list[Assessment]) -> InstrumentPanel:
    """`assessments` in time order."""
    labels = {band.code: band.label for band in instrument.bands}
    valid = [a for a in assessments if not a.entered_in_error]
    chart = None
    if valid:
        chart = line_chart(
            [(a.administered_at, a.total) for a in valid],
            y_max=instrument.max_total,
            title=f"{short_name(instrument)} scores over time",
            bands=[Band(band.low, band.high, band.label) for band in instrument.bands],
        )
    rows = [
        AssessmentRow(
            a,
            labels.get(a.band or "", ""),
            instrument.diagnosis_codes.get(a.band or "", ""),
            unscored_answers(instrument, a.responses),
        )
        for a in reversed(assessments)
    ]
    return InstrumentPanel(instrument, short_name(instrument), rows, chart)


def _assessments(user: User, case: Case) -> Any:
    return (
        clinical_records_visible_to(user, Assessment)
        .filter(case=case)
        .select_related("by", "entered_in_error_by")
        .order_by("administered_at", "recorded_at")
    )


def _may_record(user: User, patient: Patient, case: Case) -> dict[str, bool]:
    """New scores go on an open case; a mistaken one may be marked on any case (corrections outlive the case)."""
    allowed = may(user, Capability.RECORD_CLINICAL, patient)
    return {"assessments_may_record": allowed and case.is_open, "assessments_may_correct": allowed}


def assessments_section(request: HttpRequest, patient: Patient, case: Case | None) -> dict[str, Any]:
    """Context for `cases/web/assessments/section.html`, included in the patient chart: per instrument, a trend
    chart of the valid scores and a table of all of them, for those who may read clinical content.

    Queries: one per policy question (two for a clinician, none for a supervisor or front desk) and one for all
    the case's assessments, whatever their number. Not audited here: the chart's one `view` event covers it."""
    user: User = request.user  # type: ignore[assignment]
    if not may_read_clinical(user, patient):
        return {"assessments_visible": False, "assessments_panels": []}
    if case is None:
        return {"assessments_visible": True, "assessments_panels": []}
    by_instrument: dict[str, list[Assessment]] = {code: [] for code in INSTRUMENTS}
    for assessment in _assessments(user, case):
        by_instrument.setdefault(assessment.instrument, []).append(assessment)
    return {
        "assessments_visible": True,
        **_may_record(user, patient, case),
        "assessments_panels": [
            _panel(INSTRUMENTS[code], rows) for code, rows in by_instrument.items() if code in INSTRUMENTS
        ],
    }


def _one_instrument(
    request: HttpRequest,
    case: Case,
    instrument: Instrument,
    *,
    status: int = 200,
    audit: bool = True,
    **extra: Any,
) -> HttpResponse:
    """One instrument's panel as the chart shows it: the fragment for htmx, or a page of its own."""
    user: User = request.user  # type: ignore[assignment]
    panel = _panel(instrument, list(_assessments(user, case).filter(instrument=instrument.code)))
    if audit:
        audit_page_read(
            request,
            action=AuditAction.VIEW,
            object_type="case",
            object_id=case.pk,
            patient_id=case.patient_id,
            data_category=AuditDataCategory.ASSESSMENT,
        )
    context = {
        "patient": case.patient,
        "case": case,
        "panel": panel,
        **_may_record(user, case.patient, case),
        "chart_url": chart_url(case.patient_id),
        **extra,
    }
    template = f"{SECTION}#instrument" if request.htmx else "cases/web/assessments/instrument.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


# --- Pages --------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@page(Capability.RECORD_CLINICAL)
def record(request: HttpRequest, case_id: uuid.UUID, instrument: str) -> HttpResponse:
    """Record an administration of `instrument`; the total and band are the server's."""
    definition = _instrument_or_404(instrument)
    posted = request.method == "POST"
    action = AuditAction.CREATE if posted else AuditAction.VIEW
    case = case_or_404(request, case_id, Capability.RECORD_CLINICAL, action=action)
    form = AssessmentForm(request.POST if posted else None, instrument=definition)
    if posted and form.is_valid():
        try:
            saved = assessment_record(
                case=case,
                actor=request.user,  # type: ignore[arg-type]
                instrument=definition.code,
                responses=form.responses(),
                administered_at=form.cleaned_data["administered_at"],
            )
        except DomainError as error:
            add_domain_errors(form, renamed(error, lambda field: field.removeprefix("responses.")))
        else:
            band = definition.band_for(saved.total)
            messages.success(
                request,
                f"{short_name(definition)} {saved.total}: {band.label.lower()}"
                if band
                else f"{short_name(definition)} {saved.total} recorded.",
            )
            for alert in live_score(definition, saved.responses).alerts:
                messages.warning(request, f"{alert.title}: {alert.message}")
            return redirect(f"{chart_url(case.patient_id)}#assessments-{definition.code}")
    # The form shows the patient's name, nothing clinical (the score is computed from what is being entered).
    audit_page_read(
        request,
        action=AuditAction.VIEW,
        object_type="case",
        object_id=case.pk,
        patient_id=case.patient_id,
        data_category=AuditDataCategory.DEMOGRAPHICS,
    )
    context = {
        "patient": case.patient,
        "case": case,
        "instrument": definition,
        "short_name": short_name(definition),
        "form": form,
        "score": live_score(definition, form.responses() if posted else {}),
        "chart_url": chart_url(case.patient_id),
    }
    return render(request, RECORD, context, status=400 if posted else 200)


@require_POST
@page(Capability.RECORD_CLINICAL, action=AuditAction.VIEW)
def score(request: HttpRequest, case_id: uuid.UUID, instrument: str) -> HttpResponse:
    """The running total and band of the form as it stands (htmx, on every change). Writes nothing and shows no
    patient data, so it is not audited (refusals are)."""
    definition = _instrument_or_404(instrument)
    case_or_404(request, case_id, Capability.RECORD_CLINICAL)
    form = AssessmentForm(request.POST, instrument=definition)
    form.is_valid()
    context = {"instrument": definition, "score": live_score(definition, form.responses())}
    return render(request, f"{RECORD}#score", context)


@require_POST
@page(Capability.RECORD_CLINICAL, action=AuditAction.UPDATE)
def entered_in_error(request: HttpRequest, assessment_id: uuid.UUID) -> HttpResponse:
    """Mark a recorded score entered in error (field `reason`): it stays on record, struck through, and stops
    counting."""
    assessment = Assessment.objects.select_related("case").filter(pk=assessment_id).first()
    patient = patient_or_404(
        request,
        assessment.case.patient_id if assessment else assessment_id,
        Capability.RECORD_CLINICAL,
        action=AuditAction.UPDATE,
    )
    if assessment is None:  # pragma: no cover - an id that is a patient's, not an assessment's
        raise Http404("No such assessment in your caseload.")
    case = assessment.case
    case.patient = patient
    definition = _instrument_or_404(assessment.instrument)
    reason = request.POST.get("reason", "")
    try:
        assessment_mark_entered_in_error(assessment=assessment, actor=request.user, reason=reason)  # type: ignore[arg-type]
    except DomainError as error:
        return _one_instrument(
            request,
            case,
            definition,
            status=refusal_status(error),
            error_for=assessment.pk,
            error_message=error.message,
            reason_text=reason,
        )
    done = f"{short_name(definition)} {assessment.total} of {local(assessment.administered_at)} marked entered in error."
    if request.htmx:  # type: ignore[attr-defined]
        return _one_instrument(request, case, definition, audit=False, notice=done)
    messages.success(request, done)
    return redirect(f"{chart_url(case.patient_id)}#assessments-{definition.code}")


urlpatterns = [
    path("cases/<uuid:case_id>/assessments/new/<str:instrument>/", record, name="assessment-record"),
    path("cases/<uuid:case_id>/assessments/new/<str:instrument>/score/", score, name="assessment-score"),
    path(
        "assessments/<uuid:assessment_id>/entered-in-error/",
        entered_in_error,
        name="assessment-mark-entered-in-error",
    ),
]
