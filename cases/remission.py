"""DSM-5-TR remission of a case, from its dated checklists (SPEC section 4, docs/clinical.md): the one rule, written
once as database expressions and read by the case API, the chart, the record release and the outcomes report.

On a case, over its valid DSM-5 checklists dated up to `as_of` (clinic-local dates, America/Chicago):
- E: the latest checklist meeting 2 or more criteria (the diagnosis). No E: no remission.
- D: the latest checklist, on or after E, meeting a criterion other than craving.
- C: the latest checklist after D meeting no criterion other than craving. No C: no remission.
- Early remission when 3 <= calendar months from D to C < 12; sustained at 12 or more.

E itself meets a criterion other than craving (two criteria, at most one of them craving), so D is simply the
latest checklist meeting such a criterion, and every checklist after D meets none but craving: C is the latest
checklist of all when it is later than D. So the rule is three aggregates over a case's checklists (any E, the
latest D, the latest of all), read in one pass, with no ordering subquery.

The remission is questioned (the chart says "re-assess") by the latest urine screen positive for mitragynine,
7-hydroxymitragynine, opioids or fentanyl, or visit reporting current kratom use (daily grams above zero), dated
on or after C.
"""

import datetime as dt
import functools
import json
import threading
import uuid
from typing import Any

from django.db.models import Case as DbCase
from django.db.models import (
    CharField,
    DateField,
    Expression,
    IntegerField,
    JSONField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import ExtractDay, ExtractMonth, ExtractYear, JSONObject, Mod, TruncDate
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, In, LessThan
from django.utils import timezone

from cases.instruments.definitions import DSM5_SUD
from cases.models import Assessment, Case, DrugScreen, Visit
from cases.models.assessments import criteria_met_other_than_craving

EARLY_MONTHS = 3
SUSTAINED_MONTHS = 12
# A screen positive for any of these, on or after C, questions the remission.
QUESTIONING_ANALYTES = ("mitragynine", "seven_oh_mitragynine", "opioids", "fentanyl")
# ICD-10-CM for the DSM-5 "other (kratom) substance use disorder": the severity of the checklist that established
# the diagnosis (E), in remission or not.
REMISSION_CODES = {"mild": "F19.11", "moderate": "F19.21", "severe": "F19.21"}
ICD10_DISPLAY = {
    "F19.10": "Other psychoactive substance abuse, uncomplicated",
    "F19.11": "Other psychoactive substance abuse, in remission",
    "F19.20": "Other psychoactive substance dependence, uncomplicated",
    "F19.21": "Other psychoactive substance dependence, in remission",
}


def diagnosis_code(severity: str | None, remission: str | None) -> str | None:
    """The suggested ICD-10-CM code: F19.10 / F19.20 by severity (mild / moderate or severe), F19.11 / F19.21 in
    early or sustained remission; None without a diagnosis."""
    if severity not in DSM5_SUD.diagnosis_codes:
        return None
    return REMISSION_CODES[severity] if remission else DSM5_SUD.diagnosis_codes[severity]


# --- Calendar arithmetic in the database ---------------------------------------------------------------------


def _local_day(moment: Any) -> TruncDate:
    return TruncDate(moment, tzinfo=timezone.get_default_timezone())


def _days_in_month(day: Any) -> DbCase:
    year, month = ExtractYear(day), ExtractMonth(day)
    leap = Q(Exact(Mod(year, 4), 0)) & (~Q(Exact(Mod(year, 100), 0)) | Q(Exact(Mod(year, 400), 0)))
    return DbCase(
        When(In(month, [4, 6, 9, 11]), then=Value(30)),
        When(Q(Exact(month, 2)) & leap, then=Value(29)),
        When(Exact(month, 2), then=Value(28)),
        default=Value(31),
        output_field=IntegerField(),
    )


def calendar_months(earlier: Any, later: Any) -> Expression:
    """Whole calendar months from the date `earlier` to the date `later`, counted as adding months to a date
    does (the same day of the month, clamped to the month's end: 30 November + 3 months is 28 February): the
    result is >= n exactly when `later` is on or after `earlier` + n months. That is the difference of their
    months, less one when `later`'s day of the month is before `earlier`'s and `later` is not its month's last
    day."""
    months = (ExtractYear(later) - ExtractYear(earlier)) * 12 + ExtractMonth(later) - ExtractMonth(earlier)
    short = Q(LessThan(ExtractDay(later), ExtractDay(earlier))) & ~Q(
        Exact(ExtractDay(later), _days_in_month(later))
    )
    return months - DbCase(When(short, then=Value(1)), default=Value(0), output_field=IntegerField())


# --- The rule ----------------------------------------------------------------------------------------------


def _checklists(as_of: dt.date) -> QuerySet[Assessment, Any]:
    """Each case's valid DSM-5 checklists dated up to the end of the clinic day `as_of`, grouped per case."""
    day_after = dt.datetime.combine(
        as_of + dt.timedelta(days=1), dt.time.min, timezone.get_default_timezone()
    )
    return (
        Assessment.objects.filter(
            case=OuterRef("pk"),
            instrument=Assessment.Instrument.DSM5_SUD,
            entered_in_error=False,
            administered_at__lt=day_after,
        )
        .order_by()
        .values("case")
    )


def _last_met_at() -> Max:
    """D's moment."""
    return Max("administered_at", filter=criteria_met_other_than_craving())


def _last_at() -> Max:
    """C's moment, when it is later than D's."""
    return Max("administered_at")


def _in_remission(months: int) -> Q:
    """E exists, C is later than D, and C is `months` or more calendar months after D."""
    return (
        Q(GreaterThanOrEqual(Max("total"), 2))
        & Q(GreaterThan(_last_at(), _last_met_at()))
        & Q(GreaterThanOrEqual(calendar_months(_local_day(_last_met_at()), _local_day(_last_at())), months))
    )


def remission_of(as_of: dt.date) -> Subquery:
    """On a `Case` queryset: `early`, `sustained` or None, as of the clinic day `as_of`."""
    specifier = DbCase(
        When(_in_remission(SUSTAINED_MONTHS), then=Value("sustained")),
        When(_in_remission(EARLY_MONTHS), then=Value("early")),
        default=None,
        output_field=CharField(),
    )
    return Subquery(_checklists(as_of).annotate(specifier=specifier).values("specifier"))


def remission_assessed_on(as_of: dt.date) -> Subquery:
    """On a `Case` queryset: C's clinic date when the case is in remission as of `as_of`, else None."""
    on = DbCase(
        When(_in_remission(EARLY_MONTHS), then=_local_day(_last_at())), default=None, output_field=DateField()
    )
    return Subquery(_checklists(as_of).annotate(on=on).values("on"), output_field=DateField())


def _established(as_of: dt.date) -> QuerySet[Assessment, Any]:
    """E, the checklist that establishes the diagnosis: the latest meeting two or more criteria."""
    return _checklists(as_of).filter(total__gte=2).order_by("-administered_at", "-recorded_at", "-id")


def _questioning_records() -> tuple[QuerySet[DrugScreen, Any], QuerySet[Visit, Any]]:
    """Per case, the latest screen and the latest visit that would question a remission, whatever their date:
    `remission_questioned_by` keeps each only when it is dated on or after C. The latest on or after C is the
    latest of all when that one is on or after C, and there is none otherwise; so the subqueries need not repeat
    C's (long) expression."""
    positive = Q()
    for analyte in QUESTIONING_ANALYTES:
        positive |= Q(**{analyte: DrugScreen.Result.POSITIVE})
    screen = (
        DrugScreen.objects.filter(positive, case=OuterRef("pk"))
        .order_by("-collected_on", "-created_at")
        .values(found=JSONObject(id="id", on="collected_on"))[:1]
    )
    visit = (
        Visit.objects.annotate(on=_local_day("scheduled_at"))
        .filter(case=OuterRef("pk"), kratom_daily_grams__gt=0)
        .order_by("-scheduled_at")
        .values(found=JSONObject(id="id", on="on"))[:1]
    )
    return screen, visit


def _annotations(as_of: dt.date) -> dict[str, Any]:
    screen, visit = _questioning_records()
    return {
        "remission": remission_of(as_of),
        "remission_assessed_on": remission_assessed_on(as_of),
        "dsm5_severity": Subquery(_established(as_of).values("band")[:1]),
        "dsm5_diagnosis_id": Subquery(_established(as_of).values("pk")[:1]),
        "remission_screen": Subquery(screen, output_field=JSONField()),
        "remission_visit": Subquery(visit, output_field=JSONField()),
    }


_COMPILING = threading.Lock()


class _CompiledOnce(Expression):
    """A resolved expression whose SQL is compiled once per database connection and reused (the remission
    annotations are a few hundred ORM nodes: compiling them again for every request was most of a case read's CPU).
    A copy (re-resolved or relabeled, as when the queryset becomes a subquery) compiles afresh."""

    def __init__(self, expression: Expression) -> None:
        super().__init__(output_field=expression.output_field)
        self.expression = expression
        self._compiled: dict[tuple[str, str], tuple[str, tuple[Any, ...]]] = {}

    def get_source_expressions(self) -> list[Any]:
        return [self.expression]

    def set_source_expressions(self, exprs: Any) -> None:
        (self.expression,) = exprs

    def copy(self) -> "_CompiledOnce":
        clone: _CompiledOnce = super().copy()
        clone._compiled = {}
        return clone

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        key = (connection.alias, connection.vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            with _COMPILING:  # the expression is shared by every thread: compiled by one at a time
                sql, params = compiler.compile(self.expression)
                compiled = self._compiled[key] = (sql, tuple(params))
        return compiled[0], list(compiled[1])


@functools.lru_cache(maxsize=8)
def _resolved_annotations(as_of: dt.date, zone: str) -> tuple[dict[str, _CompiledOnce], frozenset[str]]:
    """The annotations of `with_remission` for `as_of`, resolved once on a `Case` queryset (building and resolving
    them was the other half of a case read's CPU), and the alias prefixes their subqueries took (a query given them
    must avoid those prefixes should it become a subquery itself, as `Query.combine` does). `zone`, the default
    time zone's name, is part of the key: the clinic days are computed in it."""
    query = Case.objects.annotate(**_annotations(as_of)).query
    return {name: _CompiledOnce(query.annotations[name]) for name in _annotations(as_of)}, query.subq_aliases


def with_remission(cases: QuerySet[Case], as_of: dt.date | None = None) -> QuerySet[Case]:
    """`cases` annotated with `remission`, `remission_assessed_on`, E's `dsm5_severity` and `dsm5_diagnosis_id`
    (the checklist's id), and the two records that may
    question the remission (read them with `remission_questioned_by`), as of `as_of` (default: today, clinic
    time). One query for a whole page: each is a subquery per case.

    The annotations are built, resolved and compiled once per day (`_resolved_annotations`) and added to a clone
    of `cases` as they are, when `cases` reads the case table under its own name, as every `Case` queryset does
    until it becomes a subquery; otherwise they are built afresh."""
    as_of = as_of or timezone.localdate(timezone=timezone.get_default_timezone())
    annotated = cases.all()
    query = annotated.query
    if query.alias_prefix != "T" or query.get_initial_alias() != Case._meta.db_table or query.combinator:
        return cases.annotate(**_annotations(as_of))
    resolved, prefixes = _resolved_annotations(as_of, timezone.get_default_timezone_name())
    for name, expression in resolved.items():
        query.annotations[name] = expression
    query.append_annotation_mask(resolved)
    query.subq_aliases = query.subq_aliases | prefixes
    return annotated


def _record(kind: str, found: Any) -> dict[str, Any] | None:
    if not found:
        return None
    if isinstance(found, str):  # a backend that returns the JSON as text
        found = json.loads(found)
    return {"type": kind, "id": str(uuid.UUID(str(found["id"]))), "on": str(found["on"])[:10]}


def remission_questioned_by(case: Case) -> dict[str, Any] | None:
    """`{"type", "id", "on"}` of the latest record questioning the case's remission (a `drug_screen` or a
    `visit`; the later date wins, a screen on a tie), or None. Needs a case from `with_remission`."""
    assessed_on = getattr(case, "remission_assessed_on", None)
    if not getattr(case, "remission", None) or assessed_on is None:
        return None
    found = [
        r
        for r in (
            _record("drug_screen", getattr(case, "remission_screen", None)),
            _record("visit", getattr(case, "remission_visit", None)),
        )
        if r is not None and r["on"] >= str(assessed_on)[:10]
    ]
    return max(found, key=lambda r: (r["on"], r["type"] == "drug_screen"), default=None)


def case_with_remission(case: Case, as_of: dt.date | None = None) -> Case:
    """`case` itself when it already carries the annotations, else it read again with them."""
    if hasattr(case, "remission_assessed_on"):
        return case
    return with_remission(Case.objects.filter(pk=case.pk), as_of).get()
