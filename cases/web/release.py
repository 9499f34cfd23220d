"""The chart's "Release records" page (SPEC sections 12 and 13): choose the basis, the consent and its recipient
entry, the purpose, the categories and the format; the answer is the document itself, as a download, and the
disclosure is in the patient's accounting at once.

The form checks shapes only; the release is `cases.services.release.release_create`, the same service the API calls,
so both refuse the same input the same way (a refusal re-renders the form, 400, naming the field). The form posts
without htmx: the answer is a file, not a fragment.
"""

import uuid
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from cases.errors import ValidationFailed
from cases.models import Consent, CounselingNote, Disclosure, Patient
from cases.models.part2 import InformationCategory, Purpose
from cases.services.release import FORMATS, release_create
from cases.web.access import add_domain_errors, audit_page_read, page, patient_or_404
from clinic.formats import show_date, show_datetime
from clinic.models import AuditAction, User
from clinic.policy import Capability, counseling_note_readers_q, release_refusal

TEMPLATE = "cases/web/release/release.html"
FORMAT_LABELS = {
    Disclosure.Format.FHIR: "FHIR R4 Bundle (JSON)",
    Disclosure.Format.PRINTABLE: "Printable summary",
}


class ReleaseForm(forms.Form):
    basis = forms.ChoiceField(choices=Disclosure.Basis.choices, initial=Disclosure.Basis.CONSENT)
    consent_entry = forms.ChoiceField(
        label="Consent and recipient",
        required=False,
        help_text="The consent relied on and the recipient it names (for a release on consent).",
    )
    recipient_name = forms.CharField(
        max_length=200,
        required=False,
        help_text="Who receives the records (defaults to the consent's recipient).",
    )
    recipient_affiliation = forms.CharField(max_length=200, required=False)
    recipient_address = forms.CharField(
        max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    purpose = forms.ChoiceField(choices=Purpose.choices, initial=Purpose.TREATMENT)
    purpose_text = forms.CharField(max_length=500, required=False, label="Other purpose")
    basis_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For every basis but consent (for a medical emergency, its nature).",
    )
    information = forms.MultipleChoiceField(
        choices=InformationCategory.choices, widget=forms.CheckboxSelectMultiple
    )
    counseling_notes = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Your own SUD counseling notes (released alone, under a counseling-notes consent).",
    )
    format = forms.ChoiceField(
        choices=[(code, FORMAT_LABELS[code]) for code in FORMATS],
        widget=forms.RadioSelect,
        initial=Disclosure.Format.PRINTABLE,
    )

    def __init__(
        self, *args: Any, consents: list[Consent], notes: list[CounselingNote], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        entries = [("", "None (a release without consent)")]
        for consent in consents:
            for recipient in consent.recipients.all():
                if consent.status_on(today) == Consent.Status.ACTIVE and not recipient.revoked_by(today):
                    entries.append(
                        (
                            f"{consent.pk}:{recipient.pk}",
                            f"{consent.get_kind_display()}, signed {show_date(consent.signed_on)}: {recipient.name}",
                        )
                    )
        self.fields["consent_entry"].choices = entries  # type: ignore[attr-defined]
        if notes:
            self.fields["counseling_notes"].choices = [  # type: ignore[attr-defined]
                (str(note.pk), show_datetime(note.written_at)) for note in notes
            ]
        else:
            del self.fields["counseling_notes"]

    def release_data(self) -> dict[str, Any]:
        """The cleaned fields in the service's (and the API's) words."""
        data = dict(self.cleaned_data)
        consent, _, recipient = (data.pop("consent_entry") or "").partition(":")
        data["consent"] = consent or None
        data["consent_recipient"] = recipient or None
        data["counseling_notes"] = data.get("counseling_notes") or []
        return data


def _page_context(user: User, patient: Patient) -> tuple[list[Consent], list[CounselingNote]]:
    consents = list(Consent.objects.filter(patient=patient).prefetch_related("recipients"))
    notes = list(
        CounselingNote.objects.filter(counseling_note_readers_q(user), case__patient=patient).order_by(
            "-written_at"
        )
    )
    return consents, notes


@require_http_methods(["GET", "POST"])
@page(Capability.RELEASE_RECORDS)
def release_page(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    action = AuditAction.VIEW if request.method == "GET" else AuditAction.RELEASE
    patient = patient_or_404(request, patient_id, Capability.RELEASE_RECORDS, action=action)
    refusal = release_refusal(user, patient)
    if refusal:
        raise PermissionDenied(refusal)
    consents, notes = _page_context(user, patient)
    form = ReleaseForm(request.POST or None, consents=consents, notes=notes)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                release = release_create(
                    user,
                    patient=patient,
                    data=form.release_data(),
                    stylesheet_url=request.build_absolute_uri(static("cases/release/release.css")),
                )
            except ValidationFailed as refused:
                add_domain_errors(form, refused)
            else:
                response = HttpResponse(release.document, status=201, content_type=release.content_type)
                response["X-Disclosure-Id"] = str(release.disclosure.pk)
                response["Content-Disposition"] = f'attachment; filename="{release.filename}"'
                return response
        status = 400
    audit_page_read(
        request,
        action=AuditAction.VIEW,
        object_type="patient",
        object_id=patient.pk,
        patient_id=patient.pk,
        data_category="consent",
    )
    return render(request, TEMPLATE, {"patient": patient, "form": form, "consents": consents}, status=status)


urlpatterns = [path("patients/<uuid:patient_id>/release/", release_page, name="patient-release-page")]
