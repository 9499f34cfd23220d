"""A demo case's rare clinical events (a seizure, an overdose) and low vitals on clonidine."""

import datetime as dt
from collections.abc import Sequence

from cases.demo import data
from cases.demo.common import Attendance, PlannedVisit, Stage, VisitType
from cases.demo.medications import MedicationsPart
from cases.models import ClinicalEvent, Visit


class EventsPart(MedicationsPart):
    """Rare clinical events (a seizure, an overdose) and low vitals on clonidine."""

    def _rare_events(self, planned: Sequence[PlannedVisit], visits: Sequence[Visit]) -> None:
        """The rare findings that are events or vitals, a few days before the patient's latest attended visit
        (so recent enough for today's worklist): a seizure or an overdose told at that visit (SPEC 3.6), or
        clonidine restarted for a hard week with the visit's pressure and pulse too low on it."""
        wanted = self.findings & {"seizure", "overdose", "alpha2_hypotension"}
        if not wanted:
            return
        latest = next(
            (
                (plan, visit)
                for plan, visit in zip(reversed(planned), reversed(visits), strict=True)
                if visit.status == Attendance.ATTENDED
                and visit.scheduled_at >= self.alert_window_start
                and self.segments[plan.segment].stage == Stage.TREATMENT
                and plan.visit_type not in (VisitType.PHONE_CHECKIN, VisitType.TELEHEALTH, VisitType.LAB_ONLY)
            ),
            None,
        )
        if latest is None:
            return
        plan, visit = latest
        told = visit.scheduled_at + dt.timedelta(minutes=15)
        for finding in sorted(wanted & set(data.CLINICAL_EVENTS)):
            days_before = self.rng.randint(2, 5)
            occurred = max(self.case.opened_on, self.calendar.date(plan.day) - dt.timedelta(days=days_before))
            for kind, related, naloxone, text in data.CLINICAL_EVENTS[finding]:
                self.rows.clinical_events.append(
                    ClinicalEvent(
                        case_id=self.case.pk, kind=kind, occurred_on=occurred, description=text,
                        related_to_kratom=related, naloxone_given=naloxone, created_at=told,
                        created_by_id=visit.clinician_id,
                    )
                )  # fmt: skip
        if "alpha2_hypotension" in wanted and self.prescriber is not None:
            self._prescribe(
                "clonidine", "0.1 mg", "three times daily", max(plan.day - 4, self.timeline.opened), None
            )
            visit.bp_systolic, visit.bp_diastolic, visit.heart_rate = 86, 54, 52
