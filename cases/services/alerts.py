"""Alerts (SPEC section 5): the rules as data, raised in the same transaction as the data that warrants them,
plus acknowledge / resolve and the time-based rules that `manage.py raise_alerts` runs.

Lifecycle (version 2: a new danger is never swallowed). At most one unresolved alert per case and kind; each
triggering record is an evidence entry on it. A new record appends evidence (and returns an acknowledged alert to
`open`); the alert's severity is that of its most severe valid entry and its message describes the newest entry
(and names the most severe one when that is another). A record marked entered in error, or corrected so that it
no longer triggers the rule, strikes its entry; an alert left without valid evidence resolves itself."""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils import timezone

from cases.errors import Conflict, ValidationFailed
from cases.measures import BloodPressureClass, blood_pressure_class, liver_findings
from cases.models import (
    Alert,
    AlertEvidence,
    Assessment,
    Case,
    ClinicalEvent,
    DrugScreen,
    LiverPanel,
    Medication,
    StageTransition,
    TreatmentGoal,
    Visit,
)
from cases.models.alerts import SEVERITY_RANK
from cases.plan_review import PLAN_REVIEW_DAYS, review_due
from clinic.audit import audit_record
from clinic.inputguard import clean_text
from clinic.models import User

Kind, Severity = Alert.Kind, Alert.Severity

ENGAGEMENT_GAP_DAYS = 30
ENTERED_IN_ERROR_NOTE = "source entered in error"
CORRECTED_NOTE = "source corrected; it no longer meets the rule"
UNRESOLVED = (Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED)


def _zero(_: Any) -> Decimal:
    return Decimal(0)


@dataclass(frozen=True)
class AlertRule:
    kind: str
    severity: str  # the rule's usual severity; `severity_of` may raise it for a worse finding
    source: type  # the model whose saving is checked
    fires: Callable[[Any], bool]
    message: Callable[[Any], str]
    # The fields the rule reads: an update touching none of them does not re-check it (None: always checked).
    reads: frozenset[str] | None = None
    # How bad the finding is within the kind (higher is worse), so that the worst valid entry can be named.
    rank: Callable[[Any], Decimal] = _zero
    severity_of: Callable[[Any], str] | None = None

    def severity_for(self, record: Any) -> str:
        return self.severity_of(record) if self.severity_of is not None else self.severity


def _bp(visit: Visit) -> BloodPressureClass | None:
    return blood_pressure_class(visit.bp_systolic, visit.bp_diastolic)


def _over(value: int | None, limit: int) -> Decimal:
    return Decimal((value or 0) - limit)


BP_FIELDS = frozenset({"bp_systolic", "bp_diastolic"})


def _num(value: Decimal) -> str:
    value = Decimal(value)
    return str(value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize())


def _liver_multiples(panel: LiverPanel) -> str:
    found = liver_findings(panel)
    return (
        f"ALT {_num(panel.alt)} ({found.multiple('alt')} x ULN), AST {_num(panel.ast)} ({found.multiple('ast')} x "
        f"ULN), ALP {_num(panel.alp)} ({found.multiple('alp')} x ULN), total bilirubin {_num(panel.total_bilirubin)} "
        f"mg/dL ({found.multiple('bilirubin')} x ULN)"
    )


def _liver_message(panel: LiverPanel) -> str:
    found = liver_findings(panel)
    pattern = f"{found.pattern} pattern (R {found.r_ratio:.1f})" if found.r is not None else "R undefined"
    return (
        f"Liver panel {panel.collected_on} meets drug-induced liver injury criteria: {_liver_multiples(panel)}; "
        f"{pattern}."
    )


def _hys_law_message(panel: LiverPanel) -> str:
    return (
        f"Liver panel {panel.collected_on}: potential Hy's law ({_liver_multiples(panel)}): risk of severe liver "
        "injury; same-day medical review."
    )


def _liver_rank(panel: LiverPanel) -> Decimal:
    found = liver_findings(panel)
    return _rank(max(found.alt_x, found.ast_x, found.alp_x, found.bilirubin_x))


def _hys_law_rank(panel: LiverPanel) -> Decimal:
    return _rank(liver_findings(panel).bilirubin_x)


def _rank(value: Fraction) -> Decimal:
    return min(Decimal(value.numerator) / Decimal(value.denominator), Decimal("99999999")).quantize(
        Decimal("0.0001")
    )


