"""42 CFR Part 2 shapes (SPEC sections 10 and 12): consents, revocations, the disclosure ledger, accounting
requests and SUD counseling notes. Writes carry types only; `cases.services.part2` checks every element and names
the failing field."""

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from api.serializers.base import ScopedRelatedField, StrictModelSerializer, StrictSerializer
from cases.models import (
    AccountingRequest,
    Consent,
    ConsentRecipient,
    ConsentRevocation,
    CounselingNote,
    Disclosure,
)
from cases.models.part2 import InformationCategory, Purpose
from clinic.policy import Capability, cases_in_scope, patients_in_scope, visits_in_scope

TEXT = 500
NOTE_MAX_LENGTH = 20000
MAX_CODES = len(InformationCategory.values)


def _patient_field(capability: Capability) -> ScopedRelatedField:
    """A patient the user may act on with `capability`; any other id 'does not exist' (existence stays hidden)."""
    return ScopedRelatedField(
        scoped=lambda user: patients_in_scope(user, capability), pk_field=serializers.UUIDField()
    )


def _codes(choices: list[str], **kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=choices), max_length=max(len(choices), 1), **kwargs
    )


# --- Consents --------------------------------------------------------------------------------------------------


class ConsentRecipientSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentRecipient
        fields = ("id", "name", "is_class", "covered_entity", "intermediary", "revoked_on")
        read_only_fields = fields


class ConsentRevocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentRevocation
        fields = ("id", "recipient", "revoked_on", "how", "by_name", "recorded_by", "recorded_at")
        read_only_fields = fields


class ConsentSerializer(serializers.ModelSerializer):
    """A consent's metadata. `document` is the scan's URL for those who may read it (never administrators), else
    null; `document_on_file` tells everyone whether one is on file."""

    recipients = ConsentRecipientSerializer(many=True, read_only=True)
    revocations = ConsentRevocationSerializer(many=True, read_only=True)
    status = serializers.ChoiceField(choices=Consent.Status.choices, read_only=True)
    document = serializers.SerializerMethodField()
    document_on_file = serializers.SerializerMethodField()

    class Meta:
        model = Consent
        fields = (
            "id", "patient", "kind", "discloser", "information", "recipients", "purposes", "purpose_text",
            "expires_on", "expiration_event", "expired_on", "signed_on", "signer_name", "signer_relationship",
            "form_version", "document", "document_on_file", "document_name", "document_content_type",
            "document_sha256", "status", "revoked_on", "revocations", "recorded_by", "created_at",
        )  # fmt: skip
        read_only_fields = fields

    def get_document_on_file(self, consent: Consent) -> bool:
        return bool(consent.document)

    def get_document(self, consent: Consent) -> str | None:
        if not consent.document or not getattr(consent, "document_visible", False):
            return None
        path = reverse("consent-document", kwargs={"pk": consent.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class RecipientInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    is_class = serializers.BooleanField(required=False, default=False)
    covered_entity = serializers.BooleanField(required=False, default=False)
    intermediary = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")


class ConsentWriteSerializer(StrictSerializer):
    """Every element of 42 CFR 2.31(a); a missing one is a 400 naming it (from the service)."""

    patient = _patient_field(Capability.RECORD_CONSENTS)
    kind = serializers.ChoiceField(choices=Consent.Kind.choices, required=False)
    discloser = serializers.CharField(max_length=200, allow_blank=True, required=False)
    information = _codes(InformationCategory.values, required=False)
    recipients = RecipientInputSerializer(many=True, required=False, max_length=20)  # type: ignore[call-arg]
    purposes = _codes(Purpose.values, required=False)
    purpose_text = serializers.CharField(max_length=TEXT, allow_blank=True, required=False)
    expires_on = serializers.DateField(required=False, allow_null=True)
    expiration_event = serializers.CharField(max_length=300, allow_blank=True, required=False)
    signed_on = serializers.DateField(required=False)
    signer_name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    signer_relationship = serializers.CharField(max_length=100, allow_blank=True, required=False)
    form_version = serializers.CharField(max_length=40, allow_blank=True, required=False)


class ConsentRevokeSerializer(StrictSerializer):
    revoked_on = serializers.DateField()
    how = serializers.CharField(max_length=200, help_text="How the written revocation arrived.")
    recipient = serializers.UUIDField(
        required=False, allow_null=True, help_text="One recipient's id; left out, the revocation is for all."
    )
    by_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Who revoked (default: the patient)."
    )


class ConsentExpiryEventSerializer(StrictSerializer):
    expired_on = serializers.DateField(help_text="The day the consent's expiry event happened.")


class ConsentDocumentUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="The signed form: PDF, PNG or JPEG, up to 10 MB.")


