"""The staff list, for supervisors and administrators (to pick a clinician)."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.permissions import acting_user
from api.serializers.staff import AccessChangeSerializer, StaffSerializer
from cases.selectors import staff_members
from clinic.approvals import decide
from clinic.filters import StaffFilter
from clinic.models import AccessChange, User
from clinic.policy import Capability


class StaffViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = StaffSerializer
    capability = Capability.LIST_STAFF
    filterset_class = StaffFilter
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[User]:
        return staff_members()


class AccessChangeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Access changes (clinic/approvals.py): pending ones first. A different administrator or supervisor, neither
    the requester nor the account's owner, approves (and so applies) or refuses each."""

    serializer_class = AccessChangeSerializer
    capability = Capability.APPROVE_ACCESS
    lookup_value_converter = "uuid"
    filterset_fields = ("status", "kind")

    def get_queryset(self) -> QuerySet[AccessChange]:
        return AccessChange.objects.select_related("subject", "requested_by", "decided_by").order_by(
            "-status", "-requested_at"
        )

    def _decide(self, request: Request, *, approve: bool) -> Response:
        change = self.get_object()
        base = request.build_absolute_uri("/").rstrip("/")
        decided = decide(approver=acting_user(request), change=change, approve=approve, base_url=base)
        return Response(self.get_serializer(self.get_queryset().get(pk=decided.pk)).data)

    @extend_schema(request=None, responses={200: AccessChangeSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve and apply the change."""
        return self._decide(request, approve=True)

    @extend_schema(request=None, responses={200: AccessChangeSerializer})
    @action(detail=True, methods=["post"])
    def refuse(self, request: Request, pk: str | None = None) -> Response:
        """Refuse the change: it grants nothing."""
        return self._decide(request, approve=False)
