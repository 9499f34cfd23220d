"""The stage workflow (SPEC 3.3): the transition table, its rules, and the one service that moves a case."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from cases.errors import ConcurrentChange, OpenUrgentAlerts, TransitionNotAllowed, ValidationFailed
from cases.models import Alert, Assessment, Case, StageTransition
from clinic.audit import audit_record
from clinic.formats import show_datetime
from clinic.inputguard import clean_text
from clinic.models import User

Stage = Case.Stage

# A precondition looks at the case (and when the move takes effect) and returns why it is not met, or None.
Precondition = Callable[[Case, dt.datetime], str | None]


def has_completed_dsm5_checklist(case: Case, effective_at: dt.datetime) -> str | None:
    """Assessment -> treatment needs a DSM-5 SUD checklist on this case, recorded no later than the move."""
    completed = Assessment.objects.filter(
        case=case,
        instrument=Assessment.Instrument.DSM5_SUD,
        entered_in_error=False,
        administered_at__lte=effective_at,
    ).exists()
    return (
        None if completed else "Record a completed DSM-5 substance use disorder checklist before treatment."
    )


@dataclass(frozen=True)
class TransitionRule:
    reason_required: bool = False
    discharge_reason_required: bool = False
    precondition: Precondition | None = None


TRANSITIONS: dict[tuple[str, str], TransitionRule] = {
    (Stage.INTAKE, Stage.ASSESSMENT): TransitionRule(),
    (Stage.ASSESSMENT, Stage.TREATMENT): TransitionRule(precondition=has_completed_dsm5_checklist),
    (Stage.TREATMENT, Stage.RECOVERY): TransitionRule(),
    (Stage.RECOVERY, Stage.TREATMENT): TransitionRule(reason_required=True),
    **{
        (stage, Stage.DISCHARGED): TransitionRule(discharge_reason_required=True)
        for stage in Case.OPEN_STAGES
    },
}


# Moves that end active treatment: made with urgent alerts unresolved only when the mover confirms having seen them
# (SPEC 3.3 and 5; the API's 409 `open_urgent_alerts`, the chart's confirmation).
GATED_STAGES = frozenset({Stage.RECOVERY, Stage.DISCHARGED})


def open_urgent_alerts(case: Case) -> QuerySet[Alert]:
    """The case's urgent alerts not yet resolved (open or acknowledged), oldest first."""
    return (
        Alert.objects.filter(case_id=case.pk, severity=Alert.Severity.URGENT)
        .exclude(status=Alert.Status.RESOLVED)
        .order_by("raised_at", "id")
    )


def _check_open_urgent_alerts(case: Case, to_stage: str, confirmed: bool) -> list[Alert]:
    """The urgent alerts the move leaves unresolved; refused (`OpenUrgentAlerts`) unless `confirmed`."""
    if to_stage not in GATED_STAGES:
        return []
    urgent = list(open_urgent_alerts(case))
    if urgent and not confirmed:
        names = "; ".join(
            f"{alert.get_kind_display()} ({alert.get_status_display().lower()})" for alert in urgent
        )
        raise OpenUrgentAlerts(
            f"{len(urgent)} urgent alert{'s' if len(urgent) > 1 else ''} unresolved on this case: {names}. Review "
            "them, or confirm that the case moves with them still unresolved.",
            alerts=[
                {"id": str(a.pk), "kind": a.kind, "message": a.message, "status": a.status} for a in urgent
            ],
        )
    return urgent


def allowed_next_stages(case: Case) -> list[str]:
    """The stages the table allows from the case's current stage (preconditions not yet checked)."""
    return [to for (frm, to) in TRANSITIONS if frm == case.stage]


def _effective_time(effective_at: dt.datetime | None, previous: StageTransition | None) -> dt.datetime:
    now = timezone.now()
    if effective_at is None:
        effective_at = now
    if timezone.is_naive(effective_at):
        raise ValidationFailed("Give the effective time with a time zone offset.", field="effective_at")
    if effective_at > now:
        raise ValidationFailed("The effective time cannot be in the future.", field="effective_at")
    if previous is not None and effective_at < previous.effective_at:
        raise ValidationFailed(
            "The effective time cannot be before the previous stage change "
            f"({show_datetime(previous.effective_at)}).",
            field="effective_at",
        )
    return effective_at


