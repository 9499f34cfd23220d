"""Reads and refusals in the API are audited (SPEC section 7): one event per request, naming who, what, which
patient(s), the data category and the outcome; writes are audited by the services (one event, no extra read)."""

import uuid
from unittest import mock

import pytest
from django.db import DatabaseError
from django.db.models import Max

from clinic.audit import seal_pending, verify_trail
from clinic.models import AuditEvent
from tests.api.conftest import Clinic, ClinicalRecords

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
CLINICAL = ("assessments", "goals", "medications", "drug-screens", "liver-panels", "alerts")
# resource -> (object type, data category for a clinician on their caseload); the object types are those the
# services write for the same records, so that one filter finds the reads and the writes.
RESOURCES = {
    "patients": ("patient", "demographics"),
    "cases": ("case", "case"),
    "visits": ("visit", "clinical_note"),
    "assessments": ("assessment", "assessment"),
    "goals": ("treatmentgoal", "plan"),
    "medications": ("medication", "medication"),
    "drug-screens": ("drugscreen", "lab"),
    "liver-panels": ("liverpanel", "lab"),
    "alerts": ("alert", "alert"),
}
FILTERED_BY_PATIENT = [name for name in RESOURCES if name != "patients"]


def own_record(resource: str, clinic: Clinic, records: ClinicalRecords):
    if resource == "patients":
        return clinic.own_patient
    if resource == "cases":
        return clinic.own_case
    if resource == "visits":
        return clinic.own_visit
    return records.own[resource]


def other_record(resource: str, clinic: Clinic, records: ClinicalRecords):
    if resource == "patients":
        return clinic.other_patient
    if resource == "cases":
        return clinic.other_case
    if resource == "visits":
        return clinic.other_visit
    return records.other[resource]


def last_sequence() -> int:
    return AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0


def events_after(sequence: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=sequence).order_by("id"))


@pytest.fixture
def request_events():
    """`request_events(send)`: the response of `send()` and the audit events it wrote."""

    def run(send):
        before = last_sequence()
        response = send()
        return response, events_after(before)

    return run


# --- Reads ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCES)
def test_each_list_writes_one_event_naming_the_patients_on_the_page(
    as_user, clinic, records, clinician, request_events, resource
):
    client = as_user("clinician")

    response, events = request_events(lambda: client.get(f"{V1}/{resource}/"))

    assert response.status_code == 200
    object_type, category = RESOURCES[resource]
    [event] = events
    assert (event.action, event.object_type, event.object_id, event.outcome) == (
        "list",
        object_type,
        "",
        "allowed",
    )
    assert (event.user_id, event.username, event.roles) == (clinician.pk, "clinician", ["clinician"])
    assert event.patients_seen.split() == [str(clinic.own_patient.pk)]
    assert (event.patient_id, event.data_category) == (None, category)
    assert event.request_id == response["X-Request-ID"]


@pytest.mark.parametrize("resource", RESOURCES)
def test_each_detail_writes_one_view_event_naming_the_record_and_its_patient(
    as_user, clinic, records, request_events, resource
):
    record = own_record(resource, clinic, records)
    client = as_user("clinician")

    response, events = request_events(lambda: client.get(f"{V1}/{resource}/{record.pk}/"))

    assert response.status_code == 200
    object_type, category = RESOURCES[resource]
    [event] = events
    assert (event.action, event.object_type, event.object_id, event.outcome) == (
        "view",
        object_type,
        str(record.pk),
        "allowed",
    )
    assert (event.patient_id, event.data_category, event.patients_seen) == (
        clinic.own_patient.pk,
        category,
        "",
    )


@pytest.mark.parametrize(
    ("resource", "narrowed_by"),
    [(resource, "patient") for resource in FILTERED_BY_PATIENT]
    + [(resource, "case") for resource in FILTERED_BY_PATIENT if resource != "cases"],
)
def test_a_list_narrowed_to_one_patient_or_case_names_that_patient(
    as_user, clinic, records, request_events, resource, narrowed_by
):
    value = clinic.own_patient.pk if narrowed_by == "patient" else clinic.own_case.pk
    client = as_user("supervisor")

    response, [event] = request_events(lambda: client.get(f"{V1}/{resource}/", {narrowed_by: value}))

    assert response.status_code == 200
    assert (event.action, event.patient_id) == ("list", clinic.own_patient.pk)
    assert event.detail == {"query": {narrowed_by: str(value)}}


