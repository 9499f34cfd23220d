"""The visits report (SPEC section 6): per month and visit type, and per clinician, how many visits were
scheduled, attended, missed and cancelled, and the attendance rate."""

import datetime as dt
import itertools
import uuid
from typing import Any

from django.db import connection
from django.db.models import Case as DbCase
from django.db.models import CharField, Count, Q, QuerySet, Value, When

from cases.measures import add_months
from cases.models import Visit
from cases.reports.expressions import in_one_transaction
from cases.reports.figures import ratio
from cases.reports.params import ReportParams, day_end, day_start
from cases.reports.scope import report_visits
from cases.rollups import TABLE as ROLLUP_TABLE
from cases.rollups import has_rollups
from clinic.models import User
from clinic.policy import Capability, Scope, scope

Status = Visit.Status
# Each count, by the statuses it counts (None: every visit, whatever its status).
COUNTS: dict[str, str | None] = {
    "scheduled": None,
    "attended": Status.ATTENDED,
    "no_show": Status.NO_SHOW,
    "cancelled": Status.CANCELLED,
    "late_cancel": Status.LATE_CANCEL,
}
VISIT_TYPE_ORDER = {
    code: index for index, code in enumerate(Visit.VisitType.values)
}  # SPEC section 10's order

# The visits counted per cell (month x visit type x clinician x status), and the cells summed two ways in the same
# statement: per month and visit type, and per clinician (with the clinician's name). One pass over the visits.
ROLL_UP = """
WITH cells (month, visit_type, clinician, status, n) AS ({cells})
SELECT month, visit_type, NULL, NULL, NULL, NULL, {sums} FROM cells GROUP BY month, visit_type
HAVING SUM(n) > 0
UNION ALL
SELECT NULL, NULL, cells.clinician, staff.{first_name}, staff.{last_name}, staff.{username}, {sums}
FROM cells LEFT JOIN {staff} staff ON staff.{staff_id} = cells.clinician
GROUP BY cells.clinician, staff.{first_name}, staff.{last_name}, staff.{username}
HAVING SUM(n) > 0
"""
# PostgreSQL, the whole clinic: the cells from the rollup (cases/rollups.py, one row per clinic day and cell) for
# the days of the range, less the visits of patients entered in error. A cell's rows (settled and change rows
# alike) are summed in the same statement, so the rollup's settling pass never shows half done. The HAVING of
# `ROLL_UP` drops the cells whose visits all moved away (a rescheduled visit leaves a zero behind until the pass
# removes it).
ROLLUP_CELLS = """
SELECT to_char(month, 'YYYY-MM'), visit_type, clinician_id, status, n FROM (
    SELECT date_trunc('month', day) AS month, visit_type, clinician_id, status, SUM(visits) AS n
    FROM {rollup} WHERE day >= %s AND day <= %s {clinician}
    GROUP BY 1, 2, 3, 4
) per_month
UNION ALL
SELECT month, visit_type, clinician, status, -n FROM ({in_error}) in_error
"""
SUM_ALL = "SUM(n)"
SUM_STATUS = "SUM(CASE WHEN status = %s THEN n ELSE 0 END)"


