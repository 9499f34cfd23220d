"""Writes on visits: scheduling, attendance (with its rules and corrections), the clinical note, signing and
addenda.

Attendance rules (issue 15; days are clinic days, America/Chicago), each refused with the code it is named by:
- `check_in_not_visit_day`: a visit is marked attended on its own clinic day, never before it; after it only as a
  late entry, with the reason (the note of a visit nobody checked in must still be writable);
- `no_show_before_start`: a no-show only after the visit's scheduled start;
- a status once recorded changes only as a correction, with a reason (`correction_reason_required`), on the clinic
  day that status was recorded or on the visit's own day, never later (`correction_day_passed`); it is audited as
  `attendance_correction`;
- `note_signed`: nothing changes once the visit's note is signed.
Each recorded or corrected status is a `VisitEvent` row: the visit's history.

Scheduling: a booking, or a move (a new time, length or clinician), that overlaps another scheduled or attended
visit of the same patient or the same clinician is refused as a `SchedulingConflict` (409 `scheduling_conflict`,
with the visits it meets) unless `confirm_conflicts`. The patient's row and the clinicians' rows are locked first
(lock order: patient, clinicians by id, then the visit), so two bookings at once see each other. A move to a new
time (`visit_reschedule`, or `scheduled_at` in an update) keeps the visit, needs a reason
(`reschedule_reason_required`), only of a visit still scheduled (`visit_not_scheduled`), and is a `VisitEvent`
(`reschedule`: old and new time, who, why) audited as an `update` with the same detail.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cases.errors import AttendanceRefused, Conflict, NoteLocked, SchedulingConflict, ValidationFailed
from cases.models import DEFAULT_DURATIONS, Case, Patient, Visit, VisitAddendum, VisitEvent
from cases.models.visits import VisitEventKind, VisitStatus
from cases.services.alerts import alerts_check, alerts_check_attendance, alerts_recheck_engagement
from cases.services.validation import check_clinical_staff, full_clean_or_raise
from clinic.audit import audit_record
from clinic.formats import show_date, show_datetime
from clinic.inputguard import NOTE_TEXT_MAX_LENGTH, clean_text, clean_texts
from clinic.models import AuditAction, User

SCHEDULING_FIELDS = Visit.SCHEDULING_FIELDS
MOVE_FIELDS = ("clinician", "scheduled_at", "duration_minutes")  # what makes a visit meet others
REASON_MAX_LENGTH = 500
LONGEST_VISIT = dt.timedelta(
    minutes=480
)  # the duration's upper bound: how far back an overlapping visit starts
OCCUPYING = (VisitStatus.SCHEDULED, VisitStatus.ATTENDED)  # a cancelled or missed visit frees its time
NOTE_FIELDS = ("subjective", "objective", "assessment", "plan")


def _clean_clinical(data: Mapping[str, Any]) -> dict[str, Any]:
    clean_texts(data, dict.fromkeys(data, NOTE_TEXT_MAX_LENGTH))
    fields = {key: value.strip() if isinstance(value, str) else value for key, value in data.items()}
    if "withdrawal_symptoms" in fields:
        symptoms = fields["withdrawal_symptoms"] or []
        if not isinstance(symptoms, list | tuple) or any(
            s not in Visit.WithdrawalSymptom.values for s in symptoms
        ):
            raise ValidationFailed(
                "Withdrawal symptoms must be a list of: " + ", ".join(Visit.WithdrawalSymptom.values) + ".",
                field="withdrawal_symptoms",
            )
        fields["withdrawal_symptoms"] = sorted(set(symptoms))
    return fields


def _check_blood_pressure(visit: Visit) -> None:
    """The pair the `visit_blood_pressure_plausible` constraint enforces, refused with the field named (the
    constraint's own error names no field)."""
    systolic, diastolic = visit.bp_systolic, visit.bp_diastolic
    if systolic is None and diastolic is None:
        return
    if systolic is None or diastolic is None:
        missing = "bp_systolic" if systolic is None else "bp_diastolic"
        raise ValidationFailed("Record both blood pressure numbers, or neither.", field=missing)
    if systolic <= diastolic:
        raise ValidationFailed("Systolic pressure must be above diastolic pressure.", field="bp_systolic")


def _check_aware(scheduled_at: dt.datetime) -> None:
    if timezone.is_naive(scheduled_at):
        raise ValidationFailed("Give the visit time with a time zone offset.", field="scheduled_at")


def _audit(visit: Visit, actor: User | None, action: str, category: str, **detail: object) -> None:
    audit_record(
        user=actor,
        action=action,
        object_type="visit",
        object_id=visit.pk,
        patient_id=visit.case.patient_id,
        data_category=category,
        detail=detail,
    )


def _has_clinical_content(visit: Visit) -> bool:
    return any(getattr(visit, name) not in (None, "", []) for name in Visit.CLINICAL_FIELDS)


def visit_schedule(
    *,
    case: Case,
    actor: User | None,
    clinician: User,
    visit_type: str,
    scheduled_at: dt.datetime,
    duration_minutes: int | None = None,
    confirm_conflicts: bool = False,
) -> Visit:
    """Book a visit. Without a duration, the visit type's usual one (`DEFAULT_DURATIONS`). An overlap with the
    patient's or the clinician's other visits is refused (`SchedulingConflict`) unless `confirm_conflicts`."""
    if not case.is_open:
        raise ValidationFailed("Visits can only be scheduled on an open case.", field="case")
    check_clinical_staff(clinician, field="clinician")
    _check_aware(scheduled_at)
    if timezone.localdate(scheduled_at) < case.opened_on:
        raise ValidationFailed("A visit cannot be scheduled before the case opened.", field="scheduled_at")
    visit = Visit(
        case=case,
        clinician=clinician,
        visit_type=visit_type,
        scheduled_at=scheduled_at,
        duration_minutes=duration_minutes or DEFAULT_DURATIONS.get(visit_type, 50),
        created_by=actor,
    )
    full_clean_or_raise(visit, exclude=["case", "clinician", "signed_by", "created_by"])
    with transaction.atomic():
        _lock_calendars(case.patient_id, [clinician.pk])
        if not confirm_conflicts:
            _refuse_conflicts(visit, patient_id=case.patient_id)
        visit.save(force_insert=True)
        _audit(visit, actor, "create", "visit_schedule")
    return visit


def visit_reschedule(
    *,
    visit: Visit,
    actor: User | None,
    scheduled_at: dt.datetime,
    reason: str,
    duration_minutes: int | None = None,
    clinician: User | None = None,
    confirm_conflicts: bool = False,
) -> Visit:
    """Move a scheduled visit to a new time (and length or clinician): the same visit, its move recorded."""
    data: dict[str, Any] = {"scheduled_at": scheduled_at}
    if duration_minutes is not None:
        data["duration_minutes"] = duration_minutes
    if clinician is not None:
        data["clinician"] = clinician
    return visit_update(
        visit=visit, actor=actor, data=data, reason=reason, confirm_conflicts=confirm_conflicts
    )


def visit_conflicts(
    *, patient_id: Any, clinician_id: Any, start: dt.datetime, minutes: int, exclude: Any = None
) -> list[Visit]:
    """The scheduled or attended visits of the patient or the clinician whose time overlaps [start, start +
    minutes), by time. Touching end to start is no overlap."""
    end = start + dt.timedelta(minutes=minutes)
    candidates = (
        Visit.objects.filter(
            status__in=OCCUPYING, scheduled_at__lt=end, scheduled_at__gt=start - LONGEST_VISIT
        )
        .filter(Q(case__patient_id=patient_id) | Q(clinician_id=clinician_id))
        .exclude(pk=exclude)
        .select_related("case", "clinician")
        .order_by("scheduled_at", "id")
    )
    return [v for v in candidates if v.scheduled_at + dt.timedelta(minutes=v.duration_minutes) > start]


def _lock_calendars(patient_id: Any, clinician_ids: list[Any]) -> None:
    """Serialise bookings that could meet: the patient's row, then the clinicians' rows by id."""
    Patient.objects.select_for_update(no_key=True).filter(pk=patient_id).values_list("pk").first()
    list(
        User.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(set(clinician_ids), key=str))
        .order_by("pk")
        .values_list("pk")
    )


