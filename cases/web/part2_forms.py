"""The 42 CFR Part 2 pages' forms: consent, revocation, expiry event, the signed form's scan, a manual disclosure,
accounting requests, SUD counseling notes. Shapes only; every rule is `cases.services.part2`'s."""

from typing import Any

from django import forms

from cases.models import Consent, Disclosure
from cases.models.part2 import PART2_NOTICE, InformationCategory, Purpose
from cases.web.chart_forms import DateInput

RECIPIENT_ROWS = 3


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class ConsentForm(forms.Form):
    kind = forms.ChoiceField(choices=Consent.Kind.choices, label="Kind of consent")
    discloser = forms.CharField(max_length=200, label="Who may disclose (this program)")
    information = forms.MultipleChoiceField(
        choices=InformationCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Information",
        required=False,
    )
    purposes = forms.MultipleChoiceField(
        choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Purposes",
        required=False,
        help_text="A TPO consent covers treatment, payment and health care operations (left empty: all three).",
    )
    purpose_text = forms.CharField(max_length=500, required=False, label="The other purpose, in words")
    expires_on = forms.DateField(required=False, widget=DateInput(), label="Expires on (last valid day)")
    expiration_event = forms.CharField(max_length=300, required=False, label="…or expires on this event")
    signed_on = forms.DateField(widget=DateInput(), label="Signed on")
    signer_name = forms.CharField(max_length=200, label="Signed by")
    signer_relationship = forms.CharField(
        max_length=100,
        label="Signer's capacity",
        help_text="`self`, or the representative's capacity",
        initial="self",
    )
    form_version = forms.CharField(max_length=40, label="Consent form version")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for index in range(1, RECIPIENT_ROWS + 1):
            self.fields[f"recipient_{index}_name"] = forms.CharField(
                max_length=200, required=False, label=f"Recipient {index}: name or class"
            )
            self.fields[f"recipient_{index}_is_class"] = forms.BooleanField(
                required=False, label=f"Recipient {index} is a class (e.g. my treating providers)"
            )
            self.fields[f"recipient_{index}_covered_entity"] = forms.BooleanField(
                required=False, label=f"Recipient {index} is a HIPAA covered entity or business associate"
            )
            self.fields[f"recipient_{index}_intermediary"] = forms.CharField(
                max_length=200, required=False, label=f"Recipient {index}: through intermediary (HIE)"
            )

    def recipient_rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"recipient_{i}_{part}"] for part in ("name", "is_class", "covered_entity", "intermediary")]
            for i in range(1, RECIPIENT_ROWS + 1)
        ]

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith("recipient_")]

    def service_data(self) -> dict[str, Any]:
        """`cleaned_data` in the shape `consent_record` takes (blank recipient rows left out)."""
        data = dict(self.cleaned_data)
        recipients = []
        for index in range(1, RECIPIENT_ROWS + 1):
            row = {
                part: data.pop(f"recipient_{index}_{part}")
                for part in ("name", "is_class", "covered_entity", "intermediary")
            }
            if row["name"].strip():
                recipients.append(row)
        data["recipients"] = recipients
        return data


class RevokeForm(forms.Form):
    revoked_on = forms.DateField(widget=DateInput(), label="Revocation received on")
    how = forms.CharField(
        max_length=200, label="How it was received", help_text="A signed letter, the revocation form…"
    )
    by_name = forms.CharField(max_length=200, required=False, label="Revoked by (default: the patient)")
    recipient = forms.ChoiceField(required=False, label="For")

    def __init__(self, *args: Any, consent: Consent, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "Every recipient")]
        choices += [(str(r.pk), r.name) for r in consent.recipients.all() if r.revoked_on is None]
        self.fields["recipient"].choices = choices  # type: ignore[attr-defined]


class ExpiryEventForm(forms.Form):
    expired_on = forms.DateField(widget=DateInput(), label="The event happened on")


class ScanForm(forms.Form):
    file = forms.FileField(label="Signed form (PDF, PNG or JPEG, up to 10 MB)")


class DisclosureForm(forms.Form):
    """A manual release staff record (a faxed copy, a phone call)."""

    basis = forms.ChoiceField(choices=Disclosure.Basis.choices, label="Basis")
    consent = forms.ChoiceField(required=False, label="Consent relied on")
    consent_recipient = forms.ChoiceField(required=False, label="Recipient entry of the consent")
    recipient_name = forms.CharField(max_length=200, required=False, label="Recipient's name")
    recipient_address = forms.CharField(max_length=300, required=False, label="Recipient's address")
    recipient_affiliation = forms.CharField(max_length=200, required=False, label="Recipient's affiliation")
    purpose = forms.ChoiceField(choices=Purpose.choices, label="Purpose")
    purpose_text = forms.CharField(max_length=500, required=False, label="The other purpose, in words")
    information = forms.MultipleChoiceField(
        choices=[c for c in InformationCategory.choices if c[0] != InformationCategory.COUNSELING_NOTES],
        widget=forms.CheckboxSelectMultiple,
        label="Information released",
        required=False,
    )
    basis_reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        required=False,
        label="Reason (required without consent; for an emergency, its nature)",
    )
    channel = forms.ChoiceField(choices=Disclosure.Channel.choices, label="How it went")
    notice = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        required=False,
        initial=PART2_NOTICE,
        label="Notice sent with it",
        help_text="A release on consent carries the 42 CFR 2.32 statement and a copy of the consent.",
    )
    disclosed_at = forms.DateTimeField(required=False, widget=DateTimeInput(), label="When (default: now)")

    def __init__(self, *args: Any, consents: list[Consent], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["consent"].choices = [("", "None")] + [  # type: ignore[attr-defined]
            (str(c.pk), f"{c.get_kind_display()}, signed {c.signed_on} ({c.status})") for c in consents
        ]
        self.fields["consent_recipient"].choices = [("", "None")] + [  # type: ignore[attr-defined]
            (str(r.pk), f"{r.name} ({c.get_kind_display()}, {c.signed_on})")
            for c in consents
            for r in c.recipients.all()
        ]


class AccountingRequestForm(forms.Form):
    mrn = forms.CharField(max_length=16, label="Patient's MRN (exact)")
    requested_on = forms.DateField(widget=DateInput(), label="Request received on")
    requested_by_name = forms.CharField(
        max_length=200, required=False, label="Requested by (default: the patient)"
    )


class ExtendForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        label="Reason for the delay (told to the patient)",
    )


class MrnForm(forms.Form):
    mrn = forms.CharField(max_length=16, label="Patient's MRN (exact)")


class CounselingNoteForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}), max_length=20000, label="Counseling note"
    )