# alpha2_hypotension: low blood pressure or heart rate on an alpha-2 agonist (docs/clinical.md: the lofexidine
# label gives no number; SPEC's cut-offs are kept).
ALPHA2_AGONISTS = (Medication.Name.CLONIDINE, Medication.Name.LOFEXIDINE)
ALPHA2_SYSTOLIC_BELOW = 90
ALPHA2_HEART_RATE_BELOW = 55
ALPHA2_FIELDS = frozenset({"bp_systolic", "heart_rate", "scheduled_at"})


def _below(value: int | None, limit: int) -> bool:
    return value is not None and value < limit


def _alpha2_low(visit: Visit) -> bool:
    return _below(visit.bp_systolic, ALPHA2_SYSTOLIC_BELOW) or _below(
        visit.heart_rate, ALPHA2_HEART_RATE_BELOW
    )


def alpha2_agonists_on(case_id: Any, day: dt.date) -> list[str]:
    """The clonidine or lofexidine current on the case that day (started on or before it, not stopped before it:
    the stop day itself still counts, the last doses still acting)."""
    current = Medication.objects.filter(
        case_id=case_id, medication__in=ALPHA2_AGONISTS, start_date__lte=day
    ).filter(Q(stop_date__isnull=True) | Q(stop_date__gte=day))
    names = dict(Medication.Name.choices)
    return sorted({str(names[code]).lower() for code in current.values_list("medication", flat=True)})


def _alpha2_fires(visit: Visit) -> bool:
    return _alpha2_low(visit) and bool(
        alpha2_agonists_on(visit.case_id, timezone.localdate(visit.scheduled_at))
    )


def _alpha2_message(visit: Visit) -> str:
    low = []
    if _below(visit.bp_systolic, ALPHA2_SYSTOLIC_BELOW):
        low.append(f"systolic {visit.bp_systolic} (under {ALPHA2_SYSTOLIC_BELOW})")
    if _below(visit.heart_rate, ALPHA2_HEART_RATE_BELOW):
        low.append(f"heart rate {visit.heart_rate} (under {ALPHA2_HEART_RATE_BELOW})")
    drugs = " and ".join(alpha2_agonists_on(visit.case_id, timezone.localdate(visit.scheduled_at)))
    return (
        f"Visit {timezone.localdate(visit.scheduled_at)}: {' and '.join(low)} on {drugs}: check orthostatic vitals "
        "and symptoms; reduce, delay or skip the next dose."
    )


def _alpha2_rank(visit: Visit) -> Decimal:
    return Decimal(
        max(
            ALPHA2_SYSTOLIC_BELOW - (visit.bp_systolic or ALPHA2_SYSTOLIC_BELOW),
            ALPHA2_HEART_RATE_BELOW - (visit.heart_rate or ALPHA2_HEART_RATE_BELOW),
        )
    )


# return_to_use: kratom or opioid use found while the case was in long-term recovery.
RETURN_TO_USE_ANALYTES = ("mitragynine", "seven_oh_mitragynine", "opioids", "fentanyl")
RETURN_TO_USE_VISIT_FIELDS = frozenset({"kratom_daily_grams", "scheduled_at"})


def stage_at(case_id: Any, moment: dt.datetime) -> str | None:
    """The case's stage at `moment`, from its history (the latest move in effect then)."""
    return (
        StageTransition.objects.filter(case_id=case_id, effective_at__lte=moment)
        .order_by("-sequence")
        .values_list("to_stage", flat=True)
        .first()
    )


def _in_recovery_on(case_id: Any, day: dt.date) -> bool:
    """In recovery at some moment of the (clinic-local) day: the day's last moment is when the result is known."""
    end = _day_start(day + dt.timedelta(days=1)) - dt.timedelta(microseconds=1)
    return stage_at(case_id, end) == Case.Stage.RECOVERY


def _screen_use(screen: DrugScreen) -> list[str]:
    return [a for a in RETURN_TO_USE_ANALYTES if getattr(screen, a) == DrugScreen.Result.POSITIVE]


def _visit_use(visit: Visit) -> bool:
    return visit.kratom_daily_grams is not None and visit.kratom_daily_grams > 0


