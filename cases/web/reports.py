"""The reports page (SPEC section 6): census, retention, visits and outcomes over a date range, for the whole clinic
(administrators, supervisors) or a clinician's caseload, as tables and server-rendered charts, optionally
de-identified; CSV from the API's own export (the session signs the link).

The run is `cases.reports.report_run`, the one pipeline the API also calls (the policy, the parameters and their
messages, the report, the suppression, the `view` audit event); this module translates the request for it and
lays the figures out.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from cases.errors import ValidationFailed
from cases.reports import REPORTS, SMALL_CELL, SUPPRESSED, ReportParams, ReportRun, report_run
from cases.reports.run import deidentified_for
from cases.reports.tables import (
    INSTRUMENT_LABELS,
    REASON_LABELS,
    REMISSION_LABELS,
    STAGE_LABELS,
    VISIT_TYPE_LABELS,
)
from cases.reports.visits_report import COUNTS as VISIT_COUNTS
from cases.selectors import clinical_staff
from cases.web.access import add_domain_errors, page, render_page
from cases.web.charts import Value, bar_chart
from clinic.models import User
from clinic.policy import Capability, Scope, has_capability, scope

TEMPLATE = "cases/web/reports/page.html"
DEFAULT_REPORT = "census"
NONE = "—"  # nothing to compute a figure from
# Short words under a chart's bars (the tables beside them use the full labels).
CHART_WORDS = {
    **STAGE_LABELS,
    "recovery": "Recovery",
    "completed": "Completed",
    "left_against_advice": "Left AMA",
    "terminated_by_facility": "Terminated",
    "transferred": "Transferred",
    "incarcerated": "Incarcerated",
    "death": "Death",
    "other": "Other",
    "dsm5_sud": "DSM-5",
    "cows": "COWS",
    "sows": "SOWS",
    "phq9": "PHQ-9",
    "gad7": "GAD-7",
}


# --- The filter form: shows the parameters and their messages; the rules are `report_run`'s ---------------------


class ReportFilters(forms.Form):
    """Text fields on purpose: `cases.reports.report_run` checks the values (one rule, shared with the API)."""

    report = forms.CharField(label="Report", required=False, widget=forms.HiddenInput)
    start = forms.CharField(
        label="Start",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="First day, included.",
    )
    end = forms.CharField(
        label="End",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Last day, included. Show applies the dates.",
    )
    clinician = forms.CharField(label="Clinician", required=False, widget=forms.Select)
    deidentified = forms.CharField(label="De-identified", required=False)  # a checkbox: see the template

    def __init__(self, data: dict[str, str], *, clinicians: Sequence[tuple[str, str]]) -> None:
        super().__init__(data)
        self.fields["clinician"].widget.choices = clinicians


def clinician_choices(user: User, chosen: User | None) -> list[tuple[str, str]]:
    """Everyone who carries a caseload, for those who may list staff; a clinician picks themselves."""
    if has_capability(user, Capability.LIST_STAFF):
        choices = [("", "All clinicians")]
        staff = list(clinical_staff())
    else:
        choices = [("", "My whole caseload")]
        staff = [user]
    if chosen is not None and chosen not in staff:
        staff.append(chosen)  # a former clinician named in the link
    return choices + [(str(person.pk), person.full_name or person.username) for person in staff]


# --- How a report is laid out: stats, charts and tables built from its data ---------------------------------------


@dataclass
class Table:
    caption: str
    columns: Sequence[str]  # the first is the rows' header; the others are numbers
    rows: list[list[str]]
    empty: str = "Nothing in this range."


@dataclass(frozen=True)
class Chart:
    caption: str
    svg: SafeString

    @classmethod
    def bars(
        cls,
        categories: Sequence[str],
        series: Sequence[tuple[str, Sequence[Value]]],
        *,
        title: str,
        y_max: float | None = None,
    ) -> "Chart":
        return cls(title, bar_chart(categories, series, title=title, y_max=y_max))


@dataclass
class Layout:
    stats: list[tuple[str, str]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def shown(value: Any) -> str:
    """A count or figure as the page prints it ("<11" and "suppressed" as they are)."""
    if value is None:
        return NONE
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def percent(value: Any) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, int | float) else shown(value)


def plotted(value: Any, scale: float = 1) -> float | str | None:
    """A value as a chart draws it: a number scaled, a suppressed cell ("<11", "suppressed") as itself (the chart
    draws it as suppressed, never as a zero), nothing as None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value * scale
    return value if value in (SMALL_CELL, SUPPRESSED) else None


def total(values: Sequence[Any]) -> int | str:
    """The sum of shown counts, or "suppressed" when one of them is (a sum of counts that are each 0 or over 10
    gives no small count away)."""
    return sum(values) if all(isinstance(value, int) for value in values) else SUPPRESSED


