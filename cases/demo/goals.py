"""A demo case's the treatment plan: goals and their reviews."""

import datetime as dt
from collections.abc import Sequence

from cases.demo import data
from cases.demo.case import CaseBase
from cases.demo.common import (
    Attendance,
    GoalStatus,
    PlannedVisit,
    Stage,
    VisitType,
    pick_pair,
    sample_weighted,
)
from cases.models import TreatmentGoal, Visit


class GoalsPart(CaseBase):
    """The treatment plan: goals and their reviews."""

    def _plan_goals(self, planned: Sequence[PlannedVisit], visits: Sequence[Visit]) -> None:
        """One to three goals written on entering treatment (the kratom goal first), reviewed every month or
        so at an individual, medication or telehealth visit, on returning to treatment (the kratom goal is
        revised and a new one set) and at discharge. A few plans' reviews lapse after the first."""
        treatment = [i for i, segment in enumerate(self.segments) if segment.stage == Stage.TREATMENT]
        if not treatment:
            return
        rng = self.rng
        start = self.segments[treatment[0]].start
        returned = self.segments[treatment[1]].start if len(treatment) > 1 else None
        reviews = [start]
        gap = rng.randint(*data.PLAN_REVIEW_GAP_DAYS)
        for plan, visit in zip(planned, visits, strict=True):
            if visit.status != Attendance.ATTENDED or plan.day <= start:
                continue
            if plan.day == returned and plan.entry:
                reviews.append(plan.day)
            elif (
                not self.plan_review_lapses
                and self.segments[plan.segment].stage in (Stage.TREATMENT, Stage.RECOVERY)
                and plan.visit_type
                in (VisitType.INDIVIDUAL_COUNSELING, VisitType.MEDICATION_MANAGEMENT, VisitType.TELEHEALTH)
                and plan.day - reviews[-1] >= gap
            ):
                reviews.append(plan.day)
                gap = rng.randint(*data.PLAN_REVIEW_GAP_DAYS)
        closing = self._closing_day()
        if closing is not None and closing > reviews[-1]:
            reviews.append(closing)  # the plan is closed out at discharge

        reason = self.timeline.discharge_reason
        outcome = (
            str(self.segments[-1].stage)
            if reason is None
            else "completed"
            if reason == "completed"
            else "closed_early"
        )
        reached_recovery = any(segment.stage == Stage.RECOVERY for segment in self.segments)
        kratom_status = {
            "treatment": GoalStatus.ACTIVE,
            "recovery": GoalStatus.MET,
            "completed": GoalStatus.MET,
            "closed_early": GoalStatus.MET if reached_recovery else GoalStatus.DISCONTINUED,
        }[outcome]
        profile = self.profile
        topic_weights = {
            "withdrawal": 20,
            "mood": 30 if self.phq9_baseline >= 10 else 6,
            "anxiety": 25 if "anxiety_mood" in profile.reasons or self.gad7_baseline >= 10 else 5,
            "pain": 30 if "pain" in profile.reasons else 3,
            "sleep": 10,
            "relationships": 10,
            "work": 8,
            "other_substance": 20 if profile.other_substances else 0,
            "liver": 40 if self.liver_baseline and self.liver_state != "normal" else 0,
        }
        extra = rng.choices((0, 1, 2), weights=(25, 45, 30))[0]
        topics = sample_weighted(rng, {t: w for t, w in topic_weights.items() if w}, extra)
        goals: list[tuple[str, int, str]] = [
            ("kratom", start, GoalStatus.REVISED if returned is not None else kratom_status)
        ]
        goals += [(topic, start, pick_pair(rng, data.GOAL_STATUS_WEIGHTS[outcome])) for topic in topics]
        if returned is not None:
            goals.append(("kratom_return", returned, kratom_status))
        fill = {
            "grams": f"{profile.daily_grams:g}",
            "form": data.FORM_WORDS[profile.form],
            "severity": self.severity,
            "other": profile.other_substances.lower(),
        }
        reviewed_at = self.calendar.at(reviews[-1], 17 * 60 + 30 + rng.randint(0, 29))
        for topic, day, status in goals:
            problem, goal, interventions = rng.choice(data.GOALS[topic])
            self.rows.goals.append(
                TreatmentGoal(
                    case_id=self.case.pk,
                    problem=problem.format(**fill),
                    goal=goal.format(**fill),
                    interventions=interventions.format(**fill),
                    target_date=self.calendar.date(day) + dt.timedelta(days=rng.randint(60, 120)),
                    status=status,
                    review_date=self.calendar.date(reviews[-1]),
                    created_at=self.calendar.at(day, 17 * 60 + rng.randint(0, 29)),
                    updated_at=reviewed_at,
                    created_by_id=self.primary.pk,
                )
            )
