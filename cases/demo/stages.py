"""A demo case's stage history: the chain of transitions and the case row it leaves."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from cases.demo import data
from cases.demo.case import CaseBase
from cases.demo.common import PlannedVisit, Stage
from cases.models import Case, StageTransition, Visit


class StagesPart(CaseBase):
    """Stage history: the chain of transitions and the case row it leaves."""

    def _transitions(
        self, planned: Sequence[PlannedVisit], visits: Sequence[Visit], opening: dt.datetime
    ) -> list[StageTransition]:
        """The chain: opened at intake, each later stage entered at its entry visit, then the discharge."""
        rng = self.rng
        chain = [
            StageTransition(
                case_id=self.case.pk,
                sequence=1,
                from_stage=None,
                to_stage=Stage.INTAKE,
                effective_at=opening,
                recorded_at=opening,
                by_id=self.staff.front_desk.pk,
                reason="Case opened at intake",
            )
        ]
        for plan, visit in zip(planned, visits, strict=True):
            if not plan.entry or plan.segment == 0:
                continue
            from_stage = self.segments[plan.segment - 1].stage
            to_stage = self.segments[plan.segment].stage
            reasons = data.TRANSITION_REASONS[(from_stage, to_stage)]
            inducted = from_stage == Stage.ASSESSMENT and self.approach == "buprenorphine"
            if inducted:
                reasons = data.BUPRENORPHINE_START_REASONS
            chain.append(
                self._transition(
                    chain, to_stage, visit.scheduled_at, by=visit.clinician_id, reason=rng.choice(reasons)
                )
            )
        reason = self.timeline.discharge_reason
        if reason is not None:
            closing = visits[-1] if planned[-1].discharge else None
            if closing is not None:
                when = closing.scheduled_at + dt.timedelta(minutes=closing.duration_minutes)
            else:
                when = self.calendar.at(self.segments[-1].end, 16 * 60 + 45 + rng.randint(0, 40))
            chain.append(
                self._transition(
                    chain,
                    Stage.DISCHARGED,
                    when,
                    by=self.primary.pk,
                    reason=rng.choice(data.DISCHARGE_NOTES[reason]),
                    discharge_reason=reason,
                )
            )
        return chain

    def _transition(
        self,
        chain: Sequence[StageTransition],
        to_stage: str,
        when: dt.datetime,
        *,
        by: Any,
        reason: str,
        discharge_reason: str | None = None,
    ) -> StageTransition:
        previous = chain[-1]
        return StageTransition(
            case_id=self.case.pk,
            sequence=previous.sequence + 1,
            from_stage=previous.to_stage,
            to_stage=to_stage,
            effective_at=when,
            recorded_at=when,
            by_id=by,
            reason=reason,
            discharge_reason=discharge_reason,
        )

    def _finish_case(self, transitions: Sequence[StageTransition], opening: dt.datetime) -> None:
        last = transitions[-1]
        case = self.case
        case.stage = last.to_stage
        # Every stage change after opening bumps the optimistic-concurrency counter (see case_transition).
        case.version = len(transitions)
        case.created_at = opening
        case.updated_at = last.effective_at
        if last.to_stage == Stage.DISCHARGED:
            case.status = Case.Status.CLOSED
            case.closed_on = last.effective_at.astimezone(self.calendar.tz).date()
            case.discharge_reason = last.discharge_reason
        else:
            case.status = Case.Status.OPEN
