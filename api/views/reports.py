"""The four reports (SPEC section 6): `reports/<name>/?start=&end=&clinician=`, JSON or `?format=csv`, and
`?deidentified=true` for small-cell suppression. The numbers come from `cases.reports`; every run is audited
(`view` for JSON, `export` for CSV; no patient: reports are aggregates)."""

import csv
import inspect
import io
from typing import Any, ClassVar

from django.http import HttpResponse, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.audit import AuditedAccessMixin, AuditedResource
from api.exports import CSVRenderer
from api.permissions import acting_user
from api.schema import ErrorSerializer, ValidationErrorSerializer
from api.serializers.reports import REPORT_SERIALIZERS
from cases.errors import ValidationFailed
from cases.reports import REPORTS, ReportParams, csv_rows, deidentify, parse_params
from clinic.models import AuditAction, AuditOutcome
from clinic.policy import Capability, reports_deidentified

FLAGS = {"true": True, "false": False, "": False}

PARAMETERS = [
    OpenApiParameter(
        "start",
        OpenApiTypes.DATE,
        description="First day of the range (clinic date, America/Chicago), included. Default: the day after the "
        "same date twelve months before `end`.",
    ),
    OpenApiParameter(
        "end", OpenApiTypes.DATE, description="Last day of the range, included. Default: today (clinic date)."
    ),
    OpenApiParameter(
        "clinician",
        OpenApiTypes.UUID,
        description="A clinician's or supervisor's user id (see `staff/`). A clinician naming a colleague gets "
        "the part of their own caseload the colleague is on.",
    ),
    OpenApiParameter(
        "deidentified",
        OpenApiTypes.BOOL,
        description='`true`: small-cell suppression: counts from 1 to 10 as "<11", values computed from such a '
        'small group as "suppressed".',
    ),
]
COMMON = """

**Parameters.** `start` and `end` are clinic dates (America/Chicago), both included; `end` defaults to today and
`start` to the day after the same date twelve months earlier. A malformed or impossible date, a date outside
1900-2999, `start` after `end`, a range over ten years, and a `clinician` that is not a clinician's or
supervisor's user id are each a 400 naming the parameter. An empty range answers zeros, not an error.

**Scope.** Administrators and supervisors report on the whole clinic, a clinician on their caseload (SPEC section
2: the patients they are primary clinician or care-team member for); front desk is refused (403). With
`clinician=` a clinician naming a colleague gets the intersection with their own caseload.

**Formats.** JSON (the shape of SPEC section 10, plus `parameters` and `deidentified`), or `?format=csv`: one row
per figure with the columns `section, group, subgroup, label, measure, value` (the same numbers).
`?deidentified=true` suppresses small cells in either. Reports hold no names of patients, no MRNs and no dates
of birth. Each run is audited (`view`, or `export` for CSV). See docs/reports.md for worked examples."""


def _csv_body(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


class ReportViewSet(AuditedAccessMixin, viewsets.GenericViewSet):
    """One report, named by `report_name` (a key of `cases.reports.REPORTS`); its one action is `report`."""

    report_name: ClassVar[str]
    capability = Capability.REPORTS
    renderer_classes = [JSONRenderer, CSVRenderer]
    filter_backends: list[type] = []
    pagination_class = None
    audited = AuditedResource(object_type="report", data_category="", patient_path=None)

    def report(self, request: Request) -> Response | HttpResponseBase:
        params = parse_params(request.query_params)
        raw = request.query_params.get("deidentified", "").strip().lower()
        asked = FLAGS.get(raw)
        if asked is None:
            raise ValidationFailed("Give true or false.", field="deidentified")
        deidentified = reports_deidentified(
            acting_user(request), asked if raw else None
        )  # the policy decides
        data = REPORTS[self.report_name](acting_user(request), params)
        if deidentified:
            data = deidentify(self.report_name, data)
        as_csv = request.accepted_renderer.format == CSVRenderer.format
        self.audit_run(params, deidentified=deidentified, export=as_csv)
        if as_csv:
            return self.csv_file(params, data, deidentified=deidentified)
        return Response({**data, "parameters": params.as_query(), "deidentified": deidentified})

    def csv_file(self, params: ReportParams, data: dict[str, Any], *, deidentified: bool) -> HttpResponse:
        suffix = "-deidentified" if deidentified else ""
        filename = f"report-{self.report_name}-{params.start}-to-{params.end}{suffix}.csv"
        response = HttpResponse(
            _csv_body(csv_rows(self.report_name, data)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def audit_run(self, params: ReportParams, *, deidentified: bool, export: bool) -> None:
        """Recorded before the report leaves (a failed append serves nothing)."""
        self.audit_access(
            AuditAction.EXPORT if export else AuditAction.VIEW,
            object_id=self.report_name,
            detail={"parameters": params.as_query(), "deidentified": deidentified},
        )

    def audit_refusal(self, *, status: int) -> None:
        if not self.request.user.is_authenticated:
            return
        self.audit_access(
            AuditAction.VIEW,
            object_id=self.report_name,
            outcome=AuditOutcome.DENIED,
            detail={"status": status, "method": self.request.method or "GET"},
        )


def _schema(name: str) -> Any:
    return extend_schema(
        operation_id=f"reports_{name}",
        summary=f"The {name} report",
        description=(inspect.getdoc(REPORTS[name]) or "") + COMMON,
        parameters=PARAMETERS,
        responses={
            (200, "application/json"): REPORT_SERIALIZERS[name],
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="`?format=csv`: a header row, then one row per figure."
            ),
            400: OpenApiResponse(
                ValidationErrorSerializer,
                description="A bad parameter, named (`start`, `end`, `clinician`, ...).",
            ),
            404: OpenApiResponse(
                ErrorSerializer, description="An unknown `format` (json and csv are known)."
            ),
        },
    )


class CensusReportViewSet(ReportViewSet):
    report_name = "census"

    @_schema("census")
    def report(self, request: Request) -> Response | HttpResponseBase:
        return super().report(request)


class RetentionReportViewSet(ReportViewSet):
    report_name = "retention"

    @_schema("retention")
    def report(self, request: Request) -> Response | HttpResponseBase:
        return super().report(request)


class VisitsReportViewSet(ReportViewSet):
    report_name = "visits"

    @_schema("visits")
    def report(self, request: Request) -> Response | HttpResponseBase:
        return super().report(request)


class OutcomesReportViewSet(ReportViewSet):
    report_name = "outcomes"

    @_schema("outcomes")
    def report(self, request: Request) -> Response | HttpResponseBase:
        return super().report(request)