def census_layout(data: dict[str, Any]) -> Layout:
    by_stage = data["open_by_stage"]
    reasons = data["discharges_by_reason"]
    return Layout(
        stats=[
            (f"Open on {data['as_of']}", shown(total(list(by_stage.values())))),
            ("Admissions", shown(data["admissions"])),
            ("Readmissions", shown(data["readmissions"])),
            ("Discharges", shown(data["discharges"])),
        ],
        charts=[
            Chart.bars(
                [CHART_WORDS[stage] for stage in by_stage],
                [("Open cases", [plotted(n) for n in by_stage.values()])],
                title=f"Open cases by stage on {data['as_of']}",
            ),
            Chart.bars(
                [CHART_WORDS.get(reason, reason) for reason in reasons],
                [("Discharges", [plotted(n) for n in reasons.values()])],
                title="Discharges by reason",
            ),
        ],
        tables=[
            Table(
                "Open cases by stage",
                ["Stage", "Open cases"],
                [[STAGE_LABELS[stage], shown(n)] for stage, n in by_stage.items()],
            ),
            Table(
                "Open cases by primary clinician",
                ["Clinician", "Open cases"],
                [[row["clinician_name"], shown(row["open"])] for row in data["open_by_clinician"]],
                empty="No open cases.",
            ),
            Table(
                "Discharges by reason",
                ["Reason", "Discharges"],
                [[REASON_LABELS[reason], shown(n)] for reason, n in reasons.items()],
            ),
        ],
    )


def retention_layout(data: dict[str, Any]) -> Layout:
    days = data["days"]
    return Layout(
        stats=[
            ("Cases opened in the range", shown(data["cohort_size"])),
            ("Still open", shown(data["open_cases"])),
            ("Median length of stay (days, closed cases)", shown(data["median_length_of_stay_days"])),
        ],
        charts=[
            Chart.bars(
                [f"Day {row['day']}" for row in days],
                [("Retained (%)", [plotted(row["rate"], 100) for row in days])],
                title="Share of cases still open after 30, 90 and 180 days",
                y_max=100,
            )
        ],
        tables=[
            Table(
                "Retention at 30, 90 and 180 days",
                ["Day", "Eligible", "Retained", "Rate"],
                [
                    [
                        f"Day {row['day']}",
                        shown(row["eligible"]),
                        shown(row["retained"]),
                        percent(row["rate"]),
                    ]
                    for row in days
                ],
            )
        ],
    )


VISIT_COLUMNS = ["Scheduled", "Attended", "No-show", "Cancelled", "Late cancel", "Attendance rate"]


def _visit_cells(row: dict[str, Any]) -> list[str]:
    return [
        *(shown(row[name]) for name in VISIT_COUNTS),
        percent(row["attendance_rate"]),
    ]  # the report's order


def visits_layout(data: dict[str, Any]) -> Layout:
    months: dict[str, dict[str, list[Any]]] = {}
    for row in data["rows"]:  # the report's own rows (a month and visit type each), summed for the chart
        month = months.setdefault(row["month"], {"attended": [], "no_show": []})
        month["attended"].append(row["attended"])
        month["no_show"].append(row["no_show"])
    return Layout(
        charts=[
            Chart.bars(
                list(months),
                [
                    ("Attended", [plotted(total(month["attended"])) for month in months.values()]),
                    ("No-show", [plotted(total(month["no_show"])) for month in months.values()]),
                ],
                title="Visits attended and missed, per month",
            )
        ],
        tables=[
            Table(
                "Per month and visit type",
                ["Month and visit type", *VISIT_COLUMNS],
                [
                    [
                        f"{row['month']} · {VISIT_TYPE_LABELS.get(row['visit_type'], row['visit_type'])}",
                        *_visit_cells(row),
                    ]
                    for row in data["rows"]
                ],
                empty="No visits in this range.",
            ),
            Table(
                "Per clinician",
                ["Clinician", *VISIT_COLUMNS],
                [[row["clinician_name"], *_visit_cells(row)] for row in data["by_clinician"]],
                empty="No visits in this range.",
            ),
        ],
    )


def outcomes_layout(data: dict[str, Any]) -> Layout:
    scored = data["instruments"]
    stays = data["median_days_in_stage"]
    return Layout(
        stats=[
            ("Mitragynine-negative urine screens in recovery", percent(data["mitragynine_negative_share"])),
            ("Screens tested for mitragynine", shown(data["mitragynine_screens"])),
            *((REMISSION_LABELS[kind], shown(n)) for kind, n in data["remission"].items()),
        ],
        charts=[
            Chart.bars(
                [CHART_WORDS.get(row["instrument"], row["instrument"]) for row in scored],
                [
                    ("Mean first score", [plotted(row["mean_first"]) for row in scored]),
                    ("Mean latest score", [plotted(row["mean_latest"]) for row in scored]),
                ],
                title="First and latest scores per instrument",
            ),
            Chart.bars(
                [CHART_WORDS[stage] for stage in stays],
                [("Median days", [plotted(days) for days in stays.values()])],
                title="Median days in each stage",
            ),
        ],
        tables=[
            Table(
                "Scores (cases with two or more in the range)",
                ["Instrument", "Cases", "Mean first", "Mean latest", "Mean change", "Improved a band"],
                [
                    [
                        INSTRUMENT_LABELS.get(row["instrument"], row["instrument"]),
                        shown(row["cases"]),
                        shown(row["mean_first"]),
                        shown(row["mean_latest"]),
                        shown(row["mean_change"]),
                        percent(row["improved_share"]),
                    ]
                    for row in scored
                ],
            ),
            Table(
                "Median days in each stage (completed stays)",
                ["Stage", "Median days", "Stays"],
                [
                    [STAGE_LABELS[stage], shown(days), shown(data["completed_stays"][stage])]
                    for stage, days in stays.items()
                ],
            ),
        ],
    )