def case_transition(
    *,
    case: Case,
    to_stage: str,
    actor: User,
    reason: str = "",
    discharge_reason: str | None = None,
    effective_at: dt.datetime | None = None,
    confirm_open_alerts: bool = False,
) -> StageTransition:
    """Move `case` to `to_stage`, recording the history row in the same transaction.

    A move to recovery or discharge while urgent alerts are unresolved raises `OpenUrgentAlerts` (409, naming
    them) unless `confirm_open_alerts`; a confirmed move records the alerts it passed over in its audit event.

    `case` is the version the caller saw. If another change landed since (or lands concurrently), this raises
    `ConcurrentChange`: the row lock serializes writers on PostgreSQL and the version check makes the loser
    fail on every backend, so the history stays one clean chain.
    """
    reason = clean_text(reason, field="reason")
    if to_stage not in Stage.values:
        raise ValidationFailed(f"Unknown stage {to_stage!r}.", field="to_stage")
    with transaction.atomic():
        current = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
        if current.version != case.version:
            raise ConcurrentChange("The case was changed by someone else; reload it and try again.")
        rule = TRANSITIONS.get((current.stage, to_stage))
        if rule is None:
            raise TransitionNotAllowed(
                f"A case cannot move from {current.stage} to {to_stage}.", field="to_stage"
            )
        if rule.reason_required and not reason:
            raise ValidationFailed("A reason is required for this stage change.", field="reason")
        if rule.discharge_reason_required:
            if discharge_reason not in Case.DischargeReason.values:
                raise ValidationFailed(
                    "A discharge reason is required: one of " + ", ".join(Case.DischargeReason.values) + ".",
                    field="discharge_reason",
                )
        elif discharge_reason:
            raise ValidationFailed(
                "A discharge reason is only given when discharging.", field="discharge_reason"
            )
        previous = current.stage_history.order_by("-sequence").first()
        when = _effective_time(effective_at, previous)
        if rule.precondition is not None:
            unmet = rule.precondition(current, when)
            if unmet:
                raise TransitionNotAllowed(unmet, field="to_stage")
        passed_over = _check_open_urgent_alerts(current, to_stage, confirm_open_alerts)

        changes: dict[str, object] = {
            "stage": to_stage,
            "version": F("version") + 1,
            "updated_at": timezone.now(),
        }
        if to_stage == Stage.DISCHARGED:
            closed_on = timezone.localdate(when)
            changes |= {
                "status": Case.Status.CLOSED,
                "closed_on": closed_on,
                "discharge_reason": discharge_reason,
            }
        updated = Case.objects.filter(pk=case.pk, version=case.version).update(**changes)
        if updated != 1:
            raise ConcurrentChange("The case was changed by someone else; reload it and try again.")
        try:
            with transaction.atomic():
                transition = StageTransition.objects.create(
                    case=current,
                    sequence=(previous.sequence if previous else 0) + 1,
                    from_stage=current.stage,
                    to_stage=to_stage,
                    effective_at=when,
                    by=actor,
                    reason=reason,
                    discharge_reason=discharge_reason if rule.discharge_reason_required else None,
                )
        except IntegrityError as exc:
            raise ConcurrentChange("The case was changed by someone else; reload it and try again.") from exc
        audit_record(
            user=actor,
            action="transition",
            object_type="case",
            object_id=current.pk,
            patient_id=current.patient_id,
            data_category="case",
            detail={"from": current.stage, "to": to_stage}
            | (
                {"confirmed_open_urgent_alerts": [{"id": str(a.pk), "kind": a.kind} for a in passed_over]}
                if passed_over
                else {}
            ),
        )

    case.refresh_from_db(fields=["stage", "status", "closed_on", "discharge_reason", "version", "updated_at"])
    return transition
