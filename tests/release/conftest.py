"""A rich patient record for the release tests: two cases, visits with notes and vitals, every instrument, the
rest of the clinical record, and an entered-in-error checklist that must never be released."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.models import Assessment, Case, Medication, Patient, Visit, VisitAddendum
from cases.release.selection import CATEGORIES, COUNSELING_NOTES
from clinic.models import User
from tests.factories import (
    ClosedCaseFactory,
    DrugScreenFactory,
    LiverPanelFactory,
    PatientFactory,
    SignedVisitFactory,
    TreatmentGoalFactory,
    VisitFactory,
    case_in_stage,
    responses_totalling,
)

ALL_BUT_NOTES = frozenset(CATEGORIES) - {COUNSELING_NOTES}
NOTE_TEXT = "Discussed triggers at work; patient reports sleeping six hours."
ADDENDUM_TEXT = "Correction: sleeping five hours, not six."


@dataclass
class RichRecord:
    patient: Patient
    current: Case
    earlier: Case
    signed_visit: Visit
    error_checklist: Assessment


def assessment(
    case: Case, instrument: str, total: int, by: User, days_ago: int, **extra: object
) -> Assessment:
    from cases.instruments.scoring import score_responses

    responses = responses_totalling(instrument, total)
    _, score = score_responses(instrument, responses)
    return Assessment.objects.create(
        case=case,
        instrument=instrument,
        responses=responses,
        total=score.total,
        band=score.band,
        administered_at=timezone.now() - dt.timedelta(days=days_ago),
        by=by,
        **extra,
    )


@pytest.fixture
def rich(clinician) -> RichRecord:
    patient = PatientFactory(
        first_name="Dana",
        last_name="Whitfield",
        preferred_name="Dee",
        email="dana@example.org",
        address_line1="12 Elm St",
        city="Lawrence",
        postal_code="66044",
        emergency_contact_name="Sam Whitfield",
        emergency_contact_relationship="Brother",
        emergency_contact_phone="785-555-0199",
    )
    earlier = ClosedCaseFactory(
        patient=patient,
        primary_clinician=clinician,
        opened_on=timezone.localdate() - dt.timedelta(days=400),
    )
    current = case_in_stage(
        Case.Stage.TREATMENT, actor=clinician, patient=patient, primary_clinician=clinician
    )
    signed = SignedVisitFactory(
        case=current,
        clinician=clinician,
        subjective=NOTE_TEXT,
        plan="Continue weekly counseling.",
        bp_systolic=152,
        bp_diastolic=94,
        heart_rate=88,
        weight_kg=Decimal("81.5"),
        craving=4,
        kratom_days_used_30=3,
        withdrawal_symptoms=["insomnia"],
    )
    VisitAddendum.objects.create(visit=signed, author=clinician, text=ADDENDUM_TEXT)
    SignedVisitFactory(
        case=earlier, clinician=clinician, scheduled_at=timezone.now() - dt.timedelta(days=390)
    )
    VisitFactory(case=current, clinician=clinician, status=Visit.Status.NO_SHOW)
    VisitFactory(case=current, clinician=clinician)  # scheduled, not yet held
    for instrument, total in (("phq9", 12), ("gad7", 7), ("cows", 14), ("sows", 20)):
        assessment(current, instrument, total, clinician, days_ago=3)
    error = assessment(
        current,
        "phq9",
        27,
        clinician,
        days_ago=2,
        entered_in_error=True,
        entered_in_error_reason="Wrong patient",
        entered_in_error_at=timezone.now(),
        entered_in_error_by=clinician,
    )
    Medication.objects.create(
        case=current,
        medication=Medication.Name.BUPRENORPHINE_NALOXONE,
        dose="8 mg/2 mg",
        frequency="once daily",
        start_date=current.opened_on,
        prescriber="Dr. Ames",
        created_by=clinician,
    )
    DrugScreenFactory(case=current, created_by=clinician, mitragynine="positive", fentanyl="negative")
    LiverPanelFactory(case=current, created_by=clinician, alt=Decimal("130.0"))
    TreatmentGoalFactory(case=current, created_by=clinician)
    TreatmentGoalFactory(case=current, created_by=clinician, status="met", goal="Attend weekly counseling")
    return RichRecord(patient, current, earlier, signed, error)