# How the page lays out each report declared in `cases.reports.REPORTS` (a test holds the two to the same names).
LAYOUTS: dict[str, Callable[[dict[str, Any]], Layout]] = {
    "census": census_layout,
    "retention": retention_layout,
    "visits": visits_layout,
    "outcomes": outcomes_layout,
}


# --- The page ---------------------------------------------------------------------------------------------------


def _asked(request: HttpRequest) -> tuple[str, dict[str, str]]:
    """The report and the raw parameters, as `report_run` reads them. A submitted form always sends `report`, and
    a clear checkbox sends nothing: that form asks for the identified report; a first visit asks nothing."""
    query = request.GET.dict()
    if "report" in request.GET and not query.get("deidentified", "").strip():
        query["deidentified"] = "false"
    return request.GET.get("report") or DEFAULT_REPORT, query


def _query(name: str, params: ReportParams, deidentified: bool, **extra: str) -> str:
    applied = {key: value for key, value in params.as_query().items() if value}
    return urlencode(
        {
            **({"report": name} if name else {}),
            **applied,
            **({"deidentified": "true"} if deidentified else {}),
            **extra,
        }
    )


@require_GET
@page(Capability.REPORTS)
def report_index(request: HttpRequest) -> HttpResponse:
    """One report, chosen by `?report=` (census by default), over `?start=&end=&clinician=`; a bad parameter is
    the form again with its message (400)."""
    user: User = request.user  # type: ignore[assignment]
    name, query = _asked(request)
    try:
        run = report_run(user, name, query, audit_detail={"page": request.path[:200]})
    except ValidationFailed as error:
        return _bad_parameters(request, name, deidentified_for(user, query), error.errors)
    return _render(request, _report_context(request, run))


def _report_context(request: HttpRequest, run: ReportRun) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    name, params, deidentified = run.report.name, run.params, run.deidentified
    applied = {**params.as_query(), "report": name, "deidentified": "true" if deidentified else ""}
    export = reverse(f"report-{name}")  # the API's report: `?format=csv` with the session's sign-in
    return {
        "form": ReportFilters(
            {key: value or "" for key, value in applied.items()},
            clinicians=clinician_choices(user, params.clinician),
        ),
        "tabs": _tabs(request, name, params, deidentified),
        "report": name,
        "whole_clinic": scope(user, Capability.REPORTS) is Scope.ALL,
        "title": run.report.title,
        "params": params,
        "deidentified": deidentified,
        "small_cell": SMALL_CELL,
        "layout": LAYOUTS[name](run.data),
        "csv_url": f"{export}?{_query('', params, False, format='csv')}",
        "deidentified_csv_url": f"{export}?{_query('', params, True, format='csv')}",
    }


def _bad_parameters(
    request: HttpRequest, name: str, deidentified: bool, errors: dict[str, list[str]]
) -> HttpResponse:
    """The form as it was sent, each message under its field; no report."""
    user: User = request.user  # type: ignore[assignment]
    form = ReportFilters(request.GET.dict(), clinicians=clinician_choices(user, None))
    add_domain_errors(form, ValidationFailed("", errors=errors))
    context = {
        "form": form,
        "tabs": _tabs(request, name),
        "report": name if name in REPORTS else None,
        "deidentified": deidentified,
        "whole_clinic": scope(user, Capability.REPORTS) is Scope.ALL,
    }
    return _render(request, context, status=400)


def _tabs(
    request: HttpRequest, current: str, params: ReportParams | None = None, deidentified: bool = False
) -> list[dict[str, Any]]:
    """A link per report, keeping the parameters applied (or, after a bad one, those asked for)."""
    tabs = []
    for name, report in REPORTS.items():
        if params is not None:
            query = _query(name, params, deidentified)
        else:
            asked = request.GET.copy()
            asked["report"] = name
            query = asked.urlencode()
        tabs.append({"name": name, "title": report.title, "query": query, "current": name == current})
    return tabs


def _render(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render_page(request, TEMPLATE, "report", context, status=status)


urlpatterns = [path("reports/", report_index, name="reports")]
