"""Writes on access: break-glass grants (SPEC section 2): asking for one, in one step, by exact MRN or by exact
full name and date of birth with the reason; a supervisor ending one early and recording their review of it.

Every attempt is audited, matched or not. The reason is checked before anything is looked up, so a request with a
bad reason answers the same whether or not the patient exists; a miss and an ambiguous match answer the same
`NotFound`. Who may break glass for whom is the policy's (`clinic.policy.may_break_glass`); a grant counts as
caseload only while it runs (`clinic.policy.caseload_q`), and nothing done under it outlasts it."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cases.errors import Conflict, NotFound, ValidationFailed
from cases.models import BreakGlassGrant, Patient
from clinic.audit import audit_record
from clinic.inputguard import clean_text
from clinic.models import AuditAction, AuditOutcome, User
from clinic.policy import Capability, may_break_glass, patients_in_scope


class AlreadyInReach(ValidationFailed):
    """The patient asked for is already in the user's reach: no grant (nothing is revealed: they see the record)."""

    def __init__(self, patient: Patient) -> None:
        super().__init__("You already have access to this patient.", field="patient")
        self.patient = patient


REASON_MIN_LENGTH = 10
NOT_FOUND = "No patient matches exactly; check the MRN, or the full name and date of birth."


def check_break_glass_reason(reason: object) -> str:
    """The reason as stored, or `ValidationFailed` naming `reason` (checked before any lookup)."""
    reason = clean_text(reason, field="reason")
    if len(reason) < REASON_MIN_LENGTH:
        raise ValidationFailed(
            f"Say why you need access (at least {REASON_MIN_LENGTH} characters).", field="reason"
        )
    return reason


def break_glass_grant(*, user: User, patient: Patient, reason: str) -> BreakGlassGrant:
    """Give `user` emergency access to `patient` for `BREAK_GLASS_HOURS`. The caller checks the policy
    (`clinic.policy.may_break_glass`); the grant itself is flagged for supervisor review."""
    reason = check_break_glass_reason(reason)
    now = timezone.now()
    with transaction.atomic():
        grant = BreakGlassGrant.objects.create(
            user=user,
            patient=patient,
            reason=reason,
            granted_at=now,
            expires_at=now + dt.timedelta(hours=settings.BREAK_GLASS_HOURS),
        )
        audit_record(
            user=user,
            action="break_glass",
            object_type="patient",
            object_id=patient.pk,
            patient_id=patient.pk,
            data_category="access",
            detail={"reason": reason},
        )
    return grant


def _printable(text: str, limit: int) -> str:
    return "".join(char for char in text if char.isprintable())[:limit]


def break_glass_find_and_grant(
    *,
    user: User,
    reason: str,
    mrn: str = "",
    first_name: str = "",
    last_name: str = "",
    date_of_birth: dt.date | None = None,
) -> BreakGlassGrant:
    """Break glass in one step: the exact MRN, or the exact first name, last name and date of birth, with the
    reason. One match among the patients the user may break glass for gets a grant; none, or more than one
    (ambiguous), is `NotFound`, audited as a denied `break_glass` attempt. A patient the user already reaches is a
    `ValidationFailed` naming `patient` (nothing is revealed: they already see the record)."""
    mrn = clean_text(mrn, field="mrn", max_length=16)
    first_name = clean_text(first_name, field="first_name", max_length=100)
    last_name = clean_text(last_name, field="last_name", max_length=100)
    by_name = bool(first_name or last_name or date_of_birth)
    if mrn and by_name:
        raise ValidationFailed("Give the MRN, or the name and date of birth, not both.", field="mrn")
    if not mrn and not (first_name and last_name and date_of_birth):
        field = (
            "mrn"
            if not by_name
            else ("first_name" if not first_name else "last_name" if not last_name else "date_of_birth")
        )
        raise ValidationFailed(
            "Give the exact MRN, or the exact first name, last name and date of birth.", field=field
        )
    reason = check_break_glass_reason(reason)
    candidates = patients_in_scope(user, Capability.BREAK_GLASS)
    if mrn:
        matches = list(candidates.filter(mrn__iexact=mrn)[:2])
    else:
        same_person = {
            "first_name__iexact": first_name,
            "last_name__iexact": last_name,
            "date_of_birth": date_of_birth,
        }
        matches = list(candidates.filter(**same_person)[:2])
    if len(matches) != 1:
        audit_record(  # guessing shows in the audit log
            user=user,
            action=AuditAction.BREAK_GLASS,
            object_type="patient",
            object_id=_printable(mrn, 64),
            outcome=AuditOutcome.DENIED,
            data_category="access",
            detail={
                "by": "mrn" if mrn else "name_and_date_of_birth",
                "found": False,
                "ambiguous": len(matches) > 1,
                "reason": reason,
                **(
                    {}
                    if mrn
                    else {
                        "first_name": _printable(first_name, 100),
                        "last_name": _printable(last_name, 100),
                        "date_of_birth": date_of_birth.isoformat() if date_of_birth else "",
                    }
                ),
            },
        )
        raise NotFound(NOT_FOUND, field="mrn" if mrn else "non_field_errors")
    patient = matches[0]
    if not may_break_glass(user, patient):
        raise AlreadyInReach(patient)
    return break_glass_grant(user=user, patient=patient, reason=reason)


