"""The outcomes report (SPEC section 6): first and latest scores of each instrument, mitragynine-negative urine
screens in recovery, median days in each stage, and DSM-5 remission."""

import datetime as dt
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Avg, CharField, Count, F, OuterRef, Q, RowRange, Subquery, Value, When, Window
from django.db.models import Case as DbCase
from django.db.models.functions import Coalesce, FirstValue, Lag, LastValue, RowNumber, TruncDate
from django.utils import timezone

from cases.instruments.definitions import DSM5_SUD, INSTRUMENTS, Instrument
from cases.measures import add_months
from cases.models import Assessment, Case, DrugScreen, StageTransition
from cases.reports.expressions import DaysBetween, in_one_transaction, medians, stage_at
from cases.reports.figures import ratio, rounded
from cases.reports.params import ReportParams, day_end, day_start
from cases.reports.scope import on_report_cases, report_cases
from clinic.models import User

Stage = Case.Stage
SPELL_STAGES: tuple[str, ...] = tuple(stage.value for stage in Case.OPEN_STAGES)  # every stage but discharged
REMISSION_MONTHS = {"early": 3, "sustained": 12}


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
    - `mitragynine_negative_share`: of the urine screens collected in the range on which mitragynine was tested
      (positive or negative), on cases whose stage at the end of the collection day was `recovery`, the share
      negative, to three decimals (null when there is none); `mitragynine_screens` is that denominator and
      `mitragynine_negative` the numerator.
    - `median_days_in_stage`: for intake, assessment, treatment and recovery, the median length in days
      (between the clinic dates of the stage change that entered the stage and the one that left it) of the
      completed stays in that stage whose leaving falls in the range; a stay still running is left out; null
      when there is none. `completed_stays` counts the stays behind each median. A case that returned from
      recovery to treatment has two treatment stays; each counts.
    - `remission`: among cases in scope whose stage at the end of `end` was `recovery`, how many had the DSM-5
      remission specifier `early` or `sustained` as of `end` (SPEC section 4; calendar months as
      `cases.measures.add_months` counts them, clamped to the month's end), from their valid DSM-5 checklists
      dated up to `end`.
    """
    return {
        "instruments": _instruments(user, params),
        **_mitragynine(user, params),
        **_days_in_stage(user, params),
        "remission": _remission(report_cases(user, params), params),
    }


def _instruments(user: User, params: ReportParams) -> list[dict[str, Any]]:
    """One query: per (instrument, case), the first and latest score (FIRST_VALUE and LAST_VALUE over its scores
    in the range, in time order) and the number of scores, kept on the first row of each; then, over the cases
    with two or more, the counts and means per instrument and the cases whose band improved."""
    valid = Assessment.objects.filter(
        entered_in_error=False,
        administered_at__gte=day_start(params.start),
        administered_at__lt=day_end(params.end),
    )
    scores = on_report_cases(valid, user, params)

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
    found = per_case.aggregate(**aggregates)
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


def _mitragynine(user: User, params: ReportParams) -> dict[str, Any]:
    """One query from the stays in recovery: each stay runs from the clinic date of the stage change into
    recovery up to (not including) the date of the next change, if any; a screen collected on a day in a stay
    was collected in recovery (the stage at the end of that day). A case's stays do not overlap, so no screen
    counts twice; a stay entered and left on the same day holds no day."""
    zone = timezone.get_default_timezone()
    left_on = (
        StageTransition.objects.filter(case=OuterRef("case"), sequence=OuterRef("sequence") + 1)
        .order_by()
        .annotate(day=TruncDate("effective_at", tzinfo=zone))
        .values("day")[:1]
    )
    stays = on_report_cases(StageTransition.objects.filter(to_stage=Stage.RECOVERY), user, params).annotate(
        entered_on=TruncDate("effective_at", tzinfo=zone),
        left_on=Coalesce(Subquery(left_on), Value(dt.date.max)),  # a stay still running: no end
    )
    # One filter() call: its conditions all hold for the same joined screen, which the counts then count.
    collected = "case__drug_screens__collected_on"
    screens = stays.filter(
        Q(**{f"{collected}__range": (params.start, params.end), f"{collected}__gte": F("entered_on")})
        & Q(**{f"{collected}__lt": F("left_on")}),
        case__drug_screens__mitragynine__in=[DrugScreen.Result.POSITIVE, DrugScreen.Result.NEGATIVE],
    )
    # Each row is one screen in a stay (the filter above joined them); counting its result (never null) lets the
    # database read the screens from an index alone.
    result = "case__drug_screens__mitragynine"
    found = screens.aggregate(
        screens=Count(result), negative=Count(result, filter=Q(**{result: DrugScreen.Result.NEGATIVE}))
    )
    return {
        "mitragynine_negative_share": ratio(found["negative"], found["screens"]),
        "mitragynine_screens": found["screens"],
        "mitragynine_negative": found["negative"],
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


def criteria_met_other_than_craving() -> Q:
    """`cases.measures.criteria_met_other_than_craving` as a filter on DSM-5 checklists' responses, built from
    the same declaration: a counted criterion other than craving answered yes, where the criteria a modifier
    excludes (tolerance and withdrawal under medical supervision) count only when the modifier is not yes."""
    excluded = {code for codes in DSM5_SUD.exclusions.values() for code in codes}
    counted = [item.code for item in DSM5_SUD.items if item.counted and item.code != "craving"]
    met = [Q(**{f"responses__{code}": True}) for code in counted if code not in excluded]
    for modifier, codes in DSM5_SUD.exclusions.items():
        modifier_not_yes = (
            Q(**{f"responses__{modifier}": False})
            | Q(**{f"responses__{modifier}": None})
            | ~Q(responses__has_key=modifier)
        )
        met.append(reduce(or_, (Q(**{f"responses__{code}": True}) for code in codes)) & modifier_not_yes)
    return reduce(or_, met)


def latest_qualifying_day(as_of: dt.date, months: int) -> dt.date:
    """The latest date D with add_months(D, months) <= as_of: remission as of `as_of` needs the last criterion
    met on or before it. add_months never decreases as D grows, so "D <= this day" is the same test, and the
    query compares a column with a constant instead of doing calendar arithmetic in SQL."""
    day = add_months(as_of, -months)
    while add_months(day + dt.timedelta(days=1), months) <= as_of:
        day += dt.timedelta(days=1)
    return day


def _remission(cases: Any, params: ReportParams) -> dict[str, int]:
    """One query: per case in recovery at the end of `end`, its specifier from its latest checklist meeting a
    criterion other than craving (one subquery per case, answering the specifier itself), counted by value."""
    # Remission as of `end` after n months <=> the last criterion was met on or before the latest qualifying
    # day, i.e. before that day ended.
    early_by = day_end(latest_qualifying_day(params.end, REMISSION_MONTHS["early"]))
    sustained_by = day_end(latest_qualifying_day(params.end, REMISSION_MONTHS["sustained"]))
    specifier = (
        Assessment.objects.filter(
            criteria_met_other_than_craving(),
            case=OuterRef("pk"),
            instrument=Assessment.Instrument.DSM5_SUD,
            entered_in_error=False,
            administered_at__lt=day_end(params.end),
        )
        .order_by("-administered_at")
        .annotate(
            specifier=DbCase(
                When(administered_at__lt=sustained_by, then=Value("sustained")),
                When(administered_at__lt=early_by, then=Value("early")),
                default=Value("none"),
                output_field=CharField(),
            )
        )
        .values("specifier")[:1]
    )
    found = dict(
        cases.annotate(stage_then=stage_at(day_end(params.end)))
        .filter(stage_then=Stage.RECOVERY)
        .annotate(specifier=Subquery(specifier))
        .values("specifier")
        .annotate(n=Count("pk"))
        .values_list("specifier", "n")
    )
    return {"early": found.get("early", 0), "sustained": found.get("sustained", 0)}
