"""Auditing in the API (SPEC section 7): one event per request that reads patient data or is refused.

Writes are audited by the services, in the transaction of the change. The mixins here, applied once to every
viewset that serves patient data, record the rest (`AuditedListMixin` and `AuditedRetrieveMixin` stand in for
DRF's list and retrieve mixins; both build on `AuditedAccessMixin`, which records refusals):

- a list: action `list`, the page's patients in `patients_seen`, and `patient_id` when the list is narrowed to
  one patient (`?patient=`, or `?case=` whose rows all belong to one patient);
- one record: action `view`, with the record's id and patient;
- a refusal: a 404 for a record outside the user's scope (or not there at all: the id is kept, the patient only
  when the record exists) and a 403 for a role without the capability, with outcome `denied` and the action that
  was attempted (`view`, `update`, `transition`, ...). Anonymous requests are not recorded (no one to name).

Each viewset names what it serves in an `AuditedResource`. A read is recorded after the response data is built
and before it is returned, so a failed audit write means no data leaves (fail closed). Reads stay cheap: the
patient of each row is annotated onto the page's own query, and the event is one append.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django.http import Http404
from rest_framework import exceptions, mixins, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from clinic.audit import audit_record
from clinic.models import AuditAction, AuditEvent, AuditOutcome

# The row's patient id, annotated onto list and detail queries (no query per row).
PATIENT_ANNOTATION = "audited_patient_id"
MAX_QUERY_VALUE = 200  # characters of each query parameter kept in an event's detail

# The audit action a viewset action records when refused; any other is a `view` (GET) or an `update`.
AUDIT_ACTIONS: dict[str, str] = {
    "list": AuditAction.LIST,
    "retrieve": AuditAction.VIEW,
    "create": AuditAction.CREATE,
    "partial_update": AuditAction.UPDATE,
    "update": AuditAction.UPDATE,
    "sign": AuditAction.SIGN,
    "addenda": AuditAction.ADDENDUM,
    "transition": AuditAction.TRANSITION,
    "break_glass": AuditAction.BREAK_GLASS,
    "release": AuditAction.RELEASE,
    "end": AuditAction.GRANT_END,
    "review": AuditAction.GRANT_REVIEW,
}


@dataclass(frozen=True)
class AuditedResource:
    """What a viewset serves, in the audit's words."""

    object_type: str  # as the services write it for the same records (`patient`, `treatmentgoal`, ...)
    data_category: str  # an `AuditEvent.DataCategory`
    patient_path: str | None  # from a row to its patient's id ("pk", "case__patient_id"); None: no patient
    clinical_data_category: str = ""  # recorded instead when a row showed clinical fields (a visit's note)


def _unique(values: Iterable[object]) -> list[object]:
    return list(dict.fromkeys(value for value in values if value is not None))


def _printable(text: object, limit: int) -> str:
    """Client-sent text as an event may keep it: no control characters (PostgreSQL refuses NUL), bounded."""
    return "".join(char for char in str(text) if char.isprintable())[:limit]