# --- Disclosures ----------------------------------------------------------------------------------------------------


class DisclosureSerializer(serializers.ModelSerializer):
    """A ledger row. A medical emergency's nature (`basis_reason`) is clinical content: null for a reader who may
    not read the patient's clinical content (administrators)."""

    needs_privacy_review = serializers.BooleanField(read_only=True)
    released_by_name = serializers.SerializerMethodField()

    class Meta:
        model = Disclosure
        fields = (
            "id", "patient", "disclosed_at", "recipient_name", "recipient_address", "recipient_affiliation",
            "information", "purpose", "purpose_text", "basis", "basis_reason", "consent", "consent_recipient",
            "counseling_notes", "released_by", "released_by_name", "format", "channel", "notice",
            "document_sha256", "needs_privacy_review", "recorded_at",
        )  # fmt: skip
        read_only_fields = fields

    def get_released_by_name(self, disclosure: Disclosure) -> str:
        return str(disclosure.released_by)

    def to_representation(self, instance: Disclosure) -> dict[str, Any]:
        data = super().to_representation(instance)
        if instance.basis == Disclosure.Basis.MEDICAL_EMERGENCY and not getattr(
            instance, "clinical_visible", False
        ):
            data["basis_reason"] = None
        return data


class DisclosureWriteSerializer(StrictSerializer):
    """A manual release staff record (a faxed copy, a phone call). The same check as every release."""

    patient = _patient_field(Capability.READ_DEMOGRAPHICS)
    basis = serializers.ChoiceField(choices=Disclosure.Basis.choices)
    basis_reason = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")
    consent = serializers.UUIDField(required=False, allow_null=True)
    consent_recipient = serializers.UUIDField(required=False, allow_null=True)
    recipient_name = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    recipient_address = serializers.CharField(max_length=300, allow_blank=True, required=False, default="")
    recipient_affiliation = serializers.CharField(
        max_length=200, allow_blank=True, required=False, default=""
    )
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    purpose_text = serializers.CharField(max_length=TEXT, allow_blank=True, required=False, default="")
    information = _codes(InformationCategory.values)
    counseling_notes = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=200)
    channel = serializers.ChoiceField(choices=Disclosure.Channel.choices)
    format = serializers.ChoiceField(choices=Disclosure.Format.choices, required=False, default="other")
    notice = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")
    disclosed_at = serializers.DateTimeField(required=False)
    document_sha256 = serializers.CharField(max_length=64, allow_blank=True, required=False, default="")


# --- Accounting of disclosures ------------------------------------------------------------------------------------


class AccountingRequestSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=AccountingRequest.Status.choices, read_only=True)
    effective_due_on = serializers.DateField(read_only=True)
    patient_mrn = serializers.CharField(source="patient.mrn", read_only=True)

    class Meta:
        model = AccountingRequest
        fields = (
            "id", "patient", "patient_mrn", "requested_on", "requested_by_name", "due_on", "extended_due_on",
            "effective_due_on", "extension_reason", "status", "fulfilled_on", "recorded_by", "created_at",
        )  # fmt: skip
        read_only_fields = fields


class AccountingRequestWriteSerializer(StrictSerializer):
    patient = _patient_field(Capability.ACCOUNTING_REQUESTS)
    requested_on = serializers.DateField(help_text="The day the request was received.")
    requested_by_name = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")


class AccountingExtendSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=2000, help_text="The reason for the delay, as told to the patient."
    )


class AccountingFulfilSerializer(StrictSerializer):
    fulfilled_on = serializers.DateField(required=False, allow_null=True)


# --- SUD counseling notes -------------------------------------------------------------------------------------------


class CounselingNoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = CounselingNote
        fields = ("id", "case", "visit", "author", "written_at", "text", "created_at")
        read_only_fields = fields


class CounselingNoteWriteSerializer(StrictModelSerializer):
    case = ScopedRelatedField(
        scoped=lambda user: cases_in_scope(user, Capability.WRITE_COUNSELING_NOTES),
        pk_field=serializers.UUIDField(),
    )
    visit = ScopedRelatedField(
        scoped=lambda user: visits_in_scope(user, Capability.WRITE_COUNSELING_NOTES),
        required=False,
        allow_null=True,
        pk_field=serializers.UUIDField(),
    )
    text = serializers.CharField(max_length=NOTE_MAX_LENGTH)
    written_at = serializers.DateTimeField(required=False)

    class Meta:
        model = CounselingNote
        fields = ("case", "visit", "text", "written_at")
