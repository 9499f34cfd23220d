"""A demo case's labs: urine drug screens and liver panels."""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from cases.demo import data
from cases.demo.case import CaseBase
from cases.demo.common import Attendance, PlannedVisit, Result, Stage, VisitType, pick_pair
from cases.models import ANALYTES, DrugScreen, LiverPanel, Visit


class LabsPart(CaseBase):
    """Labs: urine drug screens and liver panels."""

    def _labs(self, planned: Sequence[PlannedVisit], visits: Sequence[Visit]) -> None:
        """Urine collected at in-person visits from assessment on: on entering each stage, at every lab-only
        visit, and otherwise every two to three weeks in treatment, every month or so in recovery. A liver
        panel with the first screen for most patients, and a follow-up for some (all whose first one was
        abnormal). The rare fentanyl positive is the screen at the patient's latest visit."""
        rng = self.rng
        first_screen = len(self.rows.drug_screens)
        last_screen: int | None = None
        gap = 0
        panels = 0
        follow_up: int | None = None
        lab_visits = [
            (plan, visit)
            for plan, visit in zip(planned, visits, strict=True)
            if visit.status == Attendance.ATTENDED
            and plan.visit_type in data.LAB_VISIT_TYPES
            and self.segments[plan.segment].stage != Stage.INTAKE
        ]
        for plan, visit in lab_visits:
            stage = self.segments[plan.segment].stage
            if (
                plan.visit_type == VisitType.LAB_ONLY
                or plan.entry
                or last_screen is None
                or plan.day - last_screen >= gap
                or ("fentanyl" in self.findings and plan is lab_visits[-1][0])
            ):
                self._drug_screen(visit, plan)
                last_screen = plan.day
                gap = rng.randint(*data.SCREEN_GAP_DAYS[stage])
            if panels == 0 and self.liver_baseline:
                self._liver_panel(visit, plan, self.liver_state)
                panels = 1
                if self.liver_state in ("liver_injury", "hys_law"):
                    follow_up = plan.day + rng.randint(4, 8)  # repeat within a week or two
                elif self.liver_state == "mild" or rng.random() < data.LIVER_FOLLOW_UP_SHARE:
                    follow_up = plan.day + rng.randint(20, 45)
            elif (
                panels == 1 and follow_up is not None and plan.day >= follow_up and stage != Stage.ASSESSMENT
            ):
                self._liver_panel(visit, plan, pick_pair(rng, data.LIVER_FOLLOW_UP[self.liver_state]))
                panels = 2
        if "fentanyl" in self.findings:
            # The latest screen, if recent (so it is on today's worklist).
            recent = [
                screen
                for screen in self.rows.drug_screens[first_screen:]
                if screen.created_at >= self.alert_window_start
            ]
            if recent:
                recent[-1].fentanyl = Result.POSITIVE

    def _drug_screen(self, visit: Visit, plan: PlannedVisit) -> None:
        """Mitragynine positive while the patient still uses (detectable for about a week), negative once
        off kratom; 7-OH products show as 7-hydroxymitragynine; buprenorphine when prescribed; the odd
        other positive (more likely for what the patient reports using); a few analytes not tested."""
        rng = self.rng
        phase, _ = self._phase(plan)
        used = phase == "pre" or rng.random() < 1 - (1 - plan.days_used / 30) ** 6
        seven_oh = self.profile.form == "seven_oh_product"
        chances = dict(data.SCREEN_BACKGROUND_POSITIVE)
        for analyte, chance in data.OTHER_SUBSTANCE_POSITIVE.get(self.profile.other_substances, {}).items():
            chances[analyte] = max(chances.get(analyte, 0.0), chance)
        chances["mitragynine"] = (0.5 if seven_oh else 0.97) if used else 0.01
        chances["seven_oh_mitragynine"] = (0.95 if seven_oh else 0.4) if used else 0.0
        chances["buprenorphine"] = 0.95 if self._on_buprenorphine(plan.day) else 0.003
        results: dict[str, str] = {}
        for analyte in ANALYTES:
            tested = rng.random() < data.SCREEN_TESTED_SHARE[analyte]
            positive = rng.random() < chances.get(analyte, 0.0)
            results[analyte] = Result.POSITIVE if positive else Result.NEGATIVE
            if not tested:
                results[analyte] = Result.NOT_TESTED
        ended = visit.scheduled_at + dt.timedelta(minutes=visit.duration_minutes)
        self.rows.drug_screens.append(
            DrugScreen(
                case_id=self.case.pk,
                collected_on=self.calendar.date(plan.day),
                created_at=ended + dt.timedelta(minutes=rng.randint(5, 90)),
                created_by_id=visit.clinician_id,
                **results,
            )
        )

    def _liver_panel(self, visit: Visit, plan: PlannedVisit, state: str) -> None:
        """ALT, AST, ALP (U/L) and total bilirubin (mg/dL) as multiples of the patient's lab's limits."""
        rng = self.rng
        _, alt_uln, ast_uln, alp_uln, bilirubin_uln, _ = self.liver_lab
        ranges = data.LIVER_STATES[state]

        def value(analyte: str, uln: str, places: int) -> Decimal:
            return Decimal(f"{float(uln) * rng.uniform(*ranges[analyte]):.{places}f}")

        self.rows.liver_panels.append(
            LiverPanel(
                case_id=self.case.pk,
                collected_on=self.calendar.date(plan.day),
                alt=value("alt", alt_uln, 0),
                alt_uln=Decimal(alt_uln),
                ast=value("ast", ast_uln, 0),
                ast_uln=Decimal(ast_uln),
                alp=value("alp", alp_uln, 0),
                alp_uln=Decimal(alp_uln),
                total_bilirubin=value("bilirubin", bilirubin_uln, 1),
                total_bilirubin_uln=Decimal(bilirubin_uln),
                # Resulted by the lab later the same day.
                created_at=visit.scheduled_at + dt.timedelta(minutes=rng.randint(180, 360)),
                created_by_id=visit.clinician_id,
            )
        )
