"""The outcomes report (SPEC section 6): first and latest scores of each instrument, mitragynine-negative urine
screens in recovery, median days in each stage, and DSM-5 remission."""

import datetime as dt
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any

from django.db import connection
from django.db.models import (
    Avg,
    Count,
    F,
    Q,
    QuerySet,
    RowRange,
    Window,
)
from django.db.models.functions import FirstValue, Lag, LastValue, RowNumber, TruncDate
from django.utils import timezone

from cases.census_rollup import outcome_cells
from cases.instruments.definitions import INSTRUMENTS, Instrument
from cases.models import Assessment, Case, DrugScreen, StageTransition
from cases.remission import remission_of
from cases.reports.expressions import DaysBetween, in_one_transaction, medians, stage_at
from cases.reports.figures import median_of_counts, ratio, rounded
from cases.reports.params import ReportParams, day_end, day_start
from cases.reports.scope import on_report_cases, report_cases
from cases.rollups import has_rollups
from cases.score_rollup import remission_figures, score_figures
from clinic.models import User
from clinic.policy import Capability, Scope, scope

Stage = Case.Stage
SPELL_STAGES: tuple[str, ...] = tuple(stage.value for stage in Case.OPEN_STAGES)  # every stage but discharged


def _improved(instrument: Instrument) -> Q:
    """The latest score in a better band than the first: bands are ranges of totals, in order from the best, so
    the latest band is at least one band better exactly when the latest total is below the lowest total of the
    first score's band (the bands as the instrument declares them; scoring stores the same)."""
    return reduce(
        or_,
        (
            Q(first_total__gte=band.low, first_total__lte=band.high, latest_total__lt=band.low)
            for band in instrument.bands[1:]
        ),
    )


# Per instrument with bands (SOWS has none).
IMPROVED: dict[str, Q] = {
    code: _improved(instrument) for code, instrument in INSTRUMENTS.items() if instrument.bands
}


@in_one_transaction
def outcomes(user: User, params: ReportParams) -> dict[str, Any]:
    """Outcomes. Clinician filter: the case's current primary clinician, throughout.

    - `instruments`: for each of the five instruments, the cases in scope with two or more valid scores (not
      entered in error) of it administered in the range (clinic dates `start` to `end`). `cases` counts them;
      `mean_first` is the mean of each case's earliest score in the range, `mean_latest` of its latest,
      `mean_change` of (latest - first), all to two decimals; `improved_share` is the share of those cases whose
      latest score falls in a better (lower) band than their first, by at least one band, to three decimals
      (`improved` counts them). Scores given at the same moment are ordered by when they were recorded. SOWS has
      no bands: its `improved_share` is null. All four are null when `cases` is 0.
    - `mitragynine_negative_share` (SPEC v2 section 6: kratom-negative): of the urine screens collected in the
      range on which mitragynine or 7-hydroxymitragynine (or both) was tested, on cases whose stage at the end of
      the collection day was `recovery`, the share with no kratom analyte positive, to three decimals (null when
      there is none); a screen that tested neither is left out. `mitragynine_screens` is that denominator and
      `mitragynine_negative` the numerator (the names kept for clients).
    - `median_days_in_stage`: for intake, assessment, treatment and recovery, the median length in days
      (between the clinic dates of the stage change that entered the stage and the one that left it) of the
      completed stays in that stage whose leaving falls in the range; a stay still running is left out; null
      when there is none. `completed_stays` counts the stays behind each median. A case that returned from
      recovery to treatment has two treatment stays; each counts.
    - `remission`: among cases in scope whose stage at the end of `end` was `recovery`, how many had the DSM-5-TR
      remission specifier `early` or `sustained` as of `end` (SPEC section 4, `cases.remission`: the rule the
      chart and the API show), from their valid DSM-5 checklists dated up to `end`.
    """
    whole_clinic = has_rollups() and scope(user, Capability.REPORTS) is Scope.ALL
    if whole_clinic:
        stays_and_screens = _from_rollup(params)  # one statement (cases/census_rollup.py)
        instruments = _instruments_from_rollup(params)  # one statement (cases/score_rollup.py)
    else:
        stays_and_screens = {**_mitragynine(user, params), **_days_in_stage(user, params)}
        instruments = _instruments(user, params)
    return {
        "instruments": instruments,
        **{key: stays_and_screens[key] for key in MITRAGYNINE_KEYS},
        **{key: stays_and_screens[key] for key in STAY_KEYS},
        "remission": _remission(report_cases(user, params), params, from_rollup=whole_clinic),
    }


MITRAGYNINE_KEYS = ("mitragynine_negative_share", "mitragynine_screens", "mitragynine_negative")
STAY_KEYS = ("median_days_in_stage", "completed_stays")