_ANALYTE_WORDS = {
    "mitragynine": "mitragynine",
    "seven_oh_mitragynine": "7-hydroxymitragynine",
    "opioids": "opioids",
    "fentanyl": "fentanyl",
}


def _event_message(event: ClinicalEvent) -> str:
    related = {
        "yes": "related to kratom",
        "no": "not related to kratom",
        "unknown": "relation to kratom unknown",
    }
    what = f"{event.get_kind_display()} on {event.occurred_on} ({related[event.related_to_kratom]}"
    if event.kind == ClinicalEvent.Kind.OVERDOSE:
        naloxone = {True: "naloxone given", False: "no naloxone given", None: "naloxone not known"}
        what += f"; {naloxone[event.naloxone_given]}"
        action = "review today: overdose risk; offer a naloxone kit and review the plan."
    else:
        action = "review today: seizure risk (kratom, withdrawal, other substances); consider referral."
    return f"{what}): {action}"


def _cows_severity(assessment: Assessment) -> str:
    return Severity.URGENT if assessment.total >= 25 else Severity.WARNING


RULES: tuple[AlertRule, ...] = (
    AlertRule(
        Kind.SUICIDE_RISK, Severity.URGENT, Assessment,
        lambda a: a.instrument == "phq9" and a.responses.get("q9", 0) > 0,
        lambda a: f"PHQ-9 item 9 (thoughts of self-harm) answered {a.responses['q9']}: assess suicide risk today.",
        rank=lambda a: Decimal(a.responses["q9"]),
    ),
    AlertRule(
        Kind.WITHDRAWAL_MODERATE, Severity.WARNING, Assessment,
        lambda a: a.instrument == "cows" and a.total >= 13,
        lambda a: f"COWS {a.total} ({a.band}): moderate or worse withdrawal.",
        rank=lambda a: Decimal(a.total), severity_of=_cows_severity,
    ),
    AlertRule(
        Kind.HYPERTENSIVE_CRISIS, Severity.URGENT, Visit,
        lambda v: _bp(v) == BloodPressureClass.CRISIS,
        lambda v: f"Blood pressure {v.bp_systolic}/{v.bp_diastolic}: hypertensive crisis (over 180/120).",
        reads=BP_FIELDS, rank=lambda v: max(_over(v.bp_systolic, 180), _over(v.bp_diastolic, 120)),
    ),
    AlertRule(
        Kind.ELEVATED_BP, Severity.WARNING, Visit,
        lambda v: _bp(v) == BloodPressureClass.STAGE_2,
        lambda v: f"Blood pressure {v.bp_systolic}/{v.bp_diastolic}: stage 2 hypertension (140/90 or higher).",
        reads=BP_FIELDS, rank=lambda v: max(_over(v.bp_systolic, 140), _over(v.bp_diastolic, 90)),
    ),
    AlertRule(
        Kind.LIVER_INJURY, Severity.WARNING, LiverPanel, lambda p: liver_findings(p).meets_dili_criteria,
        _liver_message, rank=_liver_rank,
    ),
    AlertRule(
        Kind.HYS_LAW, Severity.URGENT, LiverPanel, lambda p: liver_findings(p).hys_law, _hys_law_message,
        rank=_hys_law_rank,
    ),
    AlertRule(
        Kind.FENTANYL_POSITIVE, Severity.URGENT, DrugScreen,
        lambda s: s.fentanyl == DrugScreen.Result.POSITIVE,
        lambda s: f"Urine screen {s.collected_on} positive for fentanyl: overdose risk; offer naloxone.",
    ),
    AlertRule(
        Kind.ALPHA2_HYPOTENSION, Severity.WARNING, Visit, _alpha2_fires, _alpha2_message,
        reads=ALPHA2_FIELDS, rank=_alpha2_rank,
    ),
    AlertRule(
        Kind.RETURN_TO_USE, Severity.WARNING, DrugScreen,
        lambda s: bool(_screen_use(s)) and _in_recovery_on(s.case_id, s.collected_on),
        lambda s: (
            f"Urine screen {s.collected_on} in recovery positive for "
            f"{', '.join(_ANALYTE_WORDS[a] for a in _screen_use(s))}: return to use; review the plan with the patient."
        ),
    ),
    AlertRule(
        Kind.RETURN_TO_USE, Severity.WARNING, Visit,
        lambda v: _visit_use(v) and stage_at(v.case_id, v.scheduled_at) == Case.Stage.RECOVERY,
        lambda v: (
            f"Visit {timezone.localdate(v.scheduled_at)} in recovery reports kratom use ({_num(v.kratom_daily_grams)} "
            "g a day): return to use; review the plan with the patient."
        ),
        reads=RETURN_TO_USE_VISIT_FIELDS, rank=lambda v: Decimal(v.kratom_daily_grams or 0),
    ),
    AlertRule(
        Kind.SEIZURE, Severity.URGENT, ClinicalEvent,
        lambda e: e.kind == ClinicalEvent.Kind.SEIZURE and not e.entered_in_error, _event_message,
    ),
    AlertRule(
        Kind.OVERDOSE, Severity.URGENT, ClinicalEvent,
        lambda e: e.kind == ClinicalEvent.Kind.OVERDOSE and not e.entered_in_error, _event_message,
    ),
)  # fmt: skip


