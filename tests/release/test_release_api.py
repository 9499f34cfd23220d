"""`POST patients/{id}/release/`: checked by the Part 2 rules, built, hashed, recorded, then sent."""

import datetime as dt
import hashlib
import json

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from cases.models import Disclosure
from cases.models.part2 import PART2_NOTICE
from cases.services.part2 import consent_revoke, counseling_note_write
from clinic.models import AuditEvent
from tests.factories import BreakGlassGrantFactory, CaseFactory, UserFactory, make_consent
from tests.release.conftest import NOTE_TEXT

pytestmark = pytest.mark.django_db


def url(patient) -> str:
    return f"/api/v1/patients/{patient.pk}/release/"


@pytest.fixture
def tpo(rich, clinician):
    """A TPO consent naming one provider, for all records."""
    return make_consent(
        patient=rich.patient,
        actor=clinician,
        kind="tpo",
        information=["all_records"],
        purposes=["treatment", "payment", "health_care_operations"],
        recipients=[{"name": "Dr. Lee, Lawrence Family Medicine", "covered_entity": True}],
        expires_on=None,
    )


def body(relied_on, **overrides):
    data = {
        "basis": "consent",
        "consent": str(relied_on.pk),
        "consent_recipient": str(relied_on.recipients.first().pk),
        "purpose": "treatment",
        "information": ["diagnoses", "medications", "visit_notes", "attendance"],
        "format": "fhir",
    }
    data.update(overrides)
    return data


def release(client, patient, data):
    return client.post(url(patient), data, format="json")


def test_a_clinician_releases_fhir_under_a_tpo_consent(as_user, rich, tpo):
    response = release(as_user("clinician"), rich.patient, body(tpo))

    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/fhir+json"
    Bundle.model_validate_json(response.content)
    disclosure = Disclosure.objects.get(pk=response["X-Disclosure-Id"])
    assert disclosure.document_sha256 == hashlib.sha256(response.content).hexdigest()
    assert disclosure.recipient_name == "Dr. Lee, Lawrence Family Medicine"
    assert disclosure.format == "fhir" and disclosure.basis == "consent" and disclosure.consent == tpo
    assert disclosure.notice == PART2_NOTICE
    assert sorted(disclosure.information) == ["attendance", "diagnoses", "medications", "visit_notes"]
    bundle = json.loads(response.content)
    assert {"Consent"} <= {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert AuditEvent.objects.filter(
        action="release", object_id=str(disclosure.pk), outcome="allowed"
    ).exists()


def test_a_printable_release_is_hashed_and_carries_the_notice(as_user, rich, tpo):
    response = release(as_user("supervisor"), rich.patient, body(tpo, format="printable"))

    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert PART2_NOTICE in html and NOTE_TEXT in html and "Dr. Lee, Lawrence Family Medicine" in html
    assert "Consent relied on" in html
    disclosure = Disclosure.objects.get(pk=response["X-Disclosure-Id"])
    assert disclosure.document_sha256 == hashlib.sha256(response.content).hexdigest()
    assert disclosure.format == "printable"


def test_the_disclosure_is_in_the_accounting_at_once(as_user, rich, tpo):
    response = release(as_user("clinician"), rich.patient, body(tpo))

    assert list(rich.patient.disclosures.values_list("pk", flat=True)) == [
        Disclosure.objects.get(pk=response["X-Disclosure-Id"]).pk
    ]


def test_a_revoked_consent_stops_the_next_release(as_user, rich, tpo, clinician):
    assert release(as_user("clinician"), rich.patient, body(tpo)).status_code == 201
    consent_revoke(actor=clinician, consent=tpo, revoked_on=timezone.localdate(), how="Letter")

    response = release(as_user("clinician"), rich.patient, body(tpo))

    assert response.status_code == 400
    assert "consent" in response.json()
    assert Disclosure.objects.count() == 1
    assert AuditEvent.objects.filter(action="release", outcome="denied", patient_id=rich.patient.pk).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"purpose": "legal"}, "purpose"),
        ({"consent_recipient": "00000000-0000-0000-0000-000000000000"}, "consent_recipient"),
        ({"consent": "00000000-0000-0000-0000-000000000000"}, "consent"),
        ({"consent": "not-an-id"}, "consent"),
        ({"format": "pdf"}, "format"),
        ({"basis": "whim"}, "basis"),
        ({"information": "diagnoses"}, "information"),
        ({"information": ["diagnoses", "gossip"]}, "information"),
        ({"basis": "medical_emergency", "consent": None}, "basis_reason"),
        ({"recipient_name": 12}, "recipient_name"),
    ],
)
def test_a_refused_release_names_the_field_and_records_nothing(as_user, rich, tpo, change, field):
    response = release(as_user("clinician"), rich.patient, body(tpo, **change))

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Disclosure.objects.exists()


