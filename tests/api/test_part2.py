"""42 CFR Part 2 over the API: consents (elements, scan upload and download, revocation), the disclosure ledger,
the accounting of disclosures and its requests, SUD counseling notes. Every endpoint is also tried by the roles
and for the patients that must be refused."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases.models import AccountingRequest, Consent, CounselingNote, Disclosure
from cases.models.part2 import PART2_NOTICE
from cases.services.part2 import consent_attach_document, counseling_note_write, disclosure_record
from clinic.models import AuditEvent
from clinic.roles import Role
from tests.api.conftest import AUDIT_APPEND_QUERIES
from tests.factories import BreakGlassGrantFactory, UserFactory, consent_data, make_consent

# The users and the clinic are built once for this module (tests/conftest.py): every test sees them.
pytestmark = pytest.mark.rows_built_once()

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TODAY = timezone.localdate


def body(patient, **overrides) -> dict[str, object]:
    data = consent_data(**overrides)
    data = {key: value.isoformat() if isinstance(value, dt.date) else value for key, value in data.items()}
    return {"patient": str(patient.pk), **data}


@pytest.fixture
def own_consent(clinic, front_desk):
    return make_consent(actor=front_desk, patient=clinic.own_patient)


@pytest.fixture
def other_consent(clinic, front_desk):
    return make_consent(actor=front_desk, patient=clinic.other_patient)


def release_body(relied_on, **overrides) -> dict[str, object]:
    consent = relied_on
    data: dict[str, object] = {
        "patient": str(consent.patient_id),
        "basis": "consent",
        "consent": str(consent.pk),
        "consent_recipient": str(consent.recipients.first().pk),
        "purpose": "care_coordination",
        "information": ["diagnoses"],
        "channel": "fax",
        "notice": PART2_NOTICE,
    }
    data.update(overrides)
    return data


# --- Consents ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "patient", "expected"),
    [
        ("front_desk", "other_patient", 201),
        ("clinician", "own_patient", 201),
        ("clinician", "other_patient", 400),  # outside the caseload: "does not exist", like a wrong id
        ("supervisor", "other_patient", 201),
        ("administrator", "own_patient", 403),
        ("anonymous", "own_patient", 401),
    ],
)
def test_who_records_a_consent(as_user, clinic, role, patient, expected):
    response = as_user(role).post("/api/v1/consents/", body(getattr(clinic, patient)), format="json")
    assert response.status_code == expected, response.content
    if expected == 201:
        assert response.json()["status"] == "active"
        assert response.json()["recipients"][0]["name"].startswith("Dr. Ada")
        assert AuditEvent.objects.filter(action="create", object_type="consent").count() == 1
    else:
        assert not Consent.objects.exists()


def test_a_missing_element_is_a_400_naming_it(as_user, clinic):
    data = body(clinic.own_patient)
    del data["form_version"]
    response = as_user("clinician").post("/api/v1/consents/", data, format="json")
    assert response.status_code == 400
    assert "form_version" in response.json()


def test_an_unknown_category_is_a_400_naming_information(as_user, clinic):
    response = as_user("front_desk").post(
        "/api/v1/consents/", body(clinic.own_patient, information=["x"]), format="json"
    )
    assert response.status_code == 400
    assert "information" in response.json()


@pytest.mark.parametrize(
    ("role", "which", "expected"),
    [
        ("front_desk", "other_consent", 200),
        ("clinician", "own_consent", 200),
        ("clinician", "other_consent", 404),
        ("supervisor", "other_consent", 200),
        ("administrator", "other_consent", 200),
        ("anonymous", "own_consent", 401),
    ],
)
def test_who_reads_a_consent(as_user, request, role, which, expected):
    consent = request.getfixturevalue(which)
    response = as_user(role).get(f"/api/v1/consents/{consent.pk}/")
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["id"] == str(consent.pk)
        assert AuditEvent.objects.filter(action="view", object_type="consent", outcome="allowed").exists()
    if expected == 404:
        assert AuditEvent.objects.filter(object_type="consent", outcome="denied").exists()


def test_the_consent_list_is_scoped_and_bounded(
    as_user, own_consent, other_consent, django_assert_max_num_queries
):
    client = as_user("clinician")
    with django_assert_max_num_queries(8 + AUDIT_APPEND_QUERIES):
        response = client.get("/api/v1/consents/")
    assert [row["id"] for row in response.json()["results"]] == [str(own_consent.pk)]


def test_administrators_read_consent_metadata_for_any_patient_but_not_the_scan(
    as_user, other_consent, front_desk
):
    consent_attach_document(actor=front_desk, consent=other_consent, upload=SimpleUploadedFile("f.pdf", PDF))
    client = as_user("administrator")
    shown = client.get(f"/api/v1/consents/?patient={other_consent.patient_id}").json()["results"][0]
    assert shown["document"] is None
    assert shown["document_on_file"] is True
    assert client.get(f"/api/v1/consents/{other_consent.pk}/document/").status_code == 403


# --- The scan -----------------------------------------------------------------------------------------------------


def upload(client, consent, name, content, content_type="application/pdf"):
    return client.post(
        f"/api/v1/consents/{consent.pk}/document/",
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
        format="multipart",
    )


def test_a_scan_is_uploaded_and_read_back_only_by_those_who_may(as_user, own_consent):
    response = upload(as_user("clinician"), own_consent, "signed form.pdf", PDF)
    assert response.status_code == 200, response.content
    assert response.json()["document"].endswith(f"/api/v1/consents/{own_consent.pk}/document/")
    assert response.json()["document_content_type"] == "application/pdf"
    download = as_user("clinician").get(
        f"/api/v1/consents/{own_consent.pk}/document/", HTTP_ACCEPT="application/pdf"
    )
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]
    assert AuditEvent.objects.filter(object_type="consent", action="view", detail__document=True).exists()
    other = UserFactory(roles=[Role.CLINICIAN])
    assert as_user(other).get(f"/api/v1/consents/{own_consent.pk}/document/").status_code == 404
    Consent.objects.get(pk=own_consent.pk).document.delete(save=False)


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("form.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),  # type told by content
        ("form.exe", b"MZ\x90\x00" + b"\x00" * 100, "application/pdf"),
        ("form.gif", b"GIF89a" + b"\x00" * 50, "image/gif"),
    ],
)
def test_a_scan_of_the_wrong_type_is_refused(as_user, own_consent, name, content, content_type):
    response = upload(as_user("clinician"), own_consent, name, content, content_type)
    assert response.status_code == 400
    assert "file" in response.json()


def test_a_scan_over_10_mb_is_refused(as_user, own_consent, settings):
    big = PDF + b"0" * (10 * 1024 * 1024)
    response = upload(as_user("clinician"), own_consent, "big.pdf", big)
    assert response.status_code in (400, 413)
    assert not Consent.objects.get(pk=own_consent.pk).document


def test_a_path_in_the_file_name_goes_nowhere(as_user, own_consent):
    response = upload(as_user("front_desk"), own_consent, "../../../etc/cron.d/x.png", PNG, "image/png")
    assert response.status_code == 200, response.content
    stored = Consent.objects.get(pk=own_consent.pk)
    assert stored.document.name.startswith(f"consents/{own_consent.pk}/")
    assert ".." not in stored.document.name
    assert "/" not in stored.document_name
    stored.document.delete(save=False)


@pytest.mark.parametrize(("role", "expected"), [("administrator", 403), ("anonymous", 401)])
def test_roles_that_do_not_record_consents_cannot_upload(as_user, own_consent, role, expected):
    assert upload(as_user(role), own_consent, "f.pdf", PDF).status_code == expected


def test_a_clinician_cannot_upload_to_another_caseloads_consent(as_user, other_consent):
    assert upload(as_user("clinician"), other_consent, "f.pdf", PDF).status_code == 404


# --- Revocation ---------------------------------------------------------------------------------------------------


def test_a_consent_is_revoked_for_one_recipient_then_all(as_user, own_consent):
    first = own_consent.recipients.first()
    client = as_user("front_desk")
    url = f"/api/v1/consents/{own_consent.pk}/revoke/"
    response = client.post(
        url, {"revoked_on": TODAY().isoformat(), "how": "Letter", "recipient": str(first.pk)}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "active"
    response = client.post(url, {"revoked_on": TODAY().isoformat(), "how": "Letter"}, format="json")
    assert response.json()["status"] == "revoked"
    assert response.json()["revoked_on"] == TODAY().isoformat()
    assert AuditEvent.objects.filter(action="revoke").count() == 2
    again = client.post(url, {"revoked_on": TODAY().isoformat(), "how": "Letter"}, format="json")
    assert again.status_code == 400
    assert "recipient" in again.json()


@pytest.mark.parametrize(
    ("role", "which", "expected"),
    [
        ("administrator", "own_consent", 403),
        ("clinician", "other_consent", 404),
        ("anonymous", "own_consent", 401),
    ],
)
def test_who_may_not_revoke(as_user, request, role, which, expected):
    consent = request.getfixturevalue(which)
    response = as_user(role).post(
        f"/api/v1/consents/{consent.pk}/revoke/",
        {"revoked_on": TODAY().isoformat(), "how": "x"},
        format="json",
    )
    assert response.status_code == expected
    assert Consent.objects.get(pk=consent.pk).revoked_on is None


def test_a_revocation_dated_in_the_future_is_refused(as_user, own_consent):
    response = as_user("clinician").post(
        f"/api/v1/consents/{own_consent.pk}/revoke/",
        {"revoked_on": (TODAY() + dt.timedelta(days=1)).isoformat(), "how": "Letter"},
        format="json",
    )
    assert response.status_code == 400
    assert "revoked_on" in response.json()


def test_an_expiry_event_is_recorded(as_user, clinic, front_desk):
    consent = make_consent(
        actor=front_desk, patient=clinic.own_patient, expires_on=None, expiration_event="Discharge"
    )
    response = as_user("clinician").post(
        f"/api/v1/consents/{consent.pk}/expiry-event/", {"expired_on": TODAY().isoformat()}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "expired"


# --- Disclosures --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "which", "expected"),
    [
        ("clinician", "own_consent", 201),
        ("supervisor", "other_consent", 201),
        ("clinician", "other_consent", 400),  # the patient is outside the caseload: "does not exist"
        ("front_desk", "own_consent", 403),
        ("administrator", "own_consent", 403),
        ("anonymous", "own_consent", 401),
    ],
)
def test_who_records_a_manual_disclosure(as_user, request, role, which, expected):
    consent = request.getfixturevalue(which)
    response = as_user(role).post("/api/v1/disclosures/", release_body(consent), format="json")
    assert response.status_code == expected, response.content
    assert Disclosure.objects.count() == (1 if expected == 201 else 0)
    if expected == 201:
        assert response.json()["basis"] == "consent"
        assert AuditEvent.objects.filter(action="release", object_id=response.json()["id"]).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"purpose": "payment"}, "purpose"),
        ({"information": ["visit_notes"]}, "information"),
        ({"consent_recipient": None}, "consent_recipient"),
        ({"notice": ""}, "notice"),
        ({"information": ["counseling_notes"]}, "information"),
    ],
)
def test_a_release_the_consent_does_not_cover_is_a_400_naming_the_element(
    as_user, own_consent, change, field
):
    response = as_user("clinician").post(
        "/api/v1/disclosures/", release_body(own_consent, **change), format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not Disclosure.objects.exists()


def test_a_release_after_revocation_is_refused(as_user, own_consent):
    as_user("front_desk").post(
        f"/api/v1/consents/{own_consent.pk}/revoke/",
        {"revoked_on": TODAY().isoformat(), "how": "Letter"},
        format="json",
    )
    response = as_user("clinician").post("/api/v1/disclosures/", release_body(own_consent), format="json")
    assert response.status_code == 400
    assert "consent" in response.json()


def test_another_patients_consent_is_not_relied_on(as_user, own_consent, other_consent):
    body = release_body(own_consent, consent=str(other_consent.pk))
    response = as_user("supervisor").post("/api/v1/disclosures/", body, format="json")
    assert response.status_code == 400
    assert "consent" in response.json()


def test_a_release_under_break_glass_is_a_403(as_user, other_consent, clinician):
    BreakGlassGrantFactory(user=clinician, patient=other_consent.patient)
    response = as_user("clinician").post("/api/v1/disclosures/", release_body(other_consent), format="json")
    assert response.status_code == 403
    assert not Disclosure.objects.exists()


def test_an_emergency_release_needs_its_nature_and_is_flagged(as_user, clinic):
    data = {
        "patient": str(clinic.own_patient.pk),
        "basis": "medical_emergency",
        "purpose": "treatment",
        "information": ["medications"],
        "channel": "phone",
        "recipient_name": "Dr. On Call",
        "recipient_affiliation": "LMH Emergency Department",
    }
    client = as_user("clinician")
    refused = client.post("/api/v1/disclosures/", data, format="json")
    assert refused.status_code == 400
    assert "basis_reason" in refused.json()
    done = client.post(
        "/api/v1/disclosures/", {**data, "basis_reason": "Unresponsive; overdose suspected"}, format="json"
    )
    assert done.status_code == 201
    assert done.json()["needs_privacy_review"] is True
    flagged = as_user("administrator").get("/api/v1/disclosures/?needs_privacy_review=true").json()["results"]
    assert [row["id"] for row in flagged] == [done.json()["id"]]
    assert flagged[0]["basis_reason"] is None  # the emergency's nature is clinical content


@pytest.mark.parametrize(
    ("role", "expected_ids"),
    [
        ("clinician", "own"),
        ("supervisor", "both"),
        ("administrator", "both"),
        ("front_desk", 403),
        ("anonymous", 401),
    ],
)
def test_who_reads_the_ledger(as_user, own_consent, other_consent, clinician, supervisor, role, expected_ids):
    own = disclosure_record(
        clinician, patient=own_consent.patient, basis="consent", consent=own_consent,
        recipient=own_consent.recipients.first(), purpose="legal", categories=["diagnoses"], channel="mail",
        notice=PART2_NOTICE,
    )  # fmt: skip
    other = disclosure_record(
        supervisor, patient=other_consent.patient, basis="consent", consent=other_consent,
        recipient=other_consent.recipients.first(), purpose="legal", categories=["diagnoses"], channel="mail",
        notice=PART2_NOTICE,
    )  # fmt: skip
    response = as_user(role).get("/api/v1/disclosures/")
    if isinstance(expected_ids, int):
        assert response.status_code == expected_ids
        return
    shown = {row["id"] for row in response.json()["results"]}
    assert shown == ({str(own.pk)} if expected_ids == "own" else {str(own.pk), str(other.pk)})
    if role == "clinician":
        assert as_user(role).get(f"/api/v1/disclosures/{other.pk}/").status_code == 404


# --- Accounting of disclosures ------------------------------------------------------------------------------------


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def test_the_accounting_covers_exactly_six_years(as_user, clinic, supervisor):
    patient = clinic.own_patient
    today = TODAY()
    start = (
        today.replace(year=today.year - 6)
        if not (today.month == 2 and today.day == 29)
        else today.replace(year=today.year - 6, day=28)
    )
    common = {
        "patient": patient, "basis": "court_order", "consent": None, "recipient": None, "purpose": "legal",
        "categories": ["attendance"], "channel": "mail", "notice": "", "recipient_name": "District Court",
        "basis_reason": "Order 24-CV-1",
    }  # fmt: skip
    # Dated in the past: written straight to the ledger as a migration of paper records would be.
    inside = Disclosure.objects.create(
        patient=patient, disclosed_at=_at(start, 0) + dt.timedelta(minutes=1), recipient_name="District Court",
        information=["attendance"], purpose="legal", basis="court_order", basis_reason="Order 1", released_by=supervisor,
    )  # fmt: skip
    outside = Disclosure.objects.create(
        patient=patient, disclosed_at=_at(start - dt.timedelta(days=1), 23), recipient_name="District Court",
        information=["attendance"], purpose="legal", basis="court_order", basis_reason="Order 0", released_by=supervisor,
    )  # fmt: skip
    recent = disclosure_record(supervisor, **common)
    client = as_user("administrator")
    rows = client.get(f"/api/v1/patients/{patient.pk}/disclosures/").json()["results"]
    assert [row["id"] for row in rows] == [str(recent.pk), str(inside.pk)]
    assert str(outside.pk) not in {row["id"] for row in rows}
    assert AuditEvent.objects.filter(action="list", object_type="disclosure", patient_id=patient.pk).exists()
    csv = client.get(f"/api/v1/patients/{patient.pk}/disclosures/?format=csv")
    assert csv.status_code == 200
    text = b"".join(csv.streaming_content).decode()
    assert text.splitlines()[0].startswith("disclosed_at,recipient_name")
    assert len(text.strip().splitlines()) == 3
    assert AuditEvent.objects.filter(
        action="export", object_type="disclosure", patient_id=patient.pk
    ).exists()


@pytest.mark.parametrize(
    ("role", "patient", "expected"),
    [
        ("clinician", "own_patient", 200),
        ("clinician", "other_patient", 404),
        ("front_desk", "own_patient", 403),
        ("administrator", "other_patient", 200),
        ("anonymous", "own_patient", 401),
    ],
)
def test_who_reads_an_accounting(as_user, clinic, role, patient, expected):
    target = getattr(clinic, patient)
    assert as_user(role).get(f"/api/v1/patients/{target.pk}/disclosures/").status_code == expected


def test_accounting_requests_are_due_in_60_days_with_one_extension(as_user, clinic):
    client = as_user("administrator")
    received = TODAY() - dt.timedelta(days=5)
    response = client.post(
        "/api/v1/accounting-requests/",
        {"patient": str(clinic.other_patient.pk), "requested_on": received.isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.content
    request_id = response.json()["id"]
    assert response.json()["due_on"] == (received + dt.timedelta(days=60)).isoformat()
    extended = client.post(
        f"/api/v1/accounting-requests/{request_id}/extend/", {"reason": "Paper archive"}, format="json"
    )
    assert extended.json()["effective_due_on"] == (received + dt.timedelta(days=90)).isoformat()
    twice = client.post(
        f"/api/v1/accounting-requests/{request_id}/extend/", {"reason": "Again"}, format="json"
    )
    assert twice.status_code == 400
    assert [
        row["id"] for row in client.get("/api/v1/accounting-requests/?status=open").json()["results"]
    ] == [request_id]
    assert client.get("/api/v1/accounting-requests/?status=late").json()["results"] == []
    done = client.post(f"/api/v1/accounting-requests/{request_id}/fulfil/", {}, format="json")
    assert done.json()["status"] == "fulfilled"


def test_the_privacy_officer_sees_late_requests(as_user, clinic, administrator):
    from cases.services.part2 import accounting_request_record

    late = accounting_request_record(
        actor=administrator, patient=clinic.own_patient, requested_on=TODAY() - dt.timedelta(days=61)
    )
    rows = as_user("administrator").get("/api/v1/accounting-requests/?status=late").json()["results"]
    assert [row["id"] for row in rows] == [str(late.pk)]
    assert rows[0]["status"] == "late"


@pytest.mark.parametrize(("role", "expected"), [("clinician", 403), ("front_desk", 403), ("anonymous", 401)])
def test_who_may_not_handle_accounting_requests(as_user, clinic, role, expected):
    client = as_user(role)
    assert client.get("/api/v1/accounting-requests/").status_code == expected
    response = client.post(
        "/api/v1/accounting-requests/",
        {"patient": str(clinic.own_patient.pk), "requested_on": TODAY().isoformat()},
        format="json",
    )
    assert response.status_code == expected
    assert not AccountingRequest.objects.exists()


# --- SUD counseling notes -----------------------------------------------------------------------------------------


@pytest.fixture
def note(clinic, clinician):
    return counseling_note_write(
        actor=clinician, case=clinic.own_case, text="Grief over her brother; ambivalence."
    )


def test_the_author_writes_lists_and_reads_a_counseling_note(as_user, clinic):
    client = as_user("clinician")
    created = client.post(
        "/api/v1/counseling-notes/",
        {"case": str(clinic.own_case.pk), "text": "Session 3 notes"},
        format="json",
    )
    assert created.status_code == 201, created.content
    note_id = created.json()["id"]
    assert [row["id"] for row in client.get("/api/v1/counseling-notes/").json()["results"]] == [note_id]
    assert client.get(f"/api/v1/counseling-notes/{note_id}/").json()["text"] == "Session 3 notes"
    assert AuditEvent.objects.filter(object_type="counseling_note", action="view", object_id=note_id).exists()


@pytest.mark.parametrize(
    "who", ["supervisor", "front_desk", "administrator", "other_clinician", "break_glass", "care_team"]
)
def test_nobody_but_the_author_reads_a_counseling_note(as_user, note, clinic, request, who):
    if who == "break_glass":
        user = UserFactory(roles=[Role.CLINICIAN])
        BreakGlassGrantFactory(user=user, patient=clinic.own_patient)
    elif who == "care_team":
        user = UserFactory(roles=[Role.CLINICIAN])
        clinic.own_case.care_team_members.create(user=user)
    else:
        user = request.getfixturevalue(who)
    client = as_user(user)
    assert client.get(f"/api/v1/counseling-notes/{note.pk}/").status_code == 404
    listed = client.get(f"/api/v1/counseling-notes/?patient={clinic.own_patient.pk}")
    assert listed.status_code == 200
    assert listed.json()["results"] == []
    assert AuditEvent.objects.filter(
        object_type="counseling_note", object_id=str(note.pk), outcome="denied"
    ).exists()


@pytest.mark.parametrize(
    ("role", "case", "expected"),
    [
        ("clinician", "other_case", 400),
        ("front_desk", "own_case", 403),
        ("administrator", "own_case", 403),
        ("anonymous", "own_case", 401),
    ],
)
def test_who_may_not_write_a_counseling_note(as_user, clinic, role, case, expected):
    response = as_user(role).post(
        "/api/v1/counseling-notes/", {"case": str(getattr(clinic, case).pk), "text": "x"}, format="json"
    )
    assert response.status_code == expected
    assert not CounselingNote.objects.exists()


def test_counseling_notes_are_released_by_their_author_alone(as_user, clinic, note, front_desk, supervisor):
    consent = make_consent(
        actor=front_desk, patient=clinic.own_patient, kind="counseling_notes", information=["counseling_notes"],
        purposes=["treatment"],
    )  # fmt: skip
    data = release_body(
        consent, purpose="treatment", information=["counseling_notes"], counseling_notes=[str(note.pk)]
    )
    refused = as_user(supervisor).post("/api/v1/disclosures/", data, format="json")
    assert refused.status_code == 400
    assert "counseling_notes" in refused.json()
    done = as_user("clinician").post("/api/v1/disclosures/", data, format="json")
    assert done.status_code == 201, done.content
    assert done.json()["counseling_notes"] == [str(note.pk)]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_a_time_out_of_any_range_is_a_400_not_a_500(as_user, own_consent, clinic, moment):
    client = as_user("clinician")
    released = client.post(
        "/api/v1/disclosures/", release_body(own_consent, disclosed_at=moment), format="json"
    )
    assert released.status_code == 400
    assert "disclosed_at" in released.json()
    note = client.post(
        "/api/v1/counseling-notes/",
        {"case": str(clinic.own_case.pk), "text": "x", "written_at": moment},
        format="json",
    )
    assert note.status_code == 400
    assert "written_at" in note.json()