# --- Evidence ---------------------------------------------------------------------------------------------


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def evidence_time(record: Any) -> dt.datetime:
    """When the record's finding was made: its own time or date (the start of the clinic-local day)."""
    for name in ("administered_at", "scheduled_at"):
        value = getattr(record, name, None)
        if value is not None:
            return value
    for name in ("collected_on", "occurred_on"):
        value = getattr(record, name, None)
        if value is not None:
            return _day_start(value)
    return timezone.now()


SEVERITY_RANK_NAME = {rank: name for name, rank in SEVERITY_RANK.items()}


def _key(entry: AlertEvidence) -> tuple[int, Decimal]:
    return (SEVERITY_RANK[entry.severity], Decimal(entry.rank))


def _newest_first(entries: Iterable[AlertEvidence]) -> list[AlertEvidence]:
    return sorted(entries, key=lambda e: (e.at, e.added_at), reverse=True)


def describe(entries: Iterable[AlertEvidence]) -> tuple[str, str] | None:
    """(severity, message) from an alert's evidence: the most severe valid entry's severity; the message of the
    newest valid entry, naming the most severe one too when that is another. None when nothing valid remains."""
    valid = _newest_first(e for e in entries if not e.struck)
    if not valid:
        return None
    newest = valid[0]
    worst = max(valid, key=_key)  # max() keeps the first (newest) of equals
    message = newest.summary
    if _key(worst) > _key(newest):
        message = (
            f"{newest.summary} Most severe still valid ({timezone.localdate(worst.at)}): {worst.summary}"
        )
    return SEVERITY_RANK_NAME[max(SEVERITY_RANK[e.severity] for e in valid)], message


def _audit_alert(alert: Alert, actor: User | None, **detail: object) -> None:
    audit_record(
        user=actor,
        action="update",
        object_type="alert",
        object_id=alert.pk,
        patient_id=alert.patient_id,
        data_category="alert",
        detail=detail,
    )


def _refresh(alert: Alert, *, actor: User | None, resolve_note: str = ENTERED_IN_ERROR_NOTE) -> None:
    """Set the alert's severity and message from its evidence; resolve it when nothing valid remains."""
    described = describe(AlertEvidence.objects.filter(alert=alert))  # not a prefetch: it may be stale
    fields: dict[str, object]
    if described is None:
        if actor is None:  # no one to resolve it in the name of (a system write): leave it for a person
            fields = {"message": "No valid evidence remains (every record was struck)."}
        else:
            now = timezone.now()
            fields = {
                "status": Alert.Status.RESOLVED,
                "resolved_at": now,
                "resolved_by": actor,
                "resolve_note": resolve_note,
            }
            if alert.acknowledged_at is None:
                fields |= {"acknowledged_at": now, "acknowledged_by": actor}
    else:
        severity, message = described
        fields = {"severity": severity, "message": message}
    changed = {name: value for name, value in fields.items() if getattr(alert, name) != value}
    if not changed:
        return
    for name, value in changed.items():
        setattr(alert, name, value)
    alert.save(update_fields=list(changed))
    if changed.get("status") == Alert.Status.RESOLVED:
        _audit_alert(alert, actor, status=Alert.Status.RESOLVED, note=resolve_note, automatic=True)


