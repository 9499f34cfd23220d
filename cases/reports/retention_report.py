"""The retention report (SPEC section 6): of the cases opened in the range, how many were still open 30, 90 and
180 days after opening, and the median length of stay."""

import datetime as dt
from typing import Any

from django.db.models import Count, F, Q

from cases.census_rollup import RETENTION_DAYS, retention_cells
from cases.reports.expressions import DaysBetween, in_one_transaction, medians
from cases.reports.figures import median_of_counts, ratio, rounded
from cases.reports.params import ReportParams, clinic_today
from cases.reports.scope import report_cases
from cases.rollups import has_rollups
from clinic.models import User
from clinic.policy import Capability, Scope, scope

DAYS = RETENTION_DAYS  # 30, 90, 180


@in_one_transaction
def retention(user: User, params: ReportParams) -> dict[str, Any]:
    """Retention.

    - Cohort: the cases opened in the range (`start` to `end`, both included). Each episode is its own member:
      a readmission is a new member, and an earlier episode of the same patient stays one too.
      `cohort_size` counts them.
    - For day N (30, 90, 180): `eligible` = cohort cases opened at least N days before today (opened on or before
      today - N). A case opened too recently to have reached day N is left out of that N's denominator
      (censoring), whether or not it is still open. `retained` = eligible cases still open on day N: not closed,
      or closed on or after opened on + N (a case closed exactly on day N counts as retained). `rate` =
      retained / eligible to three decimals, null when no case is eligible.
    - `median_length_of_stay_days`: median of (closed on - opened on), in days, over the cohort's closed cases;
      open cases are left out (censored: their stay is not over), and `open_cases` says how many those are.
      Null when no cohort case has closed. The median of an even number of stays is the mean of the middle two.
    - Clinician filter: the case's current primary clinician.
    """
    today = clinic_today()
    if has_rollups() and scope(user, Capability.REPORTS) is Scope.ALL:
        return _from_rollup(params, today)  # one statement (cases/census_rollup.py)
    cohort = report_cases(user, params).filter(opened_on__range=(params.start, params.end))
    stay = DaysBetween(F("closed_on"), F("opened_on"))
    counts: dict[str, Any] = {
        "cohort_size": Count("pk"),
        "open_cases": Count("pk", filter=Q(closed_on__isnull=True)),
    }
    for day in DAYS:
        eligible = Q(opened_on__lte=today - dt.timedelta(days=day))
        counts[f"eligible_{day}"] = Count("pk", filter=eligible)
        counts[f"retained_{day}"] = Count(
            "pk", filter=eligible & (Q(closed_on__isnull=True) | Q(stay_days__gte=day))
        )
    found = cohort.annotate(stay_days=stay).aggregate(**counts)
    median, _ = medians(cohort.filter(closed_on__isnull=False), stay)[None]
    return {
        "cohort_size": found["cohort_size"],
        "days": [
            {
                "day": day,
                "eligible": found[f"eligible_{day}"],
                "retained": found[f"retained_{day}"],
                "rate": ratio(found[f"retained_{day}"], found[f"eligible_{day}"], 3),
            }
            for day in DAYS
        ],
        "median_length_of_stay_days": rounded(median, 1),
        "open_cases": found["open_cases"],
    }


def _from_rollup(params: ReportParams, today: dt.date) -> dict[str, Any]:
    """The same figures for the whole clinic on PostgreSQL, from the census rollup (cases/census_rollup.py: per
    opening day, the cases opened, still open and kept to day N, and the closed cases' stays by length; exact, in
    one statement). A case is eligible for day N when it opened on or before today - N. The median of the stays
    from their counts is PERCENTILE_CONT(0.5)'s: the middle length, or the mean of the middle two."""
    clinician = params.clinician.pk if params.clinician is not None else None
    totals: dict[str, int] = {}
    eligible = dict.fromkeys(DAYS, 0)
    retained = dict.fromkeys(DAYS, 0)
    stays: dict[int, int] = {}
    for kind, key, day, n in retention_cells(params.start, params.end, clinician):
        if kind == "stayed":
            stays[int(key)] = stays.get(int(key), 0) + n
            continue
        totals[key] = totals.get(key, 0) + n
        for days in DAYS:
            if day is not None and day <= today - dt.timedelta(days=days):
                if key == "all":
                    eligible[days] += n
                elif key == f"kept{days}":
                    retained[days] += n
    median, _ = median_of_counts(stays)
    return {
        "cohort_size": totals.get("all", 0),
        "days": [
            {
                "day": days,
                "eligible": eligible[days],
                "retained": retained[days],
                "rate": ratio(retained[days], eligible[days], 3),
            }
            for days in DAYS
        ],
        "median_length_of_stay_days": rounded(median, 1),
        "open_cases": totals.get("open", 0),
    }
