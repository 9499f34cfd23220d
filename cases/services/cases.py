"""Writes on cases: opening one at intake, editing its profile, assigning its clinicians."""

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.errors import OpenCaseExists, ValidationFailed
from cases.models import CareTeamMember, Case, Patient, StageTransition
from cases.services.validation import check_clinical_staff, full_clean_or_raise
from clinic.audit import audit_record
from clinic.models import User

# The case fields a client may write outside the workflow; stage, status and closing are the workflow's.
PROFILE_FIELDS = (
    "referral_source", "kratom_form", "kratom_daily_grams", "kratom_years_used", "reasons_for_use",
    "other_substances",
)  # fmt: skip


def _check_profile(data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(
            f"Unknown or read-only field: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0]
        )
    fields = dict(data)
    if "reasons_for_use" in fields:
        reasons = fields["reasons_for_use"] or []
        if not isinstance(reasons, list | tuple) or any(r not in Case.ReasonForUse.values for r in reasons):
            raise ValidationFailed(
                "Reasons for use must be a list of: " + ", ".join(Case.ReasonForUse.values) + ".",
                field="reasons_for_use",
            )
        fields["reasons_for_use"] = sorted(set(reasons))
    if isinstance(fields.get("other_substances"), str):
        fields["other_substances"] = fields["other_substances"].strip()
    return fields


def _check_clinicians(primary_clinician: User | None, care_team: Iterable[User]) -> None:
    for field, user in [("primary_clinician", primary_clinician), *(("care_team", u) for u in care_team)]:
        if user is not None:
            check_clinical_staff(user, field=field)


def _opening_moment(opened_on: dt.date) -> dt.datetime:
    """The intake row's effective time: now for a case opened today, else the start of that local day."""
    if opened_on == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(dt.datetime.combine(opened_on, dt.time.min))


def case_open(
    *,
    patient: Patient,
    actor: User | None,
    referral_source: str,
    opened_on: dt.date | None = None,
    primary_clinician: User | None = None,
    care_team: Iterable[User] = (),
    profile: Mapping[str, Any] | None = None,
) -> Case:
    """Open a case at intake. Raises `OpenCaseExists` if the patient already has one (checked under a lock on
    the patient, and backed by the database's one-open-case constraint for any writer that skips this)."""
    care_team = list(dict.fromkeys(care_team))
    opened_on = opened_on or timezone.localdate()
    if opened_on > timezone.localdate():
        raise ValidationFailed("A case cannot be opened in the future.", field="opened_on")
    if patient.entered_in_error:
        raise ValidationFailed("This patient record was entered in error.", field="patient")
    _check_clinicians(primary_clinician, care_team)
    case = Case(
        patient=patient,
        referral_source=referral_source,
        opened_on=opened_on,
        primary_clinician=primary_clinician,
        created_by=actor,
        **_check_profile(profile or {}),
    )
    full_clean_or_raise(case, exclude=["patient", "care_team"])
    try:
        with transaction.atomic():
            locked = Patient.objects.select_for_update(no_key=True).get(pk=patient.pk)
            if locked.entered_in_error:  # marked while we were validating
                raise ValidationFailed("This patient record was entered in error.", field="patient")
            if Case.objects.filter(patient=patient, status=Case.Status.OPEN).exists():
                raise OpenCaseExists("The patient already has an open case.", field="patient")
            last_closed = (
                Case.objects.filter(patient=patient, closed_on__isnull=False).order_by("-closed_on").first()
            )
            if last_closed is not None and last_closed.closed_on and opened_on < last_closed.closed_on:
                raise ValidationFailed(
                    f"A readmission cannot open before the previous case closed ({last_closed.closed_on}).",
                    field="opened_on",
                )
            case.save(force_insert=True)
            CareTeamMember.objects.bulk_create([CareTeamMember(case=case, user=user) for user in care_team])
            StageTransition.objects.create(
                case=case,
                sequence=1,
                from_stage=None,
                to_stage=Case.Stage.INTAKE,
                effective_at=_opening_moment(opened_on),
                by=actor,
                reason="Case opened",
            )
            audit_record(
                user=actor,
                action="create",
                object_type="case",
                object_id=case.pk,
                patient_id=patient.pk,
                data_category="case",
            )
    except IntegrityError as exc:
        if Case.objects.filter(patient=patient, status=Case.Status.OPEN).exists():
            raise OpenCaseExists("The patient already has an open case.", field="patient") from exc
        raise
    return case


def case_update_profile(*, case: Case, actor: User | None, data: Mapping[str, Any]) -> Case:
    """Edit the referral source and presenting substance profile."""
    fields = _check_profile(data)
    if not fields:
        return case
    for name, value in fields.items():
        setattr(case, name, value)
    full_clean_or_raise(case, exclude=["patient", "care_team"])
    with transaction.atomic():
        case.save(update_fields=[*fields, "updated_at"])
        audit_record(
            user=actor,
            action="update",
            object_type="case",
            object_id=case.pk,
            patient_id=case.patient_id,
            data_category="substance_history",
            detail={"fields": sorted(fields)},
        )
    return case


def case_assign_clinicians(
    *, case: Case, actor: User | None, primary_clinician: User | None, care_team: Iterable[User]
) -> Case:
    """Set the primary clinician and replace the care team (supervisors only; the caller checks the policy)."""
    care_team = list(dict.fromkeys(care_team))
    _check_clinicians(primary_clinician, care_team)
    with transaction.atomic():
        Case.objects.select_for_update(no_key=True).filter(
            pk=case.pk
        ).first()  # one assignment at a time per case
        case.primary_clinician = primary_clinician
        case.save(update_fields=["primary_clinician", "updated_at"])
        keep = {user.pk for user in care_team}
        CareTeamMember.objects.filter(case=case).exclude(user_id__in=keep).delete()
        existing = set(CareTeamMember.objects.filter(case=case).values_list("user_id", flat=True))
        CareTeamMember.objects.bulk_create(
            [CareTeamMember(case=case, user=user) for user in care_team if user.pk not in existing]
        )
        audit_record(
            user=actor,
            action="update",
            object_type="case",
            object_id=case.pk,
            patient_id=case.patient_id,
            data_category="case",
            detail={"fields": ["primary_clinician", "care_team"]},
        )
    return case
