"""Visits: schedule, update (attendance for schedulers; note and vitals for clinicians), sign, addenda."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.audit import AuditedListMixin, AuditedResource, AuditedRetrieveMixin
from api.permissions import acting_user, required_capability
from api.schema import ErrorSerializer
from api.serializers.base import NoBodySerializer
from api.serializers.visits import (
    AddendumRequestSerializer,
    AddendumSerializer,
    AttendanceRequestSerializer,
    RescheduleRefusalSerializer,
    RescheduleRequestSerializer,
    SchedulingConflictSerializer,
    VisitListSerializer,
    VisitSerializer,
    VisitWriteSerializer,
)
from cases.filters import VisitFilter
from cases.models import Visit, VisitAddendum, VisitEvent
from cases.selectors import visits_visible_to
from cases.services.visits import (
    visit_add_addendum,
    visit_record_attendance,
    visit_reschedule,
    visit_schedule,
    visit_sign,
    visit_update,
)
from clinic.policy import VISIT_SCHEDULING_FIELDS, Capability, visits_in_scope, writable_visit_fields

WRITES = ("partial_update", "sign", "addenda", "attendance", "reschedule")
_SIGNED = "The note is signed (locked); corrections are addenda."
_OVERLAP = (
    "Overlaps other visits of the patient or the clinician (`conflicts`); send `confirm_conflicts: true`."
)
_ATTENDANCE = (
    "An attendance rule refused it now; `code` names it: `check_in_not_visit_day`, `no_show_before_start`, "
    "`correction_day_passed`, `note_signed`."
)


@extend_schema_view(
    create=extend_schema(
        request=VisitWriteSerializer,
        responses={201: VisitSerializer, 409: OpenApiResponse(SchedulingConflictSerializer, _OVERLAP)},
    ),
    partial_update=extend_schema(
        request=VisitWriteSerializer,
        responses={200: VisitSerializer, 409: OpenApiResponse(ErrorSerializer, _SIGNED)},
    ),
)
class VisitViewSet(
    AuditedListMixin,
    AuditedRetrieveMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = VisitSerializer
    filterset_class = VisitFilter
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "patch", "head", "options"]
    capabilities = {
        "list": Capability.SCHEDULE_VISITS,
        "retrieve": Capability.SCHEDULE_VISITS,
        "create": Capability.SCHEDULE_VISITS,
        "partial_update": Capability.SCHEDULE_VISITS,  # clinical fields need WRITE_NOTES on the patient too
        "sign": Capability.WRITE_NOTES,
        "addenda": Capability.WRITE_NOTES,
        "attendance": Capability.SCHEDULE_VISITS,
        "reschedule": Capability.SCHEDULE_VISITS,
    }
    # Front desk sees the schedule; the note and vitals only where the user may read them (`clinical_visible`).
    audited = AuditedResource(
        object_type="visit",
        data_category="visit_schedule",
        patient_path="case__patient_id",
        clinical_data_category="clinical_note",
    )

    def get_queryset(self) -> QuerySet[Visit]:
        capability = required_capability(self) or Capability.SCHEDULE_VISITS
        user = acting_user(self.request)
        if self.action in WRITES:  # the record a write starts from: scoped, with its patient; `_read` answers
            return visits_in_scope(user, capability).select_related("case__patient")
        # A list is the schedule: each visit's history is on its own page (keeps a list read at six queries).
        return visits_visible_to(user, capability, with_history=self.action != "list")

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return VisitListSerializer if self.action == "list" else VisitSerializer

    def _read(self, visit: Visit) -> dict[str, object]:
        return VisitSerializer(visits_visible_to(acting_user(self.request)).get(pk=visit.pk)).data

    def _read_booked(self, visit: Visit) -> dict[str, object]:
        """A visit just booked, read as `_read` does (its `clinical_visible`) in one query: it has no addenda and
        no history yet."""
        booked = visits_visible_to(acting_user(self.request)).prefetch_related(None).get(pk=visit.pk)
        empty = {"addenda": VisitAddendum.objects.none(), "events": VisitEvent.objects.none()}
        booked._prefetched_objects_cache = empty  # type: ignore[attr-defined]
        return VisitSerializer(booked).data

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = VisitWriteSerializer(
            data=request.data,
            writable=("case", *VISIT_SCHEDULING_FIELDS, "confirm_conflicts"),  # the case's scope: its field
            context=self.get_serializer_context(),
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("reason", None)
        visit = visit_schedule(actor=acting_user(request), **data)
        return Response(self._read_booked(visit), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: object, **kwargs: object) -> Response:
        """Schedulers change time, type, clinician and attendance; clinicians also write the note and vitals."""
        user = acting_user(request)
        visit = self.get_object()
        # The policy answers which fields; a field it leaves out is refused as unknown (400), as a page omits it.
        fields = writable_visit_fields(user, visit.case.patient, found_with=required_capability(self))
        writable = (*sorted(fields), "reason", "confirm_conflicts")  # the move's or correction's parameters
        serializer = VisitWriteSerializer(
            visit, data=request.data, partial=True, writable=writable, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        reason = data.pop("reason", "")
        confirm = data.pop("confirm_conflicts", False)
        visit_update(visit=visit, actor=user, data=data, reason=reason, confirm_conflicts=confirm)
        return Response(self._read(visit))

    @extend_schema(
        request=AttendanceRequestSerializer,
        responses={200: VisitSerializer, 409: OpenApiResponse(ErrorSerializer, _ATTENDANCE)},
    )
    @action(detail=True, methods=["post"], url_name="record-attendance")  # `visit-attendance` is the page's
    def attendance(self, request: Request, pk: str | None = None) -> Response:
        """Record whether the patient came (`attended`, `no_show`, `cancelled`, `late_cancel`), or correct it the
        same day with a `reason` (audited as `attendance_correction`, kept in the visit's `history`)."""
        visit = self.get_object()
        serializer = AttendanceRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        visit_record_attendance(visit=visit, actor=acting_user(request), **serializer.validated_data)
        return Response(self._read(visit))

    @extend_schema(
        request=None, responses={200: VisitSerializer, 409: OpenApiResponse(ErrorSerializer, _SIGNED)}
    )
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str | None = None) -> Response:
        """Sign and lock the note (409 if already signed)."""
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        visit = visit_sign(visit=self.get_object(), actor=acting_user(request))
        return Response(self._read(visit))

    @extend_schema(request=AddendumRequestSerializer, responses={201: AddendumSerializer})
    @action(detail=True, methods=["post"])
    def addenda(self, request: Request, pk: str | None = None) -> Response:
        """Append a correction to a signed note."""
        visit = self.get_object()
        serializer = AddendumRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        addendum = visit_add_addendum(
            visit=visit, actor=acting_user(request), text=serializer.validated_data["text"]
        )
        return Response(AddendumSerializer(addendum).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=RescheduleRequestSerializer,
        responses={
            200: VisitSerializer,
            409: OpenApiResponse(RescheduleRefusalSerializer, _OVERLAP + " Or the visit is not scheduled."),
        },
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk: str | None = None) -> Response:
        """Move a scheduled visit to a new time (`scheduled_at`, optionally `duration_minutes` and `clinician`) with
        a `reason`: the same visit, its move kept in its `history`; not a cancellation."""
        visit = self.get_object()
        serializer = RescheduleRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        visit_reschedule(visit=visit, actor=acting_user(request), **serializer.validated_data)
        return Response(self._read(visit))
