"""The 42 CFR Part 2 pages: a patient's consents, recording and revoking a consent, its scan, a manual disclosure,
the printable accounting, the privacy officer's page, counseling notes. Each page is also tried by the roles and for
the patients that must be refused, and bounded in queries."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases.models import AccountingRequest, Consent, CounselingNote, Disclosure
from cases.models.part2 import PART2_NOTICE
from cases.services.part2 import accounting_request_record, counseling_note_write, disclosure_record
from clinic.models import AuditEvent
from clinic.roles import Role
from tests.factories import BreakGlassGrantFactory, CaseFactory, UserFactory, consent_data, make_consent

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TODAY = timezone.localdate


@pytest.fixture
def own(clinician):
    return CaseFactory(primary_clinician=clinician)


@pytest.fixture
def other(other_clinician):
    return CaseFactory(primary_clinician=other_clinician)


@pytest.fixture
def own_consent(own, front_desk):
    return make_consent(actor=front_desk, patient=own.patient)


def consent_post(**overrides) -> dict[str, object]:
    data = consent_data()
    post: dict[str, object] = {
        key: value.isoformat() if isinstance(value, dt.date) else value
        for key, value in data.items()
        if key != "recipients"
    }
    post["recipient_1_name"] = "Dr. Ada Lovelace"
    post["recipient_1_covered_entity"] = "on"
    post.update(overrides)
    return post


# --- A patient's consents ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "case", "expected"),
    [
        ("front_desk", "other", 200),
        ("clinician", "own", 200),
        ("clinician", "other", 404),
        ("supervisor", "other", 200),
        ("administrator", "other", 200),
    ],
)
def test_who_sees_a_patients_consents(signed_in, request, role, case, expected, front_desk):
    patient = request.getfixturevalue(case).patient
    make_consent(actor=front_desk, patient=patient)
    response = signed_in(request.getfixturevalue(role)).get(f"/patients/{patient.pk}/privacy/")
    assert response.status_code == expected
    if expected == 200:
        assert b"Dr. Ada Lovelace" in response.content
        assert AuditEvent.objects.filter(object_type="consent", action="list", patient_id=patient.pk).exists()
    else:
        assert AuditEvent.objects.filter(outcome="denied", patient_id=patient.pk).exists()


def test_the_consents_page_is_bounded_in_queries(
    signed_in, clinician, own, front_desk, django_assert_max_num_queries
):
    for _ in range(5):
        make_consent(actor=front_desk, patient=own.patient)
    client = signed_in(clinician)
    with django_assert_max_num_queries(30):
        assert client.get(f"/patients/{own.patient.pk}/privacy/").status_code == 200


def test_a_consent_is_recorded_from_the_form(signed_in, clinician, own):
    response = signed_in(clinician).post(f"/patients/{own.patient.pk}/consents/new/", consent_post())
    consent = Consent.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/consents/{consent.pk}/"
    assert [r.name for r in consent.recipients.all()] == ["Dr. Ada Lovelace"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"form_version": ""}, b"This field is required"),
        ({"recipient_1_name": ""}, b"Name at least one recipient"),
        ({"information": ["diagnoses", "counseling_notes"]}, b"need a consent of their own"),
    ],
)
def test_a_consent_missing_an_element_is_shown_and_not_saved(signed_in, front_desk, own, overrides, message):
    response = signed_in(front_desk).post(
        f"/patients/{own.patient.pk}/consents/new/", consent_post(**overrides)
    )
    assert response.status_code == 400
    assert message in response.content
    assert not Consent.objects.exists()


@pytest.mark.parametrize(
    ("role", "case", "expected"), [("administrator", "own", 403), ("clinician", "other", 404)]
)
def test_who_may_not_record_a_consent_from_the_page(signed_in, request, role, case, expected):
    patient = request.getfixturevalue(case).patient
    response = signed_in(request.getfixturevalue(role)).post(
        f"/patients/{patient.pk}/consents/new/", consent_post()
    )
    assert response.status_code == expected
    assert not Consent.objects.exists()


def test_a_consent_is_revoked_and_its_scan_uploaded_from_its_page(signed_in, front_desk, own_consent):
    client = signed_in(front_desk)
    page = client.get(f"/consents/{own_consent.pk}/")
    assert page.status_code == 200
    assert b"Record a written revocation" in page.content
    upload = client.post(f"/consents/{own_consent.pk}/scan/", {"file": SimpleUploadedFile("f.pdf", PDF)})
    assert upload.status_code == 302
    scan = client.get(f"/consents/{own_consent.pk}/scan/")
    assert scan.status_code == 200
    assert b"".join(scan.streaming_content) == PDF
    revoked = client.post(
        f"/consents/{own_consent.pk}/revoke/", {"revoked_on": TODAY().isoformat(), "how": "Signed letter"}
    )
    assert revoked.status_code == 302
    assert Consent.objects.get(pk=own_consent.pk).status == "revoked"
    Consent.objects.get(pk=own_consent.pk).document.delete(save=False)


def test_a_scan_of_the_wrong_type_is_refused_on_the_page(signed_in, front_desk, own_consent):
    response = signed_in(front_desk).post(
        f"/consents/{own_consent.pk}/scan/", {"file": SimpleUploadedFile("f.pdf", b"<html></html>")}
    )
    assert response.status_code == 400
    assert b"PDF, PNG or JPEG" in response.content


def test_administrators_never_open_the_scan(signed_in, administrator, front_desk, own_consent):
    signed_in(front_desk).post(
        f"/consents/{own_consent.pk}/scan/", {"file": SimpleUploadedFile("f.pdf", PDF)}
    )
    client = signed_in(administrator)
    page = client.get(f"/consents/{own_consent.pk}/")
    assert page.status_code == 200
    assert b"Download the scan" not in page.content
    assert client.get(f"/consents/{own_consent.pk}/scan/").status_code == 403
    Consent.objects.get(pk=own_consent.pk).document.delete(save=False)


def test_a_revocation_in_the_future_is_refused_on_the_page(signed_in, front_desk, own_consent):
    response = signed_in(front_desk).post(
        f"/consents/{own_consent.pk}/revoke/",
        {"revoked_on": (TODAY() + dt.timedelta(days=2)).isoformat(), "how": "Letter"},
    )
    assert response.status_code == 400
    assert b"cannot be in the future" in response.content


# --- Manual disclosures and the accounting --------------------------------------------------------------------------


def disclosure_post(consent, **overrides) -> dict[str, object]:
    data: dict[str, object] = {
        "basis": "consent",
        "consent": str(consent.pk),
        "consent_recipient": str(consent.recipients.first().pk),
        "purpose": "legal",
        "information": ["diagnoses"],
        "channel": "fax",
        "notice": PART2_NOTICE,
    }
    data.update(overrides)
    return data


def test_a_manual_disclosure_is_recorded_and_shows_in_the_accounting(signed_in, clinician, own_consent):
    client = signed_in(clinician)
    response = client.post(
        f"/patients/{own_consent.patient_id}/disclosures/new/", disclosure_post(own_consent)
    )
    assert response.status_code == 302, response.content
    assert Disclosure.objects.count() == 1
    page = client.get(f"/patients/{own_consent.patient_id}/accounting/")
    assert page.status_code == 200
    assert b"Dr. Ada Lovelace" in page.content
    assert b"42 CFR part 2 prohibits unauthorized use or disclosure of these records." in page.content
    assert AuditEvent.objects.filter(
        action="list", object_type="disclosure", patient_id=own_consent.patient_id
    ).exists()


def test_an_uncovered_manual_disclosure_is_refused_naming_the_element(signed_in, clinician, own_consent):
    response = signed_in(clinician).post(
        f"/patients/{own_consent.patient_id}/disclosures/new/",
        disclosure_post(own_consent, purpose="payment"),
    )
    assert response.status_code == 400
    assert b"does not cover this purpose" in response.content
    assert not Disclosure.objects.exists()


@pytest.mark.parametrize("who", ["front_desk", "administrator", "break_glass"])
def test_who_may_not_record_a_disclosure_from_the_page(signed_in, request, own_consent, who):
    if who == "break_glass":
        user = UserFactory(roles=[Role.CLINICIAN])
        BreakGlassGrantFactory(user=user, patient=own_consent.patient)
    else:
        user = request.getfixturevalue(who)
    response = signed_in(user).post(
        f"/patients/{own_consent.patient_id}/disclosures/new/", disclosure_post(own_consent)
    )
    assert response.status_code == 403
    assert not Disclosure.objects.exists()


def test_the_accounting_page_hides_an_emergencys_nature_from_administrators(
    signed_in, clinician, administrator, own
):
    disclosure_record(
        clinician, patient=own.patient, basis="medical_emergency", consent=None, recipient=None, purpose="treatment",
        categories=["medications"], channel="phone", notice="", recipient_name="Dr. On Call",
        recipient_affiliation="LMH ED", basis_reason="Seizure on arrival",
    )  # fmt: skip
    assert (
        b"Seizure on arrival" in signed_in(clinician).get(f"/patients/{own.patient.pk}/accounting/").content
    )
    page = signed_in(administrator).get(f"/patients/{own.patient.pk}/accounting/")
    assert page.status_code == 200
    assert b"Seizure on arrival" not in page.content
    assert b"Dr. On Call" in page.content


@pytest.mark.parametrize(
    ("role", "case", "expected"), [("front_desk", "own", 403), ("clinician", "other", 404)]
)
def test_who_may_not_read_an_accounting_page(signed_in, request, role, case, expected):
    patient = request.getfixturevalue(case).patient
    assert (
        signed_in(request.getfixturevalue(role)).get(f"/patients/{patient.pk}/accounting/").status_code
        == expected
    )


# --- The privacy officer -----------------------------------------------------------------------------------------------


def test_the_privacy_officer_finds_a_patient_by_exact_mrn_and_handles_requests(signed_in, administrator, own):
    client = signed_in(administrator)
    found = client.get("/privacy/", {"mrn": own.patient.mrn})
    assert found.status_code == 302
    assert found["Location"] == f"/patients/{own.patient.pk}/accounting/"
    assert client.get("/privacy/", {"mrn": own.patient.mrn[:-1]}).status_code == 400
    recorded = client.post(
        "/privacy/accounting-requests/",
        {"mrn": own.patient.mrn, "requested_on": (TODAY() - dt.timedelta(days=3)).isoformat()},
    )
    assert recorded.status_code == 302
    accounting = AccountingRequest.objects.get()
    page = client.get("/privacy/")
    assert own.patient.mrn.encode() in page.content
    client.post(f"/privacy/accounting-requests/{accounting.pk}/extend/", {"reason": "Archived records"})
    accounting.refresh_from_db()
    assert accounting.extended_due_on == accounting.due_on + dt.timedelta(days=30)
    client.post(f"/privacy/accounting-requests/{accounting.pk}/fulfil/")
    accounting.refresh_from_db()
    assert accounting.fulfilled_on == TODAY()


def test_late_requests_are_marked_late(signed_in, administrator, own):
    accounting_request_record(
        actor=administrator, patient=own.patient, requested_on=TODAY() - dt.timedelta(days=70)
    )
    page = signed_in(administrator).get("/privacy/")
    assert b"late" in page.content


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
def test_who_may_not_record_an_accounting_request(signed_in, request, role, own):
    response = signed_in(request.getfixturevalue(role)).post(
        "/privacy/accounting-requests/", {"mrn": own.patient.mrn, "requested_on": TODAY().isoformat()}
    )
    assert response.status_code == 403
    assert not AccountingRequest.objects.exists()


# --- Counseling notes ----------------------------------------------------------------------------------------------------


def test_the_author_writes_and_reads_their_counseling_notes(signed_in, clinician, own):
    client = signed_in(clinician)
    response = client.post(f"/patients/{own.patient.pk}/counseling-notes/", {"text": "Spoke about grief."})
    assert response.status_code == 302
    assert b"Spoke about grief." in client.get(f"/patients/{own.patient.pk}/counseling-notes/").content
    assert CounselingNote.objects.get().author == clinician


@pytest.mark.parametrize("who", ["supervisor", "care_team", "break_glass"])
def test_nobody_else_sees_a_counseling_note_on_the_page(signed_in, request, clinician, own, who):
    counseling_note_write(actor=clinician, case=own, text="Private words.")
    if who == "break_glass":
        user = UserFactory(roles=[Role.CLINICIAN])
        BreakGlassGrantFactory(user=user, patient=own.patient)
    elif who == "care_team":
        user = UserFactory(roles=[Role.CLINICIAN])
        own.care_team_members.create(user=user)
    else:
        user = request.getfixturevalue(who)
    page = signed_in(user).get(f"/patients/{own.patient.pk}/counseling-notes/")
    assert page.status_code == 200
    assert b"Private words." not in page.content


@pytest.mark.parametrize(("role", "expected"), [("front_desk", 403), ("administrator", 403)])
def test_roles_without_counseling_notes_are_refused(signed_in, request, own, role, expected):
    response = signed_in(request.getfixturevalue(role)).get(f"/patients/{own.patient.pk}/counseling-notes/")
    assert response.status_code == expected


def test_every_capability_has_words_for_its_refusal():
    from cases.web.access import CAPABILITY_WORDS
    from clinic.policy import Capability

    assert set(CAPABILITY_WORDS) == set(Capability)