def test_a_consent_that_does_not_cover_a_category_is_refused(as_user, rich, clinician):
    specific = make_consent(patient=rich.patient, actor=clinician, purposes=["care_coordination"])

    response = release(
        as_user("clinician"),
        rich.patient,
        body(
            specific,
            consent_recipient=str(specific.recipients.first().pk),
            purpose="care_coordination",
            information=["diagnoses", "visit_notes"],
        ),
    )

    assert response.status_code == 400
    assert "visit_notes" in response.json()["information"][0]


def test_an_expired_consent_is_refused(as_user, rich, clinician):
    old = make_consent(
        patient=rich.patient,
        actor=clinician,
        signed_on=timezone.localdate() - dt.timedelta(days=100),
        expires_on=timezone.localdate() - dt.timedelta(days=1),
    )

    response = release(
        as_user("clinician"),
        rich.patient,
        body(old, consent_recipient=str(old.recipients.first().pk), purpose="care_coordination",
             information=["diagnoses"]),
    )  # fmt: skip

    assert response.status_code == 400
    assert "consent" in response.json()


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
def test_roles_that_do_not_release_are_refused(as_user, rich, tpo, role):
    response = release(as_user(role), rich.patient, body(tpo))

    assert response.status_code == 403
    assert not Disclosure.objects.exists()


def test_no_credentials_is_401(as_user, rich, tpo):
    assert release(as_user("anonymous"), rich.patient, body(tpo)).status_code == 401


def test_a_patient_outside_the_caseload_is_404_whatever_the_body(as_user, other_case, rich, tpo):
    client = as_user("clinician")

    assert release(client, other_case.patient, body(tpo)).status_code == 404
    assert release(client, other_case.patient, {"nonsense": True}).status_code == 404
    assert AuditEvent.objects.filter(
        action="release",
        outcome="denied",
        patient_id=other_case.patient.pk,
        object_id=str(other_case.patient.pk),
    ).exists()


def test_a_release_under_break_glass_is_403(as_user, other_clinician, rich, tpo):
    BreakGlassGrantFactory(user=other_clinician, patient=rich.patient)

    response = release(as_user(other_clinician), rich.patient, body(tpo))

    assert response.status_code == 403
    assert not Disclosure.objects.exists()


def test_a_release_on_another_basis_needs_its_reason_and_names_the_recipient(as_user, rich):
    data = {
        "basis": "medical_emergency",
        "basis_reason": "Unresponsive in the emergency department; treating physician asks for medications.",
        "recipient_name": "Dr. Ortiz",
        "recipient_affiliation": "LMH Health emergency department",
        "purpose": "treatment",
        "information": ["medications", "diagnoses"],
        "format": "fhir",
    }

    response = release(as_user("clinician"), rich.patient, data)

    assert response.status_code == 201, response.content
    disclosure = Disclosure.objects.get(pk=response["X-Disclosure-Id"])
    assert disclosure.basis == "medical_emergency" and disclosure.recipient_name == "Dr. Ortiz"
    kinds = {e["resource"]["resourceType"] for e in json.loads(response.content)["entry"]}
    assert "Consent" not in kinds


