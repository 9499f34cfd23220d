"""The reports, each declared once: its name (the API's path, the page's `?report=`), title, parameters, the
function that computes it, its small-cell suppression and its CSV table. `report_run` (run.py) reads these; the
API documents each report's JSON shape (`api/serializers/reports.py`) and the page lays it out
(`cases/web/reports.py`), both keyed by the names declared here (a test holds them to the same names)."""

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cases.reports import suppression, tables
from cases.reports.census_report import census
from cases.reports.outcomes_report import outcomes
from cases.reports.params import ReportParams, parse_params
from cases.reports.retention_report import retention
from cases.reports.visits_report import visits
from clinic.exports import cell
from clinic.models import User

Data = dict[str, Any]


@dataclass(frozen=True)
class Report:
    """One report's declaration. Called with (user, params), it computes the report (scoped by the policy)."""

    name: str
    title: str
    compute: Callable[[User, ReportParams], Data]  # the JSON shape of SPEC section 10, plus a few extra keys
    suppress: Callable[
        [Data], Data
    ]  # de-identified: small cells (1-10) as "<11", figures from them "suppressed"
    table: Callable[[Data], Iterator[tables.Row]]  # one CSV row per figure, under `csv_columns`
    params: Callable[[Mapping[str, str]], ReportParams] = parse_params  # ValidationFailed naming the field
    csv_columns: Sequence[str] = tuple(tables.HEADER)

    def __call__(self, user: User, params: ReportParams) -> Data:
        return self.compute(user, params)

    @property
    def description(self) -> str:
        """What the report counts and how (the computing function's docstring, served in the API schema)."""
        return inspect.getdoc(self.compute) or ""

    def csv_table(self, data: Data) -> list[tables.Row]:
        """The report as a flat table, header row first (the values as they are)."""
        return [list(self.csv_columns), *self.table(data)]

    def csv_rows(self, data: Data) -> list[list[str]]:
        """The same table as the CSV file's text cells (`clinic.exports.cell`: formulas defused)."""
        return [[cell(value) for value in row] for row in self.csv_table(data)]


REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        Report("census", "Census", census, suppression.census_suppressed, tables.census_table),
        Report("retention", "Retention", retention, suppression.retention_suppressed, tables.retention_table),
        Report("visits", "Visits", visits, suppression.visits_suppressed, tables.visits_table),
        Report("outcomes", "Outcomes", outcomes, suppression.outcomes_suppressed, tables.outcomes_table),
    )
}


def deidentify(name: str, data: Data) -> Data:
    """The report `name` with small cells suppressed (a new dict; `data` is left as it was)."""
    return REPORTS[name].suppress(data)


def csv_rows(name: str, data: Data) -> list[list[str]]:
    """The report `name` as a flat table, header row first."""
    return REPORTS[name].csv_rows(data)
