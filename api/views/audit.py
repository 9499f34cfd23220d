"""The audit log for administrators (filter, page, export as CSV; nobody changes it: GET only), a patient's access
log, and the break-glass grants that supervisors review. Reading any of them is itself audited."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponseBase
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.audit import AuditedListMixin, AuditedResource, AuditedRetrieveMixin
from api.exports import CSVRenderer, csv_response
from api.permissions import acting_user
from api.schema import ErrorSerializer
from api.serializers.audit import (
    AuditEventSerializer,
    BreakGlassReviewSerializer,
    BreakGlassVerdictSerializer,
)
from cases.filters import BreakGlassGrantFilter
from cases.models import BreakGlassGrant, Patient
from cases.selectors import break_glass_activity
from cases.services.access import break_glass_end, break_glass_review
from clinic.audit import newest_first_from_index, touching_patient
from clinic.filters import AuditEventFilter, PatientAccessLogFilter
from clinic.models import AuditEvent
from clinic.policy import Capability

CSV_EXPORT = OpenApiResponse(
    OpenApiTypes.STR,
    description="`?format=csv`: every matching event (not one page), the same columns, a header row first.",
)
AUDIT_LOG_RESPONSES = {(200, "application/json"): AuditEventSerializer, (200, "text/csv"): CSV_EXPORT}


@extend_schema_view(list=extend_schema(responses=AUDIT_LOG_RESPONSES))
class AuditEventViewSet(AuditedListMixin, viewsets.GenericViewSet):
    """The audit log, newest first. `?format=csv` exports every matching event; the export is audited first."""

    serializer_class = AuditEventSerializer
    filterset_class: type[PatientAccessLogFilter] = AuditEventFilter
    renderer_classes = [JSONRenderer, CSVRenderer]
    capability = Capability.AUDIT_LOG
    audited = AuditedResource(object_type="audit_event", data_category="audit", patient_path=None)

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return AuditEvent.objects.order_by("-id")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if request.accepted_renderer.format == CSVRenderer.format:
            return self.export()
        return super().list(request, *args, **kwargs)

    def export(self) -> HttpResponseBase:
        events = self.filter_queryset(self.get_queryset())
        # Recorded before a row leaves; the file stops just before its own export event.
        marker = self.audit_access(AuditEvent.Action.EXPORT, patient_id=self.audit_list_patient([]))
        rows = (
            AuditEventSerializer(event).data
            for event in events.filter(id__lt=marker.pk).iterator(chunk_size=2000)
        )
        stamp = timezone.localtime(marker.occurred_at).strftime("%Y%m%d-%H%M%S")
        return csv_response(AuditEventSerializer.Meta.fields, rows, filename=f"audit-events-{stamp}.csv")


class PatientAccessLogViewSet(AuditEventViewSet):
    """Who accessed this patient's record: events naming the patient and the lists that showed it, newest first
    (the same filters as the audit log, and `?format=csv`)."""

    filterset_class = PatientAccessLogFilter

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no patient to look up
            return AuditEvent.objects.none()
        if not Patient.objects.filter(pk=self.kwargs["pk"]).exists():
            raise NotFound("No such patient.")
        # Newest first by `id + 0`: PostgreSQL then uses the indexes, not the primary key walked backwards.
        events = AuditEvent.objects.filter(touching_patient(self.kwargs["pk"]))
        return events.order_by(newest_first_from_index())

    def audit_list_patient(self, patients: object) -> object:
        return self.kwargs["pk"]


class BreakGlassGrantViewSet(AuditedListMixin, AuditedRetrieveMixin, viewsets.GenericViewSet):
    """Break-glass grants for review, newest first: who, which patient, why, when, and what they viewed or did on
    that patient while the grant ran. Supervisors review them; administrators (privacy officers) read them too."""

    serializer_class = BreakGlassReviewSerializer
    filterset_class = BreakGlassGrantFilter
    lookup_value_converter = "uuid"
    capability = Capability.REVIEW_BREAK_GLASS
    audited = AuditedResource(
        object_type="break_glass_grant", data_category="access", patient_path="patient_id"
    )

    def get_queryset(self) -> QuerySet[BreakGlassGrant]:
        return BreakGlassGrant.objects.select_related("user", "patient", "ended_by", "reviewed_by").order_by(
            "-granted_at", "id"
        )

    def paginate_queryset(self, queryset: Any) -> Any:
        page: list[BreakGlassGrant] | None = super().paginate_queryset(queryset)
        break_glass_activity(page or [])  # one query for the whole page
        return page

    def get_object(self) -> BreakGlassGrant:
        grant: BreakGlassGrant = super().get_object()
        break_glass_activity([grant])
        return grant

    def get_permissions(self) -> Any:
        if self.action in ("end", "review"):  # supervisors only (administrators read the grants)
            self.capability = Capability.SUPERVISE_BREAK_GLASS
        return super().get_permissions()

    def _answer(self, grant: BreakGlassGrant) -> Response:
        fresh = self.get_queryset().get(pk=grant.pk)
        break_glass_activity([fresh])
        return Response(self.get_serializer(fresh).data)

    @extend_schema(
        request=None,
        responses={200: BreakGlassReviewSerializer, 409: OpenApiResponse(ErrorSerializer, "Already ended.")},
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        """End a running grant now: its holder's access stops at once (SPEC section 2). Supervisors."""
        grant = self.get_object()
        return self._answer(break_glass_end(grant=grant, actor=acting_user(request)))

    @extend_schema(
        request=BreakGlassVerdictSerializer,
        responses={
            200: BreakGlassReviewSerializer,
            409: OpenApiResponse(ErrorSerializer, "Already reviewed."),
        },
    )
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        """Record the review of a grant: `appropriate` or `inappropriate`, with a note. Supervisors, once."""
        serializer = BreakGlassVerdictSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grant = self.get_object()
        return self._answer(
            break_glass_review(grant=grant, actor=acting_user(request), **serializer.validated_data)
        )