def _refuse_conflicts(visit: Visit, *, patient_id: Any) -> None:
    clashes = visit_conflicts(
        patient_id=patient_id,
        clinician_id=visit.clinician_id,
        start=visit.scheduled_at,
        minutes=visit.duration_minutes,
        exclude=visit.pk if not visit._state.adding else None,
    )
    if not clashes:
        return
    rows = []
    for other in clashes:
        same_patient = other.case.patient_id == patient_id
        rows.append(
            {
                "id": str(other.pk),
                "scheduled_at": other.scheduled_at.isoformat(),
                "duration_minutes": other.duration_minutes,
                "visit_type": other.visit_type,
                "status": other.status,
                "clinician": str(other.clinician_id),
                "clinician_name": str(other.clinician),
                # Another patient of the clinician is not named: the booker may not be allowed to know them.
                "patient": str(patient_id) if same_patient else None,
                "same_patient": same_patient,
                "same_clinician": other.clinician_id == visit.clinician_id,
            }
        )
    who = " and ".join(
        part
        for part, hit in (
            ("the patient", any(r["same_patient"] for r in rows)),
            ("the clinician", any(r["same_clinician"] for r in rows)),
        )
        if hit
    )
    raise SchedulingConflict(
        f"This time overlaps {len(rows)} other visit{'s' if len(rows) > 1 else ''} of {who}. "
        "Choose another time, or book anyway.",
        conflicts=rows,
    )


