"""The 42 CFR Part 2 pages (SPEC section 12): a patient's consents and disclosures, a consent with its scan,
revocation and expiry event, the manual disclosure entry, the printable accounting of disclosures, the privacy
officer's page (find a patient by exact MRN, open and late accounting requests), and the author's SUD counseling
notes. The rules are `clinic.policy`'s and `cases.services.part2`'s; these views translate HTTP."""

import uuid
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cases.errors import DomainError
from cases.models import AccountingRequest, Case, Consent, CounselingNote
from cases.selectors import accounting_of_disclosures
from cases.services.part2 import (
    accounting_request_extend,
    accounting_request_fulfil,
    accounting_request_record,
    accounting_window_start,
    consent_attach_document,
    consent_record,
    consent_record_expiry_event,
    consent_revoke,
    counseling_note_write,
    disclosure_record,
)
from cases.web.access import (
    add_domain_errors,
    audit_page_read,
    in_scope_or_404,
    page,
    patient_or_404,
    refusal_status,
)
from cases.web.part2_forms import (
    AccountingRequestForm,
    ConsentForm,
    CounselingNoteForm,
    DisclosureForm,
    ExpiryEventForm,
    ExtendForm,
    MrnForm,
    RevokeForm,
    ScanForm,
)
from clinic.models import AuditAction, User
from clinic.policy import (
    Capability,
    consent_document_access,
    counseling_note_readers_q,
    has_capability,
    may,
    may_read_clinical,
    patients_in_scope,
    release_refusal,
)

T = "cases/web/part2/"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _consents(user: User, capability: Capability) -> QuerySet[Consent]:
    return (
        Consent.objects.filter(patient__in=patients_in_scope(user, capability))
        .annotate(document_visible=consent_document_access(user, "patient_id"))
        .select_related("patient")
        .prefetch_related("recipients", "revocations")
    )


def _consent_or_404(
    request: HttpRequest, consent_id: uuid.UUID, capability: Capability, action: str
) -> Consent:
    return in_scope_or_404(
        request,
        _consents(_user(request), capability),
        consent_id,
        object_type="consent",
        patient_path="patient_id",
        action=action,
    )


# --- A patient's consents and disclosures -------------------------------------------------------------------------


