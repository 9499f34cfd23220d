"""Writes on patients: registration (with a new MRN), demographic edits, entered-in-error."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from cases.errors import ValidationFailed
from cases.models import MrnAllocation, Patient, format_mrn
from cases.services.validation import full_clean_or_raise
from clinic.audit import audit_record
from clinic.inputguard import SHORT_TEXT_MAX_LENGTH, clean_text, clean_texts
from clinic.models import User

# The demographic fields a client may write; everything else (id, MRN, timestamps) is server-owned.
DEMOGRAPHIC_FIELDS = (
    "first_name", "last_name", "preferred_name", "date_of_birth", "sex_at_birth", "gender_identity", "phone",
    "email", "address_line1", "address_line2", "city", "state", "postal_code", "county",
    "emergency_contact_name", "emergency_contact_relationship", "emergency_contact_phone",
)  # fmt: skip

OLDEST_PLAUSIBLE_AGE_YEARS = 120


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February, in a year that has none
        return day.replace(year=day.year - years, day=28)


def _check_date_of_birth(date_of_birth: dt.date) -> None:
    today = timezone.localdate()
    if date_of_birth > today:
        raise ValidationFailed("Date of birth cannot be in the future.", field="date_of_birth")
    if date_of_birth < _years_before(today, OLDEST_PLAUSIBLE_AGE_YEARS):
        raise ValidationFailed(
            f"Date of birth is more than {OLDEST_PLAUSIBLE_AGE_YEARS} years ago.", field="date_of_birth"
        )


def _strip(data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(DEMOGRAPHIC_FIELDS)
    if unknown:
        raise ValidationFailed(
            f"Unknown or read-only field: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0]
        )
    clean_texts(
        data, dict.fromkeys(DEMOGRAPHIC_FIELDS, SHORT_TEXT_MAX_LENGTH)
    )  # NUL bytes; lengths: the model
    return {key: value.strip() if isinstance(value, str) else value for key, value in data.items()}


def mrn_allocate(count: int = 1) -> list[str]:
    """Issue `count` new medical record numbers. Rows are never deleted, so a number is never issued twice."""
    allocations = MrnAllocation.objects.bulk_create([MrnAllocation() for _ in range(count)])
    if any(
        allocation.id is None for allocation in allocations
    ):  # pragma: no cover - backends without RETURNING
        raise RuntimeError("The database did not return the allocated MRN serials.")
    return [format_mrn(allocation.id) for allocation in allocations]


def patient_register(*, actor: User | None, data: Mapping[str, Any]) -> Patient:
    """Register a patient with a newly generated MRN. Duplicate warnings are the caller's business
    (`cases.selectors.patient_possible_duplicates`), since staff may confirm a true namesake."""
    fields = _strip(data)
    patient = Patient(**fields, created_by=actor)
    patient.mrn = "pending"  # replaced below, inside the transaction, once the row is known to be valid
    full_clean_or_raise(patient, exclude=["mrn"])
    _check_date_of_birth(patient.date_of_birth)
    with transaction.atomic():
        patient.mrn = mrn_allocate()[0]
        patient.save(force_insert=True)
        audit_record(
            user=actor,
            action="create",
            object_type="patient",
            object_id=patient.pk,
            patient_id=patient.pk,
            data_category="demographics",
        )
    return patient


def patient_update(*, patient: Patient, actor: User | None, data: Mapping[str, Any]) -> Patient:
    """Change demographic fields; validates the whole record before writing."""
    fields = _strip(data)
    if not fields:
        return patient
    for name, value in fields.items():
        setattr(patient, name, value)
    full_clean_or_raise(patient)
    if "date_of_birth" in fields:
        _check_date_of_birth(patient.date_of_birth)
    with transaction.atomic():
        patient.save(update_fields=[*fields, "updated_at"])
        audit_record(
            user=actor,
            action="update",
            object_type="patient",
            object_id=patient.pk,
            patient_id=patient.pk,
            data_category="demographics",
            detail={"fields": sorted(fields)},
        )
    return patient


def patient_mark_entered_in_error(*, patient: Patient, actor: User | None, reason: str) -> Patient:
    """Hide a record registered by mistake from lists. It is never deleted (records retention)."""
    reason = clean_text(reason, field="reason")
    if not reason:
        raise ValidationFailed("A reason is required to mark a record as entered in error.", field="reason")
    with transaction.atomic():
        Patient.objects.select_for_update(no_key=True).filter(
            pk=patient.pk
        ).first()  # serializes with case_open
        if patient.cases.filter(status="open").exists():
            raise ValidationFailed(
                "Close the patient's open case before marking the record entered in error."
            )
        patient.entered_in_error = True
        patient.entered_in_error_reason = reason
        patient.save(update_fields=["entered_in_error", "entered_in_error_reason", "updated_at"])
        audit_record(
            user=actor,
            action="update",
            object_type="patient",
            object_id=patient.pk,
            patient_id=patient.pk,
            data_category="demographics",
            detail={"entered_in_error": True},
        )
    return patient