def _from_rollup(params: ReportParams) -> dict[str, Any]:
    """The screens in recovery and the stays' medians for the whole clinic on PostgreSQL, from the rollup
    (cases/census_rollup.py: per clinic day, the screens by result and the stays by stage and length; exact, in
    one statement). The median of a stage's lengths from their counts is PERCENTILE_CONT(0.5)'s: the middle
    length, or the mean of the middle two."""
    clinician = params.clinician.pk if params.clinician is not None else None
    cells = outcome_cells(params.start, params.end, clinician)
    screened = sum(n for (kind, _), n in cells.items() if kind == "screen")
    negative = cells.get(("screen", "negative"), 0)
    lengths: dict[str, dict[int, int]] = {stage: {} for stage in SPELL_STAGES}
    for (kind, key), n in cells.items():
        if kind == "stay":
            stage, days = key.split(":")
            lengths[stage][int(days)] = lengths[stage].get(int(days), 0) + n
    medians = {stage: median_of_counts(counts) for stage, counts in lengths.items()}
    return {
        "mitragynine_negative_share": ratio(negative, screened),
        "mitragynine_screens": screened,
        "mitragynine_negative": negative,
        "median_days_in_stage": {stage: rounded(medians[stage][0], 1) for stage in SPELL_STAGES},
        "completed_stays": {stage: medians[stage][1] for stage in SPELL_STAGES},
    }


def _instruments(user: User, params: ReportParams) -> list[dict[str, Any]]:
    """One query: per (instrument, case), the first and latest score in the range (in time order) and the number
    of scores; then, over the cases with two or more, the counts and means per instrument and the cases whose
    band improved. PostgreSQL reads the scores once in index order (`INSTRUMENT_FIGURES`); other databases use
    window functions (`_window_figures`). Both give the same figures."""
    valid = Assessment.objects.filter(
        entered_in_error=False,
        administered_at__gte=day_start(params.start),
        administered_at__lt=day_end(params.end),
    )
    scores = on_report_cases(valid, user, params)
    if connection.vendor == "postgresql":
        return _assemble(_grouped_figures(scores))
    return _assemble(_window_figures(scores))


def _instruments_from_rollup(params: ReportParams) -> list[dict[str, Any]]:
    """`_instruments` for the whole clinic on PostgreSQL, from the score rollup (cases/score_rollup.py: per
    instrument, the histories counted and the sums of their first and latest totals; exact, in one statement).
    The means are the sums divided by the count, as the averages are."""
    clinician = params.clinician.pk if params.clinician is not None else None
    figures = score_figures(params.start, params.end, clinician)
    found: dict[str, Any] = {}
    for code in INSTRUMENTS:
        cases, first, latest, improved = figures.get(code, (0, 0, 0, 0))
        found |= {
            f"{code}_cases": cases,
            f"{code}_first": _mean(first, cases),
            f"{code}_latest": _mean(latest, cases),
            f"{code}_change": _mean(latest - first, cases),
        }
        if code in IMPROVED:
            found[f"{code}_improved"] = improved
    return _assemble(found)


def _mean(total: int, count: int) -> Decimal | None:
    return Decimal(total) / Decimal(count) if count else None


def _window_figures(scores: QuerySet[Assessment]) -> dict[str, Any]:
    """Per instrument, `{code}_cases`, `_first`, `_latest`, `_change` and, for an instrument with bands,
    `_improved`: FIRST_VALUE and LAST_VALUE over each (instrument, case)'s scores in time order and their number,
    kept on the first row of each."""

    # One window for all: each (instrument, case)'s scores in time order, the whole partition in the frame.
    def over_each_case(expression: Any) -> Window:
        return Window(
            expression,
            partition_by=[F("case_id"), F("instrument")],
            order_by=[F("administered_at").asc(), F("recorded_at").asc(), F("id").asc()],
            frame=RowRange(start=None, end=None),
        )

    per_case = scores.annotate(
        first_total=over_each_case(FirstValue("total")),
        latest_total=over_each_case(LastValue("total")),
        score_count=over_each_case(Count("pk")),
        position=over_each_case(RowNumber()),
    ).filter(position=1, score_count__gte=2)
    aggregates: dict[str, Any] = {}
    for code in INSTRUMENTS:
        only = Q(instrument=code)
        aggregates |= {
            f"{code}_cases": Count("pk", filter=only),
            f"{code}_first": Avg("first_total", filter=only),
            f"{code}_latest": Avg("latest_total", filter=only),
            f"{code}_change": Avg(F("latest_total") - F("first_total"), filter=only),
        }
        if code in IMPROVED:
            aggregates[f"{code}_improved"] = Count("pk", filter=only & IMPROVED[code])
    return per_case.aggregate(**aggregates)


