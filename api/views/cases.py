"""Cases: list, open at intake, read with history, edit profile and clinicians, change stage."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from api.audit import AuditedListMixin, AuditedResource, AuditedRetrieveMixin
from api.permissions import acting_user, required_capability
from api.schema import ErrorSerializer
from api.serializers.cases import (
    CaseSerializer,
    CaseUpdateSerializer,
    CaseWriteSerializer,
    TransitionRequestSerializer,
)
from cases.filters import CaseFilter
from cases.models import Case, Patient
from cases.remission import with_remission
from cases.selectors import cases_visible_to
from cases.services.cases import case_assign_clinicians, case_open, case_update_profile
from cases.services.stages import case_transition
from clinic.models import User
from clinic.policy import (
    CASE_ASSIGNMENT_FIELDS,
    CASE_PROFILE_FIELDS,
    Capability,
    has_capability,
    opened_case_primary,
    writable_case_fields,
)


def _check_field_rights(
    user: User, patient: Patient, data: dict[str, object], *, opening: bool = False
) -> None:
    """A field the policy does not let this user write for this patient is a 403 naming it
    (`clinic.policy.writable_case_fields`: assignment for supervisors, the substance profile for clinical staff
    whose scope covers the patient or who take the case on)."""
    writable = writable_case_fields(user, patient, opening=opening)
    refused = [
        name
        for name in (*CASE_ASSIGNMENT_FIELDS, *CASE_PROFILE_FIELDS)
        if name in data and name not in writable
    ]
    if refused:
        raise PermissionDenied(f"You may not set {', '.join(refused)} for this patient.")


@extend_schema_view(
    create=extend_schema(
        request=CaseWriteSerializer,
        responses={
            201: CaseSerializer,
            409: OpenApiResponse(ErrorSerializer, "The patient has an open case."),
        },
    ),
    partial_update=extend_schema(request=CaseUpdateSerializer, responses=CaseSerializer),
)
class CaseViewSet(
    AuditedListMixin,
    AuditedRetrieveMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = CaseSerializer
    filterset_class = CaseFilter
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "patch", "head", "options"]
    capabilities = {
        "list": Capability.READ_DEMOGRAPHICS,
        "retrieve": Capability.READ_DEMOGRAPHICS,
        "create": Capability.OPEN_CASE,
        "partial_update": Capability.READ_DEMOGRAPHICS,  # then per field, see _check_field_rights
        "transition": Capability.CHANGE_STAGE,
    }
    audited = AuditedResource(object_type="case", data_category="case", patient_path="patient_id")

    def get_queryset(self) -> QuerySet[Case]:
        capability = required_capability(self) or Capability.READ_DEMOGRAPHICS
        cases = cases_visible_to(acting_user(self.request), capability)
        if self.action in ("list", "retrieve") and has_capability(
            acting_user(self.request), Capability.READ_CLINICAL
        ):
            cases = with_remission(cases)  # subqueries per row (still one query), for those who may read them
        return cases

    def _read(self, case: Case) -> dict[str, object]:
        cases = self.get_queryset()
        if has_capability(acting_user(self.request), Capability.READ_CLINICAL):
            cases = with_remission(cases)
        return CaseSerializer(cases.get(pk=case.pk)).data

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        user = acting_user(request)
        serializer = CaseWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        patient = data.pop("patient")
        _check_field_rights(user, patient, data, opening=True)
        # Who takes the case on is the policy's answer (SPEC section 2), not this view's.
        primary = opened_case_primary(user, patient, data.pop("primary_clinician", None))
        case = case_open(
            patient=patient,
            actor=user,
            referral_source=data.pop("referral_source"),
            opened_on=data.pop("opened_on", None),
            primary_clinician=primary,
            care_team=data.pop("care_team", []),
            profile=data,
        )
        return Response(self._read(case), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: object, **kwargs: object) -> Response:
        user = acting_user(request)
        case = self.get_object()
        serializer = CaseUpdateSerializer(
            case, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        _check_field_rights(user, case.patient, data)
        if any(name in data for name in CASE_ASSIGNMENT_FIELDS):
            primary = data.pop("primary_clinician") if "primary_clinician" in data else case.primary_clinician
            team = data.pop("care_team") if "care_team" in data else list(case.care_team.all())
            case_assign_clinicians(case=case, actor=user, primary_clinician=primary, care_team=team)
        case_update_profile(case=case, actor=user, data=data)
        return Response(self._read(case))

    @extend_schema(
        request=TransitionRequestSerializer,
        responses={
            201: CaseSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                "`code` `concurrent_change`: someone else changed the case first; reload it. `code` "
                "`open_urgent_alerts`: urgent alerts are unresolved (listed in `alerts`: id, kind, message, status); "
                "send `confirm_open_alerts: true` to move anyway.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        """Move the case to another stage (409 when someone else changed it first, or when urgent alerts are
        unresolved on a move to recovery or discharge and the request does not confirm them)."""
        case = self.get_object()
        serializer = TransitionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "version" in data:
            # The service checks the version of `case` "as the caller saw it": the client's, when it says.
            case.version = data.pop("version")
        case_transition(case=case, actor=acting_user(request), **data)
        return Response(self._read(case), status=status.HTTP_201_CREATED)
