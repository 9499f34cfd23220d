"""Administrator reports (SPEC section 6): census, retention, visits and outcomes, computed by the database
(aggregates, conditional counts and window functions; never by counting rows in Python), each in a small fixed
number of queries, over the cases the access policy lets the user report on. Definitions and choices: each
report function's docstring (also served in the API schema) and docs/reports.md.

    run = report_run(user, "census", request.GET)   # policy, parameters (ValidationFailed, 400, naming the
    run.as_json(), run.csv_text()                    # field), report, suppression, audit: run.py
    REPORTS["census"]                                # the report's declaration: registry.py
    REPORTS["census"](user, params)                  # the JSON shape of SPEC section 10, plus a few extra keys
    deidentify("census", data)                       # small cells (1-10) as "<11"
    csv_rows("census", data)                         # a flat table, header first
"""

from cases.reports.census_report import census
from cases.reports.outcomes_report import outcomes
from cases.reports.params import ReportParams, parse_params
from cases.reports.registry import REPORTS, Report, csv_rows, deidentify
from cases.reports.retention_report import retention
from cases.reports.run import ReportRun, report_run
from cases.reports.suppression import SMALL_CELL, SUPPRESSED
from cases.reports.visits_report import visits

__all__ = [
    "REPORTS",
    "SMALL_CELL",
    "SUPPRESSED",
    "Report",
    "ReportParams",
    "ReportRun",
    "census",
    "csv_rows",
    "deidentify",
    "outcomes",
    "parse_params",
    "report_run",
    "retention",
    "visits",
]
