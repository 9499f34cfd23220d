"""42 CFR Part 2 (SPEC section 12): consents (with the signed form's scan, revocation and expiry events), the
disclosure ledger with manual releases, a patient's accounting of disclosures (page and CSV), requests for an
accounting, and SUD counseling notes (their author's alone). Who may do what is `clinic.policy`'s; what a write
means is `cases.services.part2`'s; these views translate HTTP."""

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpResponseBase
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.audit import AuditedListMixin, AuditedResource, AuditedRetrieveMixin
from api.exports import CSVRenderer, csv_response
from api.permissions import acting_user, required_capability
from api.schema import ErrorSerializer
from api.serializers.part2 import (
    AccountingExtendSerializer,
    AccountingFulfilSerializer,
    AccountingRequestSerializer,
    AccountingRequestWriteSerializer,
    ConsentDocumentUploadSerializer,
    ConsentExpiryEventSerializer,
    ConsentRevokeSerializer,
    ConsentSerializer,
    ConsentWriteSerializer,
    CounselingNoteSerializer,
    CounselingNoteWriteSerializer,
    DisclosureSerializer,
    DisclosureWriteSerializer,
)
from cases.errors import ValidationFailed
from cases.filters import AccountingRequestFilter, ConsentFilter, CounselingNoteFilter, DisclosureFilter
from cases.models import AccountingRequest, Consent, CounselingNote, Disclosure
from cases.selectors import accounting_of_disclosures
from cases.services.part2 import (
    accounting_request_extend,
    accounting_request_fulfil,
    accounting_request_record,
    consent_attach_document,
    consent_record,
    consent_record_expiry_event,
    consent_revoke,
    counseling_note_write,
    disclosure_record,
)
from clinic.models import AuditAction
from clinic.policy import (
    Capability,
    clinical_access,
    consent_document_access,
    counseling_note_readers_q,
    patients_in_scope,
)

CSV_EXPORT = OpenApiResponse(
    OpenApiTypes.STR, description="`?format=csv`: every row of the accounting, not one page."
)
ACCOUNTING_COLUMNS = (
    "disclosed_at", "recipient_name", "recipient_address", "recipient_affiliation", "information", "purpose",
    "purpose_text", "basis", "basis_reason", "consent", "released_by_name", "format", "channel", "id",
)  # fmt: skip


class AnyMediaRenderer(BaseRenderer):
    """Lets a file download answer whatever the client accepts (the body is the stored file, not rendered)."""

    media_type = "*/*"
    format = "file"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return b""


