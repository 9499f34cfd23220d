"""One demo case, built from its record types' parts."""

import datetime as dt

from cases.demo.alerts import AlertsQueue
from cases.demo.assessments import AssessmentsPart
from cases.demo.events import EventsPart
from cases.demo.goals import GoalsPart
from cases.demo.labs import LabsPart
from cases.demo.medications import MedicationsPart
from cases.demo.stages import StagesPart
from cases.demo.visits import VisitsPart
from cases.models import CareTeamMember


class CaseHistory(
    VisitsPart, StagesPart, AssessmentsPart, EventsPart, MedicationsPart, LabsPart, GoalsPart, AlertsQueue
):
    """Builds one case: its row, care team, visits with notes, assessments, stage history and addenda."""

    def build(self) -> dt.datetime:
        """Append the case's rows; returns the moment the case was opened."""
        rows = self.rows
        first = (len(rows.assessments), len(rows.drug_screens), len(rows.liver_panels))
        planned = self._plan_visits()
        visits = [self._visit(p) for p in planned]
        opening = visits[0].scheduled_at - dt.timedelta(minutes=10)
        visits[0].created_at = visits[0].updated_at = opening
        transitions = self._transitions(planned, visits, opening)
        self._assessments(planned, visits)
        self._finish_case(transitions, opening)
        self._medications()
        self._labs(planned, visits)
        self._plan_goals(planned, visits)
        self._rare_events(planned, visits)
        self._queue_alert_checks(
            visits, rows.assessments[first[0] :], rows.drug_screens[first[1] :], rows.liver_panels[first[2] :]
        )
        self.rows.cases.append(self.case)
        self.rows.care_team.extend(
            CareTeamMember(
                case_id=self.case.pk,
                user_id=member.pk,
                added_at=self.calendar.at(self.timeline.opened, 18 * 60),
            )
            for member in self.team
        )
        self.rows.transitions.extend(transitions)
        self.rows.visits.extend(visits)
        return opening
