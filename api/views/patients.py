"""Patients: search and list, register (with the duplicate check), read, edit demographics, break-glass."""

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from api.audit import AuditedListMixin, AuditedResource, AuditedRetrieveMixin
from api.permissions import acting_user, required_capability
from api.schema import ErrorSerializer
from api.serializers.patients import (
    BreakGlassFindSerializer,
    BreakGlassGrantSerializer,
    BreakGlassRequestSerializer,
    DuplicateReviewResolveSerializer,
    DuplicateReviewSerializer,
    DuplicateWarningSerializer,
    PatientLookupSerializer,
    PatientRegisterSerializer,
    PatientSerializer,
    PossibleDuplicateSerializer,
)
from cases.errors import ValidationFailed
from cases.filters import DuplicateReviewFilter, PatientFilter, PatientMrnLookupFilter
from cases.models import DuplicateReview, Patient
from cases.selectors import duplicate_reviews_visible_to, patient_by_exact_mrn, patients_visible_to
from cases.services.access import break_glass_find_and_grant, break_glass_grant, check_break_glass_reason
from cases.services.patients import (
    PossibleDuplicates,
    duplicate_review_resolve,
    patient_register,
    patient_update,
)
from clinic.audit import audit_record
from clinic.models import AuditAction, AuditDataCategory, AuditEvent, AuditOutcome
from clinic.policy import Capability, finds_patients_by_mrn_only, may_break_glass, patients_in_scope


@extend_schema_view(
    list=extend_schema(
        description="Patients the user may see, searched and filtered. An administrator (privacy work) gives the "
        "exact `?mrn=` and gets that one patient's `id`, `mrn`, `first_name`, `last_name` and `date_of_birth` "
        "(SPEC section 2); without it, 403."
    ),
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

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        # An administrator's one way in (SPEC section 2): the exact MRN, identifying fields only, nothing else.
        self.mrn_lookup_only = self.action == "list" and finds_patients_by_mrn_only(request.user)  # type: ignore[arg-type]
        if self.mrn_lookup_only:
            self.capabilities = {**self.capabilities, "list": Capability.FIND_PATIENT_BY_MRN}
            self.filterset_class = PatientMrnLookupFilter
        super().initial(request, *args, **kwargs)

    def get_serializer_class(self) -> type[BaseSerializer]:
        return PatientLookupSerializer if getattr(self, "mrn_lookup_only", False) else PatientSerializer

    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        if self.mrn_lookup_only and not request.query_params.get("mrn", "").strip():
            raise PermissionDenied("Administrators find a patient only by the exact MRN: GET patients/?mrn=.")
        return super().list(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Patient]:
        if getattr(self, "mrn_lookup_only", False):
            return patient_by_exact_mrn(self.request.query_params.get("mrn", ""))
        if self.action == "break_glass":  # by definition outside the caseload: any registered patient
            return patients_in_scope(acting_user(self.request), Capability.BREAK_GLASS)
        capability = required_capability(self) or Capability.READ_DEMOGRAPHICS
        return patients_visible_to(acting_user(self.request), capability)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = PatientRegisterSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        confirmed = data.pop("confirm_not_duplicate", False)
        try:
            patient = patient_register(actor=acting_user(request), data=data, confirm_not_duplicate=confirmed)
        except PossibleDuplicates as duplicates:
            body = {
                "detail": duplicates.message,
                "code": duplicates.code,
                "possible_duplicates": PossibleDuplicateSerializer(duplicates.shown, many=True).data,
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
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

    def handle_exception(self, exc: Exception) -> Response:
        """A role that never breaks glass (403) is recorded as a denied attempt, as every other refusal is
        (`api.audit.AuditedAccessMixin`); misses are recorded by the service."""
        if isinstance(exc, PermissionDenied) and self.request.user.is_authenticated:
            audit_record(
                user=acting_user(self.request),
                action=AuditAction.BREAK_GLASS,
                object_type="patient",
                outcome=AuditOutcome.DENIED,
                data_category=AuditDataCategory.ACCESS,
                detail={"status": 403, "method": self.request.method, "path": self.request.path[:200]},
            )
        return super().handle_exception(exc)

    @extend_schema(
        request=BreakGlassFindSerializer,
        responses={201: BreakGlassGrantSerializer, 404: OpenApiResponse(ErrorSerializer, "No exact match.")},
    )
    def post(self, request: Request) -> Response:
        serializer = BreakGlassFindSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grant = break_glass_find_and_grant(user=acting_user(request), **serializer.validated_data)
        return Response(BreakGlassGrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class DuplicateReviewViewSet(AuditedListMixin, AuditedRetrieveMixin, viewsets.GenericViewSet):
    """The front desk's duplicate review (SPEC section 2): registrations by someone who could not see every patient
    that resemble patients outside their scope. Front desk and supervisors decide each once:
    `POST duplicate-reviews/{id}/resolve/` `{"outcome": "distinct"|"entered_in_error", "note"}`."""

    serializer_class = DuplicateReviewSerializer
    filterset_class = DuplicateReviewFilter
    lookup_value_converter = "uuid"
    capability = Capability.REVIEW_DUPLICATES
    audited = AuditedResource(
        object_type="duplicate_review", data_category="demographics", patient_path="patient_id"
    )

    def get_queryset(self) -> QuerySet[DuplicateReview]:
        return duplicate_reviews_visible_to(acting_user(self.request))

    def audit_rows(self, action: str, rows: Sequence[Any], *, object_id: object = "") -> AuditEvent:
        """The matches are shown beside each new registration: they are read too."""
        if action == AuditAction.VIEW:
            (review,) = rows
            return self.audit_access(
                action,
                object_id=object_id,
                patient_id=review.patient_id,
                patients_seen=[review.patient_id, *(match.pk for match in review.matches.all())],
            )
        seen = [pk for review in rows for pk in (review.patient_id, *(m.pk for m in review.matches.all()))]
        return self.audit_access(action, patients_seen=list(dict.fromkeys(seen)))

    @extend_schema(request=DuplicateReviewResolveSerializer, responses={200: DuplicateReviewSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        serializer = DuplicateReviewResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = duplicate_review_resolve(
            review=self.get_object(), actor=acting_user(request), **serializer.validated_data
        )
        return Response(DuplicateReviewSerializer(self.get_queryset().get(pk=review.pk)).data)
