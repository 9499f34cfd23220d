"""SQL building blocks the reports share: the transaction a report runs in, whole days between two dates, a
case's stage at a moment (from its history), and medians computed in the database: with window functions on
SQLite, which has no percentile function, with PERCENTILE_CONT on PostgreSQL (the same values)."""

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case as DbCase
from django.db.models import (
    Expression,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from cases.models import Case, StageTransition

Result = TypeVar("Result")
# PostgreSQL settings for a report's transaction (`set_config(..., true)` is `SET LOCAL`: undone when it ends):
# - no JIT compilation: compiling a big aggregate costs more than it saves here (hundreds of milliseconds per
#   query at 50,000 patients);
# - room to hash a grouping in memory: the planner cannot tell how few groups a computed key (a month) has, and
#   would otherwise sort a million rows on disk;
# - random page reads priced as on SSDs (the default, 4, assumes spinning disks), so that a covering index is read
#   instead of a table five times its size.
REPORT_SETTINGS = (
    "SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true), "
    "set_config('random_page_cost', '1.1', true)"
)


def in_one_transaction(report: Callable[..., Result]) -> Callable[..., Result]:
    """Run a report's queries in one transaction (joining the caller's if there is one), with `REPORT_SETTINGS`
    on PostgreSQL."""

    @functools.wraps(report)
    def run(*args: Any, **kwargs: Any) -> Result:
        with transaction.atomic(savepoint=False):
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(REPORT_SETTINGS)
            return report(*args, **kwargs)

    return run


class DaysBetween(Func):
    """`later - earlier` in whole days, both dates (or date expressions)."""

    output_field = IntegerField()
    arity = 2

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        later, earlier = self.get_source_expressions()
        later_sql, later_params = compiler.compile(later)
        earlier_sql, earlier_params = compiler.compile(earlier)
        params = [*later_params, *earlier_params]
        if connection.vendor == "sqlite":
            return f"CAST(JULIANDAY({later_sql}) - JULIANDAY({earlier_sql}) AS INTEGER)", params
        return f"(CAST({later_sql} AS DATE) - CAST({earlier_sql} AS DATE))", params


def stage_at(moment: dt.datetime) -> Coalesce | F:
    """On a `Case` queryset: the case's stage just before `moment`, the target of its latest transition
    effective before then (the history's sequence follows effective time); `intake` if it has none yet.

    A moment still to come needs no history: stage changes are never dated in the future (the workflow refuses
    it), so the latest one before it is the latest of all, whose target is the case's `stage`."""
    if moment > timezone.now():
        return F("stage")
    latest = (
        StageTransition.objects.filter(case=OuterRef("pk"), effective_at__lt=moment)
        .order_by("-sequence")
        .values("to_stage")[:1]
    )
    return Coalesce(Subquery(latest), Value(Case.Stage.INTAKE))


MEDIANS = """
WITH valued (grp, value, counted) AS ({rows})
SELECT grp, AVG(value), MAX(n) FROM (
    SELECT grp, value, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY value) AS r, COUNT(*) OVER (PARTITION BY grp) AS n
    FROM valued WHERE counted = 1 AND value IS NOT NULL
) ranked
WHERE r >= (n + 1) / 2 AND r <= (n + 2) / 2
GROUP BY grp
"""

# PostgreSQL: the same median from its own function, which sorts each group once (no ranking windows over the
# rows): PERCENTILE_CONT(0.5) is the middle value, or the mean of the middle two.
MEDIANS_POSTGRESQL = """
WITH valued (grp, value, counted) AS ({rows})
SELECT grp, PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY value), COUNT(*)
FROM valued WHERE counted = 1 AND value IS NOT NULL
GROUP BY grp
"""


def medians(
    rows: QuerySet[Any],
    value: Expression | F,
    *,
    group: str | None = None,
    groups: Iterable[str] = (),
    only: Q | None = None,
) -> dict[str | None, tuple[float | None, int]]:
    """The median of `value` over `rows` (per value of the field `group`, for each of `groups`) and the number of
    rows behind it, in one statement: rank the values within their group (ROW_NUMBER), keep the middle one or two
    (ranks (n + 1) / 2 to (n + 2) / 2, integer division) and average them, which is what PostgreSQL's
    PERCENTILE_CONT(0.5) gives (PostgreSQL computes it with that instead: `MEDIANS_POSTGRESQL`). A null value is
    left out; so is a row not meeting `only`, a condition checked after `value` is computed (so `value` may use a
    window function, such as the previous stage change, over rows that are not themselves counted). A group
    without values has the median None and the size 0."""
    counted = DbCase(When(only, then=Value(1)), default=Value(0)) if only is not None else Value(1)
    valued = (
        rows.annotate(
            median_group=F(group) if group else Value(""),
            median_value=value,
            median_counted=counted,
        )
        .values_list("median_group", "median_value", "median_counted")
        .order_by()
    )
    sql, sql_params = valued.query.sql_with_params()
    template = MEDIANS_POSTGRESQL if connection.vendor == "postgresql" else MEDIANS
    with connection.cursor() as cursor:
        cursor.execute(template.format(rows=sql), sql_params)
        found = {key: (median, size) for key, median, size in cursor.fetchall()}
    keys: list[str | None] = list(groups) if group else [None]
    return {key: found.get(key if group else "", (None, 0)) for key in keys}
