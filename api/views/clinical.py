"""The clinical record: assessments and clinical events (immutable once recorded), plan goals, medications, drug
screens and liver panels. Reads are scoped to the patients whose clinical content the user may read; writes to those they may
record it for."""

from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from api.audit import AuditedListMixin, AuditedResource, AuditedRetrieveMixin
from api.permissions import acting_user, required_capability
from api.serializers.clinical import (
    AssessmentSerializer,
    AssessmentWriteSerializer,
    ClinicalEventSerializer,
    ClinicalEventWriteSerializer,
    DrugScreenSerializer,
    DrugScreenUpdateSerializer,
    DrugScreenWriteSerializer,
    EnteredInErrorRequestSerializer,
    GoalSerializer,
    GoalUpdateSerializer,
    GoalWriteSerializer,
    LiverPanelSerializer,
    LiverPanelUpdateSerializer,
    LiverPanelWriteSerializer,
    MedicationSerializer,
    MedicationUpdateSerializer,
    MedicationWriteSerializer,
)
from cases.filters import AssessmentFilter, ClinicalEventFilter, ClinicalRecordFilter, GoalFilter
from cases.models import Assessment, Case, ClinicalEvent, DrugScreen, LiverPanel, Medication, TreatmentGoal
from cases.selectors import clinical_records_visible_to
from cases.services.clinical import (
    assessment_mark_entered_in_error,
    assessment_record,
    drug_screen_record,
    drug_screen_update,
    goal_add,
    goal_update,
    liver_panel_record,
    liver_panel_update,
    medication_add,
    medication_update,
)
from cases.services.events import clinical_event_mark_entered_in_error, clinical_event_record
from clinic.models import User
from clinic.policy import Capability

PATIENT = "case__patient_id"  # every clinical record hangs off a case

CLINICAL_CAPABILITIES = {
    "list": Capability.READ_CLINICAL,
    "retrieve": Capability.READ_CLINICAL,
    "create": Capability.RECORD_CLINICAL,
    "partial_update": Capability.RECORD_CLINICAL,
}


