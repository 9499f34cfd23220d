"""42 CFR Part 2 services (`cases.services.part2`): consents with every required element, what a consent covers,
revocation, the release check and ledger, counseling notes, accounting requests."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from cases.errors import ValidationFailed
from cases.models import Consent, Disclosure
from cases.models.part2 import PART2_NOTICE
from cases.services.part2 import (
    accounting_request_extend,
    accounting_request_fulfil,
    accounting_request_record,
    accounting_window_start,
    consent_covers,
    consent_record,
    consent_record_expiry_event,
    consent_revoke,
    counseling_note_write,
    disclosure_check,
    disclosure_record,
)
from clinic.models import AuditEvent
from clinic.roles import Role
from tests.factories import BreakGlassGrantFactory, CaseFactory, UserFactory, consent_data, make_consent

TODAY = timezone.localdate


def refused(call, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as excinfo:
        call(*args, **kwargs)
    return excinfo.value.errors


def release(actor, relied_on, **overrides):
    consent = relied_on
    arguments = {
        "patient": consent.patient,
        "basis": "consent",
        "consent": consent,
        "recipient": consent.recipients.first(),
        "purpose": "care_coordination",
        "categories": ["diagnoses", "medications"],
        "channel": "fax",
        "notice": PART2_NOTICE,
    }
    arguments.update(overrides)
    return disclosure_record(actor, **arguments)


# --- Consents: every element of 2.31(a) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ("kind", "kind"),
        ("discloser", "discloser"),
        ("information", "information"),
        ("recipients", "recipients"),
        ("purposes", "purposes"),
        ("expires_on", "expires_on"),  # a specific consent needs a date or an event
        ("signed_on", "signed_on"),
        ("signer_name", "signer_name"),
        ("signer_relationship", "signer_relationship"),
        ("form_version", "form_version"),
    ],
)
def test_a_consent_missing_an_element_is_refused_naming_it(db, front_desk, missing, field):
    data = consent_data()
    del data[missing]
    patient = CaseFactory().patient
    assert field in refused(consent_record, actor=front_desk, patient=patient, data=data)
    assert not Consent.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"information": ["diagnoses", "counseling_notes"]}, "information"),  # notes need their own consent
        ({"kind": "counseling_notes", "information": ["counseling_notes", "diagnoses"]}, "information"),
        ({"information": ["all_records", "diagnoses"]}, "information"),
        ({"information": ["x-rays"]}, "information"),
        ({"purposes": ["other"]}, "purpose_text"),
        ({"purposes": ["marketing"]}, "purposes"),
        ({"kind": "tpo", "purposes": ["legal"]}, "purposes"),
        ({"recipients": [{"name": ""}]}, "recipients"),
        ({"recipients": [{"name": "A", "is_class": "yes"}]}, "recipients"),
        ({"recipients": ["Dr. A"]}, "recipients"),
        ({"signed_on": TODAY() + dt.timedelta(days=1)}, "signed_on"),
        ({"expires_on": TODAY() - dt.timedelta(days=30)}, "expires_on"),  # before it was signed
        ({"expiration_event": "End of treatment"}, "expiration_event"),  # both a date and an event
        ({"signer_name": "x" * 201}, "signer_name"),
    ],
)
def test_a_malformed_consent_is_refused_naming_the_field(db, front_desk, overrides, field):
    assert field in refused(
        consent_record, actor=front_desk, patient=CaseFactory().patient, data=consent_data(**overrides)
    )


def test_a_tpo_consent_may_have_no_expiry_and_covers_the_three_tpo_purposes(db, front_desk):
    consent = make_consent(
        actor=front_desk, kind="tpo", purposes=[], expires_on=None, information=["all_records"]
    )
    assert consent.purposes == ["treatment", "payment", "health_care_operations"]
    assert consent.status == "active"


def test_recording_a_consent_is_audited(db, front_desk):
    consent = make_consent(actor=front_desk)
    event = AuditEvent.objects.get(object_type="consent", action="create")
    assert (event.object_id, event.patient_id, event.user_id) == (
        str(consent.pk),
        consent.patient_id,
        front_desk.pk,
    )
    assert consent.recipients.all()[0].name.startswith("Dr. Ada")


# --- What a consent covers --------------------------------------------------------------------------------------


@pytest.fixture
def consent(db, front_desk):
    return make_consent(actor=front_desk)


def test_a_consent_covers_its_recipient_purpose_and_categories_while_active(consent):
    coverage = consent_covers(
        consent, recipient=consent.recipients.first(), purpose="legal", categories=["diagnoses"], on=TODAY()
    )
    assert coverage
    assert coverage.field == ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"on": "before_signed"}, "consent"),
        ({"on": "after_expiry"}, "consent"),
        ({"recipient": "other"}, "consent_recipient"),
        ({"purpose": "payment"}, "purpose"),
        ({"categories": ["diagnoses", "visit_notes"]}, "information"),
        ({"categories": ["counseling_notes"]}, "information"),
    ],
)
def test_a_consent_does_not_cover_what_it_does_not_say(consent, change, field):
    arguments = {
        "recipient": consent.recipients.first(),
        "purpose": "legal",
        "categories": ["diagnoses"],
        "on": TODAY(),
    }
    arguments.update(change)
    if change.get("on") == "before_signed":
        arguments["on"] = consent.signed_on - dt.timedelta(days=1)
    if change.get("on") == "after_expiry":
        arguments["on"] = consent.expires_on + dt.timedelta(days=1)
    if change.get("recipient") == "other":
        arguments["recipient"] = make_consent().recipients.first()
    coverage = consent_covers(consent, **arguments)
    assert not coverage
    assert coverage.field == field


def test_a_consent_is_valid_through_its_expiry_date(consent):
    recipient = consent.recipients.first()
    assert consent_covers(
        consent, recipient=recipient, purpose="legal", categories=["diagnoses"], on=consent.expires_on
    )


def test_an_event_expiry_ends_the_consent_on_the_recorded_day(db, front_desk):
    consent = make_consent(actor=front_desk, expires_on=None, expiration_event="Discharge from the program")
    event_day = TODAY() - dt.timedelta(days=2)
    consent_record_expiry_event(actor=front_desk, consent=consent, expired_on=event_day)
    recipient = consent.recipients.first()
    assert consent_covers(
        consent,
        recipient=recipient,
        purpose="legal",
        categories=["diagnoses"],
        on=event_day - dt.timedelta(days=1),
    )
    assert not consent_covers(
        consent, recipient=recipient, purpose="legal", categories=["diagnoses"], on=event_day
    )
    assert consent.status == "expired"


def test_all_records_covers_every_category_but_counseling_notes(db, front_desk):
    consent = make_consent(actor=front_desk, information=["all_records"])
    recipient = consent.recipients.first()
    assert consent_covers(
        consent, recipient=recipient, purpose="legal", categories=["visit_notes", "liver_panels"], on=TODAY()
    )
    assert not consent_covers(
        consent, recipient=recipient, purpose="legal", categories=["counseling_notes"], on=TODAY()
    )


# --- Revocation ---------------------------------------------------------------------------------------------------


def test_a_revocation_refuses_releases_on_or_after_its_date_and_keeps_earlier_ones(consent, front_desk):
    recipient = consent.recipients.first()
    revoked_on = TODAY() - dt.timedelta(days=3)
    consent_revoke(actor=front_desk, consent=consent, revoked_on=revoked_on, how="Signed letter")
    consent.refresh_from_db()
    assert consent.status == "revoked"
    day_before = revoked_on - dt.timedelta(days=1)
    assert consent_covers(
        consent, recipient=recipient, purpose="legal", categories=["diagnoses"], on=day_before
    )
    coverage = consent_covers(
        consent, recipient=recipient, purpose="legal", categories=["diagnoses"], on=revoked_on
    )
    assert (coverage.covered, coverage.field) == (False, "consent")
    event = AuditEvent.objects.get(action="revoke")
    assert event.detail["recipient"] == "all"


def test_revoking_one_recipient_leaves_the_others(consent, front_desk):
    first, second = consent.recipients.all()
    consent_revoke(
        actor=front_desk, consent=consent, revoked_on=TODAY(), how="Phone, then letter", recipient=first.pk
    )
    consent.refresh_from_db()
    assert consent.status == "active"
    assert not consent_covers(consent, recipient=first, purpose="legal", categories=["diagnoses"], on=TODAY())
    assert consent_covers(consent, recipient=second, purpose="legal", categories=["diagnoses"], on=TODAY())
    assert "recipient" in refused(
        consent_revoke, actor=front_desk, consent=consent, revoked_on=TODAY(), how="again", recipient=first.pk
    )


@pytest.mark.parametrize(
    ("revoked_on", "how", "field"),
    [
        (None, "letter", "revoked_on"),
        ("future", "letter", "revoked_on"),
        ("before", "letter", "revoked_on"),
        ("today", "", "how"),
    ],
)
def test_a_revocation_needs_a_date_that_can_be_and_how_it_came(consent, front_desk, revoked_on, how, field):
    day = {
        None: None,
        "future": TODAY() + dt.timedelta(days=1),
        "before": consent.signed_on - dt.timedelta(days=1),
        "today": TODAY(),
    }[revoked_on]
    assert field in refused(consent_revoke, actor=front_desk, consent=consent, revoked_on=day, how=how)


# --- The release check and the ledger ------------------------------------------------------------------------------


@pytest.fixture
def caseload_consent(clinician, front_desk):
    case = CaseFactory(primary_clinician=clinician)
    return make_consent(actor=front_desk, patient=case.patient)


def test_a_covered_release_is_recorded_with_its_audit_event(caseload_consent, clinician):
    disclosure = release(clinician, caseload_consent, document_sha256="A" * 64, format="printable")
    assert disclosure.recipient_name.startswith("Dr. Ada")
    assert disclosure.information == ["diagnoses", "medications"]
    assert disclosure.document_sha256 == "a" * 64
    assert not disclosure.needs_privacy_review
    event = AuditEvent.objects.get(action="release")
    assert (event.object_type, event.object_id, event.patient_id) == (
        "disclosure",
        str(disclosure.pk),
        caseload_consent.patient_id,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"purpose": "payment"}, "purpose"),
        ({"categories": ["visit_notes"]}, "information"),
        ({"recipient": None}, "consent_recipient"),
        ({"consent": None}, "consent"),
        ({"notice": "Confidential."}, "notice"),
        ({"channel": "pigeon"}, "channel"),
        ({"document_sha256": "xyz"}, "document_sha256"),
        ({"basis": "whim"}, "basis"),
    ],
)
def test_a_release_the_consent_does_not_cover_is_refused_and_not_recorded(
    caseload_consent, clinician, change, field
):
    assert field in refused(release, clinician, caseload_consent, **change)
    assert not Disclosure.objects.exists()
    assert not AuditEvent.objects.filter(action="release").exists()


def test_a_release_dated_on_the_revocation_day_is_refused(caseload_consent, clinician, front_desk):
    revoked_on = TODAY() - dt.timedelta(days=5)
    consent_revoke(actor=front_desk, consent=caseload_consent, revoked_on=revoked_on, how="letter")
    at = timezone.make_aware(dt.datetime.combine(revoked_on, dt.time(9)))
    assert "consent" in refused(release, clinician, caseload_consent, disclosed_at=at)
    earlier = release(clinician, caseload_consent, disclosed_at=at - dt.timedelta(days=1))
    assert earlier.pk


def test_an_expired_consent_refuses_a_release(clinician, front_desk):
    case = CaseFactory(primary_clinician=clinician)
    consent = make_consent(
        actor=front_desk,
        patient=case.patient,
        signed_on=TODAY() - dt.timedelta(days=100),
        expires_on=TODAY() - dt.timedelta(days=1),
    )
    assert "consent" in refused(release, clinician, consent)


def test_a_class_recipient_needs_the_actual_recipients_name(clinician, front_desk):
    case = CaseFactory(primary_clinician=clinician)
    consent = make_consent(
        actor=front_desk,
        patient=case.patient,
        kind="tpo",
        purposes=["treatment", "payment", "health_care_operations"],
        expires_on=None,
        information=["all_records"],
        recipients=[{"name": "My treating providers", "is_class": True, "covered_entity": True}],
    )
    assert "recipient_name" in refused(release, clinician, consent, purpose="treatment")
    done = release(clinician, consent, purpose="treatment", recipient_name="Lawrence Memorial Hospital ED")
    assert done.recipient_name == "Lawrence Memorial Hospital ED"


def test_a_release_under_break_glass_is_refused_by_the_policy(caseload_consent):
    visitor = UserFactory(roles=[Role.CLINICIAN])
    BreakGlassGrantFactory(user=visitor, patient=caseload_consent.patient)
    with pytest.raises(PermissionDenied):
        release(visitor, caseload_consent)
    assert not Disclosure.objects.exists()


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
def test_roles_that_do_not_release_are_refused(caseload_consent, role, request):
    with pytest.raises(PermissionDenied):
        release(request.getfixturevalue(role), caseload_consent)


def test_a_supervisor_releases_for_any_patient(caseload_consent, supervisor):
    assert release(supervisor, caseload_consent).released_by == supervisor


@pytest.mark.parametrize(
    "basis", ["medical_emergency", "court_order", "audit_evaluation", "research", "reporting_obligation"]
)
def test_a_release_without_consent_needs_its_reason_and_is_flagged(clinician, basis):
    patient = CaseFactory(primary_clinician=clinician).patient
    arguments = {
        "patient": patient,
        "basis": basis,
        "consent": None,
        "recipient": None,
        "purpose": "treatment",
        "categories": ["medications"],
        "channel": "phone",
        "notice": "",
        "recipient_name": "Dr. On Call",
        "recipient_affiliation": "Lawrence Memorial Hospital",
    }
    assert "basis_reason" in refused(disclosure_record, clinician, **arguments)
    disclosure = disclosure_record(
        clinician, **arguments, basis_reason="Unresponsive on arrival; overdose suspected"
    )
    assert disclosure.needs_privacy_review
    assert AuditEvent.objects.get(action="release").detail["needs_privacy_review"] is True


def test_an_emergency_release_records_the_recipients_affiliation(clinician):
    patient = CaseFactory(primary_clinician=clinician).patient
    assert "recipient_affiliation" in refused(
        disclosure_record,
        clinician,
        patient=patient,
        basis="medical_emergency",
        consent=None,
        recipient=None,
        purpose="treatment",
        categories=["medications"],
        channel="phone",
        notice="",
        recipient_name="Dr. On Call",
        basis_reason="Seizure in the ED",
    )


# --- Counseling notes ------------------------------------------------------------------------------------------------


@pytest.fixture
def notes_consent(clinician, front_desk):
    case = CaseFactory(primary_clinician=clinician)
    consent = make_consent(
        actor=front_desk,
        patient=case.patient,
        kind="counseling_notes",
        information=["counseling_notes"],
        purposes=["treatment"],
    )
    note = counseling_note_write(actor=clinician, case=case, text="Talked about the loss of her brother.")
    return consent, note


def test_counseling_notes_are_released_by_their_author_alone_under_their_consent(notes_consent, clinician):
    consent, note = notes_consent
    done = release(
        clinician, consent, purpose="treatment", categories=["counseling_notes"], counseling_notes=[note]
    )
    assert list(done.counseling_notes.all()) == [note]


def test_counseling_notes_are_refused_under_a_tpo_consent(clinician, front_desk):
    case = CaseFactory(primary_clinician=clinician)
    tpo = make_consent(
        actor=front_desk,
        patient=case.patient,
        kind="tpo",
        purposes=[],
        expires_on=None,
        information=["all_records"],
    )
    note = counseling_note_write(actor=clinician, case=case, text="Session notes.")
    assert "information" in refused(
        release, clinician, tpo, purpose="treatment", categories=["counseling_notes"], counseling_notes=[note]
    )


def test_counseling_notes_go_alone(notes_consent, clinician):
    consent, note = notes_consent
    assert "information" in refused(
        release,
        clinician,
        consent,
        purpose="treatment",
        categories=["counseling_notes", "medications"],
        counseling_notes=[note],
    )


def test_a_supervisor_cannot_release_a_clinicians_counseling_note(notes_consent, supervisor):
    consent, note = notes_consent
    assert "counseling_notes" in refused(
        release,
        supervisor,
        consent,
        purpose="treatment",
        categories=["counseling_notes"],
        counseling_notes=[note],
    )


def test_disclosure_check_answers_without_writing(caseload_consent, clinician):
    disclosure_check(
        clinician,
        patient=caseload_consent.patient,
        basis="consent",
        consent=caseload_consent.pk,
        recipient=str(caseload_consent.recipients.first().pk),
        purpose="legal",
        categories=["diagnoses"],
        on=TODAY(),
    )
    assert "consent" in refused(
        disclosure_check,
        clinician,
        patient=caseload_consent.patient,
        basis="consent",
        consent="not-a-uuid",
        recipient=None,
        purpose="legal",
        categories=["diagnoses"],
        on=TODAY(),
    )
    assert not Disclosure.objects.exists()


# --- Accounting requests -------------------------------------------------------------------------------------------


def test_the_accounting_window_is_exactly_six_years():
    assert accounting_window_start(dt.date(2026, 12, 3)) == dt.date(2020, 12, 3)
    assert accounting_window_start(dt.date(2028, 2, 29)) == dt.date(2022, 2, 28)


def test_an_accounting_request_is_due_in_60_days_and_extends_once_by_30(db, administrator):
    patient = CaseFactory().patient
    received = TODAY() - dt.timedelta(days=10)
    request = accounting_request_record(actor=administrator, patient=patient, requested_on=received)
    assert request.due_on == received + dt.timedelta(days=60)
    assert request.status == "open"
    assert "reason" in refused(accounting_request_extend, actor=administrator, request=request, reason=" ")
    request = accounting_request_extend(
        actor=administrator, request=request, reason="Records in off-site storage"
    )
    assert request.effective_due_on == received + dt.timedelta(days=90)
    assert "reason" in refused(
        accounting_request_extend, actor=administrator, request=request, reason="Again"
    )
    request = accounting_request_fulfil(actor=administrator, request=request)
    assert request.status == "fulfilled"
    assert AuditEvent.objects.filter(object_type="accounting_request").count() == 3


def test_an_extension_after_the_original_due_date_is_refused(db, administrator):
    patient = CaseFactory().patient
    request = accounting_request_record(
        actor=administrator, patient=patient, requested_on=TODAY() - dt.timedelta(days=61)
    )
    assert request.status == "late"
    assert "reason" in refused(accounting_request_extend, actor=administrator, request=request, reason="Busy")


# --- The signed form's scan ------------------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_scan_is_stored_under_a_name_of_our_own_and_never_replaced(consent, front_desk):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cases.errors import Conflict
    from cases.services.part2 import consent_attach_document

    upload = SimpleUploadedFile("../../etc/passwd.pdf", PDF, content_type="text/plain")
    stored = consent_attach_document(actor=front_desk, consent=consent, upload=upload)
    assert stored.document.name.startswith(f"consents/{consent.pk}/")
    assert stored.document.name.endswith(".pdf")
    assert "/" not in stored.document_name
    assert stored.document_content_type == "application/pdf"
    with stored.document.open("rb") as handle:
        assert handle.read() == PDF
    with pytest.raises(Conflict):
        consent_attach_document(
            actor=front_desk, consent=consent, upload=SimpleUploadedFile("again.pdf", PDF)
        )
    stored.document.storage.delete(stored.document.name)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("form.pdf", b"MZ\x90\x00 not a pdf"),
        ("form.png", b""),
        ("form.html", b"<html><script>x</script></html>"),
    ],
)
def test_a_scan_that_is_not_a_pdf_png_or_jpeg_is_refused(consent, front_desk, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cases.services.part2 import consent_attach_document

    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    assert "file" in refused(consent_attach_document, actor=front_desk, consent=consent, upload=upload)
    consent.refresh_from_db()
    assert not consent.document


# --- Demo data ------------------------------------------------------------------------------------------------------


def test_the_demo_has_consents_of_each_kind_a_revocation_and_a_year_of_disclosures(db):
    import io

    from django.core.management import call_command

    from cases.models import AccountingRequest, ConsentRevocation, CounselingNote

    out = io.StringIO()
    call_command("seed_demo", force=True, patients=15, seed=7, stdout=out)
    assert set(Consent.objects.values_list("kind", flat=True)) == {"tpo", "specific", "counseling_notes"}
    assert ConsentRevocation.objects.exists()
    disclosed = Disclosure.objects.values_list("disclosed_at", flat=True)
    # Monthly releases from the longest-standing patient's consent on (a 15-patient demo's oldest case opened about
    # eight months back; the full demo's a year or more).
    oldest_consent = Consent.objects.filter(kind="specific").order_by("signed_on").first()
    assert min(disclosed).date() - oldest_consent.signed_on <= dt.timedelta(days=7)
    assert min(disclosed) < timezone.now() - dt.timedelta(days=180)
    assert {"consent", "medical_emergency", "court_order"} <= set(
        Disclosure.objects.values_list("basis", flat=True)
    )
    assert CounselingNote.objects.exists()
    assert {r.status for r in AccountingRequest.objects.all()} == {"open", "late"}
    assert "Part 2 consents" in out.getvalue()
