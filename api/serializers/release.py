"""The record release request (SPEC section 10, `patients/{id}/release/`), for the API schema. The service
(cases.services.release) validates the body itself, so the API and the chart's page refuse the same input the same
way."""

from rest_framework import serializers

from cases.models import Disclosure
from cases.models.part2 import InformationCategory, Purpose
from cases.services.release import FORMATS


class ReleaseRequestSerializer(serializers.Serializer):
    basis = serializers.ChoiceField(choices=Disclosure.Basis.choices)
    basis_reason = serializers.CharField(
        required=False, allow_blank=True, help_text="Every basis but consent"
    )
    consent = serializers.UUIDField(required=False, allow_null=True, help_text="The consent relied on")
    consent_recipient = serializers.UUIDField(
        required=False, allow_null=True, help_text="The consent's recipient entry the records go to"
    )
    recipient_name = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Defaults to the recipient entry's name (required for a class)",
    )
    recipient_address = serializers.CharField(required=False, allow_blank=True)
    recipient_affiliation = serializers.CharField(required=False, allow_blank=True)
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    purpose_text = serializers.CharField(required=False, allow_blank=True, help_text="What `other` is")
    # The same choice sets as the disclosures' fields, so that the schema has one enum for each.
    information = serializers.ListField(child=serializers.ChoiceField(choices=InformationCategory.values))
    format = serializers.ChoiceField(
        choices=Disclosure.Format.choices, help_text=f"A release makes one of: {', '.join(FORMATS)}"
    )
    counseling_notes = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        help_text="With counseling_notes alone: which of your notes (default: all of yours for the patient)",
    )
