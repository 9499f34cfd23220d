"""A release as a printable summary: one HTML document for a person to read, made from the same selection as the
FHIR Bundle (SPEC section 13), with the 42 CFR 2.32 notice on every printed page.

Each printed record names, in `data-record`, the ids of the FHIR resources that carry it (cases.release.ids), so a
test can hold the two formats to the same records. The document has no inline style or script (the app's CSP
refuses both); its print stylesheet is linked by absolute address, and the notice is text, so it reads the same
without the stylesheet.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from cases.instruments.definitions import INSTRUMENTS
from cases.models import ANALYTES, Case, Visit
from cases.release import codes, ids
from cases.release.notes import visit_note_lines
from cases.release.selection import CATEGORY_LABELS, ReleaseSelection

PRINTABLE_CONTENT_TYPE = "text/html; charset=utf-8"

_ANALYTE_LABELS = {
    "mitragynine": "Mitragynine",
    "seven_oh_mitragynine": "7-Hydroxymitragynine",
    "opioids": "Opioids",
    "fentanyl": "Fentanyl",
    "buprenorphine": "Buprenorphine",
    "methadone": "Methadone",
    "benzodiazepines": "Benzodiazepines",
    "amphetamines": "Amphetamines",
    "cocaine": "Cocaine",
    "cannabinoids": "Cannabinoids",
    "alcohol": "Alcohol (EtG)",
}
_LIVER_LABELS = {"alt": "ALT", "ast": "AST", "alp": "ALP", "total_bilirubin": "Total bilirubin"}


@dataclass(frozen=True)
class ReleaseFacts:
    """What the summary says about the release itself (the disclosure's own fields)."""

    recipient_name: str
    purpose: str
    basis: str
    released_by: str
    released_at: dt.datetime
    recipient_affiliation: str = ""
    recipient_address: str = ""
    basis_reason: str = ""


@dataclass
class Row:
    record_ids: list[str]
    cells: dict[str, Any] = field(default_factory=dict)

    @property
    def data_record(self) -> str:
        return " ".join(self.record_ids)


def _who(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def _signed(user: Any) -> str:
    """A signature: the name with the signer's credentials ("Chidi Okafor, MD")."""
    return user.signature if user is not None else ""


def _visit_row(visit: Visit, with_notes: bool) -> Row:
    row = Row(
        [str(visit.pk)],
        {
            "when": timezone.localtime(visit.scheduled_at),
            "type": visit.get_visit_type_display(),
            "clinician": _who(visit.clinician),
            "minutes": visit.duration_minutes,
        },
    )
    if not with_notes:
        return row
    lines = visit_note_lines(visit)
    addenda = list(visit.addenda.all())
    if lines or addenda:
        row.record_ids.append(ids.note_id(visit.pk))
        row.cells.update(
            note=lines,
            addenda=[(_signed(a.author), timezone.localtime(a.created_at), a.text) for a in addenda],
            signed=(_signed(visit.signed_by), timezone.localtime(visit.signed_at))
            if visit.signed_at
            else None,
        )
    vitals = []
    if visit.bp_systolic is not None and visit.bp_diastolic is not None:
        row.record_ids.append(ids.vital_id(visit.pk, "bp"))
        vitals.append(("Blood pressure", f"{visit.bp_systolic}/{visit.bp_diastolic} mmHg"))
    if visit.heart_rate is not None:
        row.record_ids.append(ids.vital_id(visit.pk, "heart-rate"))
        vitals.append(("Heart rate", f"{visit.heart_rate}/min"))
    if visit.weight_kg is not None:
        row.record_ids.append(ids.vital_id(visit.pk, "weight"))
        vitals.append(("Weight", f"{visit.weight_kg} kg"))
    row.cells["vitals"] = vitals
    return row


def printable_context(selection: ReleaseSelection, *, consent: Any, facts: ReleaseFacts) -> dict[str, Any]:
    """The template's context: one list of rows per section, each row naming its FHIR resource ids."""
    patient = selection.patient
    stage_labels = dict(Case.Stage.choices)
    cases = [
        Row(
            [str(case.pk)],
            {
                "opened_on": case.opened_on,
                "closed_on": case.closed_on,
                "stage": stage_labels[case.stage],
                "discharge_reason": case.get_discharge_reason_display() if case.discharge_reason else "",
                "clinician": _who(case.primary_clinician),
                "history": [
                    (stage_labels[step.to_stage], timezone.localtime(step.effective_at))
                    for step in case.stage_history.all()
                ],
            },
        )
        for case in selection.cases
    ]
    diagnoses = [
        Row(
            [ids.condition_id(d.case.pk)],
            {"code": d.icd10, "text": d.text, "recorded_on": d.recorded_on, "opened_on": d.case.opened_on},
        )
        for d in selection.diagnoses
    ]
    naloxone = {True: "naloxone given", False: "no naloxone", None: "naloxone not known"}
    clinical_events = [
        Row(
            [str(e.pk)],
            {
                "occurred_on": e.occurred_on,
                "kind": e.get_kind_display(),
                "description": e.description,
                "related": e.get_related_to_kratom_display(),
                "naloxone": naloxone[e.naloxone_given] if e.kind == "overdose" else "",
            },
        )
        for e in selection.clinical_events
    ]
    assessments = []
    for a in selection.assessments:
        instrument = INSTRUMENTS[a.instrument]
        band = instrument.band_for(a.total)
        answers = [
            (item.label, _answer(a.responses[item.code]))
            for item in instrument.items
            if item.code in a.responses
        ]
        assessments.append(
            Row(
                [str(a.pk), ids.total_id(a.pk)],
                {
                    "when": timezone.localtime(a.administered_at),
                    "instrument": instrument.name,
                    "total": a.total,
                    "band": band.label if band else "",
                    "by": _who(a.by),
                    "answers": answers,
                },
            )
        )
    medications = [
        Row(
            [str(m.pk)],
            {
                "name": m.other_name if m.medication == "other" else m.get_medication_display(),
                "dose": m.dose,
                "frequency": m.frequency,
                "start": m.start_date,
                "stop": m.stop_date,
                "prescriber": m.prescriber,
            },
        )
        for m in selection.medications
    ]
    screens = []
    for screen in selection.drug_screens:
        tested = [
            (a, getattr(screen, a)) for a in ANALYTES if getattr(screen, a) in codes.SCREEN_RESULT_VALUES
        ]
        screens.append(
            Row(
                [str(screen.pk), *(ids.part_id(screen.pk, a) for a, _ in tested)],
                {
                    "collected_on": screen.collected_on,
                    "results": [(_ANALYTE_LABELS[a], result) for a, result in tested],
                },
            )
        )
    panels = []
    for panel in selection.liver_panels:
        values = [
            (
                _LIVER_LABELS[name],
                getattr(panel, name),
                getattr(panel, uln),
                unit,
                getattr(panel, name) > getattr(panel, uln),
            )
            for name, uln, _, _, unit in codes.LIVER_VALUES
        ]
        panels.append(
            Row(
                [str(panel.pk), *(ids.part_id(panel.pk, name) for name, *_ in codes.LIVER_VALUES)],
                {"collected_on": panel.collected_on, "values": values},
            )
        )
    plans = []
    for case in selection.cases:
        goals = [g for g in selection.goals if g.case_id == case.pk]
        if goals:
            plans.append(
                Row(
                    [ids.care_plan_id(case.pk)],
                    {
                        "opened_on": case.opened_on,
                        "goals": [
                            Row(
                                [str(g.pk)],
                                {
                                    "problem": g.problem,
                                    "goal": g.goal,
                                    "interventions": g.interventions,
                                    "target_date": g.target_date,
                                    "status": g.get_status_display(),
                                    "review_date": g.review_date,
                                },
                            )
                            for g in goals
                        ],
                    },
                )
            )
    counseling = [
        Row(
            [str(note.pk)],
            {"when": timezone.localtime(note.written_at), "author": _signed(note.author), "text": note.text},
        )
        for note in selection.counseling_notes
    ]
    return {
        "notice": codes.PART2_NOTICE,
        "facts": facts,
        "patient": Row([str(patient.pk)], {"record": patient}),
        "demographics": selection.has("demographics"),
        "categories": [CATEGORY_LABELS[c] for c in CATEGORY_LABELS if c in selection.categories],
        "cases": cases,
        "diagnoses": diagnoses,
        "show_diagnoses": selection.has("diagnoses"),
        "clinical_events": clinical_events,
        "visits": [_visit_row(v, selection.with_notes) for v in selection.visits],
        "show_visits": selection.with_visits,
        "with_notes": selection.with_notes,
        "assessments": assessments,
        "show_assessments": selection.has("assessments"),
        "medications": medications,
        "show_medications": selection.has("medications"),
        "screens": screens,
        "show_screens": selection.has("drug_screens"),
        "panels": panels,
        "show_panels": selection.has("liver_panels"),
        "plans": plans,
        "show_plans": selection.has("treatment_plan"),
        "counseling": counseling,
        "show_counseling": selection.has("counseling_notes"),
        "consent": _consent_summary(consent) if consent is not None else None,
    }


def _answer(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _consent_summary(consent: Any) -> Row:
    recipients = list(consent.recipients.all()) if hasattr(consent.recipients, "all") else consent.recipients
    return Row(
        [str(consent.pk)],
        {
            "kind": getattr(consent, "get_kind_display", lambda: consent.kind)(),
            "signed_on": consent.signed_on,
            "signer": consent.signer_name,
            "expires_on": consent.expires_on,
            "expiration_event": getattr(consent, "expiration_event", ""),
            "information": [CATEGORY_LABELS.get(c, "All records") for c in consent.information],
            "purposes": list(consent.purposes),
            "recipients": [getattr(r, "name", None) or str(r) for r in recipients],
            "form_version": getattr(consent, "form_version", ""),
        },
    )


def printable_bytes(
    selection: ReleaseSelection, *, consent: Any = None, facts: ReleaseFacts, stylesheet_url: str
) -> bytes:
    """The summary as the exact bytes sent (and hashed)."""
    context = printable_context(selection, consent=consent, facts=facts)
    context["stylesheet_url"] = stylesheet_url
    return render_to_string("cases/release/printable.html", context).encode()
