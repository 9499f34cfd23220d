"""Writes on access: break-glass grants."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cases.errors import ValidationFailed
from cases.models import BreakGlassGrant, Patient
from clinic.audit import audit_record
from clinic.models import User


def break_glass_grant(*, user: User, patient: Patient, reason: str) -> BreakGlassGrant:
    """Give `user` emergency access to `patient` for `BREAK_GLASS_HOURS`. The caller checks the policy
    (`clinic.policy.may_break_glass`); the grant itself is flagged for supervisor review."""
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ValidationFailed("Say why you need access (at least 10 characters).", field="reason")
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