def _locked(visit: Visit) -> Visit:
    """The visit as stored, its row locked until the transaction ends (not its case's: `of`), read with its case
    (the audit's patient, the case's opening day) in the same query."""
    return Visit.objects.select_for_update(no_key=True, of=("self",)).select_related("case").get(pk=visit.pk)


def visit_update(
    *,
    visit: Visit,
    actor: User | None,
    data: Mapping[str, Any],
    reason: str = "",
    confirm_conflicts: bool = False,
) -> Visit:
    """Change scheduling details, attendance and the clinical note. A signed visit is locked (`NoteLocked`).

    A change of `status` follows the attendance rules, a new time is a move (module docstring; `reason` is the
    correction's or the move's; `confirm_conflicts` books over an overlap). Clinical
    fields can only be written on an attended visit (the same update may mark it attended), and an attended visit
    with a note cannot be turned back into a no-show or cancellation.
    """
    allowed = {*SCHEDULING_FIELDS, "status", *Visit.CLINICAL_FIELDS}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationFailed(
            f"Unknown or read-only field: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0]
        )
    fields = _clean_clinical(data)
    if not fields:
        return visit
    if "clinician" in fields:
        check_clinical_staff(fields["clinician"], field="clinician")
    if "scheduled_at" in fields:
        _check_aware(fields["scheduled_at"])
    with transaction.atomic():
        moves = any(name in fields for name in MOVE_FIELDS)
        if moves:
            clinician_ids = [visit.clinician_id, *([fields["clinician"].pk] if "clinician" in fields else [])]
            _lock_calendars(visit.case.patient_id, clinician_ids)
        current = _locked(visit)
        if current.is_signed:
            raise NoteLocked(
                "This visit's note is signed; add an addendum instead.",
                field="non_field_errors",
                code="note_signed",
            )
        recorded = Visit(pk=current.pk, status=current.status, scheduled_at=current.scheduled_at)
        had_note = _has_clinical_content(current)
        for name, value in fields.items():
            setattr(current, name, value)
        writes_clinical = any(name in Visit.CLINICAL_FIELDS for name in fields)
        if current.status != Visit.Status.ATTENDED:
            if writes_clinical and _has_clinical_content(current):
                raise ValidationFailed(
                    "Clinical details can only be recorded for an attended visit.", field="status"
                )
            if had_note:
                raise ValidationFailed(
                    "This visit has clinical notes; it cannot be marked as not attended.", field="status"
                )
        attendance = None
        if "status" in fields and fields["status"] != recorded.status:
            attendance = _attendance_change(recorded, fields["status"], reason=reason)
        if "scheduled_at" in fields and timezone.localdate(current.scheduled_at) < current.case.opened_on:
            raise ValidationFailed(
                "A visit cannot be scheduled before the case opened.", field="scheduled_at"
            )
        move = _move(recorded, current, fields, reason=reason)
        _check_blood_pressure(current)
        # The clinician (when it changes) was read as clinical staff above: no query to find it again.
        full_clean_or_raise(current, exclude=["case", "clinician", "signed_by", "created_by"])
        if moves and current.status == Visit.Status.SCHEDULED and not confirm_conflicts:
            _refuse_conflicts(current, patient_id=current.case.patient_id)
        current.save(update_fields=[*fields, "updated_at"])
        category = (
            "clinical_note" if any(name in Visit.CLINICAL_FIELDS for name in fields) else "visit_schedule"
        )
        for event in (attendance, move):
            if event is not None:
                event.by = actor
                event.save(force_insert=True)
        if attendance is not None and attendance.kind == VisitEvent.Kind.CORRECTION:
            _audit(
                current,
                actor,
                AuditAction.ATTENDANCE_CORRECTION,
                "visit_schedule",
                from_status=attendance.from_status,
                to_status=attendance.to_status,
                reason=attendance.reason,
            )
            if set(fields) - {"status"}:
                _audit(current, actor, "update", category, fields=sorted(set(fields) - {"status"}))
        elif move is not None:
            _audit(
                current,
                actor,
                "update",
                category,
                fields=sorted(fields),
                kind="reschedule",
                from_scheduled_at=timezone.localtime(recorded.scheduled_at).isoformat(),
                to_scheduled_at=timezone.localtime(current.scheduled_at).isoformat(),
                reason=move.reason,
            )
        else:
            _audit(current, actor, "update", category, fields=sorted(fields))
        alerts_check(current, actor=actor, changed=fields)
        if fields.get("status") == Visit.Status.NO_SHOW:
            alerts_check_attendance(current, actor=actor)
        elif attendance is not None and (
            attendance.from_status == Visit.Status.NO_SHOW or attendance.to_status == Visit.Status.ATTENDED
        ):  # a no-show undone, or an attendance recorded (late) inside an engagement gap already alerted on
            alerts_recheck_engagement(current, actor=actor)
    for name in [*fields, "updated_at"]:
        setattr(visit, name, getattr(current, name))
    return visit


