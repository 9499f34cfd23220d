"""When a treatment plan's review is due (SPEC section 3.5: reviewed at least every 90 days while the case is in
treatment): the one rule the chart's "Review overdue" badge and the `plan_review_overdue` alert both read, so they
agree on which goals are due."""

import datetime as dt
from typing import Any

from django.db.models import BooleanField, Q, QuerySet, Value, When
from django.db.models import Case as DbCase

from cases.models import TreatmentGoal

PLAN_REVIEW_DAYS = 90


def review_due(today: dt.date, prefix: str = "") -> Q:
    """An active goal last reviewed more than 90 days before `today` (a goal reviewed exactly 90 days ago is not
    yet due). Met, revised and discontinued goals are not reviewed again. `prefix` reads the goals through a
    relation (`"goals__"` on a case)."""
    cutoff = today - dt.timedelta(days=PLAN_REVIEW_DAYS)
    return Q(**{f"{prefix}status": TreatmentGoal.Status.ACTIVE, f"{prefix}review_date__lt": cutoff})


def with_review_due(goals: QuerySet[TreatmentGoal], today: dt.date) -> QuerySet[TreatmentGoal, Any]:
    """`goals` annotated `review_due` (True / False) by `review_due`."""
    return goals.annotate(
        review_due=DbCase(
            When(review_due(today), then=Value(True)), default=Value(False), output_field=BooleanField()
        )
    )
