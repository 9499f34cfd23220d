"""A demo case's visits: when they fall, who sees the patient, attendance, the SOAP note, vitals, signatures and addenda."""

import datetime as dt
from decimal import Decimal

from cases.demo import data
from cases.demo.case import CaseBase
from cases.demo.common import (
    DAY_SLOTS,
    FUTURE_HORIZON,
    GROUP_START,
    RECENT_DAYS,
    Attendance,
    PlannedVisit,
    Segment,
    Stage,
    VisitType,
    grams,
    pick,
    sample_weighted,
)
from cases.instruments import INSTRUMENTS
from cases.models import Visit, VisitAddendum
from clinic.models import User


class VisitsPart(CaseBase):
    """Visits: when they fall, who sees the patient, attendance, the SOAP note, vitals, signatures and addenda."""

    def _plan_visits(self) -> list[PlannedVisit]:
        planned: list[PlannedVisit] = []
        is_open = self.timeline.discharge_reason is None
        for index, segment in enumerate(self.segments):
            last = index == len(self.segments) - 1
            for number, day in enumerate(self._visit_days(segment, future=last and is_open)):
                planned.append(self._planned(index, segment, day, entry=number == 0))
        if self.timeline.discharge_reason in ("completed", "transferred"):
            day = self.segments[-1].end
            planned.append(
                PlannedVisit(
                    day,
                    len(self.segments) - 1,
                    VisitType.INDIVIDUAL_COUNSELING,
                    Attendance.ATTENDED,
                    discharge=True,
                )
            )
        if self.timeline.discharge_reason == "left_against_advice":
            self._trail_off(planned)
        return planned

    def _visit_days(self, segment: Segment, *, future: bool) -> list[int]:
        """The stage's entry visit on its first day, then follow-ups at the stage's usual rhythm."""
        rng = self.rng
        days = [segment.start]
        day = segment.start
        limit = FUTURE_HORIZON if future else segment.end
        upcoming = 0
        while True:
            since = day - segment.start
            if segment.stage == Stage.TREATMENT:
                gap = rng.randint(3, 6) if since < 20 else rng.randint(5, 10)
            elif segment.stage == Stage.RECOVERY:
                gap = rng.randint(15, 25)  # about monthly once in recovery
            else:
                gap = rng.randint(2, 5)
            if self.visit_density != 1.0:
                gap = max(1, round(gap / self.visit_density))
            day += gap
            if day >= limit or (day >= 0 and upcoming >= 3):
                return days
            upcoming += day >= 0
            days.append(day)

    def _planned(self, index: int, segment: Segment, day: int, *, entry: bool) -> PlannedVisit:
        rng = self.rng
        if day >= 0:
            status: str = Attendance.SCHEDULED
        elif entry:
            status = Attendance.ATTENDED  # a stage changes at a visit the patient came to
        else:
            status = pick(rng, data.ATTENDANCE_WEIGHTS)
        if entry:
            visit_type: str = {
                Stage.INTAKE: VisitType.INTAKE,
                Stage.ASSESSMENT: VisitType.ASSESSMENT,
            }.get(Stage(segment.stage), VisitType.INDIVIDUAL_COUNSELING)
        elif day >= 0 and segment.stage in (Stage.INTAKE, Stage.ASSESSMENT):
            visit_type = VisitType.ASSESSMENT  # the work-up the patient is booked for next
        else:
            visit_type = pick(rng, data.VISIT_TYPE_WEIGHTS[segment.stage])
        if visit_type == VisitType.MEDICATION_MANAGEMENT and self._clinician_for(visit_type) is None:
            visit_type = VisitType.INDIVIDUAL_COUNSELING  # nobody on this case prescribes
        return PlannedVisit(day, index, visit_type, status, entry=entry and day < 0)

    def _trail_off(self, planned: list[PlannedVisit]) -> None:
        """Patients who leave against advice usually stop coming first: their last visits are no-shows."""
        misses = self.rng.randint(2, 3)
        for visit in reversed(planned):
            if misses == 0:
                break
            if not visit.entry:
                visit.status = Attendance.NO_SHOW
                misses -= 1

    def _visit(self, planned: PlannedVisit) -> Visit:
        rng = self.rng
        clinician = self._clinician_for(planned.visit_type) or self.primary
        start_minute = (
            GROUP_START if planned.visit_type == VisitType.GROUP_COUNSELING else rng.choice(DAY_SLOTS)
        )
        scheduled_at = self.calendar.at(planned.day, start_minute)
        minutes = data.VISIT_MINUTES[planned.visit_type]
        # Booked one to ten clinic days ahead, never before the case opened nor later than yesterday.
        booked_day = min(max(self.timeline.opened, planned.day - rng.randint(1, 10)), -1)
        created_at = self.calendar.at(booked_day, 17 * 60 + rng.randint(0, 59))
        visit = Visit(
            case_id=self.case.pk,
            clinician_id=clinician.pk,
            visit_type=planned.visit_type,
            scheduled_at=scheduled_at,
            duration_minutes=minutes,
            status=planned.status,
            created_at=created_at,
            updated_at=created_at,
            created_by_id=self.staff.front_desk.pk if rng.random() < 0.7 else clinician.pk,
        )
        if planned.status in (Attendance.NO_SHOW, Attendance.CANCELLED, Attendance.LATE_CANCEL):
            visit.updated_at = scheduled_at + dt.timedelta(minutes=minutes)
        if planned.status == Attendance.ATTENDED:
            self._write_note(visit, planned)
            self._sign(visit, planned.day, clinician)
        return visit

    def _use_since_last_visit(self, phase: str, progress: float) -> tuple[float, int, int, list[str]]:
        """(daily grams, days used of the last 30, craving 0-10, withdrawal symptoms), trending down."""
        rng = self.rng
        baseline = self.profile.daily_grams
        if phase == "pre":
            amount, days, craving, symptoms = (
                baseline * rng.uniform(0.85, 1.15),
                rng.randint(25, 30),
                rng.randint(6, 9),
                rng.randint(2, 5),
            )
        elif phase == "recovery":
            slipped = rng.random() < 0.08
            amount = rng.uniform(1, max(1.5, baseline * 0.3)) if slipped else 0.0
            days = rng.randint(1, 4) if slipped else 0
            craving = rng.choices(range(5), weights=(25, 35, 25, 10, 5))[0]
            symptoms = 1 if rng.random() < 0.1 else 0
        else:
            amount = baseline * max(0.0, 1 - 1.15 * progress) * rng.uniform(0.8, 1.2)
            days = (
                round(30 * (1 - progress) ** 1.3 + rng.uniform(-2, 2)) if amount >= 0.5 else rng.randint(0, 2)
            )
            craving = round(8.5 - 7 * progress + rng.gauss(0, 1.1))
            symptoms = (
                rng.randint(1, 4)
                if progress < 0.3
                else rng.randint(0, 2)
                if progress < 0.7
                else rng.randint(0, 1)
            )
        if amount < 0.5:
            amount = 0.0
        chosen = sample_weighted(rng, data.WITHDRAWAL_SYMPTOM_WEIGHTS, symptoms) if symptoms else []
        return amount, min(max(days, 0), 30), min(max(craving, 0), 10), sorted(chosen)

    def _write_note(self, visit: Visit, planned: PlannedVisit) -> None:
        rng = self.rng
        phase, progress = self._phase(planned)
        amount, days, craving, symptoms = self._use_since_last_visit(phase, progress)
        planned.days_used = days
        in_person = planned.visit_type in data.IN_PERSON_TYPES
        if planned.visit_type != VisitType.LAB_ONLY:
            visit.craving = craving
            visit.kratom_days_used_30 = days
            visit.kratom_daily_grams = grams(amount)
            visit.withdrawal_symptoms = symptoms
        if in_person:
            self._take_vitals(visit, phase, progress)
        words = [data.SYMPTOM_WORDS[s] for s in symptoms]
        symptom_text = ", ".join(words[:-1]) + f" and {words[-1]}" if len(words) > 1 else "".join(words)
        symptom_text = symptom_text or "no withdrawal symptoms"
        fill = {
            "name": self.patient.preferred_name or self.patient.first_name,
            "form": data.FORM_WORDS[self.profile.form],
            "grams": f"{amount:.0f}" if amount >= 1 else f"{amount:.1f}",
            "years": f"{self.profile.years_used:g}",
            "reason": data.REASON_WORDS[self.profile.reasons[0]],
            "referral": data.REFERRAL_WORDS[self.case.referral_source],
            "days": days,
            "craving": craving,
            "symptoms": symptom_text,
            "symptoms_sentence": f"Withdrawal: {symptom_text}." if words else "No withdrawal symptoms.",
            "topic": rng.choice(data.GROUP_TOPICS),
            "severity": self.severity,
            # ICD-10-CM: F19.10 for a mild other-substance use disorder, F19.20 for moderate or severe.
            "icd": INSTRUMENTS["dsm5_sud"].diagnosis_codes.get(self.severity, "F19.20"),
            "next_grams": f"{amount * 0.75:.0f}",
            "weeks": {"pre": 1, "early": 1, "relapse": 1, "late": 2}.get(phase, 4),
            "bp": f"{visit.bp_systolic}/{visit.bp_diastolic}",
            "hr": visit.heart_rate,
            "weight": visit.weight_kg,
            "affect": rng.choice(data.AFFECTS),
            "exam": rng.choice(data.EXAMS),
        }
        kind = {
            VisitType.GROUP_COUNSELING: "group",
            VisitType.PHONE_CHECKIN: "phone",
            VisitType.LAB_ONLY: "lab",
        }.get(VisitType(planned.visit_type), phase)
        visit.subjective = rng.choice(data.SUBJECTIVE[kind]).format(**fill)
        if planned.visit_type == VisitType.LAB_ONLY:
            visit.objective = rng.choice(data.OBJECTIVE_LAB)
            visit.plan = rng.choice(data.PLAN_NOTES["lab"])
            return
        visit.objective = rng.choice(data.OBJECTIVE_IN_PERSON if in_person else data.OBJECTIVE_REMOTE).format(
            **fill
        )
        visit.assessment = rng.choice(data.ASSESSMENT_NOTES[phase]).format(**fill)
        visit.plan = rng.choice(data.PLAN_NOTES[phase]).format(**fill)

    def _take_vitals(self, visit: Visit, phase: str, progress: float) -> None:
        rng = self.rng
        body = self.body
        # Withdrawal raises pressure and pulse early on; weight comes back as appetite returns.
        strain = 6 if phase in ("pre", "relapse") or (phase == "early" and progress < 0.3) else 0
        systolic = round(body.systolic + strain + rng.gauss(0, 6))
        diastolic = round(body.diastolic + strain / 2 + rng.gauss(0, 4))
        visit.bp_systolic = min(max(systolic, 90), 200)
        visit.bp_diastolic = min(max(diastolic, 50), visit.bp_systolic - 25)
        visit.heart_rate = min(max(round(body.heart_rate + 1.5 * strain + rng.gauss(0, 6)), 48), 130)
        visit.weight_kg = Decimal(f"{body.weight_kg + 2.5 * progress + rng.gauss(0, 0.6):.1f}")

    def _sign(self, visit: Visit, day: int, clinician: User) -> None:
        """Older notes are all signed; a few from the last days still wait for their signature."""
        rng = self.rng
        ended = visit.scheduled_at + dt.timedelta(minutes=visit.duration_minutes)
        visit.updated_at = ended + dt.timedelta(minutes=5)
        if day >= -RECENT_DAYS and rng.random() < 0.55:
            return
        visit.signed_at = visit.updated_at = ended + dt.timedelta(minutes=rng.randint(10, 240))
        visit.signed_by_id = clinician.pk
        if rng.random() < 0.04:
            self._add_addendum(visit, day, clinician)

    def _add_addendum(self, visit: Visit, day: int, clinician: User) -> None:
        later = day + self.rng.randint(1, 5)
        if later >= 0:
            return  # it would be dated today or later
        author = self.staff.supervisor if self.rng.random() < 0.2 else clinician
        self.rows.addenda.append(
            VisitAddendum(
                visit_id=visit.pk,
                author_id=author.pk,
                created_at=self.calendar.at(later, self.rng.choice(DAY_SLOTS)),
                text=self.rng.choice(data.ADDENDUM_TEXTS),
            )
        )
