"""A demo case's structured assessments: COWS, SOWS, DSM-5, PHQ-9 and GAD-7, scored by the clinic's own scorer."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from cases.demo import data
from cases.demo.case import CaseBase
from cases.demo.common import Attendance, PlannedVisit, Stage, VisitType, sample_weighted
from cases.instruments import INSTRUMENTS, score_responses
from cases.models import Assessment, Visit


class AssessmentsPart(CaseBase):
    """Structured assessments: COWS, SOWS, DSM-5, PHQ-9 and GAD-7, scored by the clinic's own scorer."""

    def _assessments(self, planned: Sequence[PlannedVisit], visits: Sequence[Visit]) -> None:
        """COWS at intake and at in-person visits of the first weeks of treatment, easing as the taper or
        buprenorphine takes hold; DSM-5, PHQ-9 and GAD-7 at assessment; a fresh DSM-5 checklist on entering
        recovery and on returning to treatment; PHQ-9 and GAD-7 again about every five weeks (and at the latest
        such visit of a patient with the rare "self_harm" finding, who answers item 9 above 0 there)."""
        reached_treatment = any(s.stage == Stage.TREATMENT for s in self.segments)
        screen_types = (
            VisitType.INDIVIDUAL_COUNSELING,
            VisitType.MEDICATION_MANAGEMENT,
            VisitType.TELEHEALTH,
        )
        self_harm_at = None
        if "self_harm" in self.findings:  # at the latest one-to-one contact (a PHQ-9 may be taken by phone)
            self_harm_at = next(
                (
                    plan
                    for plan, visit in zip(reversed(planned), reversed(visits), strict=True)
                    if visit.status == Attendance.ATTENDED
                    and plan.visit_type in (*screen_types, VisitType.PHONE_CHECKIN)
                    and not plan.entry
                ),
                None,
            )
        for plan, visit in zip(planned, visits, strict=True):
            if visit.status != Attendance.ATTENDED:
                continue
            segment = self.segments[plan.segment]
            stage = segment.stage
            phase, progress = self._phase(plan)
            if (
                stage == Stage.TREATMENT
                and plan.visit_type in (VisitType.INDIVIDUAL_COUNSELING, VisitType.MEDICATION_MANAGEMENT)
                and plan.day - segment.start < data.COWS_TREATMENT_DAYS
                and (self.last_cows_day is None or plan.day - self.last_cows_day >= 2)
            ):
                # Observed withdrawal fades over the first weeks; a return to treatment starts lower.
                start = self.cows_intensity * (0.8 if phase in ("relapse", "late") else 1.0)
                intensity = max(0.02, start * (1 - 2.2 * progress))
                self._record(visit, 10, "cows", self._cows(intensity))
                if self.rng.random() < data.SOWS_WITH_COWS_SHARE:  # the patient's own rating, alongside
                    self._record(visit, 12, "sows", self._sows(intensity))
                self.last_cows_day = plan.day
            if plan.visit_type == VisitType.INTAKE:
                self._record(visit, 30, "cows", self._cows(self.cows_intensity))
            elif plan.entry and stage == Stage.ASSESSMENT:
                if reached_treatment or self.rng.random() < 0.5:
                    self._record(visit, 20, "dsm5_sud", self._dsm5(self.dsm5_criteria))
                self._screen(visit, plan.day, progress, self_harm=plan is self_harm_at)
            elif plan.entry and stage == Stage.RECOVERY:
                self._record(visit, 20, "dsm5_sud", self._dsm5(0, craving=self.rng.random() < 0.5))
            elif plan.entry and phase == "relapse":
                self._record(visit, 20, "dsm5_sud", self._dsm5(self.rng.randint(2, 5)))
            elif stage in (Stage.TREATMENT, Stage.RECOVERY) and (
                plan is self_harm_at
                or (
                    plan.visit_type in screen_types
                    and (self.last_screen_day is None or plan.day - self.last_screen_day >= 25)
                )
            ):
                self._screen(visit, plan.day, progress, self_harm=plan is self_harm_at)

    def _screen(self, visit: Visit, day: int, progress: float, *, self_harm: bool = False) -> None:
        """PHQ-9 and GAD-7, easing for most patients as treatment takes hold. Item 9 (thoughts of self-harm)
        is 0 but on the one `self_harm` screen of a rare patient: the command raises its urgent alert
        through the domain's rules, and the primary clinician acknowledges it."""
        rng = self.rng
        phq9 = round(self.phq9_baseline * (1 - self.mood_response * progress) + rng.gauss(0, 1.3))
        gad7 = round(self.gad7_baseline * (1 - 0.9 * self.mood_response * progress) + rng.gauss(0, 1.3))
        item9 = 1 if self_harm else 0
        phq9_items = [*self._spread(min(max(phq9, 0), 24), 8, 3), item9]
        self._record(visit, 35, "phq9", {f"q{i}": v for i, v in enumerate(phq9_items, 1)})
        gad7_items = self._spread(min(max(gad7, 0), 21), 7, 3)
        self._record(visit, 42, "gad7", {f"q{i}": v for i, v in enumerate(gad7_items, 1)})
        self.last_screen_day = day

    def _spread(self, total: int, items: int, highest: int) -> list[int]:
        """Item values adding up to `total`, none above `highest`."""
        values = [0] * items
        for _ in range(total):
            values[self.rng.choice([i for i, v in enumerate(values) if v < highest])] += 1
        return values

    def _dsm5(self, met: int, *, craving: bool = False) -> dict[str, bool]:
        chosen = set(sample_weighted(self.rng, data.DSM5_CRITERION_WEIGHTS, met))
        if craving:
            chosen.add("craving")
        return {code: code in chosen for code in data.DSM5_CRITERION_WEIGHTS}

    def _cows(self, intensity: float) -> dict[str, Any]:
        """Each observed item at one of its own allowed values, all leaning the same way (`intensity`, 0-1)."""
        scores = {}
        for item in INSTRUMENTS["cows"].items:
            values = item.allowed
            scores[item.code] = values[sum(self.rng.random() < intensity for _ in values[1:])]
        return scores

    def _sows(self, intensity: float) -> dict[str, Any]:
        """Each of the 16 self-rated items 0-4, leaning with the observed withdrawal (`intensity`, 0-1)."""
        return {
            item.code: sum(self.rng.random() < min(0.95, intensity * 1.4) for _ in range(4))
            for item in INSTRUMENTS["sows"].items
        }

    def _record(self, visit: Visit, after_minutes: int, instrument: str, responses: dict[str, Any]) -> None:
        # The clinic's own scorer: it also rejects any response the generator got wrong.
        clean, score = score_responses(instrument, responses)
        # Filled in during the visit, so never after it ended.
        minutes = min(after_minutes, visit.duration_minutes - 1)
        administered_at = visit.scheduled_at + dt.timedelta(minutes=minutes)
        self.rows.assessments.append(
            Assessment(
                case_id=self.case.pk,
                instrument=instrument,
                responses=clean,
                total=score.total,
                band=score.band,
                administered_at=administered_at,
                recorded_at=administered_at,
                by_id=visit.clinician_id,
            )
        )