def _move(recorded: Visit, current: Visit, fields: Mapping[str, Any], *, reason: str) -> VisitEvent | None:
    """The history row for a new time, or the rule that refuses it (module docstring)."""
    if "scheduled_at" not in fields or fields["scheduled_at"] == recorded.scheduled_at:
        return None
    if recorded.status != Visit.Status.SCHEDULED:
        raise Conflict(
            f"Only a scheduled visit can be moved; this one is {recorded.get_status_display().lower()}.",
            field="scheduled_at",
            code="visit_not_scheduled",
        )
    reason = clean_text(reason, field="reason", max_length=REASON_MAX_LENGTH)
    if not reason:
        raise ValidationFailed(
            "Give the reason for the move.", field="reason", code="reschedule_reason_required"
        )
    return VisitEvent(
        visit=recorded,
        kind=VisitEvent.Kind.RESCHEDULE,
        from_scheduled_at=recorded.scheduled_at,
        to_scheduled_at=current.scheduled_at,
        reason=reason,
    )


def visit_record_attendance(*, visit: Visit, actor: User | None, status: str, reason: str = "") -> Visit:
    """Record (or correct, with a reason) whether the patient came: the attendance rules of the module docstring.
    The API's `attendance` action, its `PATCH` of `status`, and the pages' attendance buttons all come here."""
    return visit_update(visit=visit, actor=actor, data={"status": status}, reason=reason)


def clinic_day(moment: dt.datetime) -> dt.date:
    """The clinic's calendar day (America/Chicago, the active time zone) of an instant."""
    return timezone.localdate(moment)


ATTENDANCE_KINDS = (VisitEventKind.ATTENDANCE, VisitEventKind.CORRECTION)


def _status_recorded_on(visit: Visit) -> dt.date:
    """The clinic day the visit's present status was recorded: its latest attendance event (the prefetched
    `events` when there are), else (a status set before the history was kept) the visit's own day."""
    prefetched = getattr(visit, "_prefetched_objects_cache", {}).get("events")
    if prefetched is not None:
        last = max((e.at for e in prefetched if e.kind in ATTENDANCE_KINDS), default=None)
    else:
        last = (
            VisitEvent.objects.filter(visit_id=visit.pk, kind__in=ATTENDANCE_KINDS)
            .order_by("-at")
            .values_list("at", flat=True)
            .first()
        )
    return clinic_day(last or visit.scheduled_at)