@in_one_transaction
def visits(user: User, params: ReportParams) -> dict[str, Any]:
    """Visits.

    - The visits of cases in scope whose scheduled time falls, in clinic time (America/Chicago), on a day from
      `start` to `end` (both included).
    - `rows`: one per month (`YYYY-MM`, clinic time) and visit type that has at least one visit, ordered by month
      then visit type (in the order of SPEC section 10). `scheduled` counts every visit in the row whatever its
      status (`scheduled` ones included); `attended`, `no_show`, `cancelled` and `late_cancel` count by status.
      `attendance_rate` = attended / (attended + no_show + late_cancel), three decimals, null when that is 0:
      a visit cancelled ahead of time and one not yet held are left out of it.
    - `by_clinician`: the same counts per clinician who held (or was to hold) the visit, most visits first.
    - Clinician filter: the visit's clinician (not the case's primary clinician).
    """
    in_range = Q(scheduled_at__gte=day_start(params.start), scheduled_at__lt=day_end(params.end))
    if has_rollups() and scope(user, Capability.REPORTS) is Scope.ALL:
        cells_sql, cells_params = _rollup_cells(params, in_range)
    else:
        cells_sql, cells_params = _counted(
            report_visits(user, params), in_range, params
        ).query.sql_with_params()
    quote = connection.ops.quote_name
    names = {
        field: quote(field) for field in ("first_name", "last_name", "username")
    }  # their own column names
    sums = ", ".join(SUM_ALL if status is None else SUM_STATUS for status in COUNTS.values())
    statuses = [status for status in COUNTS.values() if status is not None]
    statement = ROLL_UP.format(
        cells=cells_sql,
        sums=sums,
        staff=quote(User._meta.db_table),
        staff_id=quote("id"),
        **names,
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*cells_params, *statuses, *statuses])
        totals = cursor.fetchall()
    rows: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    by_clinician: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for month, visit_type, clinician, first_name, last_name, username, *counted in totals:
        figures = _counts(dict(zip(COUNTS, (int(n) for n in counted), strict=True)))
        if clinician is None:
            month_order = (month, VISIT_TYPE_ORDER.get(visit_type, len(VISIT_TYPE_ORDER)))
            rows.append((month_order, {"month": month, "visit_type": visit_type, **figures}))
        else:
            clinician_id = str(uuid.UUID(str(clinician)))  # SQLite hands back the hex, PostgreSQL a UUID
            name = f"{first_name or ''} {last_name or ''}".strip() or username or ""
            staff_order = (-figures["scheduled"], last_name or "", first_name or "", clinician_id)
            by_clinician.append((staff_order, {"clinician": clinician_id, "clinician_name": name, **figures}))
    return {
        "rows": [row for _, row in sorted(rows, key=lambda pair: pair[0])],
        "by_clinician": [row for _, row in sorted(by_clinician, key=lambda pair: pair[0])],
    }


def _counted(visits: QuerySet[Visit], times: Q, params: ReportParams) -> QuerySet[Any, Any]:
    """The visits at `times` counted per cell (month, visit type, clinician, status)."""
    return (
        visits.filter(times)
        .annotate(month=clinic_month(params.start, params.end))
        .values("month", "visit_type", "clinician", "status")
        .annotate(n=Count("*"))  # COUNT(*): read from the covering index alone
        .values_list("month", "visit_type", "clinician", "status", "n")
        .order_by()
    )


def _rollup_cells(params: ReportParams, in_range: Q) -> tuple[str, tuple[Any, ...]]:
    """`ROLLUP_CELLS` for the range (the whole clinic's scope: every visit but those of patients entered in
    error; with the clinician filter, the visits that clinician held)."""
    in_error = Visit.objects.filter(case__patient__entered_in_error=True)
    if params.clinician is not None:
        in_error = in_error.filter(clinician=params.clinician)
    in_error_sql, in_error_params = _counted(in_error, in_range, params).query.sql_with_params()
    statement = ROLLUP_CELLS.format(
        rollup=ROLLUP_TABLE,
        clinician="AND clinician_id = %s" if params.clinician is not None else "",
        in_error=in_error_sql,
    )
    clinician = [params.clinician.pk] if params.clinician is not None else []
    return statement, (params.start, params.end, *clinician, *in_error_params)


def clinic_month(start: dt.date, end: dt.date) -> DbCase:
    """The clinic-time month (`YYYY-MM`) of `scheduled_at`, for times from `start` to `end`: compared with the
    instants at which each month begins in America/Chicago, so that no row needs a time-zone conversion."""
    first = start.replace(day=1)
    months = [add_months(first, n) for n in range((end.year - start.year) * 12 + end.month - start.month + 1)]
    return DbCase(
        *(
            When(scheduled_at__lt=day_start(following), then=Value(month.strftime("%Y-%m")))
            for month, following in itertools.pairwise(months)
        ),
        default=Value(months[-1].strftime("%Y-%m")),
        output_field=CharField(),
    )


def held(row: dict[str, Any]) -> int:
    """The visits the attendance rate divides by: attended, no-show and late cancel (the suppression reads it too:
    a rate over 1 to 10 of them is suppressed)."""
    return int(row["attended"] + row["no_show"] + row["late_cancel"])


def _counts(row: dict[str, int]) -> dict[str, Any]:
    return {**row, "attendance_rate": ratio(row["attended"], held(row))}