class AuditedAccessMixin(viewsets.GenericViewSet[Any]):
    """Records refusals, and holds what `AuditedListMixin` and `AuditedRetrieveMixin` record reads with. Put it (or
    those) first among a viewset's bases."""

    audited: ClassVar[AuditedResource]

    # --- Reads (see the two mixins below) ----------------------------------------------------------------------

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)
        if self.action in ("list", "retrieve") and self.audited.patient_path:
            queryset = queryset.annotate(**{PATIENT_ANNOTATION: F(self.audited.patient_path)})
        return queryset

    def audit_rows(self, action: str, rows: Sequence[Any], *, object_id: object = "") -> AuditEvent:
        """Record that `rows` were shown: a `view` names its one patient, a `list` all of them."""
        patients = _unique(getattr(row, PATIENT_ANNOTATION, None) for row in rows)
        clinical = self.audited.clinical_data_category
        if clinical and any(getattr(row, "clinical_visible", False) for row in rows):
            category = clinical
        else:
            category = self.audited.data_category
        if action == AuditAction.VIEW:
            return self.audit_access(
                action, object_id=object_id, patient_id=patients[0] if patients else None, category=category
            )
        return self.audit_access(
            action, patient_id=self.audit_list_patient(patients), patients_seen=patients, category=category
        )

    def audit_list_patient(self, patients: Sequence[object]) -> object:
        """The one patient a list was narrowed to, if it was (the filter set has validated the parameters)."""
        params = self.request.query_params
        filters = self.audit_filters()
        if "patient" in filters and params.get("patient"):
            # Only when the page did show that patient's rows: a probe that found nothing (a patient outside the
            # user's scope, or none at all) was no read of that patient (the query stays in the event's detail).
            asked = uuid.UUID(params["patient"])
            if self.audited.patient_path is None:  # rows that are not a patient's (the audit log): as asked
                return asked
            return asked if asked in patients else None
        if "case" in filters and params.get("case") and len(patients) == 1:
            return patients[0]
        if (
            "mrn" in filters and params.get("mrn") and len(patients) == 1
        ):  # an exact-MRN lookup that found one
            return patients[0]
        return None

    def audit_access(
        self,
        action: str,
        *,
        object_id: object = "",
        patient_id: object = None,
        patients_seen: Iterable[object] = (),
        category: str | None = None,
        outcome: str = AuditOutcome.ALLOWED,
        detail: dict[str, Any] | None = None,
    ) -> AuditEvent:
        query = self.audit_query()
        return audit_record(
            user=self.request.user,  # type: ignore[arg-type]
            action=action,
            object_type=self.audited.object_type,
            object_id=object_id,
            patient_id=patient_id,  # type: ignore[arg-type]
            patients_seen=patients_seen,
            data_category=self.audited.data_category if category is None else category,
            outcome=outcome,
            detail={**({"query": query} if query else {}), **(detail or {})},
        )

    def audit_filters(self) -> set[str]:
        return set(getattr(getattr(self, "filterset_class", None), "base_filters", {}))

    def audit_query(self) -> dict[str, str]:
        """The filters and page asked for (what a reviewer needs to know what the user searched for)."""
        known = {*self.audit_filters(), "page", "page_size", "format"}
        params = self.request.query_params
        return {
            name: _printable(",".join(params.getlist(name)), MAX_QUERY_VALUE)
            for name in sorted(known & set(params))
            if any(params.getlist(name))
        }

    # --- Refusals ---------------------------------------------------------------------------------------------

    def get_object(self) -> Any:
        try:
            return super().get_object()
        except Http404:
            self.audit_refusal(status=404)
            raise

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, exceptions.PermissionDenied | DjangoPermissionDenied):
            self.audit_refusal(status=403)
        response: Response = super().handle_exception(exc)
        # Errors are JSON whatever format was asked for (a refused CSV export too).
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def audit_refusal(self, *, status: int) -> None:
        """A denied attempt, named by the record's id (and its patient, when the record exists)."""
        if not self.request.user.is_authenticated:
            return
        asked_for = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "") if self.detail else ""
        patient_id = None
        if asked_for and self.audited.patient_path:
            model = self.get_queryset().model
            try:
                patient_id = (
                    model._default_manager.filter(pk=asked_for)
                    .values_list(self.audited.patient_path, flat=True)
                    .first()
                )
            except (ValueError, TypeError, ValidationError):  # not an id at all (`/visits/12345/`)
                patient_id = None
        method = self.request.method or "GET"
        action = AUDIT_ACTIONS.get(self.action or "") or (
            AuditAction.VIEW if method in ("GET", "HEAD") else AuditAction.UPDATE
        )
        self.audit_access(
            action,
            object_id=_printable(asked_for, AuditEvent._meta.get_field("object_id").max_length or 64),
            patient_id=patient_id,
            outcome=AuditOutcome.DENIED,
            detail={
                "status": status,
                "method": method,
                "path": _printable(self.request.path, MAX_QUERY_VALUE),
            },
        )


class AuditedListMixin(AuditedAccessMixin, mixins.ListModelMixin):
    """DRF's list, recording the page it shows (one event per request, whatever the page size)."""

    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(queryset) if page is None else page
        data = self.get_serializer(rows, many=True).data
        self.audit_rows(AuditAction.LIST, rows)
        return Response(data) if page is None else self.get_paginated_response(data)


class AuditedRetrieveMixin(AuditedAccessMixin, mixins.RetrieveModelMixin):
    """DRF's retrieve, recording the record it shows."""

    def retrieve(self, request: Request, *args: object, **kwargs: object) -> Response:
        instance = self.get_object()
        data = self.get_serializer(instance).data
        self.audit_rows(AuditAction.VIEW, [instance], object_id=instance.pk)
        return Response(data)