# --- Consents --------------------------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(request=ConsentWriteSerializer, responses={201: ConsentSerializer}),
)
class ConsentViewSet(AuditedListMixin, AuditedRetrieveMixin, viewsets.GenericViewSet):
    """Consents (42 CFR 2.31). Front desk, clinicians (caseload) and supervisors record and revoke them and read
    the scan; administrators read the metadata for any patient (`?patient=`)."""

    serializer_class = ConsentSerializer
    filterset_class = ConsentFilter
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "head", "options"]
    capabilities = {
        "list": Capability.READ_CONSENTS,
        "retrieve": Capability.READ_CONSENTS,
        "create": Capability.RECORD_CONSENTS,
        "revoke": Capability.RECORD_CONSENTS,
        "expiry_event": Capability.RECORD_CONSENTS,
        "document": Capability.RECORD_CONSENTS,
        "document_download": Capability.READ_CONSENT_DOCUMENTS,
    }
    audited = AuditedResource(object_type="consent", data_category="consent", patient_path="patient_id")

    def get_queryset(self) -> QuerySet[Consent]:
        user = acting_user(self.request)
        capability = required_capability(self) or Capability.READ_CONSENTS
        return (
            Consent.objects.filter(patient__in=patients_in_scope(user, capability))
            .annotate(document_visible=consent_document_access(user, "patient_id"))
            .prefetch_related("recipients", "revocations")
            .order_by("-signed_on", "-created_at", "id")
        )

    def _shown(self, consent: Consent, *, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = Consent.objects.annotate(
            document_visible=consent_document_access(acting_user(self.request), "patient_id")
        ).prefetch_related("recipients", "revocations")
        return Response(self.get_serializer(fresh.get(pk=consent.pk)).data, status=status_code)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = ConsentWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        patient = data.pop("patient")
        consent = consent_record(actor=acting_user(request), patient=patient, data=data)
        return self._shown(consent, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=ConsentRevokeSerializer, responses={200: ConsentSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Record a written revocation, for one recipient (`recipient`) or all; releases on or after
        `revoked_on` are refused, earlier ones stand."""
        consent = self.get_object()
        serializer = ConsentRevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        consent_revoke(
            actor=acting_user(request),
            consent=consent,
            revoked_on=data["revoked_on"],
            how=data["how"],
            recipient=data.get("recipient"),
            by_name=data.get("by_name", ""),
        )
        return self._shown(consent)

    @extend_schema(request=ConsentExpiryEventSerializer, responses={200: ConsentSerializer})
    @action(detail=True, methods=["post"], url_path="expiry-event")
    def expiry_event(self, request: Request, pk: str | None = None) -> Response:
        """Record the day the consent's expiry event happened; it is expired from that day."""
        consent = self.get_object()
        serializer = ConsentExpiryEventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent_record_expiry_event(
            actor=acting_user(request), consent=consent, expired_on=serializer.validated_data["expired_on"]
        )
        return self._shown(consent)

    @extend_schema(
        request={"multipart/form-data": ConsentDocumentUploadSerializer},
        responses={
            200: ConsentSerializer,
            409: OpenApiResponse(ErrorSerializer, "A scan is already on file."),
        },
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def document(self, request: Request, pk: str | None = None) -> Response:
        """Upload the signed form's scan (multipart field `file`: PDF, PNG or JPEG up to 10 MB, told by content)."""
        consent = self.get_object()
        serializer = ConsentDocumentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent_attach_document(
            actor=acting_user(request), consent=consent, upload=serializer.validated_data["file"]
        )
        return self._shown(consent)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
        }
    )
    @document.mapping.get
    def document_download(self, request: Request, pk: str | None = None) -> HttpResponseBase:
        """The signed form's scan, as an attachment, for those who may read it (never administrators)."""
        consent = self.get_object()
        if not consent.document:
            raise NotFound("No scan of this consent is on file.")
        self.audit_access(
            AuditAction.VIEW, object_id=consent.pk, patient_id=consent.patient_id, detail={"document": True}
        )
        extension = consent.document.name.rsplit(".", 1)[-1]
        return FileResponse(
            consent.document.open("rb"),
            as_attachment=True,
            filename=f"consent-{consent.pk}.{extension}",
            content_type=consent.document_content_type or "application/octet-stream",
        )

    def get_renderers(self) -> list[BaseRenderer]:
        if getattr(self, "action", None) == "document_download":
            return [JSONRenderer(), AnyMediaRenderer()]
        return super().get_renderers()


# --- Disclosures -------------------------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(request=DisclosureWriteSerializer, responses={201: DisclosureSerializer})
)
class DisclosureViewSet(AuditedListMixin, AuditedRetrieveMixin, viewsets.GenericViewSet):
    """The disclosure ledger. Clinicians (caseload) and supervisors record manual releases (POST) through the same
    check as every release; they and administrators (metadata only) read it."""

    serializer_class = DisclosureSerializer
    filterset_class = DisclosureFilter
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "head", "options"]
    capabilities = {
        "list": Capability.READ_DISCLOSURES,
        "retrieve": Capability.READ_DISCLOSURES,
        "create": Capability.RELEASE_RECORDS,
    }
    audited = AuditedResource(object_type="disclosure", data_category="disclosure", patient_path="patient_id")

    def get_queryset(self) -> QuerySet[Disclosure]:
        user = acting_user(self.request)
        return disclosures_for(user).order_by("-disclosed_at", "-recorded_at", "id")

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = DisclosureWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        actor = acting_user(request)
        wanted = data.get("counseling_notes") or []
        notes = list(CounselingNote.objects.filter(counseling_note_readers_q(actor), pk__in=wanted))
        if len(notes) != len(set(wanted)):
            raise ValidationFailed(
                "No such counseling note of yours for this patient.", field="counseling_notes"
            )
        disclosure = disclosure_record(
            actor,
            patient=data["patient"],
            basis=data["basis"],
            consent=data.get("consent"),
            recipient=data.get("consent_recipient"),
            purpose=data["purpose"],
            categories=data["information"],
            channel=data["channel"],
            notice=data["notice"],
            document_sha256=data["document_sha256"],
            recipient_name=data["recipient_name"],
            recipient_address=data["recipient_address"],
            recipient_affiliation=data["recipient_affiliation"],
            basis_reason=data["basis_reason"],
            purpose_text=data["purpose_text"],
            format=data["format"],
            disclosed_at=data.get("disclosed_at"),
            counseling_notes=notes,
        )
        shown = disclosures_for(actor).get(pk=disclosure.pk)
        return Response(DisclosureSerializer(shown).data, status=status.HTTP_201_CREATED)


def disclosures_for(user: Any) -> QuerySet[Disclosure]:
    """Ledger rows of the patients whose ledger the user reads, each annotated `clinical_visible`."""
    return (
        Disclosure.objects.filter(patient__in=patients_in_scope(user, Capability.READ_DISCLOSURES))
        .select_related("released_by")
        .prefetch_related("counseling_notes")
        .annotate(clinical_visible=clinical_access(user, "patient_id"))
    )