def test_a_list_records_every_patient_on_its_page_once_and_the_query(as_user, clinic, request_events):
    response, [event] = request_events(
        lambda: as_user("supervisor").get(f"{V1}/visits/", {"status": "attended", "page_size": 10})
    )

    assert response.status_code == 200
    assert sorted(event.patients_seen.split()) == sorted(
        [str(clinic.own_patient.pk), str(clinic.other_patient.pk)]
    )
    assert event.detail == {"query": {"page_size": "10", "status": "attended"}}


def test_front_desk_reading_visits_touches_the_schedule_not_the_note(as_user, clinic, request_events):
    client = as_user("front_desk")

    _, [listed] = request_events(lambda: client.get(f"{V1}/visits/"))
    _, [viewed] = request_events(lambda: client.get(f"{V1}/visits/{clinic.own_visit.pk}/"))

    assert (listed.data_category, viewed.data_category) == ("visit_schedule", "visit_schedule")
    assert len(listed.patients_seen.split()) == 2


def test_an_empty_page_is_still_one_list_event(as_user, request_events, clinician):
    response, [event] = request_events(lambda: as_user("clinician").get(f"{V1}/patients/"))

    assert response.json()["results"] == []
    assert (event.action, event.patients_seen) == ("list", "")


def test_a_write_is_audited_once_by_its_service_without_a_read_event(as_user, clinic, request_events):
    response, events = request_events(
        lambda: as_user("clinician").patch(
            f"{V1}/patients/{clinic.own_patient.pk}/", {"phone": "785-555-0100"}, format="json"
        )
    )

    assert response.status_code == 200
    assert [(event.action, event.object_type) for event in events] == [("update", "patient")]


def test_a_write_refused_as_invalid_writes_nothing(as_user, clinic, request_events):
    response, events = request_events(
        lambda: as_user("clinician").post(
            f"{V1}/cases/{clinic.own_case.pk}/transition/", {"to_stage": "nowhere"}, format="json"
        )
    )

    assert response.status_code == 400
    assert events == []


def test_possible_duplicates_shown_at_registration_are_a_list_of_their_demographics(
    as_user, clinic, request_events
):
    patient = clinic.unassigned_patient
    body = {
        "first_name": "Someone",
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex_at_birth": "female",
    }

    response, [event] = request_events(
        lambda: as_user("front_desk").post(f"{V1}/patients/", body, format="json")
    )

    assert response.status_code == 409
    assert (event.action, event.object_type, event.data_category) == ("list", "patient", "demographics")
    assert event.patients_seen.split() == [str(patient.pk)]
    assert event.detail == {"possible_duplicates": True}


def test_a_read_that_cannot_be_audited_is_not_served(as_user, clinic):
    client = as_user("clinician")

    with (
        mock.patch("api.audit.audit_record", side_effect=DatabaseError("audit down")),
        pytest.raises(DatabaseError),
    ):
        client.get(f"{V1}/patients/{clinic.own_patient.pk}/")


# --- Refusals -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_clinicians_404_on_another_clinicians_record_writes_a_denied_event(
    as_user, clinic, records, request_events, resource
):
    record = other_record(resource, clinic, records)

    response, [event] = request_events(lambda: as_user("clinician").get(f"{V1}/{resource}/{record.pk}/"))

    assert response.status_code == 404
    assert (event.action, event.object_type, event.object_id, event.outcome) == (
        "view",
        RESOURCES[resource][0],
        str(record.pk),
        "denied",
    )
    assert event.patient_id == clinic.other_patient.pk
    assert event.detail == {"status": 404, "method": "GET", "path": f"{V1}/{resource}/{record.pk}/"}


