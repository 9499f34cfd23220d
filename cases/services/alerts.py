"""Alerts (SPEC section 5): the rules as data, raised in the same transaction as the data that warrants them,
plus acknowledge / resolve and the time-based rules that `manage.py raise_alerts` runs."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from cases.errors import Conflict, ValidationFailed
from cases.measures import BloodPressureClass, blood_pressure_class
from cases.models import (
    Alert,
    Assessment,
    Case,
    DrugScreen,
    LiverPanel,
    StageTransition,
    TreatmentGoal,
    Visit,
)
from clinic.audit import audit_record
from clinic.models import User

Kind, Severity = Alert.Kind, Alert.Severity

ENGAGEMENT_GAP_DAYS = 30
PLAN_REVIEW_DAYS = 90


@dataclass(frozen=True)
class AlertRule:
    kind: str
    severity: str
    source: type  # the model whose saving is checked
    fires: Callable[[Any], bool]
    message: Callable[[Any], str]


def _bp(visit: Visit) -> BloodPressureClass | None:
    return blood_pressure_class(visit.bp_systolic, visit.bp_diastolic)


def _liver_flags(panel: LiverPanel) -> bool:
    return (
        panel.alt > 3 * panel.alt_uln
        or panel.ast > 3 * panel.ast_uln
        or panel.total_bilirubin > 2 * panel.total_bilirubin_uln
    )


def _liver_message(panel: LiverPanel) -> str:
    return (
        f"Liver panel {panel.collected_on}: ALT {panel.alt} (ULN {panel.alt_uln}), AST {panel.ast} "
        f"(ULN {panel.ast_uln}), total bilirubin {panel.total_bilirubin} (ULN {panel.total_bilirubin_uln})."
    )


RULES: tuple[AlertRule, ...] = (
    AlertRule(
        Kind.SUICIDE_RISK, Severity.URGENT, Assessment,
        lambda a: a.instrument == "phq9" and a.responses.get("q9", 0) > 0,
        lambda a: f"PHQ-9 item 9 (thoughts of self-harm) answered {a.responses['q9']}: assess suicide risk today.",
    ),
    AlertRule(
        Kind.WITHDRAWAL_MODERATE, Severity.WARNING, Assessment,
        lambda a: a.instrument == "cows" and a.total >= 13,
        lambda a: f"COWS {a.total} ({a.band}): moderate or worse withdrawal.",
    ),
    AlertRule(
        Kind.HYPERTENSIVE_CRISIS, Severity.URGENT, Visit,
        lambda v: _bp(v) == BloodPressureClass.CRISIS,
        lambda v: f"Blood pressure {v.bp_systolic}/{v.bp_diastolic}: hypertensive crisis (over 180/120).",
    ),
    AlertRule(
        Kind.ELEVATED_BP, Severity.WARNING, Visit,
        lambda v: _bp(v) == BloodPressureClass.STAGE_2,
        lambda v: f"Blood pressure {v.bp_systolic}/{v.bp_diastolic}: stage 2 hypertension (140/90 or higher).",
    ),
    AlertRule(Kind.LIVER_INJURY, Severity.WARNING, LiverPanel, _liver_flags, _liver_message),
    AlertRule(
        Kind.FENTANYL_POSITIVE, Severity.URGENT, DrugScreen,
        lambda s: s.fentanyl == DrugScreen.Result.POSITIVE,
        lambda s: f"Urine screen {s.collected_on} positive for fentanyl: overdose risk; offer naloxone.",
    ),
)  # fmt: skip


def alert_raise(
    *, case: Case, kind: str, severity: str, message: str, source: Any = None, at: dt.datetime | None = None
) -> Alert | None:
    """Raise an alert unless one for the same cause is still unresolved on the case (then None)."""
    if Alert.objects.filter(case=case, kind=kind).exclude(status=Alert.Status.RESOLVED).exists():
        return None
    try:
        with transaction.atomic():  # the partial unique index settles a race between two writers
            return Alert.objects.create(
                case=case,
                patient_id=case.patient_id,
                kind=kind,
                severity=severity,
                message=message,
                source_type=source._meta.model_name if source is not None else "",
                source_id=source.pk if source is not None else None,
                raised_at=at or timezone.now(),
            )
    except IntegrityError:
        return None


def alerts_check(obj: Any) -> list[Alert]:
    """Walk the rules for the saved object; call inside the transaction that saved it."""
    raised = []
    case: Case | None = getattr(obj, "case", None)
    for rule in RULES:
        if case is not None and isinstance(obj, rule.source) and rule.fires(obj):
            alert = alert_raise(
                case=case, kind=rule.kind, severity=rule.severity, message=rule.message(obj), source=obj
            )
            if alert is not None:
                raised.append(alert)
    return raised


def alerts_check_attendance(visit: Visit) -> Alert | None:
    """Two no-shows in a row (next to each other among the visits that had an outcome; cancellations and visits
    still scheduled are skipped) is an engagement risk."""
    if visit.status != Visit.Status.NO_SHOW:
        return None
    outcomes = (
        Visit.objects.filter(case_id=visit.case_id)
        .exclude(pk=visit.pk)
        .exclude(status__in=[Visit.Status.SCHEDULED, Visit.Status.CANCELLED])
        .values_list("status", flat=True)
    )
    # Attendance is often marked late and out of order: the run may be completed by the visit before or after.
    before = outcomes.filter(scheduled_at__lte=visit.scheduled_at).order_by("-scheduled_at").first()
    after = outcomes.filter(scheduled_at__gte=visit.scheduled_at).order_by("scheduled_at").first()
    if Visit.Status.NO_SHOW not in (before, after):
        return None
    return alert_raise(
        case=visit.case,
        kind=Kind.ENGAGEMENT_RISK,
        severity=Severity.WARNING,
        message="Two no-shows in a row: reach out to re-engage.",
        source=visit,
    )


def _settle(alert: Alert, *, actor: User, note: str, to_status: str) -> Alert:
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("A note is required.", field="note")
    with transaction.atomic():
        current = Alert.objects.select_for_update().get(pk=alert.pk)
        if current.status == Alert.Status.RESOLVED:
            raise Conflict("This alert is already resolved.")
        if to_status == Alert.Status.ACKNOWLEDGED and current.status == Alert.Status.ACKNOWLEDGED:
            raise Conflict("This alert is already acknowledged.")
        now = timezone.now()
        if to_status == Alert.Status.ACKNOWLEDGED:
            fields = {"acknowledged_at": now, "acknowledged_by": actor, "acknowledge_note": note}
        else:
            fields = {"resolved_at": now, "resolved_by": actor, "resolve_note": note}
            if current.acknowledged_at is None:  # resolving implies having seen it
                fields |= {"acknowledged_at": now, "acknowledged_by": actor}
        for name, value in {**fields, "status": to_status}.items():
            setattr(current, name, value)
        current.save(update_fields=[*fields, "status"])
        audit_record(
            user=actor,
            action="update",
            object_type="alert",
            object_id=current.pk,
            patient_id=current.patient_id,
            data_category="alert",
            detail={"status": to_status},
        )
    return current


def alert_acknowledge(*, alert: Alert, actor: User, note: str) -> Alert:
    return _settle(alert, actor=actor, note=note, to_status=Alert.Status.ACKNOWLEDGED)


def alert_resolve(*, alert: Alert, actor: User, note: str) -> Alert:
    return _settle(alert, actor=actor, note=note, to_status=Alert.Status.RESOLVED)


def _treatment_since() -> Any:
    """When each case last entered treatment (a subquery on Case)."""
    return (
        StageTransition.objects.filter(case=OuterRef("pk"), to_stage=Case.Stage.TREATMENT)
        .order_by("-sequence")
        .values("effective_at")[:1]
    )


def alerts_raise_periodic(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The time-based rules, for every case in treatment. Idempotent: an unresolved alert is not raised again."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    in_treatment = Case.objects.filter(status=Case.Status.OPEN, stage=Case.Stage.TREATMENT)
    counts = {Kind.ENGAGEMENT_RISK: 0, Kind.PLAN_REVIEW_OVERDUE: 0}

    gap_start = now - dt.timedelta(days=ENGAGEMENT_GAP_DAYS)
    attended_recently = Visit.objects.filter(
        case=OuterRef("pk"), status=Visit.Status.ATTENDED, scheduled_at__gte=gap_start, scheduled_at__lte=now
    )
    disengaged = (
        in_treatment.annotate(treated_since=_treatment_since())
        .filter(treated_since__lte=gap_start)
        .exclude(Exists(attended_recently))
    )
    for case in disengaged.iterator():
        if alert_raise(
            case=case,
            kind=Kind.ENGAGEMENT_RISK,
            severity=Severity.WARNING,
            message=f"No attended visit in {ENGAGEMENT_GAP_DAYS} days while in treatment.",
            at=now,
        ):
            counts[Kind.ENGAGEMENT_RISK] += 1

    review_cutoff = today - dt.timedelta(days=PLAN_REVIEW_DAYS)
    overdue = in_treatment.annotate(
        last_review=Max("goals__review_date", filter=~Q(goals__status=TreatmentGoal.Status.DISCONTINUED)),
        treated_since=_treatment_since(),
    ).filter(
        Q(last_review__lt=review_cutoff)
        | Q(last_review__isnull=True, treated_since__lt=now - dt.timedelta(days=PLAN_REVIEW_DAYS))
    )
    for case in overdue.iterator():
        last = f"last reviewed {case.last_review}" if case.last_review else "no plan recorded"
        if alert_raise(
            case=case,
            kind=Kind.PLAN_REVIEW_OVERDUE,
            severity=Severity.WARNING,
            message=f"Treatment plan review overdue ({last}; due every {PLAN_REVIEW_DAYS} days).",
            at=now,
        ):
            counts[Kind.PLAN_REVIEW_OVERDUE] += 1
    return {str(kind): n for kind, n in counts.items()}
