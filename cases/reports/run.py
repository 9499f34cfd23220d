"""Running a report, the one pipeline both entry points call (the API's `reports/<name>/` and the reports page):

    run = report_run(user, "census", request.GET, export=False)   # ValidationFailed (400) naming each bad field
    run.as_json()    # the report, its parameters as applied, and whether it is de-identified
    run.csv_text()   # or the same figures as CSV (the one writer, `clinic.exports`)

`report_run` checks the user may run reports (the policy), reads the raw parameters (`report` name, `start`, `end`,
`clinician`, `deidentified`: every bad one named in one refusal), computes the report over the user's scope,
suppresses small cells when the policy says the run is de-identified, and records the run's audit event before
the report leaves (a failed append serves nothing). The views only translate HTTP."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

from cases.errors import ValidationFailed
from cases.reports.params import ReportParams, parse_params
from cases.reports.registry import REPORTS, Data, Report
from clinic.audit import audit_record
from clinic.exports import csv_text
from clinic.models import AuditAction, User
from clinic.policy import Capability, has_capability, reports_deidentified

# `deidentified=`: true or false (any case, spaces ignored); empty or absent asks nothing (the policy decides).
FLAGS = {"true": True, "false": False}
AUDIT_OBJECT_TYPE = "report"


@dataclass(frozen=True)
class ReportRequest:
    """A report asked for, its parameters read and checked, de-identified or not as the policy decides."""

    report: Report
    params: ReportParams
    deidentified: bool


@dataclass(frozen=True)
class ReportRun:
    """A report that was run (and recorded): its figures, suppressed when `deidentified`."""

    report: Report
    params: ReportParams
    deidentified: bool
    data: Data

    def as_json(self) -> dict[str, Any]:
        return {**self.data, "parameters": self.params.as_query(), "deidentified": self.deidentified}

    def csv_text(self) -> str:
        return csv_text(self.report.csv_table(self.data))

    @property
    def filename(self) -> str:
        suffix = "-deidentified" if self.deidentified else ""
        return f"report-{self.report.name}-{self.params.start}-to-{self.params.end}{suffix}.csv"


def _raw_flag(query: Mapping[str, str]) -> str:
    return (query.get("deidentified") or "").strip().lower()


def deidentified_for(user: User, query: Mapping[str, str]) -> bool:
    """Whether a run asked for by `query` is de-identified, as the policy decides (administrators always; the
    flag only asks). A flag that is not understood counts as asking for the identified report."""
    raw = _raw_flag(query)
    return reports_deidentified(user, FLAGS.get(raw, False) if raw else None)


def report_request(user: User, name: str, query: Mapping[str, str]) -> ReportRequest:
    """The report `name` over the parameters in `query`. Raises `ValidationFailed` naming every bad field:
    `report` (no such report), `deidentified` (not true or false), and those of the report's `params`."""
    errors: dict[str, list[str]] = {}
    report = REPORTS.get(name)
    if report is None:
        errors["report"] = [f"Choose one of: {', '.join(REPORTS)}."]
    raw = _raw_flag(query)
    if raw and raw not in FLAGS:
        errors["deidentified"] = ["Give true or false."]
    params = None
    try:
        params = (report.params if report else parse_params)(query)
    except ValidationFailed as error:
        errors = error.errors | errors
    if errors or report is None or params is None:  # a missing piece always comes with its error
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, errors=errors)
    return ReportRequest(report, params, reports_deidentified(user, FLAGS[raw] if raw else None))


def report_run(
    user: User,
    name: str,
    query: Mapping[str, str],
    *,
    export: bool = False,
    audit_detail: Mapping[str, Any] | None = None,
) -> ReportRun:
    """Run the report `name` for `user` over the raw parameters in `query`, recorded as a `view` (or an `export`,
    for a file) of object type `report` with the parameters applied and `audit_detail` (where it was asked from).
    Raises `PermissionDenied` for a user whose roles never run reports (the entry points refuse them first, with
    their own audited 403) and `ValidationFailed` for bad parameters (nothing run, nothing recorded)."""
    if not has_capability(user, Capability.REPORTS):
        raise PermissionDenied("Your role does not allow you to run reports.")
    asked = report_request(user, name, query)
    data = asked.report(user, asked.params)
    if asked.deidentified:
        data = asked.report.suppress(data)
    audit_record(
        user=user,
        action=AuditAction.EXPORT if export else AuditAction.VIEW,
        object_type=AUDIT_OBJECT_TYPE,
        object_id=asked.report.name,
        detail={
            **(audit_detail or {}),
            "parameters": asked.params.as_query(),
            "deidentified": asked.deidentified,
        },
    )
    return ReportRun(asked.report, asked.params, asked.deidentified, data)