@pytest.mark.parametrize(
    ("method", "path", "body", "action"),
    [
        ("patch", "visits/{visit}/", {"craving": 2}, "update"),
        ("post", "visits/{visit}/sign/", None, "sign"),
        ("post", "visits/{visit}/addenda/", {"text": "Late entry."}, "addendum"),
        ("post", "cases/{case}/transition/", {"to_stage": "assessment"}, "transition"),
        ("patch", "patients/{patient}/", {"phone": "785-555-0101"}, "update"),
    ],
)
def test_a_write_on_a_record_out_of_reach_is_a_denied_event_for_the_attempted_action(
    as_user, clinic, request_events, method, path, body, action
):
    url = f"{V1}/" + path.format(
        visit=clinic.other_visit.pk, case=clinic.other_case.pk, patient=clinic.other_patient.pk
    )

    response, [event] = request_events(
        lambda: getattr(as_user("clinician"), method)(url, body, format="json")
    )

    assert response.status_code == 404
    assert (event.action, event.outcome, event.patient_id) == (action, "denied", clinic.other_patient.pk)


def test_an_id_that_does_not_exist_is_denied_with_the_id_and_no_patient(as_user, request_events):
    missing = uuid.uuid4()

    response, [event] = request_events(lambda: as_user("supervisor").get(f"{V1}/cases/{missing}/"))

    assert response.status_code == 404
    assert (event.action, event.object_id, event.patient_id, event.outcome) == (
        "view",
        str(missing),
        None,
        "denied",
    )


@pytest.mark.parametrize("bad_id", ["12345", "x" * 300, "a\u0000b"])
def test_a_malformed_id_is_denied_and_kept_as_printable_text(as_user, request_events, bad_id):
    response, [event] = request_events(lambda: as_user("supervisor").get(f"{V1}/visits/{bad_id}/"))

    assert response.status_code == 404
    assert event.outcome == "denied"
    assert event.object_id == bad_id.replace("\u0000", "")[:64]


def test_front_desk_changing_a_stage_is_a_403_and_a_denied_transition(as_user, clinic, request_events):
    url = f"{V1}/cases/{clinic.own_case.pk}/transition/"

    response, [event] = request_events(lambda: as_user("front_desk").post(url, {"to_stage": "assessment"}))

    assert response.status_code == 403
    assert (event.action, event.object_type, event.object_id, event.outcome) == (
        "transition",
        "case",
        str(clinic.own_case.pk),
        "denied",
    )
    assert (event.username, event.patient_id, event.detail["status"]) == (
        "frontdesk",
        clinic.own_patient.pk,
        403,
    )


@pytest.mark.parametrize(
    ("role", "resource"),
    [("administrator", "patients"), ("front_desk", "assessments"), ("front_desk", "alerts")],
)
def test_a_role_without_the_capability_listing_is_a_denied_list(
    as_user, records, request_events, role, resource
):
    response, [event] = request_events(lambda: as_user(role).get(f"{V1}/{resource}/"))

    assert response.status_code == 403
    assert (event.action, event.object_type, event.outcome, event.patients_seen) == (
        "list",
        RESOURCES[resource][0],
        "denied",
        "",
    )


def test_a_clinician_setting_assignments_is_a_denied_update(as_user, clinic, clinician, request_events):
    url = f"{V1}/cases/{clinic.own_case.pk}/"

    response, [event] = request_events(
        lambda: as_user("clinician").patch(url, {"primary_clinician": str(clinician.pk)}, format="json")
    )

    assert response.status_code == 403
    assert (event.action, event.outcome, event.patient_id) == ("update", "denied", clinic.own_patient.pk)


def test_a_request_without_credentials_writes_nothing(api, clinic, request_events):
    response, events = request_events(lambda: api.get(f"{V1}/patients/{clinic.own_patient.pk}/"))

    assert response.status_code == 401
    assert events == []


def test_a_page_past_the_end_is_not_a_denial(as_user, clinic, request_events):
    response, events = request_events(lambda: as_user("supervisor").get(f"{V1}/patients/", {"page": 99}))

    assert response.status_code == 404
    assert events == []


def test_the_chain_stays_intact_through_reads_refusals_and_writes(as_user, clinic, records):
    clinician = as_user("clinician")
    clinician.get(f"{V1}/patients/")
    clinician.get(f"{V1}/visits/{clinic.own_visit.pk}/")
    clinician.get(f"{V1}/visits/{clinic.other_visit.pk}/")
    clinician.post(f"{V1}/cases/{clinic.own_case.pk}/transition/", {"to_stage": "assessment"}, format="json")
    as_user("front_desk").get(f"{V1}/assessments/")

    assert AuditEvent.objects.filter(action__in=["list", "view", "transition"]).count() >= 5
    assert seal_pending()
    assert verify_trail() == []