def _unresolved(case: Case, kind: str) -> Alert | None:
    return (
        Alert.objects.select_for_update()
        .filter(case=case, kind=kind, status__in=UNRESOLVED)
        .prefetch_related("evidence")
        .first()
    )


def alert_raise(
    *,
    case: Case,
    kind: str,
    severity: str,
    message: str,
    source: Any = None,
    at: dt.datetime | None = None,
    rank: Decimal = Decimal(0),
    actor: User | None = None,
) -> Alert | None:
    """Record a finding on the case. Raises a new alert, or adds the finding as evidence on the unresolved one of
    the same kind (returning an acknowledged alert to `open`, raising its severity if the finding is worse).
    Returns the alert when something changed; None when the finding was already its evidence, unchanged.

    `source` is the triggering record; without one the finding is about the case (the time-based rules)."""
    now = timezone.now()
    source_type = source._meta.model_name if source is not None else "case"
    source_id = source.pk if source is not None else case.pk
    entry = AlertEvidence(
        source_type=source_type,
        source_id=source_id,
        at=at or (evidence_time(source) if source is not None else now),
        summary=message,
        severity=severity,
        rank=rank,
        added_at=now,
    )
    alert = _unresolved(case, kind)
    if alert is None:
        try:
            with transaction.atomic():  # the partial unique index settles a race between two writers
                alert = Alert.objects.create(
                    case=case,
                    patient_id=case.patient_id,
                    kind=kind,
                    severity=severity,
                    message=message,
                    source_type=source_type if source is not None else "",
                    source_id=source_id if source is not None else None,
                    raised_at=at or now,
                )
                entry.alert = alert
                entry.save(force_insert=True)
                return alert
        except IntegrityError:
            alert = _unresolved(case, kind)  # the other writer's alert, now committed: add to it
            if alert is None:
                raise
    return _add_evidence(alert, entry, actor=actor)


def _add_evidence(alert: Alert, entry: AlertEvidence, *, actor: User | None) -> Alert | None:
    existing = next(
        (
            e
            for e in alert.evidence.all()
            if (e.source_type, str(e.source_id)) == (entry.source_type, str(entry.source_id))
        ),
        None,
    )
    if existing is not None:
        same = (
            not existing.struck
            and existing.summary == entry.summary
            and existing.severity == entry.severity
            and Decimal(existing.rank) == Decimal(entry.rank)
        )
        if same:
            return None
        worse = existing.struck or _key(entry) > _key(existing)
        for name in ("at", "summary", "severity", "rank"):
            setattr(existing, name, getattr(entry, name))
        existing.struck, existing.struck_at, existing.struck_reason = False, None, ""
        existing.save(
            update_fields=["at", "summary", "severity", "rank", "struck", "struck_at", "struck_reason"]
        )
        new_finding = worse
    else:
        entry.alert = alert
        entry.save(force_insert=True)
        new_finding = True
    if new_finding and alert.status == Alert.Status.ACKNOWLEDGED:
        alert.status = Alert.Status.OPEN
        alert.reopened_at = timezone.now()
        alert.save(update_fields=["status", "reopened_at"])
        _audit_alert(alert, actor, status=Alert.Status.OPEN, reopened=True, evidence=entry.source_type)
    before = alert.severity
    _refresh(alert, actor=actor)
    if alert.severity != before:
        _audit_alert(alert, actor, severity=alert.severity, escalated_from=before)
    return alert


def alerts_strike(
    source: Any,
    *,
    actor: User | None,
    reason: str,
    kinds: Iterable[str] | None = None,
    note: str = ENTERED_IN_ERROR_NOTE,
) -> list[Alert]:
    """Strike the record's evidence on unresolved alerts (all kinds, or `kinds`); an alert left with no valid
    evidence resolves itself with `note`. Returns the alerts that changed."""
    entries = AlertEvidence.objects.filter(
        source_type=source._meta.model_name, source_id=source.pk, struck=False, alert__status__in=UNRESOLVED
    )
    if kinds is not None:
        entries = entries.filter(alert__kind__in=list(kinds))
    alert_ids = list(entries.values_list("alert_id", flat=True))
    if not alert_ids:
        return []
    alerts = list(
        Alert.objects.select_for_update().filter(pk__in=alert_ids).order_by("pk").prefetch_related("evidence")
    )
    now = timezone.now()
    changed = []
    for alert in alerts:
        for entry in alert.evidence.all():
            if (entry.source_type, entry.source_id) == (
                source._meta.model_name,
                source.pk,
            ) and not entry.struck:
                entry.struck, entry.struck_at, entry.struck_reason = True, now, reason[:200]
                entry.save(update_fields=["struck", "struck_at", "struck_reason"])
        before = alert.severity
        _refresh(alert, actor=actor, resolve_note=note)
        if alert.status != Alert.Status.RESOLVED and alert.severity != before:
            _audit_alert(alert, actor, severity=alert.severity, lowered_from=before)
        changed.append(alert)
    return changed


