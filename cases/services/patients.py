"""Writes on patients: registration (with a new MRN and the duplicate check), demographic edits, entered-in-error,
the front desk's duplicate review."""

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from cases.contact import normalize_phone, normalize_postal_code
from cases.errors import Conflict, ValidationFailed
from cases.models import DuplicateReview, MrnAllocation, Patient, format_mrn
from cases.selectors import patient_near_duplicates
from cases.services.validation import full_clean_or_raise
from clinic.audit import audit_record
from clinic.inputguard import SHORT_TEXT_MAX_LENGTH, clean_text, clean_texts
from clinic.models import AuditAction, AuditDataCategory, AuditOutcome, User
from clinic.policy import Capability, Scope, patients_in_scope, scope

# The demographic fields a client may write; everything else (id, MRN, timestamps) is server-owned.
DEMOGRAPHIC_FIELDS = (
    "first_name", "last_name", "preferred_name", "date_of_birth", "sex_at_birth", "gender_identity", "phone",
    "email", "address_line1", "address_line2", "city", "state", "postal_code", "county",
    "emergency_contact_name", "emergency_contact_relationship", "emergency_contact_phone",
    "may_leave_voicemail", "may_text", "preferred_contact_method",
)  # fmt: skip

OLDEST_PLAUSIBLE_AGE_YEARS = 120


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February, in a year that has none
        return day.replace(year=day.year - years, day=28)


def check_date_of_birth(date_of_birth: dt.date) -> None:
    """Not in the future, not more than `OLDEST_PLAUSIBLE_AGE_YEARS` ago (the page form asks the same)."""
    today = timezone.localdate()
    if date_of_birth > today:
        raise ValidationFailed("Date of birth cannot be in the future.", field="date_of_birth")
    if date_of_birth < _years_before(today, OLDEST_PLAUSIBLE_AGE_YEARS):
        raise ValidationFailed(
            f"Date of birth is more than {OLDEST_PLAUSIBLE_AGE_YEARS} years ago.", field="date_of_birth"
        )


# Stored normalized (cases/contact.py): E.164 phone numbers, 5-digit or ZIP+4 codes.
NORMALIZED_FIELDS: dict[str, Callable[[str], str]] = {
    "phone": normalize_phone,
    "emergency_contact_phone": normalize_phone,
    "postal_code": normalize_postal_code,
}


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


def _normalized(fields: dict[str, Any]) -> dict[str, Any]:
    """The phone numbers and ZIP code in their stored form; a bad one is left as typed, for `_validate` to name."""
    for name, normalize in NORMALIZED_FIELDS.items():
        if isinstance(fields.get(name), str):
            with contextlib.suppress(DjangoValidationError):
                fields[name] = normalize(fields[name])
    return fields


def _validate(
    patient: Patient, *, exclude: list[str] | None = None, date_of_birth_changed: bool = True
) -> None:
    """Every problem of the record at once (SPEC 8: a 400 naming each field; the page shows them together): the
    model's fields, validators and constraints, then the plausible date of birth."""
    errors: dict[str, list[str]] = {}
    try:
        full_clean_or_raise(patient, exclude=exclude, validate_unique=True)  # the MRN is unique
    except ValidationFailed as failed:
        errors.update(failed.errors)
    if date_of_birth_changed and "date_of_birth" not in errors and isinstance(patient.date_of_birth, dt.date):
        try:
            check_date_of_birth(patient.date_of_birth)
        except ValidationFailed as failed:
            errors.update(failed.errors)
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], errors=errors)


def mrn_allocate(count: int = 1) -> list[str]:
    """Issue `count` new medical record numbers. Rows are never deleted, so a number is never issued twice."""
    allocations = MrnAllocation.objects.bulk_create([MrnAllocation() for _ in range(count)])
    if any(
        allocation.id is None for allocation in allocations
    ):  # pragma: no cover - backends without RETURNING
        raise RuntimeError("The database did not return the allocated MRN serials.")
    return [format_mrn(allocation.id) for allocation in allocations]


class PossibleDuplicates(Conflict):
    """Registration stopped before anything was saved: patients the user may see look like the one being
    registered (`shown`, at most `MAX_DUPLICATES_SHOWN`). Sent again with `confirm_not_duplicate`, it goes through."""

    code = "possible_duplicates"

    def __init__(self, shown: list[Patient]) -> None:
        super().__init__(
            "Possible duplicates: a patient with this date of birth and a similar name is already registered. "
            "Open the existing record, or confirm that this is a different person to register anyway.",
            field="possible_duplicates",
        )
        self.shown = shown


MAX_DUPLICATES_SHOWN = 20


