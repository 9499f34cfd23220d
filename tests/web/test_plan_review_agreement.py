"""The chart's "Review overdue" badges and the `plan_review_overdue` alert read one rule (cases/plan_review.py):
for each mix of goals, the chart flags a goal exactly when the alert fires and counts it."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Alert
from cases.services.alerts import alerts_raise_periodic
from tests.factories import AttendedVisitFactory, TreatmentGoalFactory, case_in_stage


def ago(days: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


@pytest.mark.parametrize(
    ("goals", "due"),
    [
        ([(91, "active")], 1),
        ([(90, "active")], 0),  # exactly 90 days: not yet due
        ([(110, "active"), (20, "met")], 1),  # the disagreement of the issue: a recent met goal hides nothing
        ([(110, "active"), (95, "active"), (5, "active")], 2),
        ([(200, "met"), (300, "revised"), (10, "active")], 0),
        ([(91, "active"), (1, "discontinued")], 1),
    ],
)
def test_the_chart_and_the_alert_agree_on_which_goals_are_due(client, clinician, goals, due):
    case = case_in_stage("treatment", actor=clinician, primary_clinician=clinician)
    AttendedVisitFactory(case=case, clinician=clinician, scheduled_at=timezone.now() - dt.timedelta(days=1))
    for days, status in goals:
        TreatmentGoalFactory(case=case, review_date=ago(days), status=status)

    alerts_raise_periodic()
    client.force_login(clinician)
    response = client.get(f"/patients/{case.patient_id}/")

    flagged = [row.review_overdue for row in response.context["clinical_record"].goals]
    assert sum(flagged) == due
    alert = Alert.objects.filter(case=case, kind="plan_review_overdue").first()
    assert (alert is not None) is (due > 0)
    if due:
        assert f"{due} active goal{'s' if due > 1 else ''} due" in alert.message
    assert response.content.decode().count("Review overdue") == due


def test_front_desk_sees_no_goals_or_badges(client, front_desk, clinician):
    case = case_in_stage("treatment", actor=clinician, primary_clinician=clinician)
    TreatmentGoalFactory(case=case, review_date=ago(120))
    client.force_login(front_desk)

    response = client.get(f"/patients/{case.patient_id}/")

    assert response.status_code == 200
    assert "Review overdue" not in response.content.decode()