def break_glass_end(*, grant: BreakGlassGrant, actor: User) -> BreakGlassGrant:
    """End a running grant now (a supervisor's decision; the caller checks the policy). Its holder's reads stop at
    once: the grant counts only until `expires_at`, which is brought forward to now."""
    with transaction.atomic():
        current = BreakGlassGrant.objects.select_for_update().get(pk=grant.pk)
        now = timezone.now()
        if current.ended_at is not None or current.expires_at <= now:
            raise Conflict("This grant has already ended.", field="non_field_errors")
        planned = current.expires_at
        current.ended_at = now
        current.ended_by = actor
        current.expires_at = max(now, current.granted_at + dt.timedelta(microseconds=1))
        current.save(update_fields=["ended_at", "ended_by", "expires_at"])
        audit_record(
            user=actor,
            action=AuditAction.GRANT_END,
            object_type="break_glass_grant",
            object_id=current.pk,
            patient_id=current.patient_id,
            data_category="access",
            detail={
                "holder": current.user.username,
                "expires_at_before": planned.isoformat(),
                "expires_at_after": current.expires_at.isoformat(),
            },
        )
    return current


def break_glass_review(*, grant: BreakGlassGrant, actor: User, verdict: str, note: str) -> BreakGlassGrant:
    """Record a supervisor's review of a grant: `appropriate` or `inappropriate`, with a note. Once per grant, and
    never by its own holder."""
    if verdict not in BreakGlassGrant.Verdict.values:
        raise ValidationFailed(
            "The verdict is one of: " + ", ".join(BreakGlassGrant.Verdict.values) + ".", field="verdict"
        )
    note = clean_text(note, field="note")
    if not note:
        raise ValidationFailed("Add a note to the review.", field="note")
    if grant.user_id == actor.pk:
        raise ValidationFailed("No one reviews their own break-glass access.", field="non_field_errors")
    with transaction.atomic():
        current = BreakGlassGrant.objects.select_for_update().get(pk=grant.pk)
        if current.reviewed_at is not None:
            raise Conflict("This grant has already been reviewed.", field="non_field_errors")
        current.reviewed_at = timezone.now()
        current.reviewed_by = actor
        current.review_verdict = verdict
        current.review_note = note
        current.save(update_fields=["reviewed_at", "reviewed_by", "review_verdict", "review_note"])
        audit_record(
            user=actor,
            action=AuditAction.GRANT_REVIEW,
            object_type="break_glass_grant",
            object_id=current.pk,
            patient_id=current.patient_id,
            data_category="access",
            detail={"holder": current.user.username, "verdict": verdict, "note": note},
        )
    return current