def patient_register(
    *, actor: User | None, data: Mapping[str, Any], confirm_not_duplicate: bool = False
) -> Patient:
    """Register a patient with a newly generated MRN, after the duplicate check (SPEC sections 2 and 3.1), for the
    API and the page alike.

    Near-duplicates (`cases.selectors.patient_near_duplicates`: the same date of birth and a similar name) that the
    user may see stop the registration (`PossibleDuplicates`, a read of their identifying fields, audited) until
    the user confirms a different person. Near-duplicates outside the user's scope (a clinician's registration)
    are never revealed: the registration goes through as if there were none, is flagged for the front desk's
    duplicate review (`DuplicateReview`), and each hidden match gets a denied `list` event in its access log."""
    fields = _normalized(_strip(data))
    patient = Patient(**fields, created_by=actor)
    patient.mrn = "pending"  # replaced below, inside the transaction, once the row is known to be valid
    _validate(patient, exclude=["mrn"])
    matches = patient_near_duplicates(
        first_name=patient.first_name, last_name=patient.last_name, date_of_birth=patient.date_of_birth
    )
    shown, hidden = _split_by_scope(actor, matches)
    if shown and not confirm_not_duplicate:
        shown = shown[:MAX_DUPLICATES_SHOWN]
        audit_record(  # the duplicates' identifying fields are shown: a read
            user=actor,
            action=AuditAction.LIST,
            object_type="patient",
            patients_seen=[match.pk for match in shown],
            data_category=AuditDataCategory.DEMOGRAPHICS,
            detail={"possible_duplicates": True},
        )
        raise PossibleDuplicates(shown)
    detail: dict[str, Any] = {}
    if shown:
        detail["confirmed_not_duplicate_of"] = [str(match.pk) for match in shown]
    if hidden:
        detail["flagged_for_duplicate_review"] = True
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
            detail=detail or None,
        )
        if hidden:
            review = DuplicateReview.objects.create(patient=patient, flagged_by=actor)
            review.matches.set(hidden)
            for match in hidden:
                audit_record(
                    user=actor,
                    action=AuditAction.LIST,
                    object_type="patient",
                    object_id=match.pk,
                    patient_id=match.pk,
                    outcome=AuditOutcome.DENIED,
                    data_category=AuditDataCategory.DEMOGRAPHICS,
                    detail={
                        "duplicate_check": "registration",
                        "registered": str(patient.pk),
                        "shown": False,
                        "duplicate_review": str(review.pk),
                    },
                )
    return patient


def _split_by_scope(actor: User | None, matches: list[Patient]) -> tuple[list[Patient], list[Patient]]:
    """The matches the user may see, and the others (one query, none for a user who sees everyone)."""
    if not matches:
        return [], []
    if scope(actor, Capability.READ_DEMOGRAPHICS) is Scope.ALL:
        return matches, []
    visible = set(
        patients_in_scope(actor, Capability.READ_DEMOGRAPHICS)
        .filter(pk__in=[match.pk for match in matches])
        .values_list("pk", flat=True)
    )
    return [m for m in matches if m.pk in visible], [m for m in matches if m.pk not in visible]


def patient_update(*, patient: Patient, actor: User | None, data: Mapping[str, Any]) -> Patient:
    """Change demographic fields; validates the whole record before writing."""
    fields = _normalized(_strip(data))
    if not fields:
        return patient
    for name, value in fields.items():
        setattr(patient, name, value)
    _validate(patient, date_of_birth_changed="date_of_birth" in fields)
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


def duplicate_review_resolve(
    *, review: DuplicateReview, actor: User, outcome: str, note: str
) -> DuplicateReview:
    """The front desk's (or a supervisor's) decision on a flagged registration: `distinct` (a different person;
    nothing else changes) or `entered_in_error` (a duplicate: the new record is marked entered in error, with the
    note as its reason, in the same transaction). Once per review; the caller checks the policy. Locks the patient,
    then the review (the documented order: patient first)."""
    if outcome not in (DuplicateReview.Status.DISTINCT, DuplicateReview.Status.ENTERED_IN_ERROR):
        raise ValidationFailed("The outcome is one of: distinct, entered_in_error.", field="outcome")
    note = clean_text(note, field="note")
    if not note:
        raise ValidationFailed("Add a note saying how you decided.", field="note")
    with transaction.atomic():
        patient = Patient.objects.select_for_update(no_key=True).get(pk=review.patient_id)
        current = DuplicateReview.objects.select_for_update().get(pk=review.pk)
        if current.status != DuplicateReview.Status.OPEN:
            raise Conflict("This registration has already been reviewed.", field="non_field_errors")
        if outcome == DuplicateReview.Status.ENTERED_IN_ERROR:
            patient_mark_entered_in_error(
                patient=patient, actor=actor, reason=f"Duplicate registration: {note}"
            )
        current.status = outcome
        current.resolved_at = timezone.now()
        current.resolved_by = actor
        current.note = note
        current.save(update_fields=["status", "resolved_at", "resolved_by", "note"])
        audit_record(
            user=actor,
            action=AuditAction.UPDATE,
            object_type="duplicate_review",
            object_id=current.pk,
            patient_id=current.patient_id,
            data_category=AuditDataCategory.DEMOGRAPHICS,
            detail={
                "outcome": outcome,
                "note": note,
                "matches": sorted(str(pk) for pk in current.matches.values_list("pk", flat=True)),
            },
        )
    return current