def alerts_check(
    obj: Any,
    *,
    actor: User | None = None,
    changed: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
) -> list[Alert]:
    """Walk the rules for the saved object; call inside the transaction that saved it. A rule that fires records
    the finding; a rule that no longer fires on a corrected record strikes the record's earlier entry. With
    `changed` (the fields an update wrote), rules reading none of them are left alone. With `kinds`, only those
    rules are checked again, as on an update (something else they read changed: `alerts_recheck_alpha2`)."""
    raised: list[Alert] = []
    case: Case | None = getattr(obj, "case", None)
    if case is None:
        return raised
    only = set(kinds) if kinds is not None else None
    written = set(changed) if changed is not None else (set() if only is not None else None)
    cleared = []
    for rule in RULES:
        if not isinstance(obj, rule.source) or (only is not None and rule.kind not in only):
            continue
        if only is None and written is not None and rule.reads is not None and not (rule.reads & written):
            continue
        if rule.fires(obj):
            alert = alert_raise(
                case=case,
                kind=rule.kind,
                severity=rule.severity_for(obj),
                message=rule.message(obj),
                source=obj,
                rank=rule.rank(obj),
                actor=actor,
            )
            if alert is not None:
                raised.append(alert)
        elif written is not None:  # an update: an earlier finding of this record may no longer hold
            cleared.append(rule.kind)
    if cleared:
        alerts_strike(obj, actor=actor, reason="corrected", kinds=cleared, note=CORRECTED_NOTE)
    return raised


def alerts_recheck_alpha2(case_id: Any, *, actor: User | None) -> list[Alert]:
    """A clonidine or lofexidine added, back-dated, stopped or corrected changes which visits were on it: check
    `alpha2_hypotension` again on the case's visits with low vitals (raise for those now on it, strike those no
    longer on it). Call in the transaction that saved the medication."""
    low = Visit.objects.filter(case_id=case_id, status=Visit.Status.ATTENDED).filter(
        Q(bp_systolic__lt=ALPHA2_SYSTOLIC_BELOW) | Q(heart_rate__lt=ALPHA2_HEART_RATE_BELOW)
    )
    raised: list[Alert] = []
    for visit in low.select_related("case").order_by("scheduled_at"):
        raised += alerts_check(visit, actor=actor, kinds=[Kind.ALPHA2_HYPOTENSION])
    return raised


def _in_no_show_run(visit: Visit) -> bool:
    """Whether the visit is a no-show next to another no-show among the case's visits that had an outcome
    (cancellations and visits still scheduled are skipped)."""
    if visit.status != Visit.Status.NO_SHOW:
        return False
    outcomes = (
        Visit.objects.filter(case_id=visit.case_id)
        .exclude(pk=visit.pk)
        .exclude(status__in=[Visit.Status.SCHEDULED, Visit.Status.CANCELLED])
        .values_list("status", flat=True)
    )
    # Attendance is often marked late and out of order: the run may be completed by the visit before or after.
    before = outcomes.filter(scheduled_at__lte=visit.scheduled_at).order_by("-scheduled_at").first()
    after = outcomes.filter(scheduled_at__gte=visit.scheduled_at).order_by("scheduled_at").first()
    return Visit.Status.NO_SHOW in (before, after)


def alerts_check_attendance(visit: Visit, *, actor: User | None = None) -> Alert | None:
    """Two no-shows in a row (`_in_no_show_run`) is an engagement risk."""
    if not _in_no_show_run(visit):
        return None
    return alert_raise(
        case=visit.case,
        kind=Kind.ENGAGEMENT_RISK,
        severity=Severity.WARNING,
        message="Two no-shows in a row: reach out to re-engage.",
        source=visit,
        actor=actor,
    )