def attendance_late_entry(visit: Visit) -> bool:
    """Whether the visit is still scheduled after its day: its attendance is recorded now as a late entry, with a
    reason (the pages offer that form instead of the check-in buttons)."""
    return visit.status == Visit.Status.SCHEDULED and clinic_day(visit.scheduled_at) < clinic_day(
        timezone.now()
    )


def attendance_correction_open(visit: Visit) -> bool:
    """Whether the visit's recorded attendance may be corrected now (the pages offer the control only then)."""
    if visit.status == Visit.Status.SCHEDULED or visit.is_signed:
        return False
    return clinic_day(timezone.now()) in (clinic_day(visit.scheduled_at), _status_recorded_on(visit))


def _attendance_change(current: Visit, to_status: str, *, reason: str) -> VisitEvent:
    """The history row for moving `current` (the visit as stored: its id, status and time) to `to_status`, or
    the attendance rule that refuses it."""
    if to_status not in Visit.Status.values:
        raise ValidationFailed("Choose one of: " + ", ".join(Visit.Status.values) + ".", field="status")
    now = timezone.now()
    today, visit_day = clinic_day(now), clinic_day(current.scheduled_at)
    reason = clean_text(reason, field="reason", max_length=REASON_MAX_LENGTH)
    correction = current.status != Visit.Status.SCHEDULED
    if correction:
        if not reason:
            raise ValidationFailed(
                f"This visit is already marked {current.get_status_display().lower()}: a correction needs a "
                "reason.",
                field="reason",
                code="correction_reason_required",
            )
        if today not in (visit_day, _status_recorded_on(current)):
            raise AttendanceRefused(
                "Attendance can only be corrected on the day it was recorded or on the visit's own day.",
                field="status",
                code="correction_day_passed",
            )
    if to_status == Visit.Status.ATTENDED and (today < visit_day or (today > visit_day and not reason)):
        late = (
            " To record that the patient came, give the reason for the late entry."
            if today > visit_day
            else ""
        )
        raise AttendanceRefused(
            f"A visit can only be checked in on its day ({visit_day:%a} {show_date(visit_day)}).{late}",
            field="status",
            code="check_in_not_visit_day",
        )
    if to_status == Visit.Status.NO_SHOW and now <= current.scheduled_at:
        raise AttendanceRefused(
            "A no-show can only be recorded after the visit's start "
            f"({show_datetime(current.scheduled_at, weekday=True)}).",
            field="status",
            code="no_show_before_start",
        )
    return VisitEvent(
        visit=current,
        kind=VisitEvent.Kind.CORRECTION if correction else VisitEvent.Kind.ATTENDANCE,
        from_status=current.status,
        to_status=to_status,
        reason=reason,
    )


def visit_sign(*, visit: Visit, actor: User) -> Visit:
    """Sign and lock the note. A second signature is a conflict."""
    with transaction.atomic():
        current = _locked(visit)
        if current.is_signed:
            raise NoteLocked("This visit's note is already signed.")
        if current.status != Visit.Status.ATTENDED:
            raise ValidationFailed("Only the note of an attended visit can be signed.", field="status")
        if not any(getattr(current, name) for name in NOTE_FIELDS):
            raise ValidationFailed("Write the note before signing it.", field="subjective")
        now = timezone.now()
        updated = Visit.objects.filter(pk=visit.pk, signed_at__isnull=True).update(
            signed_at=now, signed_by=actor, updated_at=now
        )
        if updated != 1:  # pragma: no cover - the row lock makes this unreachable on PostgreSQL
            raise NoteLocked("This visit's note is already signed.")
        _audit(current, actor, "sign", "clinical_note")
    visit.signed_at, visit.signed_by, visit.updated_at = now, actor, now
    return visit


def visit_add_addendum(*, visit: Visit, actor: User, text: str) -> VisitAddendum:
    """Append a correction to a signed note; the note itself never changes."""
    text = clean_text(text, field="text", max_length=NOTE_TEXT_MAX_LENGTH)
    if not text:
        raise ValidationFailed("The addendum needs text.", field="text")
    if not visit.is_signed:
        raise ValidationFailed("Addenda are for signed notes; edit the unsigned note instead.", field="visit")
    with transaction.atomic():
        addendum = VisitAddendum.objects.create(visit=visit, author=actor, text=text)
        _audit(visit, actor, "addendum", "clinical_note")
    return addendum
