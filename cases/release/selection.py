"""One selection of a patient's records by released category (SPEC sections 12 and 13), read in a fixed number of
queries whatever the size of the record. The FHIR Bundle and the printable summary are both made from it, so they
list the same records.

What each category brings (docs/release.md):
- always: the patient's identification (MRN, legal name, date of birth), without which no recipient can file the
  records; `demographics` adds the rest of the demographic record (sex, address, telephone, preferred name);
- any category but `demographics` and `counseling_notes`: the patient's cases (episodes of care, with their stage
  history), the context the other records point at;
- `attendance`: the attended visits (date, type, clinician, duration); `visit_notes`: the SOAP notes of those
  visits with their addenda, vitals and reported kratom use (a note implies its visit, so it brings the visit too);
- `diagnoses`: the DSM-5 diagnosis of each case (the latest valid checklist meeting two or more criteria), with
  the remission specifier, and the clinical events (seizures, overdoses, emergency visits, hospitalizations: the
  problems and events on the record, SPEC 3.6); `assessments`: every valid instrument response with its total and band;
- `medications`, `drug_screens`, `liver_panels`, `treatment_plan` (the goals): those records;
- `counseling_notes` (SPEC 2.11): only alone, and only the notes the releasing author wrote.

Records marked entered-in-error are never released.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from cases.models import (
    Assessment,
    Case,
    ClinicalEvent,
    DrugScreen,
    LiverPanel,
    Medication,
    Patient,
    StageTransition,
    TreatmentGoal,
    Visit,
    VisitAddendum,
)
from cases.models.part2 import InformationCategory
from cases.remission import ICD10_DISPLAY, diagnosis_code, with_remission

Category = InformationCategory
DEMOGRAPHICS = Category.DEMOGRAPHICS.value
DIAGNOSES = Category.DIAGNOSES.value
ASSESSMENTS = Category.ASSESSMENTS.value
VISIT_NOTES = Category.VISIT_NOTES.value
MEDICATIONS = Category.MEDICATIONS.value
DRUG_SCREENS = Category.DRUG_SCREENS.value
LIVER_PANELS = Category.LIVER_PANELS.value
TREATMENT_PLAN = Category.TREATMENT_PLAN.value
ATTENDANCE = Category.ATTENDANCE.value
COUNSELING_NOTES = Category.COUNSELING_NOTES.value

# SPEC section 12's information categories (the consents' own codes, `all_records` expanded), in the order a summary
# lists them.
CATEGORIES: tuple[str, ...] = tuple(code for code in Category.values if code != Category.ALL_RECORDS)
CATEGORY_LABELS: dict[str, str] = {
    code: str(label) for code, label in Category.choices if code != Category.ALL_RECORDS
}
# The categories that need the cases as their context.
_CASE_CATEGORIES = frozenset(CATEGORIES) - {DEMOGRAPHICS, COUNSELING_NOTES}


@dataclass(frozen=True)
class Diagnosis:
    """The DSM-5 diagnosis of one case: the checklist that establishes it, its severity, and any remission."""

    case: Case
    checklist: Assessment
    severity: str
    remission: str | None

    @property
    def icd10(self) -> str:
        return diagnosis_code(self.severity, self.remission) or ""

    @property
    def icd10_display(self) -> str:
        return ICD10_DISPLAY[self.icd10]

    @property
    def text(self) -> str:
        words = f"Kratom use disorder (other substance use disorder, DSM-5), {self.severity}"
        return f"{words}, in {self.remission} remission" if self.remission else words

    @property
    def recorded_on(self) -> dt.date:
        return timezone.localdate(self.checklist.administered_at)


@dataclass
class ReleaseSelection:
    """The records one release carries. Lists are empty for categories not released."""

    patient: Patient
    categories: frozenset[str]
    cases: list[Case] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    clinical_events: list[ClinicalEvent] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)
    medications: list[Medication] = field(default_factory=list)
    drug_screens: list[DrugScreen] = field(default_factory=list)
    liver_panels: list[LiverPanel] = field(default_factory=list)
    goals: list[TreatmentGoal] = field(default_factory=list)
    counseling_notes: list[Any] = field(default_factory=list)

    def has(self, category: str) -> bool:
        return category in self.categories

    @property
    def with_visits(self) -> bool:
        return bool(self.categories & {ATTENDANCE, VISIT_NOTES})

    @property
    def with_notes(self) -> bool:
        return VISIT_NOTES in self.categories


def release_selection(
    *, patient: Patient, categories: Iterable[str], counseling_notes: Iterable[Any] = ()
) -> ReleaseSelection:
    """The patient's records in `categories` (codes of `CATEGORIES`; the caller has checked them against the basis).

    `counseling_notes` are the notes to release under a `counseling_notes` consent, already limited to their
    author by the caller (cases.services.release). About ten queries for a whole record, whatever its size."""
    chosen = frozenset(categories)
    unknown = chosen - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown release categories: {sorted(unknown)}")
    selection = ReleaseSelection(patient=patient, categories=chosen)
    if COUNSELING_NOTES in chosen:
        selection.counseling_notes = list(counseling_notes)
    if not chosen & _CASE_CATEGORIES:
        return selection

    cases = Case.objects.filter(patient=patient)
    if DIAGNOSES in chosen:
        cases = with_remission(cases)  # the diagnosis and remission of cases/remission.py (the chart's)
    selection.cases = list(
        cases.select_related("primary_clinician")
        .prefetch_related(Prefetch("stage_history", queryset=StageTransition.objects.order_by("sequence")))
        .order_by("opened_on", "created_at")
    )
    case_ids = [case.pk for case in selection.cases]
    if selection.with_visits:
        visits = (
            Visit.objects.filter(case_id__in=case_ids, status=Visit.Status.ATTENDED)
            .select_related("clinician", "signed_by")
            .order_by("scheduled_at", "id")
        )
        if selection.with_notes:
            visits = visits.prefetch_related(
                Prefetch(
                    "addenda", queryset=VisitAddendum.objects.select_related("author").order_by("created_at")
                )
            )
        selection.visits = list(visits)
    if chosen & {ASSESSMENTS, DIAGNOSES}:
        assessments = Assessment.objects.filter(case_id__in=case_ids, entered_in_error=False)
        if ASSESSMENTS not in chosen:
            assessments = assessments.filter(instrument=Assessment.Instrument.DSM5_SUD)
        valid = list(assessments.select_related("by").order_by("administered_at", "recorded_at", "id"))
        if ASSESSMENTS in chosen:
            selection.assessments = valid
        if DIAGNOSES in chosen:
            selection.diagnoses = _diagnoses(selection.cases, valid)
    if DIAGNOSES in chosen:
        selection.clinical_events = list(
            ClinicalEvent.objects.filter(case_id__in=case_ids, entered_in_error=False)
            .select_related("created_by")
            .order_by("occurred_on", "created_at", "id")
        )
    if MEDICATIONS in chosen:
        selection.medications = list(
            Medication.objects.filter(case_id__in=case_ids).order_by("start_date", "created_at", "id")
        )
    if DRUG_SCREENS in chosen:
        selection.drug_screens = list(
            DrugScreen.objects.filter(case_id__in=case_ids).order_by("collected_on", "created_at", "id")
        )
    if LIVER_PANELS in chosen:
        selection.liver_panels = list(
            LiverPanel.objects.filter(case_id__in=case_ids).order_by("collected_on", "created_at", "id")
        )
    if TREATMENT_PLAN in chosen:
        selection.goals = list(
            TreatmentGoal.objects.filter(case_id__in=case_ids).order_by("created_at", "id")
        )
    return selection


def _diagnoses(cases: list[Case], assessments: list[Assessment]) -> list[Diagnosis]:
    """Per case, the checklist that establishes the diagnosis and the remission specifier, as the chart shows
    them (`cases.remission.with_remission`)."""
    by_id = {assessment.pk: assessment for assessment in assessments}
    return [
        Diagnosis(case, checklist, str(checklist.band), case.remission)  # type: ignore[attr-defined]
        for case in cases
        if (checklist := by_id.get(case.dsm5_diagnosis_id)) is not None  # type: ignore[attr-defined]
    ]
