"""Administrator reports (SPEC section 6): census, retention, visits and outcomes, computed by the database
(aggregates, conditional counts and window functions; never by counting rows in Python), each in a small fixed
number of queries, over the cases the access policy lets the user report on. Definitions and choices: each
report function's docstring (also served in the API schema) and docs/reports.md.

    params = parse_params(request.GET)          # ValidationFailed (400) naming the field
    data = REPORTS["census"](user, params)      # the JSON shape of SPEC section 10, plus a few extra keys
    deidentify("census", data)                  # small cells (1-10) as "<11"
    csv_rows("census", data)                    # a flat table, header first
"""

from collections.abc import Callable
from typing import Any

from cases.reports.census_report import census
from cases.reports.outcomes_report import outcomes
from cases.reports.params import ReportParams, parse_params
from cases.reports.retention_report import retention
from cases.reports.suppression import SMALL_CELL, SUPPRESSED, deidentify
from cases.reports.tables import csv_rows
from cases.reports.visits_report import visits
from clinic.models import User

Report = Callable[[User, ReportParams], dict[str, Any]]

REPORTS: dict[str, Report] = {
    "census": census,
    "retention": retention,
    "visits": visits,
    "outcomes": outcomes,
}

__all__ = [
    "REPORTS",
    "SMALL_CELL",
    "SUPPRESSED",
    "Report",
    "ReportParams",
    "census",
    "csv_rows",
    "deidentify",
    "outcomes",
    "parse_params",
    "retention",
    "visits",
]