# PostgreSQL: the same figures in one pass over the assessments in index order, grouped per (case, instrument),
# with no window: a window whose frame is the whole partition spools every row (a second or so at network scale),
# where a plain aggregate over the ordered rows takes a third of that. ARRAY_AGG collects each group's totals in
# time order, so that the first element is the earliest score and element `n` the latest:
# - PostgreSQL 16 and later: the aggregate's own ORDER BY, which costs nothing on input already in that order
#   (the planner hands presorted rows to ordered aggregates);
# - PostgreSQL 15 sorts again inside an ordered aggregate, per group, which costs as much as the window: there the
#   aggregate takes the rows in the order the sorted subquery delivers them. A subquery with ORDER BY is planned
#   on its own (never flattened into the query), and ARRAY_AGG has no combine function before 16 (no partial,
#   parallel aggregation), so the rows reach it as one stream in that order.
INSTRUMENT_FIGURES = """
SELECT instrument, COUNT(*), AVG(first_total), AVG(latest_total), AVG(latest_total - first_total),
       COUNT(*) FILTER (WHERE {improved})
FROM (
    SELECT instrument, COUNT(*) AS n, (ARRAY_AGG(total{order}))[1] AS first_total,
           (ARRAY_AGG(total{order}))[COUNT(*)] AS latest_total
    FROM ({scores}) ordered
    GROUP BY case_id, instrument
) per_case
WHERE n >= 2
GROUP BY instrument
"""
IN_TIME_ORDER = ("administered_at", "recorded_at", "id")


def _improved_sql() -> tuple[str, list[Any]]:
    """`IMPROVED` as SQL over `instrument`, `first_total` and `latest_total` (the same bands, the same test)."""
    terms, sql_params = [], []
    for code, instrument in INSTRUMENTS.items():
        for band in instrument.bands[1:]:
            terms.append(
                "(instrument = %s AND first_total >= %s AND first_total <= %s AND latest_total < %s)"
            )
            sql_params += [code, band.low, band.high, band.low]
    return " OR ".join(terms) or "FALSE", sql_params


def _grouped_figures(scores: QuerySet[Assessment]) -> dict[str, Any]:
    """`_window_figures` on PostgreSQL (see `INSTRUMENT_FIGURES`), keyed the same way, the means as floats as
    Django's `Avg` returns them."""
    ordered = scores.order_by("case_id", "instrument", *IN_TIME_ORDER).values_list(
        "case_id", "instrument", "total", *IN_TIME_ORDER
    )
    scores_sql, scores_params = ordered.query.sql_with_params()
    improved_sql, improved_params = _improved_sql()
    pg_version: int = connection.pg_version  # type: ignore[attr-defined]
    order = f" ORDER BY {', '.join(IN_TIME_ORDER)}" if pg_version >= 160000 else ""
    with connection.cursor() as cursor:
        cursor.execute(
            INSTRUMENT_FIGURES.format(improved=improved_sql, scores=scores_sql, order=order),
            [*improved_params, *scores_params],
        )
        rows = cursor.fetchall()
    found: dict[str, Any] = {}
    for code in INSTRUMENTS:  # an instrument without cases: no row
        found |= {f"{code}_cases": 0, f"{code}_first": None, f"{code}_latest": None, f"{code}_change": None}
        if code in IMPROVED:
            found[f"{code}_improved"] = 0
    for code, cases, first, latest, change, improved in rows:
        found |= {
            f"{code}_cases": cases,
            f"{code}_first": float(first),
            f"{code}_latest": float(latest),
            f"{code}_change": float(change),
        }
        if code in IMPROVED:
            found[f"{code}_improved"] = improved
    return found