@page(Capability.READ_CONSENTS)
def patient_privacy(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """A patient's consents, with links to record one, to the accounting, and (for its author) counseling notes."""
    user = _user(request)
    patient = patient_or_404(request, patient_id, Capability.READ_CONSENTS)
    consents = list(
        _consents(user, Capability.READ_CONSENTS)
        .filter(patient=patient)
        .order_by("-signed_on", "-created_at")
    )
    context = {
        "patient": patient,
        "consents": consents,
        "may_record": may(user, Capability.RECORD_CONSENTS, patient),
        "may_release": release_refusal(user, patient) is None,
        "may_read_ledger": may(user, Capability.READ_DISCLOSURES, patient),
        "may_write_notes": may(user, Capability.WRITE_COUNSELING_NOTES, patient),
        "may_read_chart": has_capability(user, Capability.READ_DEMOGRAPHICS)
        and may(user, Capability.READ_DEMOGRAPHICS, patient),
    }
    audit_page_read(
        request, action=AuditAction.LIST, object_type="consent", data_category="consent", patient_id=patient.pk,
        patients_seen=[patient.pk],
    )  # fmt: skip
    return render(request, T + "patient.html", context)


@page(Capability.RECORD_CONSENTS)
def consent_new(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_or_404(request, patient_id, Capability.RECORD_CONSENTS, action=AuditAction.CREATE)
    form = ConsentForm(request.POST or None, initial={"signed_on": timezone.localdate()})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                consent = consent_record(actor=_user(request), patient=patient, data=form.service_data())
            except DomainError as error:
                add_domain_errors(form, error)
                status = refusal_status(error)
            else:
                messages.success(request, "Consent recorded. Upload the signed form's scan below.")
                return redirect("consent-page", consent_id=consent.pk)
        else:
            status = 400
    return render(request, T + "consent_form.html", {"patient": patient, "form": form}, status=status)


@page(Capability.READ_CONSENTS)
def consent_page(request: HttpRequest, consent_id: uuid.UUID) -> HttpResponse:
    consent = _consent_or_404(request, consent_id, Capability.READ_CONSENTS, AuditAction.VIEW)
    return _consent_page(request, consent)


def _consent_page(request: HttpRequest, consent: Consent, *, status: int = 200, **forms: Any) -> HttpResponse:
    user = _user(request)
    patient = consent.patient
    may_record = may(user, Capability.RECORD_CONSENTS, patient)
    context = {
        "consent": consent,
        "patient": patient,
        "may_record": may_record,
        "revoke_form": forms.get("revoke_form")
        or (
            RevokeForm(consent=consent, initial={"revoked_on": timezone.localdate()})
            if may_record and consent.revoked_on is None
            else None
        ),
        "expiry_form": forms.get("expiry_form")
        or (
            ExpiryEventForm()
            if may_record and consent.expiration_event and consent.expired_on is None
            else None
        ),
        "scan_form": forms.get("scan_form") or (ScanForm() if may_record and not consent.document else None),
        "may_open_scan": bool(consent.document) and getattr(consent, "document_visible", False),
    }
    audit_page_read(
        request, action=AuditAction.VIEW, object_type="consent", data_category="consent", object_id=consent.pk,
        patient_id=consent.patient_id,
    )  # fmt: skip
    return render(request, T + "consent.html", context, status=status)


@require_POST
@page(Capability.RECORD_CONSENTS)
def consent_revoke_page(request: HttpRequest, consent_id: uuid.UUID) -> HttpResponse:
    consent = _consent_or_404(request, consent_id, Capability.RECORD_CONSENTS, AuditAction.REVOKE)
    form = RevokeForm(request.POST, consent=consent)
    if form.is_valid():
        data = form.cleaned_data
        try:
            consent_revoke(
                actor=_user(request), consent=consent, revoked_on=data["revoked_on"], how=data["how"],
                recipient=data["recipient"] or None, by_name=data["by_name"],
            )  # fmt: skip
        except DomainError as error:
            add_domain_errors(form, error)
            return _consent_page(request, consent, status=refusal_status(error), revoke_form=form)
        messages.success(request, "Revocation recorded.")
        return redirect("consent-page", consent_id=consent.pk)
    return _consent_page(request, consent, status=400, revoke_form=form)


@require_POST
@page(Capability.RECORD_CONSENTS)
def consent_expiry_page(request: HttpRequest, consent_id: uuid.UUID) -> HttpResponse:
    consent = _consent_or_404(request, consent_id, Capability.RECORD_CONSENTS, AuditAction.UPDATE)
    form = ExpiryEventForm(request.POST)
    if form.is_valid():
        try:
            consent_record_expiry_event(
                actor=_user(request), consent=consent, expired_on=form.cleaned_data["expired_on"]
            )
        except DomainError as error:
            add_domain_errors(form, error)
            return _consent_page(request, consent, status=refusal_status(error), expiry_form=form)
        messages.success(request, "Expiry event recorded: the consent has ended.")
        return redirect("consent-page", consent_id=consent.pk)
    return _consent_page(request, consent, status=400, expiry_form=form)


@page(Capability.READ_CONSENT_DOCUMENTS)
def consent_scan(request: HttpRequest, consent_id: uuid.UUID) -> HttpResponse:
    """GET: the signed form (never administrators). POST: upload it (those who record consents)."""
    if request.method == "POST":
        return _consent_scan_upload(request, consent_id)
    consent = _consent_or_404(request, consent_id, Capability.READ_CONSENT_DOCUMENTS, AuditAction.VIEW)
    if not consent.document:
        raise Http404("No scan of this consent is on file.")
    audit_page_read(
        request, action=AuditAction.VIEW, object_type="consent", data_category="consent", object_id=consent.pk,
        patient_id=consent.patient_id,
    )  # fmt: skip
    extension = consent.document.name.rsplit(".", 1)[-1]
    scan = FileResponse(
        consent.document.open("rb"),
        as_attachment=True,
        filename=f"consent-{consent.pk}.{extension}",
        content_type=consent.document_content_type or "application/octet-stream",
    )
    return cast(HttpResponse, scan)  # a streamed response; the page decorator types its views as HttpResponse


def _consent_scan_upload(request: HttpRequest, consent_id: uuid.UUID) -> HttpResponse:
    if not has_capability(_user(request), Capability.RECORD_CONSENTS):
        raise PermissionDenied("Your role does not allow you to record consents.")
    consent = _consent_or_404(request, consent_id, Capability.RECORD_CONSENTS, AuditAction.UPDATE)
    form = ScanForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            consent_attach_document(actor=_user(request), consent=consent, upload=form.cleaned_data["file"])
        except DomainError as error:
            add_domain_errors(form, error)
            return _consent_page(request, consent, status=refusal_status(error), scan_form=form)
        messages.success(request, "Scan of the signed form stored.")
        return redirect("consent-page", consent_id=consent.pk)
    return _consent_page(request, consent, status=400, scan_form=form)


# --- Manual disclosures and the accounting ---------------------------------------------------------------------------


@page(Capability.RELEASE_RECORDS)
def disclosure_new(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """Record a release made outside the tracker (a faxed copy, a phone call) through the same check."""
    user = _user(request)
    patient = patient_or_404(request, patient_id, Capability.READ_DEMOGRAPHICS, action=AuditAction.RELEASE)
    refusal = release_refusal(user, patient)
    if refusal:
        raise PermissionDenied(refusal)
    consents = list(_consents(user, Capability.READ_CONSENTS).filter(patient=patient).order_by("-signed_on"))
    form = DisclosureForm(request.POST or None, consents=consents)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                disclosure_record(
                    user, patient=patient, basis=data["basis"], consent=data["consent"] or None,
                    recipient=data["consent_recipient"] or None, purpose=data["purpose"],
                    categories=data["information"], channel=data["channel"], notice=data["notice"],
                    recipient_name=data["recipient_name"], recipient_address=data["recipient_address"],
                    recipient_affiliation=data["recipient_affiliation"], basis_reason=data["basis_reason"],
                    purpose_text=data["purpose_text"], disclosed_at=data["disclosed_at"],
                )  # fmt: skip
            except DomainError as error:
                add_domain_errors(form, error)
                status = refusal_status(error)
            else:
                messages.success(request, "Disclosure recorded in the ledger.")
                return redirect("accounting-page", patient_id=patient.pk)
        else:
            status = 400
    return render(request, T + "disclosure_form.html", {"patient": patient, "form": form}, status=status)


@page(Capability.READ_DISCLOSURES)
def accounting_page(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """The accounting of disclosures, to print (the print stylesheet drops navigation and forms)."""
    user = _user(request)
    patient = patient_or_404(request, patient_id, Capability.READ_DISCLOSURES, action=AuditAction.LIST)
    today = timezone.localdate()
    rows = list(accounting_of_disclosures(patient, as_of=today))
    context = {
        "patient": patient,
        "rows": rows,
        "as_of": today,
        "window_start": accounting_window_start(today),
        "show_reasons": may_read_clinical(user, patient),
        "may_release": release_refusal(user, patient) is None,
        "csv_url": reverse("patient-disclosures", kwargs={"pk": patient.pk}) + "?format=csv",
        "requests": AccountingRequest.objects.filter(patient=patient).order_by("-requested_on")
        if has_capability(user, Capability.ACCOUNTING_REQUESTS)
        else [],
    }
    audit_page_read(
        request, action=AuditAction.LIST, object_type="disclosure", data_category="disclosure", patient_id=patient.pk,
        patients_seen=[patient.pk],
    )  # fmt: skip
    return render(request, T + "accounting.html", context)


# --- The privacy officer's page ----------------------------------------------------------------------------------------


def _may_use_privacy_page(user: User) -> bool:
    return has_capability(user, Capability.READ_DISCLOSURES) or has_capability(
        user, Capability.ACCOUNTING_REQUESTS
    )


@page(Capability.READ_DISCLOSURES)
def privacy_index(request: HttpRequest) -> HttpResponse:
    """Find a patient by exact MRN (their accounting); open and late accounting requests; flagged releases."""
    user = _user(request)
    lookup = MrnForm(request.GET or None)
    if request.GET and lookup.is_valid():
        patient = (
            patients_in_scope(user, Capability.READ_DISCLOSURES)
            .filter(mrn=lookup.cleaned_data["mrn"].strip().upper())
            .first()
        )
        if patient is not None:
            return redirect("accounting-page", patient_id=patient.pk)
        lookup.add_error("mrn", "No patient with this MRN that you may see.")
    return _privacy_page(request, lookup=lookup, status=400 if request.GET else 200)


def _privacy_page(request: HttpRequest, *, status: int = 200, **forms: Any) -> HttpResponse:
    user = _user(request)
    handles_requests = has_capability(user, Capability.ACCOUNTING_REQUESTS)
    today = timezone.localdate()
    pending: list[AccountingRequest] = []
    if handles_requests:
        pending = list(
            AccountingRequest.objects.filter(fulfilled_on__isnull=True)
            .select_related("patient")
            .order_by("due_on", "created_at")[:200]
        )
    context = {
        "lookup": forms.get("lookup") or MrnForm(),
        "request_form": forms.get("request_form")
        or (AccountingRequestForm(initial={"requested_on": today}) if handles_requests else None),
        "pending": [
            (r, r.status_on(today), ExtendForm() if r.extended_due_on is None and today <= r.due_on else None)
            for r in pending
        ],
        "handles_requests": handles_requests,
    }
    if pending:
        audit_page_read(
            request, action=AuditAction.LIST, object_type="accounting_request", data_category="disclosure",
            patients_seen=[r.patient_id for r in pending],
        )  # fmt: skip
    return render(request, T + "privacy.html", context, status=status)


@require_POST
@page(Capability.ACCOUNTING_REQUESTS)
def accounting_request_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = AccountingRequestForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        patient = (
            patients_in_scope(user, Capability.ACCOUNTING_REQUESTS)
            .filter(mrn=data["mrn"].strip().upper())
            .first()
        )
        if patient is None:
            form.add_error("mrn", "No patient with this MRN.")
        else:
            try:
                accounting_request_record(
                    actor=user, patient=patient, requested_on=data["requested_on"],
                    requested_by_name=data["requested_by_name"],
                )  # fmt: skip
            except DomainError as error:
                add_domain_errors(form, error)
            else:
                messages.success(request, "Request recorded; it is due in 60 days.")
                return redirect("privacy")
    return _privacy_page(request, status=400, request_form=form)


def _request_or_404(request: HttpRequest, request_id: uuid.UUID) -> AccountingRequest:
    requests = AccountingRequest.objects.filter(
        patient__in=patients_in_scope(_user(request), Capability.ACCOUNTING_REQUESTS)
    )
    return in_scope_or_404(
        request, requests, request_id, object_type="accounting_request", patient_path="patient_id",
        action=AuditAction.UPDATE,
    )  # fmt: skip


@require_POST
@page(Capability.ACCOUNTING_REQUESTS)
def accounting_request_extend_page(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    accounting = _request_or_404(request, request_id)
    form = ExtendForm(request.POST)
    if form.is_valid():
        try:
            accounting_request_extend(
                actor=_user(request), request=accounting, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("privacy")
        messages.success(
            request, "Extended by 30 days: tell the patient the reason and the new date in writing."
        )
        return redirect("privacy")
    messages.error(request, "Give the reason for the delay.")
    return redirect("privacy")


@require_POST
@page(Capability.ACCOUNTING_REQUESTS)
def accounting_request_fulfil_page(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    accounting = _request_or_404(request, request_id)
    try:
        accounting_request_fulfil(actor=_user(request), request=accounting)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Marked as given to the patient.")
    return redirect("privacy")


# --- SUD counseling notes ------------------------------------------------------------------------------------------------


@page(Capability.WRITE_COUNSELING_NOTES)
def counseling_notes_page(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """The signed-in author's own counseling notes for this patient, and a form for a new one. Nobody else's notes
    are shown here or anywhere (42 CFR 2.31(b); SPEC section 12)."""
    user = _user(request)
    patient = patient_or_404(request, patient_id, Capability.WRITE_COUNSELING_NOTES)
    case = Case.objects.filter(patient=patient).order_by("-opened_on", "-created_at").first()
    form = CounselingNoteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if case is None:
            form.add_error(None, "The patient has no case to write the note on.")
            status = 400
        elif form.is_valid():
            try:
                counseling_note_write(actor=user, case=case, text=form.cleaned_data["text"])
            except DomainError as error:
                add_domain_errors(form, error)
                status = refusal_status(error)
            else:
                messages.success(request, "Counseling note saved. Only you can read it.")
                return redirect("counseling-notes-page", patient_id=patient.pk)
        else:
            status = 400
    notes = list(
        CounselingNote.objects.filter(counseling_note_readers_q(user) & Q(case__patient=patient)).order_by(
            "-written_at"
        )
    )
    audit_page_read(
        request, action=AuditAction.LIST, object_type="counseling_note", data_category="counseling_note",
        patient_id=patient.pk, patients_seen=[patient.pk],
    )  # fmt: skip
    return render(
        request,
        T + "counseling_notes.html",
        {"patient": patient, "notes": notes, "form": form, "case": case},
        status=status,
    )


def privacy_link_allowed(user: User) -> bool:
    return _may_use_privacy_page(user)


urlpatterns = [
    path("patients/<uuid:patient_id>/privacy/", patient_privacy, name="patient-privacy"),
    path("patients/<uuid:patient_id>/consents/new/", consent_new, name="consent-new"),
    path("patients/<uuid:patient_id>/disclosures/new/", disclosure_new, name="disclosure-new"),
    path("patients/<uuid:patient_id>/accounting/", accounting_page, name="accounting-page"),
    path("patients/<uuid:patient_id>/counseling-notes/", counseling_notes_page, name="counseling-notes-page"),
    path("consents/<uuid:consent_id>/", consent_page, name="consent-page"),
    path("consents/<uuid:consent_id>/revoke/", consent_revoke_page, name="consent-revoke-page"),
    path("consents/<uuid:consent_id>/expiry-event/", consent_expiry_page, name="consent-expiry-page"),
    path("consents/<uuid:consent_id>/scan/", consent_scan, name="consent-scan"),
    path("privacy/", privacy_index, name="privacy"),
    path("privacy/accounting-requests/", accounting_request_new, name="privacy-request-new"),
    path(
        "privacy/accounting-requests/<uuid:request_id>/extend/",
        accounting_request_extend_page,
        name="privacy-request-extend",
    ),
    path(
        "privacy/accounting-requests/<uuid:request_id>/fulfil/",
        accounting_request_fulfil_page,
        name="privacy-request-fulfil",
    ),
]
