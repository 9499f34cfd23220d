"""The demo's alerts: which of a case's records the alert rules are run on (the recent ones, in the order they were
saved), then the domain's own rules run on them and the alerts settled by staff as the clinic does."""

import datetime as dt
import heapq
import itertools
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

from cases.demo import data
from cases.demo.case import CaseBase
from cases.demo.common import AlertCheck, Attendance
from cases.models import Alert, Assessment, DrugScreen, LiverPanel, Visit
from cases.services.alerts import alerts_check, alerts_check_attendance


class AlertsQueue(CaseBase):
    """What the alert rules will be run on: the recent records, in the order they were saved."""

    def _queue_alert_checks(
        self,
        visits: Sequence[Visit],
        assessments: Sequence[Assessment],
        screens: Sequence[DrugScreen],
        panels: Sequence[LiverPanel],
    ) -> None:
        """The case's records from the alert window, in the order they were saved: assessments, visits with
        blood pressure, no-shows (the attendance rule), drug screens and liver panels."""
        start = self.alert_window_start
        checks: list[AlertCheck] = []

        def check(at: dt.datetime, record: Any, *, attendance: bool = False) -> None:
            if at >= start:
                checks.append(AlertCheck(at, record, self.case, self.primary, attendance))

        for assessment in assessments:
            check(assessment.administered_at, assessment)
        for visit in visits:
            if visit.bp_systolic is not None:
                check(visit.scheduled_at + dt.timedelta(minutes=10), visit)
        # A no-show is checked once the next outcome is known too: the attendance rule looks at the visits on
        # both sides, and a run of two no-shows is only there to see once the second is marked.
        outcomes = [
            visit for visit in visits if visit.status not in (Attendance.SCHEDULED, Attendance.CANCELLED)
        ]
        for visit, following in zip(outcomes, [*outcomes[1:], None], strict=True):
            if visit.status == Attendance.NO_SHOW:
                known = visit.updated_at if following is None else max(visit.updated_at, following.updated_at)
                check(known, visit, attendance=True)
        for screen in screens:
            check(screen.created_at, screen)
        for panel in panels:
            check(panel.created_at, panel)
        for event in (e for e in self.rows.clinical_events if e.case_id == self.case.pk):
            check(event.created_at, event)
        checks.sort(key=lambda c: c.at)
        self.rows.alert_checks.extend(checks)


def count_alerts() -> Counter[str]:
    """Alerts on record by status, and the open ones (the worklist) by severity and kind."""
    tally: Counter[str] = Counter()
    for kind, severity, status in Alert.objects.values_list("kind", "severity", "status").iterator():
        tally[f"alert:{status}"] += 1
        if status == Alert.Status.OPEN:
            tally[f"open:{severity}:{kind}"] += 1
    return tally


# --- Alerts: the domain's own rules, run on what the seed recorded recently, then settled by staff. ---


def raise_recent_alerts(checks: Sequence[AlertCheck], rng: random.Random, now: dt.datetime) -> Counter[str]:
    """Run the domain's alert rules (`alerts_check`, `alerts_check_attendance`) on each recent record, case
    by case in the order the records were saved, and have the case's primary clinician acknowledge or
    resolve what they raise the way the clinic does (`cases.demo.data.ALERT_HANDLING`), in step with the records:
    a resolved alert may be raised again by a later record, an acknowledged one may not. A discharged case's
    alerts are resolved at its discharge.

    The handling is written the way `alert_acknowledge` and `alert_resolve` write it, but directly, at the
    time it happened: those services stamp the present and append an audit event per call, which would
    record seeding as clinicians' actions today (and cost seconds at 10,000 patients). Raised alerts get the
    time of the record that raised them. Each alert is written once: when resolved (so the rules may raise
    it again), else once its case is done."""
    tally: Counter[str] = Counter()
    for _, case_checks in itertools.groupby(checks, key=lambda check: check.case.pk):
        CaseAlerts(list(case_checks), rng, now, tally).run()
    return tally


# What acknowledging and resolving change on an alert (as `cases.services.alerts._settle` does), and when
# it was raised.
WRITTEN_FIELDS = (
    "raised_at",
    "severity",
    "message",
    "reopened_at",
    "status",
    "acknowledged_at",
    "acknowledged_by",
    "acknowledge_note",
    "resolved_at",
    "resolved_by",
    "resolve_note",
)