def _assemble(found: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of `instruments` from the figures."""
    rows = []
    for code in INSTRUMENTS:
        improved = found.get(f"{code}_improved")
        rows.append(
            {
                "instrument": code,
                "cases": found[f"{code}_cases"],
                "mean_first": rounded(found[f"{code}_first"], 2),
                "mean_latest": rounded(found[f"{code}_latest"], 2),
                "mean_change": rounded(found[f"{code}_change"], 2),
                "improved": improved,
                "improved_share": None if improved is None else ratio(improved, found[f"{code}_cases"]),
            }
        )
    return rows


# The screens in recovery, from three queries the ORM builds (each a plain row source the database merges into
# one plan): the stays in recovery on the report's cases, each joined to the stage change that ended it (the
# case's next one, by sequence; none for a stay still running) and to the screens collected on a day in it. A
# join, not a subquery per stay, so that each stay's end is read once.
MITRAGYNINE_SCREENS = """
SELECT COUNT(*), COUNT(*) FILTER (WHERE screens.mitragynine <> %s AND screens.seven_oh_mitragynine <> %s)
FROM ({stays}) stays
LEFT JOIN ({changes}) next_change
    ON next_change.case_id = stays.case_id AND next_change.sequence = stays.sequence + 1
INNER JOIN ({screens}) screens
    ON screens.case_id = stays.case_id
    AND screens.collected_on >= stays.entered_on
    AND screens.collected_on < COALESCE(next_change.day, %s)
"""


def _mitragynine(user: User, params: ReportParams) -> dict[str, Any]:
    """One query from the stays in recovery: each stay runs from the clinic date of the stage change into
    recovery up to (not including) the date of the next change, if any; a screen collected on a day in a stay
    was collected in recovery (the stage at the end of that day). A case's stays do not overlap, so no screen
    counts twice; a stay entered and left on the same day holds no day."""
    zone = timezone.get_default_timezone()
    stays = (
        on_report_cases(StageTransition.objects.filter(to_stage=Stage.RECOVERY), user, params)
        .annotate(entered_on=TruncDate("effective_at", tzinfo=zone))
        .order_by()
        .values_list("case_id", "sequence", "entered_on")
    )
    changes = (
        StageTransition.objects.annotate(day=TruncDate("effective_at", tzinfo=zone))
        .order_by()
        .values_list("case_id", "sequence", "day")
    )
    tested = [DrugScreen.Result.POSITIVE, DrugScreen.Result.NEGATIVE]
    screens = (
        DrugScreen.objects.filter(
            Q(mitragynine__in=tested) | Q(seven_oh_mitragynine__in=tested),
            collected_on__range=(params.start, params.end),
        )
        .order_by()
        .values_list("case_id", "collected_on", "mitragynine", "seven_oh_mitragynine")
    )
    stays_sql, stays_params = stays.query.sql_with_params()
    changes_sql, changes_params = changes.query.sql_with_params()
    screens_sql, screens_params = screens.query.sql_with_params()
    no_end = connection.ops.adapt_datefield_value(dt.date.max)  # a stay still running
    positive = DrugScreen.Result.POSITIVE.value
    with connection.cursor() as cursor:
        cursor.execute(
            MITRAGYNINE_SCREENS.format(stays=stays_sql, changes=changes_sql, screens=screens_sql),
            [positive, positive, *stays_params, *changes_params, *screens_params, no_end],
        )
        screened, negative = cursor.fetchone()
    return {
        "mitragynine_negative_share": ratio(negative, screened),
        "mitragynine_screens": screened,
        "mitragynine_negative": negative,
    }


def _days_in_stage(user: User, params: ReportParams) -> dict[str, Any]:
    """A stay in a stage ends with a stage change whose `from_stage` is that stage and began with the change
    before it in the case's history (LAG over the history in order; the stay counts when its end falls in the
    range, so the history up to the range's end is read)."""
    zone = timezone.get_default_timezone()
    history = on_report_cases(
        StageTransition.objects.filter(effective_at__lt=day_end(params.end)), user, params
    )
    entered_at = Window(Lag("effective_at"), partition_by=[F("case_id")], order_by=[F("sequence").asc()])
    days = DaysBetween(TruncDate("effective_at", tzinfo=zone), TruncDate(entered_at, tzinfo=zone))
    ended_in_range = Q(effective_at__gte=day_start(params.start), from_stage__in=SPELL_STAGES)
    found = medians(history, days, group="from_stage", groups=SPELL_STAGES, only=ended_in_range)
    return {
        "median_days_in_stage": {stage: rounded(found[stage][0], 1) for stage in SPELL_STAGES},
        "completed_stays": {stage: found[stage][1] for stage in SPELL_STAGES},
    }


def _remission(cases: Any, params: ReportParams, *, from_rollup: bool = False) -> dict[str, int]:
    """One query: per case in recovery at the end of `end`, its specifier as of `end` (`cases.remission`: the
    chart's rule, one subquery per case), counted by value. From the rollup (the whole clinic on PostgreSQL,
    cases/score_rollup.py): the same rule over each case's stored checklist facts, in one statement."""
    in_recovery = cases.annotate(stage_then=stage_at(day_end(params.end))).filter(stage_then=Stage.RECOVERY)
    if from_rollup:
        cases_sql, cases_params = in_recovery.order_by().values("pk").query.sql_with_params()
        early, sustained = remission_figures(cases_sql, list(cases_params), params.end)
        return {"early": early, "sustained": sustained}
    found = dict(
        in_recovery.annotate(specifier=remission_of(params.end))
        .values("specifier")
        .annotate(n=Count("pk"))
        .values_list("specifier", "n")
    )
    return {"early": found.get("early", 0), "sustained": found.get("sustained", 0)}
