"""Alerts: the clinician's worklist over their caseload (urgent first, then oldest), acknowledged or resolved
with a note."""

from collections.abc import Callable

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.audit import AuditedListMixin, AuditedResource, AuditedRetrieveMixin
from api.permissions import acting_user, required_capability
from api.schema import ErrorSerializer
from api.serializers.clinical import AlertNoteRequestSerializer, AlertSerializer
from cases.filters import AlertFilter
from cases.models import Alert
from cases.selectors import clinical_records_visible_to, worklist_for
from cases.services.alerts import alert_acknowledge, alert_resolve
from clinic.policy import Capability

_SETTLED = "The alert is already resolved (or, to acknowledge, already acknowledged)."


class AlertViewSet(AuditedListMixin, AuditedRetrieveMixin, viewsets.GenericViewSet):
    """Alerts are raised by the server when the data that warrants one arrives; clients only settle them."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "head", "options"]
    capabilities = {
        "list": Capability.READ_CLINICAL,
        "retrieve": Capability.READ_CLINICAL,
        "acknowledge": Capability.RECORD_CLINICAL,
        "resolve": Capability.RECORD_CLINICAL,
    }
    audited = AuditedResource(object_type="alert", data_category="alert", patient_path="patient_id")

    def get_queryset(self) -> QuerySet[Alert]:
        capability = required_capability(self) or Capability.READ_CLINICAL
        if capability is Capability.READ_CLINICAL:
            return worklist_for(acting_user(self.request))
        return clinical_records_visible_to(acting_user(self.request), Alert, capability)

    def _settle(self, request: Request, settle: Callable[..., Alert]) -> Response:
        alert = self.get_object()
        serializer = AlertNoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        settled = settle(alert=alert, actor=acting_user(request), note=serializer.validated_data["note"])
        return Response(AlertSerializer(settled).data)

    @extend_schema(
        request=AlertNoteRequestSerializer,
        responses={200: AlertSerializer, 409: OpenApiResponse(ErrorSerializer, _SETTLED)},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Acknowledge an open alert with a note (409 if already acknowledged or resolved)."""
        return self._settle(request, alert_acknowledge)

    @extend_schema(
        request=AlertNoteRequestSerializer,
        responses={200: AlertSerializer, 409: OpenApiResponse(ErrorSerializer, _SETTLED)},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        """Resolve an open or acknowledged alert with a note (409 if already resolved)."""
        return self._settle(request, alert_resolve)
