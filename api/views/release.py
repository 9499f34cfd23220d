"""Record release: `POST patients/{id}/release/` answers 201 with the document itself (FHIR JSON or HTML) and the
disclosure's id in `X-Disclosure-Id`; the service checks, builds, hashes and records (cases.services.release).

A release the Part 2 rules refuse is a 400 naming the failing element, and is audited (`release`, denied) like a
403 or a 404, so the privacy officer sees attempts as well as releases."""

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.templatetags.static import static
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.request import Request

from api.audit import AuditedAccessMixin, AuditedResource
from api.permissions import acting_user
from api.serializers.release import ReleaseRequestSerializer
from cases.errors import ValidationFailed
from cases.models import Patient
from cases.services.release import release_create
from clinic.models import AuditAction, AuditOutcome
from clinic.policy import Capability, patients_in_scope


class RecordReleaseViewSet(AuditedAccessMixin, viewsets.GenericViewSet):
    """Clinicians (their caseload, never under break-glass) and supervisors release; other roles get 403."""

    capability = Capability.RELEASE_RECORDS
    serializer_class = ReleaseRequestSerializer  # what OPTIONS describes for POST
    audited = AuditedResource(object_type="patient", data_category="disclosure", patient_path="pk")

    def get_queryset(self) -> QuerySet[Patient]:
        return patients_in_scope(acting_user(self.request), Capability.RELEASE_RECORDS)

    @extend_schema(
        request=ReleaseRequestSerializer,
        responses={
            (201, "application/fhir+json"): OpenApiResponse(OpenApiTypes.BINARY, "The FHIR R4 Bundle"),
            (201, "text/html"): OpenApiResponse(OpenApiTypes.BINARY, "The printable summary"),
        },
    )
    def release(self, request: Request, pk: str | None = None) -> HttpResponse:
        """Release the patient's records: check the basis, build, hash, record the disclosure, answer the document
        (`X-Disclosure-Id` names the disclosure)."""
        patient = self.get_object()
        data: Any = request.data
        try:
            if not isinstance(data, Mapping):
                raise ValidationFailed("Send a JSON object.")
            release = release_create(
                acting_user(request),
                patient=patient,
                data=data,
                stylesheet_url=request.build_absolute_uri(static("cases/release/release.css")),
            )
        except ValidationFailed as refused:
            self.audit_access(
                AuditAction.RELEASE,
                object_id=patient.pk,
                patient_id=patient.pk,
                outcome=AuditOutcome.DENIED,
                detail={"status": 400, "refused": sorted(refused.errors)},
            )
            raise
        response = HttpResponse(release.document, status=201, content_type=release.content_type)
        response["X-Disclosure-Id"] = str(release.disclosure.pk)
        response["Content-Disposition"] = f'attachment; filename="{release.filename}"'
        return response
