"""The four reports (SPEC section 6): `reports/<name>/?start=&end=&clinician=`, JSON or `?format=csv`, and
`?deidentified=true` for small-cell suppression. The numbers come from `cases.reports`; every run is audited
(`view` for JSON, `export` for CSV; no patient: reports are aggregates)."""

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
from cases.reports import REPORTS, report_run
from cases.reports.run import AUDIT_OBJECT_TYPE
from clinic.models import AuditAction, AuditOutcome
from clinic.policy import Capability

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


class ReportViewSet(AuditedAccessMixin, viewsets.GenericViewSet):
    """One report, named by `report_name` (a key of `cases.reports.REPORTS`); its one action is `report`, which
    translates HTTP for `cases.reports.report_run` (the policy, the parameters, the run, its audit event)."""

    report_name: ClassVar[str]
    capability = Capability.REPORTS
    renderer_classes = [JSONRenderer, CSVRenderer]
    filter_backends: list[type] = []
    pagination_class = None
    audited = AuditedResource(object_type=AUDIT_OBJECT_TYPE, data_category="", patient_path=None)

    def report(self, request: Request) -> Response | HttpResponseBase:
        as_csv = request.accepted_renderer.format == CSVRenderer.format
        query = self.audit_query()  # `format`, as every API read records it
        run = report_run(
            acting_user(request),
            self.report_name,
            request.query_params,
            export=as_csv,
            audit_detail={"query": query} if query else None,
        )
        if not as_csv:
            return Response(run.as_json())
        response = HttpResponse(run.csv_text(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{run.filename}"'
        return response

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
        description=REPORTS[name].description + COMMON,
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


def _viewset(name: str) -> type[ReportViewSet]:
    """The report `name`'s own viewset (each report has its own operation and response shape in the schema)."""

    @_schema(name)
    def report(self: ReportViewSet, request: Request) -> Response | HttpResponseBase:
        return ReportViewSet.report(self, request)

    attrs = {"report_name": name, "report": report, "__module__": __name__}
    return type(f"{name.capitalize()}ReportViewSet", (ReportViewSet,), attrs)


# One per declared report (`cases.reports.REPORTS`); api/urls.py routes `reports/<name>/` to each.
REPORT_VIEWSETS: dict[str, type[ReportViewSet]] = {name: _viewset(name) for name in REPORTS}