@extend_schema_view(
    list=extend_schema(
        responses={(200, "application/json"): DisclosureSerializer(many=True), (200, "text/csv"): CSV_EXPORT}
    )
)
class PatientAccountingViewSet(AuditedListMixin, viewsets.GenericViewSet):
    """A patient's accounting of disclosures (42 CFR 2.25, HIPAA 164.528): every disclosure of the last six years,
    newest first; `?format=csv` for all of them. Reading it is audited (`list`, or `export` for the CSV)."""

    serializer_class = DisclosureSerializer
    renderer_classes = [JSONRenderer, CSVRenderer]
    capability = Capability.READ_DISCLOSURES
    audited = AuditedResource(object_type="disclosure", data_category="disclosure", patient_path="patient_id")

    def get_queryset(self) -> QuerySet[Disclosure]:
        if getattr(self, "swagger_fake_view", False):
            return Disclosure.objects.none()
        user = acting_user(self.request)
        patient = patients_in_scope(user, Capability.READ_DISCLOSURES).filter(pk=self.kwargs["pk"]).first()
        if patient is None:
            self.audit_refusal(status=404)
            raise NotFound("No such patient.")
        return accounting_of_disclosures(patient).annotate(
            clinical_visible=clinical_access(user, "patient_id")
        )

    def audit_list_patient(self, patients: object) -> object:
        return self.kwargs["pk"]

    def audit_refusal(self, *, status: int) -> None:
        if not self.request.user.is_authenticated:
            return
        self.audit_access(
            AuditAction.LIST,
            patient_id=None,
            outcome="denied",
            detail={"status": status, "patient": str(self.kwargs.get("pk", ""))},
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if request.accepted_renderer.format == CSVRenderer.format:
            rows = self.get_queryset()
            self.audit_access(AuditAction.EXPORT, patient_id=self.kwargs["pk"])
            data = (DisclosureSerializer(row).data for row in rows.iterator(chunk_size=500))
            stamp = timezone.localtime().strftime("%Y%m%d")
            return csv_response(ACCOUNTING_COLUMNS, data, filename=f"accounting-of-disclosures-{stamp}.csv")
        return super().list(request, *args, **kwargs)


# --- Requests for an accounting -------------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        request=AccountingRequestWriteSerializer, responses={201: AccountingRequestSerializer}
    )
)
class AccountingRequestViewSet(AuditedListMixin, AuditedRetrieveMixin, viewsets.GenericViewSet):
    """Patients' requests for an accounting of disclosures, due first first: the privacy officer's list of open
    and late ones (`?status=open|late|fulfilled`). Administrators and supervisors record, extend and fulfil them."""

    serializer_class = AccountingRequestSerializer
    filterset_class = AccountingRequestFilter
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "head", "options"]
    capability = Capability.ACCOUNTING_REQUESTS
    audited = AuditedResource(
        object_type="accounting_request", data_category="disclosure", patient_path="patient_id"
    )

    def get_queryset(self) -> QuerySet[AccountingRequest]:
        patients = patients_in_scope(acting_user(self.request), Capability.ACCOUNTING_REQUESTS)
        return (
            AccountingRequest.objects.filter(patient__in=patients)
            .select_related("patient")
            .order_by("due_on", "created_at", "id")
        )

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = AccountingRequestWriteSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        created = accounting_request_record(
            actor=acting_user(request),
            patient=data["patient"],
            requested_on=data["requested_on"],
            requested_by_name=data["requested_by_name"],
        )
        return Response(AccountingRequestSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AccountingExtendSerializer, responses={200: AccountingRequestSerializer})
    @action(detail=True, methods=["post"])
    def extend(self, request: Request, pk: str | None = None) -> Response:
        """Extend once by 30 days, with the reason the patient is given, before the original due date."""
        serializer = AccountingExtendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        extended = accounting_request_extend(
            actor=acting_user(request), request=self.get_object(), reason=serializer.validated_data["reason"]
        )
        return Response(AccountingRequestSerializer(extended).data)

    @extend_schema(request=AccountingFulfilSerializer, responses={200: AccountingRequestSerializer})
    @action(detail=True, methods=["post"])
    def fulfil(self, request: Request, pk: str | None = None) -> Response:
        """Record the day the accounting was given (default today)."""
        serializer = AccountingFulfilSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        done = accounting_request_fulfil(
            actor=acting_user(request),
            request=self.get_object(),
            fulfilled_on=serializer.validated_data.get("fulfilled_on"),
        )
        return Response(AccountingRequestSerializer(done).data)


# --- SUD counseling notes --------------------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(request=CounselingNoteWriteSerializer, responses={201: CounselingNoteSerializer})
)
class CounselingNoteViewSet(AuditedListMixin, AuditedRetrieveMixin, viewsets.GenericViewSet):
    """SUD counseling notes (42 CFR 2.11): listed and read by their author alone; anyone else's note is a 404,
    for supervisors and under break-glass too. Clinicians (caseload) and supervisors write them."""

    serializer_class = CounselingNoteSerializer
    filterset_class = CounselingNoteFilter
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "head", "options"]
    capabilities = {"create": Capability.WRITE_COUNSELING_NOTES}
    audited = AuditedResource(
        object_type="counseling_note", data_category="counseling_note", patient_path="case__patient_id"
    )

    def get_queryset(self) -> QuerySet[CounselingNote]:
        return CounselingNote.objects.filter(counseling_note_readers_q(acting_user(self.request))).order_by(
            "-written_at", "-created_at", "id"
        )

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = CounselingNoteWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        note = counseling_note_write(
            actor=acting_user(request),
            case=data["case"],
            visit=data.get("visit"),
            text=data["text"],
            written_at=data.get("written_at"),
        )
        return Response(CounselingNoteSerializer(note).data, status=status.HTTP_201_CREATED)
