"""Patients: search and list, register (with the duplicate check), read, edit demographics, break-glass."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.audit import AuditedListMixin, AuditedResource, AuditedRetrieveMixin
from api.filters import PatientFilter
from api.permissions import acting_user, required_capability
from api.schema import ErrorSerializer
from api.serializers.patients import (
    BreakGlassFindSerializer,
    BreakGlassGrantSerializer,
    BreakGlassRequestSerializer,
    DuplicateWarningSerializer,
    PatientRegisterSerializer,
    PatientSerializer,
    PossibleDuplicateSerializer,
)
from cases.errors import ValidationFailed
from cases.models import Patient
from cases.selectors import patients_visible_to, possible_duplicates_for
from cases.services.access import break_glass_find_and_grant, break_glass_grant, check_break_glass_reason
from cases.services.patients import patient_register, patient_update
from clinic.models import AuditEvent
from clinic.policy import Capability, may_break_glass, patients_in_scope


@extend_schema_view(
    create=extend_schema(
        request=PatientRegisterSerializer,
        responses={
            201: PatientSerializer,
            409: OpenApiResponse(DuplicateWarningSerializer, "Possible duplicates"),
        },
    ),
    partial_update=extend_schema(request=PatientSerializer, responses=PatientSerializer),
)
class PatientViewSet(
    AuditedListMixin,
    AuditedRetrieveMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Patients are never deleted through the API (records retention)."""

    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "patch", "head", "options"]
    capabilities = {
        "list": Capability.READ_DEMOGRAPHICS,
        "retrieve": Capability.READ_DEMOGRAPHICS,
        "create": Capability.EDIT_DEMOGRAPHICS,
        "partial_update": Capability.EDIT_DEMOGRAPHICS,
        "break_glass": Capability.BREAK_GLASS,
    }
    audited = AuditedResource(object_type="patient", data_category="demographics", patient_path="pk")

    def get_queryset(self) -> QuerySet[Patient]:
        if self.action == "break_glass":  # by definition outside the caseload: any registered patient
            return patients_in_scope(acting_user(self.request), Capability.BREAK_GLASS)
        capability = required_capability(self) or Capability.READ_DEMOGRAPHICS
        return patients_visible_to(acting_user(self.request), capability)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = PatientRegisterSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        confirmed = data.pop("confirm_not_duplicate", False)
        if not confirmed:
            duplicates = possible_duplicates_for(
                acting_user(request), last_name=data["last_name"], date_of_birth=data["date_of_birth"]
            )
            if duplicates is not None:
                self.audit_access(  # the duplicates' demographics are shown: a read
                    AuditEvent.Action.LIST,
                    patients_seen=[patient.pk for patient in duplicates.shown],
                    detail={"possible_duplicates": True},
                )
                body = {
                    "detail": "Possible duplicates: a patient with this last name and date of birth exists. "
                    "Send confirm_not_duplicate=true to register anyway.",
                    "possible_duplicates": PossibleDuplicateSerializer(duplicates.shown, many=True).data,
                    "hidden_matches": duplicates.hidden,
                }
                return Response(body, status=status.HTTP_409_CONFLICT)
        patient = patient_register(actor=acting_user(request), data=data)
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: object, **kwargs: object) -> Response:
        patient = self.get_object()
        serializer = PatientSerializer(patient, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        patient = patient_update(patient=patient, actor=acting_user(request), data=serializer.validated_data)
        return Response(PatientSerializer(patient).data)

    @extend_schema(request=BreakGlassRequestSerializer, responses={201: BreakGlassGrantSerializer})
    @action(detail=True, methods=["post"], url_path="break-glass")
    def break_glass(self, request: Request, pk: str | None = None) -> Response:
        """Emergency access to a patient outside your caseload for 4 hours; the reason is reviewed. The body is
        checked before the patient is looked up, so a bad body answers the same for every id (SPEC section 2)."""
        serializer = BreakGlassRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = check_break_glass_reason(serializer.validated_data["reason"])
        patient = self.get_object()
        if not may_break_glass(acting_user(request), patient):
            raise ValidationFailed("You already have access to this patient.", field="patient")
        grant = break_glass_grant(user=acting_user(request), patient=patient, reason=reason)
        return Response(BreakGlassGrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class BreakGlassView(APIView):
    """`POST break-glass/`: emergency access in one step, by the exact MRN or by the exact first name, last name
    and date of birth, with the reason (SPEC sections 2 and 8). 201 with the grant (its `patient` is the id to read
    for 4 hours), or 404 when nothing (or more than one patient) matches; audited either way."""

    capability = Capability.BREAK_GLASS

    @extend_schema(
        request=BreakGlassFindSerializer,
        responses={201: BreakGlassGrantSerializer, 404: OpenApiResponse(ErrorSerializer, "No exact match.")},
    )
    def post(self, request: Request) -> Response:
        serializer = BreakGlassFindSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grant = break_glass_find_and_grant(user=acting_user(request), **serializer.validated_data)
        return Response(BreakGlassGrantSerializer(grant).data, status=status.HTTP_201_CREATED)