def alerts_recheck_engagement(visit: Visit, *, actor: User | None) -> list[Alert]:
    """A corrected attendance may undo an engagement-risk finding: each visit standing as evidence on the case's
    unresolved `engagement_risk` alert that is no longer in a run of no-shows is struck, and so is the periodic
    rule's "no attended visit in 30 days" when the corrected visit, now attended, falls in those 30 days. The alert
    resolves itself when nothing valid remains. Call in the transaction that corrected the visit."""
    alert = Alert.objects.filter(
        case_id=visit.case_id, kind=Kind.ENGAGEMENT_RISK, status__in=UNRESOLVED
    ).first()
    if alert is None:
        return []
    changed: list[Alert] = []
    for entry in alert.evidence.filter(struck=False):
        if entry.source_type == "visit":
            source = Visit.objects.filter(pk=entry.source_id).first()
            if source is not None and not _in_no_show_run(source):
                changed += alerts_strike(
                    source, actor=actor, reason="attendance corrected", kinds=[Kind.ENGAGEMENT_RISK],
                    note=CORRECTED_NOTE,
                )  # fmt: skip
        elif entry.source_type == "case" and visit.status == Visit.Status.ATTENDED:
            gap_start = entry.at - dt.timedelta(days=ENGAGEMENT_GAP_DAYS)
            if gap_start <= visit.scheduled_at <= entry.at:
                changed += alerts_strike(
                    visit.case, actor=actor, reason="attendance corrected: attended in the 30 days",
                    kinds=[Kind.ENGAGEMENT_RISK], note=CORRECTED_NOTE,
                )  # fmt: skip
    return changed


def _settle(alert: Alert, *, actor: User, note: str, to_status: str) -> Alert:
    note = clean_text(note, field="note")
    if not note:
        raise ValidationFailed("A note is required.", field="note")
    with transaction.atomic():
        current = Alert.objects.select_for_update(no_key=True).get(pk=alert.pk)
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
        _audit_alert(current, actor, status=to_status, note=note)
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
    # Idempotent: a case whose alert of the kind is still unresolved is left alone (no evidence is added).
    unresolved = Alert.objects.filter(case=OuterRef("pk"), status__in=UNRESOLVED)

    gap_start = now - dt.timedelta(days=ENGAGEMENT_GAP_DAYS)
    attended_recently = Visit.objects.filter(
        case=OuterRef("pk"), status=Visit.Status.ATTENDED, scheduled_at__gte=gap_start, scheduled_at__lte=now
    )
    disengaged = (
        in_treatment.annotate(treated_since=_treatment_since())
        .filter(treated_since__lte=gap_start)
        .exclude(Exists(attended_recently))
        .exclude(Exists(unresolved.filter(kind=Kind.ENGAGEMENT_RISK)))
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

    # The chart's rule (cases.plan_review): any active goal due for review, or no plan at all (no goal but
    # discontinued ones) more than 90 days into treatment.
    planned = ~Q(goals__status=TreatmentGoal.Status.DISCONTINUED)
    overdue = (
        in_treatment.exclude(Exists(unresolved.filter(kind=Kind.PLAN_REVIEW_OVERDUE)))
        .annotate(
            goals_due=Count("goals", filter=review_due(today, "goals__")),
            oldest_due=Min("goals__review_date", filter=review_due(today, "goals__")),
            planned_goals=Count("goals", filter=planned),
            treated_since=_treatment_since(),
        )
        .filter(
            Q(goals_due__gt=0)
            | Q(planned_goals=0, treated_since__lt=now - dt.timedelta(days=PLAN_REVIEW_DAYS))
        )
    )
    for case in overdue.iterator():
        if case.goals_due:
            goals = f"{case.goals_due} active goal{'s' if case.goals_due > 1 else ''}"
            last = f"{goals} due, last reviewed {case.oldest_due}"
        else:
            last = "no plan recorded"
        if alert_raise(
            case=case,
            kind=Kind.PLAN_REVIEW_OVERDUE,
            severity=Severity.WARNING,
            message=f"Treatment plan review overdue ({last}; due every {PLAN_REVIEW_DAYS} days).",
            at=now,
        ):
            counts[Kind.PLAN_REVIEW_OVERDUE] += 1
    return {str(kind): n for kind, n in counts.items()}