class CaseAlerts:
    """One case's alerts, raised and settled in time order."""

    def __init__(
        self, checks: list[AlertCheck], rng: random.Random, now: dt.datetime, tally: Counter[str]
    ) -> None:
        self.checks = checks
        self.case = checks[0].case
        self.clinician = checks[0].clinician
        self.rng = rng
        self.tally = tally
        self.raised: list[Alert] = []
        # (when, order, alert, "acknowledge" or "resolve", note): what staff will do, soonest first.
        self.pending: list[tuple[dt.datetime, int, Alert, str, str]] = []
        self.order = itertools.count()
        self.next_visit: list[tuple[Alert, str]] = []  # to acknowledge when the patient is next seen
        self.tz = now.tzinfo
        closed_on = self.case.closed_on
        self.end = min(now, dt.datetime.combine(closed_on, dt.time(18), tzinfo=self.tz)) if closed_on else now

    def run(self) -> None:
        for check in self.checks:
            self._settle_until(check.at)
            record = check.record
            if isinstance(record, Visit) and not check.attendance:  # the patient is here: talk it through
                for waiting, note in self.next_visit:
                    self._settle(waiting, check.at, "acknowledge", note)
                self.next_visit.clear()
            record.case = self.case  # already in hand: the rules need not fetch it
            if check.attendance and isinstance(record, Visit):
                engagement = alerts_check_attendance(record)
                raised = [engagement] if engagement else []
            else:
                raised = alerts_check(record)
            for alert in raised:
                known = next((a for a in self.raised if a.pk == alert.pk), None)
                if known is None:
                    self._raised(alert, check.at)
                else:  # new evidence on an alert already raised: back to open if it was acknowledged
                    self._more_evidence(known, alert, check.at)
        self._settle_until(self.end)
        for alert in self.raised:
            if alert.status == Alert.Status.RESOLVED:
                continue  # written when resolved
            if self.case.closed_on:
                self._settle(alert, self.end, "resolve", data.ALERT_DISCHARGE_NOTE)
            else:
                self._write(alert)

    def _raised(self, alert: Alert, at: dt.datetime) -> None:
        self.tally[f"raised:{alert.kind}"] += 1
        alert.raised_at = at
        self.raised.append(alert)
        self._handle(alert, at)

    def _more_evidence(self, known: Alert, alert: Alert, at: dt.datetime) -> None:
        """The rules added evidence to `known` (as stored: severity and message from its evidence); the clinic
        sees it again if it had been acknowledged (SPEC section 5)."""
        known.severity, known.message = alert.severity, alert.message
        if known.status == Alert.Status.ACKNOWLEDGED:
            known.status, known.reopened_at = Alert.Status.OPEN, at
            self.tally[f"reopened:{known.kind}"] += 1
            self._handle(known, at)

    def _handle(self, alert: Alert, at: dt.datetime) -> None:
        rng = self.rng
        handling = data.ALERT_HANDLING[alert.kind]
        if rng.random() < handling.unhandled:
            return
        note = rng.choice(handling.acknowledge_notes)
        if handling.acknowledge_hours is None:
            self.next_visit.append((alert, note))
            return
        acknowledged = self._working_time(at + dt.timedelta(hours=rng.uniform(*handling.acknowledge_hours)))
        self._plan(acknowledged, alert, "acknowledge", note)
        if rng.random() < handling.resolve_share:
            resolved = self._working_time(
                acknowledged + dt.timedelta(days=rng.uniform(*handling.resolve_days))
            )
            self._plan(resolved, alert, "resolve", rng.choice(handling.resolve_notes))

    def _working_time(self, at: dt.datetime) -> dt.datetime:
        """`at`, or when the clinic next opens (weekdays, 8:00 to 18:00) if it is closed then; whole minutes."""
        local = at.astimezone(self.tz).replace(second=0, microsecond=0)
        if local.hour >= 18:
            local = local.replace(hour=8) + dt.timedelta(days=1, minutes=self.rng.randint(0, 90))
        elif local.hour < 8:
            local = local.replace(hour=8, minute=self.rng.randint(0, 59))
        while local.weekday() >= 5:
            local += dt.timedelta(days=1)
        return local

    def _plan(self, at: dt.datetime, alert: Alert, action: str, note: str) -> None:
        heapq.heappush(self.pending, (at, next(self.order), alert, action, note))

    def _settle_until(self, moment: dt.datetime) -> None:
        while self.pending and self.pending[0][0] <= moment:
            at, _, alert, action, note = heapq.heappop(self.pending)
            if alert.status != Alert.Status.RESOLVED:
                self._settle(alert, at, action, note)

    def _settle(self, alert: Alert, at: dt.datetime, action: str, note: str) -> None:
        """Acknowledge or resolve as the domain's services do: resolving implies having seen it."""
        if action == "acknowledge":
            alert.status = Alert.Status.ACKNOWLEDGED
            alert.acknowledged_at, alert.acknowledged_by, alert.acknowledge_note = at, self.clinician, note
            return
        alert.status = Alert.Status.RESOLVED
        alert.resolved_at, alert.resolved_by, alert.resolve_note = at, self.clinician, note
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = at, self.clinician
        self._write(alert)

    @staticmethod
    def _write(alert: Alert) -> None:
        Alert.objects.filter(pk=alert.pk).update(**{name: getattr(alert, name) for name in WRITTEN_FIELDS})
