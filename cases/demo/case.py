"""One demo case's state: its row, clinicians, how this patient responds, and the answers every record type
asks (who sees the patient, where in treatment a visit falls, on buprenorphine that day, the closing day)."""

from decimal import Decimal
from typing import TYPE_CHECKING

from cases.demo import data
from cases.demo.common import (
    ALERT_WINDOW,
    TREATMENT_SCALE,
    Body,
    DemoRows,
    PlannedVisit,
    Profile,
    Stage,
    Timeline,
    VisitType,
    grams,
    pick,
)
from cases.instruments import INSTRUMENTS
from cases.models import Case, Patient
from clinic.models import User

if TYPE_CHECKING:
    from cases.demo.generator import DemoGenerator


class CaseBase:
    """The state of one case being built; the record types' parts (`cases.demo.visits`, ...) add its rows."""

    def __init__(
        self,
        generator: "DemoGenerator",
        rows: DemoRows,
        patient: Patient,
        timeline: Timeline,
        profile: Profile,
        body: Body,
        findings: frozenset[str] = frozenset(),
    ) -> None:
        self.rng = generator.rng
        self.visit_density = generator.visit_density
        self.calendar = generator.calendar
        self.staff = generator.staff
        self.findings = findings
        # Records saved from here on are recent enough to be checked against the alert rules.
        self.alert_window_start = generator.now - ALERT_WINDOW
        self.rows = rows
        self.patient = patient
        self.timeline = timeline
        self.profile = profile
        self.body = body
        self.segments = timeline.segments
        rng = self.rng
        self.primary = rng.choices(self.staff.primaries, weights=self.staff.caseload_weights)[0]
        self.team = self._care_team()
        # How well this patient responds: drop-outs improve less before they leave.
        dropped_out = timeline.discharge_reason == "left_against_advice"
        self.response = rng.uniform(0.2, 0.6) if dropped_out else rng.uniform(0.7, 1.3)
        self.dsm5_criteria = rng.choices(range(2, 12), weights=(6, 9, 14, 16, 16, 13, 10, 7, 5, 4))[0]
        self.severity = self._dsm5_band(self.dsm5_criteria)
        self.phq9_baseline = rng.triangular(2, 22, 9)
        self.gad7_baseline = rng.triangular(2, 19, 8)
        # Most patients' mood lifts as treatment takes hold; some stay where they started.
        non_responder = rng.random() < data.MOOD_NON_RESPONDER_SHARE
        self.mood_response = rng.uniform(-0.1, 0.15) if non_responder else rng.uniform(0.45, 0.85)
        # How hard withdrawal hits when kratom is stopped (drives COWS; falls as treatment goes on): mild for
        # most, moderate (COWS 13+) for about one in five, harder with concentrated 7-OH products.
        self.cows_intensity = rng.triangular(0.06, 0.45, 0.18) + (
            0.06 if profile.form == "seven_oh_product" else 0
        )
        liver = [code for code in ("hys_law", "liver_injury") if code in findings]
        self.liver_state = liver[0] if liver else "mild" if rng.random() < data.LIVER_MILD_SHARE else "normal"
        self.liver_lab = rng.choices(data.LIVER_LABS, weights=[lab[5] for lab in data.LIVER_LABS])[0]
        self.liver_baseline = bool(liver) or rng.random() < data.LIVER_BASELINE_SHARE
        self.plan_review_lapses = rng.random() < data.PLAN_REVIEW_LAPSE_SHARE
        self.case = Case(
            patient_id=patient.pk,
            opened_on=self.calendar.date(timeline.opened),
            referral_source=pick(rng, data.REFERRAL_SOURCE_WEIGHTS),
            primary_clinician_id=self.primary.pk,
            kratom_form=profile.form,
            kratom_daily_grams=grams(profile.daily_grams),
            kratom_years_used=Decimal(f"{profile.years_used:.1f}"),
            reasons_for_use=profile.reasons,
            other_substances=profile.other_substances,
            created_by_id=self.staff.front_desk.pk,
        )
        self.last_screen_day: int | None = None
        self.last_cows_day: int | None = None
        self.prescriber = next((c for c in (self.primary, *self.team) if c in self.staff.prescribers), None)
        self.approach = pick(rng, data.TREATMENT_APPROACH_WEIGHTS) if self.prescriber else "none"
        # Clinic days on buprenorphine, as (start, stop) with stop None while still taking it.
        self.buprenorphine_days: list[tuple[int, int | None]] = []

    def _care_team(self) -> list[User]:
        """Counselors as primary usually share the case with a prescriber; prescribers sometimes with a counselor."""
        rng = self.rng
        if self.primary in self.staff.prescribers:
            others = [c for c in self.staff.counselors if c != self.primary]
            return [rng.choice(others)] if others and rng.random() < 0.25 else []
        prescribers = list(self.staff.prescribers)
        return [rng.choice(prescribers)] if prescribers and rng.random() < 0.55 else []

    def _clinician_for(self, visit_type: str) -> User | None:
        """Who sees the patient: the prescriber for medication management, else mostly the primary."""
        if visit_type == VisitType.MEDICATION_MANAGEMENT:
            prescribers = [c for c in (self.primary, *self.team) if c in self.staff.prescribers]
            return prescribers[0] if prescribers else None
        if self.team and self.rng.random() < 0.15:
            return self.team[0]
        return self.primary

    def _phase(self, planned: PlannedVisit) -> tuple[str, float]:
        """Where the patient is in their care ("pre", "early", "late", "recovery", "relapse") and how far
        treatment has got them (0 = as they came in, 1 = stable)."""
        segment = self.segments[planned.segment]
        if segment.stage in (Stage.INTAKE, Stage.ASSESSMENT):
            return "pre", 0.0
        if segment.stage == Stage.RECOVERY:
            return "recovery", 1.0
        returned = any(s.stage == Stage.RECOVERY for s in self.segments[: planned.segment])
        # Buprenorphine takes over from kratom: use and withdrawal fall faster than on a taper alone.
        speed = self.response * (1.5 if self.approach == "buprenorphine" else 1.0)
        progress = min(1.0, (planned.day - segment.start) / TREATMENT_SCALE * speed)
        if returned:
            progress = min(1.0, 0.3 + 2 * progress)
            return ("relapse" if planned.day - segment.start < 10 else "late"), progress
        return ("early" if progress < 0.45 else "late"), progress

    def _closing_day(self) -> int | None:
        """The clinic day the case was discharged, or None while it is open."""
        return self.segments[-1].end if self.timeline.discharge_reason is not None else None

    def _on_buprenorphine(self, day: int) -> bool:
        return any(start <= day and (stop is None or day <= stop) for start, stop in self.buprenorphine_days)

    @staticmethod
    def _dsm5_band(met: int) -> str:
        band = INSTRUMENTS["dsm5_sud"].band_for(met)
        return band.code if band else "severe"