def test_counseling_notes_go_alone_by_their_author_under_their_consent(as_user, rich, clinician, supervisor):
    note = counseling_note_write(actor=clinician, case=rich.current, text="Explored grief over her father.")
    counseling_note_write(actor=supervisor, case=rich.current, text="Supervisor's own session note.")
    consent = make_consent(
        patient=rich.patient,
        actor=clinician,
        kind="counseling_notes",
        information=["counseling_notes"],
        purposes=["treatment"],
    )
    data = body(
        consent,
        consent_recipient=str(consent.recipients.first().pk),
        information=["counseling_notes"],
    )

    response = release(as_user("clinician"), rich.patient, data)

    assert response.status_code == 201, response.content
    bundle = json.loads(response.content)
    documents = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"
    ]
    assert [d["id"] for d in documents] == [str(note.pk)]
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {
        "Patient",
        "DocumentReference",
        "Consent",
    }
    assert b"Supervisor's own session note" not in response.content
    disclosure = Disclosure.objects.get(pk=response["X-Disclosure-Id"])
    assert list(disclosure.counseling_notes.all()) == [note]


def test_someone_elses_counseling_note_is_never_released(as_user, rich, clinician, supervisor):
    note = counseling_note_write(actor=clinician, case=rich.current, text="Explored grief over her father.")
    consent = make_consent(
        patient=rich.patient, actor=clinician, kind="counseling_notes", information=["counseling_notes"],
        purposes=["treatment"],
    )  # fmt: skip
    data = body(
        consent,
        consent_recipient=str(consent.recipients.first().pk),
        information=["counseling_notes"],
        counseling_notes=[str(note.pk)],
    )

    response = release(as_user("supervisor"), rich.patient, data)

    assert response.status_code == 400
    assert "counseling_notes" in response.json()
    assert b"grief" not in response.content


def test_a_release_reads_a_bounded_number_of_queries(as_user, rich, tpo, django_assert_max_num_queries):
    client = as_user("clinician")
    data = body(tpo, information=["all_records"])
    with django_assert_max_num_queries(45):
        response = release(client, rich.patient, data)
    assert response.status_code == 201


def test_query_count_does_not_grow_with_the_record(as_user, rich, tpo, clinician):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import SignedVisitFactory

    client = as_user("clinician")
    data = body(tpo, information=["all_records"])
    assert (
        release(client, rich.patient, data).status_code == 201
    )  # the first request also reads the role groups
    with CaptureQueriesContext(connection) as before:
        assert release(client, rich.patient, data).status_code == 201
    for _ in range(5):
        SignedVisitFactory(case=rich.current, clinician=clinician, bp_systolic=120, bp_diastolic=80)
    with CaptureQueriesContext(connection) as after:
        assert release(client, rich.patient, data).status_code == 201
    assert len(after.captured_queries) == len(before.captured_queries)


def test_a_consent_of_another_patient_is_refused(as_user, rich, clinician, tpo):
    other = CaseFactory(primary_clinician=clinician).patient
    response = release(as_user("clinician"), other, body(tpo))

    assert response.status_code == 400
    assert "consent" in response.json()


def test_the_author_role_of_an_unrelated_user_cannot_release(as_user, rich, tpo):
    stranger = UserFactory(roles=[])
    assert release(as_user(stranger), rich.patient, body(tpo)).status_code == 403


def test_counseling_notes_are_refused_under_a_tpo_consent(as_user, rich, tpo, clinician):
    counseling_note_write(actor=clinician, case=rich.current, text="Explored grief over her father.")

    response = release(as_user("clinician"), rich.patient, body(tpo, information=["counseling_notes"]))

    assert response.status_code == 400
    assert "information" in response.json()
    assert not Disclosure.objects.exists()


def test_counseling_notes_are_never_mixed_with_other_records(as_user, rich, clinician):
    counseling_note_write(actor=clinician, case=rich.current, text="Explored grief over her father.")
    consent = make_consent(
        patient=rich.patient, actor=clinician, kind="counseling_notes", information=["counseling_notes"],
        purposes=["treatment"],
    )  # fmt: skip

    response = release(
        as_user("clinician"), rich.patient, body(consent, information=["counseling_notes", "diagnoses"])
    )

    assert response.status_code == 400
    assert "information" in response.json()


@pytest.mark.parametrize(("role", "status"), [("clinician", 200), ("supervisor", 200), ("front_desk", 403)])
def test_options_describes_the_release_and_records_nothing(as_user, rich, tpo, role, status):
    """OPTIONS once answered 500 (found by `make fuzz`): the view had no serializer for DRF's metadata."""
    releases = Disclosure.objects.count()

    response = as_user(role).options(url(rich.patient))

    assert response.status_code == status
    assert Disclosure.objects.count() == releases