class ClinicalRecordViewSet(
    AuditedListMixin,
    AuditedRetrieveMixin,
    viewsets.GenericViewSet,
):
    """List, read and record one kind of record. A subclass names its model, how it is audited, its shapes and its
    service."""

    model: ClassVar[type[Model]]
    write_serializer_class: ClassVar[type[BaseSerializer]]
    filterset_class = ClinicalRecordFilter
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "head", "options"]
    capabilities = CLINICAL_CAPABILITIES
    list_order: tuple[str, ...] = ("id",)  # the model's ordering, made total for stable pages

    def get_queryset(self) -> QuerySet[Any]:
        capability = required_capability(self) or Capability.READ_CLINICAL
        return clinical_records_visible_to(acting_user(self.request), self.model, capability).order_by(
            *self.list_order
        )

    def record(self, *, case: Case, actor: User, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.write_serializer_class(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        created = self.record(case=data.pop("case"), actor=acting_user(request), data=data)
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)


class CorrectableRecordViewSet(ClinicalRecordViewSet):
    """A record that a clinician may correct with PATCH (goals, medications, screens, panels)."""

    update_serializer_class: ClassVar[type[BaseSerializer]]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def change(self, record: Any, *, actor: User, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def partial_update(self, request: Request, *args: object, **kwargs: object) -> Response:
        record = self.get_object()
        serializer = self.update_serializer_class(
            record, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        changed = self.change(record, actor=acting_user(request), data=dict(serializer.validated_data))
        return Response(self.get_serializer(changed).data)


@extend_schema_view(
    create=extend_schema(request=GoalWriteSerializer, responses={201: GoalSerializer}),
    partial_update=extend_schema(request=GoalUpdateSerializer, responses=GoalSerializer),
)
class GoalViewSet(CorrectableRecordViewSet):
    """Treatment-plan goals; review the plan at least every 90 days while the case is in treatment."""

    model = TreatmentGoal
    audited = AuditedResource(object_type="treatmentgoal", data_category="plan", patient_path=PATIENT)
    serializer_class = GoalSerializer
    write_serializer_class = GoalWriteSerializer
    update_serializer_class = GoalUpdateSerializer
    filterset_class = GoalFilter
    list_order = ("case", "created_at", "id")

    def record(self, *, case: Case, actor: User, data: dict[str, Any]) -> Model:
        return goal_add(case=case, actor=actor, data=data)

    def change(self, record: Any, *, actor: User, data: dict[str, Any]) -> Model:
        return goal_update(goal=record, actor=actor, data=data)


@extend_schema_view(
    create=extend_schema(request=MedicationWriteSerializer, responses={201: MedicationSerializer}),
    partial_update=extend_schema(request=MedicationUpdateSerializer, responses=MedicationSerializer),
)
class MedicationViewSet(CorrectableRecordViewSet):
    model = Medication
    audited = AuditedResource(object_type="medication", data_category="medication", patient_path=PATIENT)
    serializer_class = MedicationSerializer
    write_serializer_class = MedicationWriteSerializer
    update_serializer_class = MedicationUpdateSerializer
    list_order = ("case", "-start_date", "id")

    def record(self, *, case: Case, actor: User, data: dict[str, Any]) -> Model:
        return medication_add(case=case, actor=actor, data=data)

    def change(self, record: Any, *, actor: User, data: dict[str, Any]) -> Model:
        return medication_update(medication=record, actor=actor, data=data)


@extend_schema_view(
    create=extend_schema(request=DrugScreenWriteSerializer, responses={201: DrugScreenSerializer}),
    partial_update=extend_schema(request=DrugScreenUpdateSerializer, responses=DrugScreenSerializer),
)
class DrugScreenViewSet(CorrectableRecordViewSet):
    """Urine drug screens: `results` maps analytes to results; one left out is `not_tested`."""

    model = DrugScreen
    audited = AuditedResource(object_type="drugscreen", data_category="lab", patient_path=PATIENT)
    serializer_class = DrugScreenSerializer
    write_serializer_class = DrugScreenWriteSerializer
    update_serializer_class = DrugScreenUpdateSerializer
    list_order = ("case", "-collected_on", "id")

    def record(self, *, case: Case, actor: User, data: dict[str, Any]) -> Model:
        return drug_screen_record(case=case, actor=actor, **data)

    def change(self, record: Any, *, actor: User, data: dict[str, Any]) -> Model:
        return drug_screen_update(screen=record, actor=actor, **data)


@extend_schema_view(
    create=extend_schema(request=LiverPanelWriteSerializer, responses={201: LiverPanelSerializer}),
    partial_update=extend_schema(request=LiverPanelUpdateSerializer, responses=LiverPanelSerializer),
)
class LiverPanelViewSet(CorrectableRecordViewSet):
    """Liver panels, with the injury pattern (R ratio) and Hy's law derived by the server."""

    model = LiverPanel
    audited = AuditedResource(object_type="liverpanel", data_category="lab", patient_path=PATIENT)
    serializer_class = LiverPanelSerializer
    write_serializer_class = LiverPanelWriteSerializer
    update_serializer_class = LiverPanelUpdateSerializer
    list_order = ("case", "-collected_on", "id")

    def record(self, *, case: Case, actor: User, data: dict[str, Any]) -> Model:
        return liver_panel_record(case=case, actor=actor, data=data)

    def change(self, record: Any, *, actor: User, data: dict[str, Any]) -> Model:
        return liver_panel_update(panel=record, actor=actor, data=data)


@extend_schema_view(
    create=extend_schema(request=AssessmentWriteSerializer, responses={201: AssessmentSerializer})
)
class AssessmentViewSet(ClinicalRecordViewSet):
    """Structured assessments. The server validates each response and computes total and band. A recorded score
    never changes (no PATCH, PUT or DELETE); a mistaken one is marked entered in error."""

    model = Assessment
    audited = AuditedResource(object_type="assessment", data_category="assessment", patient_path=PATIENT)
    serializer_class = AssessmentSerializer
    write_serializer_class = AssessmentWriteSerializer
    filterset_class = AssessmentFilter
    capabilities = {**CLINICAL_CAPABILITIES, "entered_in_error": Capability.RECORD_CLINICAL}
    list_order = ("case", "administered_at", "id")

    def record(self, *, case: Case, actor: User, data: dict[str, Any]) -> Model:
        return assessment_record(case=case, actor=actor, **data)

    @extend_schema(request=EnteredInErrorRequestSerializer, responses={200: AssessmentSerializer})
    @action(detail=True, methods=["post"], url_path="entered-in-error")
    def entered_in_error(self, request: Request, pk: str | None = None) -> Response:
        """Mark a mistaken assessment entered in error, with a reason; it stays on record but stops counting."""
        assessment = self.get_object()
        serializer = EnteredInErrorRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = assessment_mark_entered_in_error(
            assessment=assessment, actor=acting_user(request), reason=serializer.validated_data["reason"]
        )
        return Response(AssessmentSerializer(marked).data)


@extend_schema_view(
    create=extend_schema(request=ClinicalEventWriteSerializer, responses={201: ClinicalEventSerializer})
)
class ClinicalEventViewSet(ClinicalRecordViewSet):
    """Clinical events (SPEC 3.6): seizures, overdoses, emergency visits and hospitalizations. A seizure or an
    overdose raises an urgent alert. Never changed (no PATCH, PUT or DELETE); a mistaken one is marked entered in
    error, which strikes its alert evidence."""

    model = ClinicalEvent
    audited = AuditedResource(
        object_type="clinicalevent", data_category="clinical_note", patient_path=PATIENT
    )
    serializer_class = ClinicalEventSerializer
    write_serializer_class = ClinicalEventWriteSerializer
    filterset_class = ClinicalEventFilter
    capabilities = {**CLINICAL_CAPABILITIES, "entered_in_error": Capability.RECORD_CLINICAL}
    list_order = ("case", "-occurred_on", "-created_at", "id")

    def record(self, *, case: Case, actor: User, data: dict[str, Any]) -> Model:
        return clinical_event_record(case=case, actor=actor, data=data)

    @extend_schema(request=EnteredInErrorRequestSerializer, responses={200: ClinicalEventSerializer})
    @action(detail=True, methods=["post"], url_path="entered-in-error")
    def entered_in_error(self, request: Request, pk: str | None = None) -> Response:
        """Mark a mistaken event entered in error, with a reason; it stays on record, its alert evidence struck."""
        event = self.get_object()
        serializer = EnteredInErrorRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = clinical_event_mark_entered_in_error(
            event=event, actor=acting_user(request), reason=serializer.validated_data["reason"]
        )
        return Response(ClinicalEventSerializer(marked).data)
