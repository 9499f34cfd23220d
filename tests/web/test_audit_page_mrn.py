"""The audit page answers "who saw this record?" from the MRN (issue 15): administrators find the patient with the
exact-MRN lookup the API's `patients/?mrn=` uses, and role changes show old -> new roles by name."""

import pytest
from django.db.models import Max

from cases.services.patients import patient_mark_entered_in_error
from clinic.approvals import decide, request_change
from clinic.audit import audit_record
from clinic.models import AccessChange, AuditEvent
from clinic.roles import Role
from tests.builders import AUDIT_APPEND_QUERIES
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/audit/"


def last_sequence() -> int:
    return AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0


@pytest.fixture
def seen(clinician, other_clinician):
    """A patient two clinicians accessed (one refused), and another patient."""
    patient = PatientFactory(first_name="Dana", last_name="Whitfield")
    other = PatientFactory()
    audit_record(
        user=clinician, action="view", object_type="patient", object_id=patient.pk, patient_id=patient.pk
    )
    audit_record(
        user=other_clinician, action="view", object_type="patient", patient_id=patient.pk, outcome="denied"
    )
    audit_record(user=clinician, action="view", object_type="patient", patient_id=other.pk)
    return patient


@pytest.mark.parametrize("typed", ["exact", "lower", "spaced"])
def test_an_administrator_finds_who_accessed_a_record_by_its_mrn(signed_in, administrator, seen, typed):
    mrn = {"exact": seen.mrn, "lower": seen.mrn.lower(), "spaced": f"  {seen.mrn} "}[typed]
    client = signed_in(administrator)
    before = last_sequence()

    response = client.get(URL, {"mrn": mrn})

    assert response.status_code == 200
    assert response.context["patient"] == seen.pk
    by_user = {row["username"]: (row["events"], row["denied"]) for row in response.context["accessed_by"]}
    assert by_user == {"clinician": (1, 0), "otherclinician": (1, 1)}
    assert {event.patient_id for event in response.context["events"]} == {seen.pk}
    html = response.content.decode()
    assert "Who accessed Dana Whitfield's record" in html and f"MRN {seen.mrn}" in html
    [event] = AuditEvent.objects.filter(id__gt=before)  # the read, on the patient's own access log
    assert (event.action, event.object_type, event.patient_id) == ("list", "audit_event", seen.pk)
    assert event.detail["query"]["mrn"] == seen.mrn
    assert response.context["csv_url"].endswith(f"patient={seen.pk}&format=csv")


def test_the_pages_links_keep_the_patient(signed_in, administrator, seen):
    html = signed_in(administrator).get(URL, {"mrn": seen.mrn}).content.decode()

    assert f'href="?patient={seen.pk}&amp;user=clinician"' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"mrn": "KR9999999"}, "No patient has the MRN KR9999999."),
        ({"mrn": "KR000"}, "No patient has the MRN KR000."),  # exact, never a prefix
        ({"mrn": "X" * 17}, "Ensure this value has at most 16 characters"),
    ],
)
def test_an_unknown_mrn_is_a_400_naming_the_field_and_shows_no_events(
    signed_in, administrator, seen, query, message
):
    response = signed_in(administrator).get(URL, query)

    assert response.status_code == 400
    assert "Patient MRN: " + message in response.content.decode()
    assert response.context.get("events") is None


def test_an_mrn_that_finds_no_one_is_recorded_with_the_mrn_asked(signed_in, administrator, seen):
    client = signed_in(administrator)
    before = last_sequence()

    response = client.get(URL, {"mrn": "KR999999"})

    assert response.status_code == 400
    [event] = AuditEvent.objects.filter(id__gt=before)
    assert (event.user_id, event.action, event.object_type, event.patient_id) == (
        administrator.pk,
        "list",
        "audit_event",
        None,
    )
    assert event.detail["query"] == {"mrn": "KR999999"} and event.detail["found"] == 0


def test_an_mrn_and_another_patients_id_together_are_a_400(signed_in, administrator, seen):
    other = PatientFactory()

    response = signed_in(administrator).get(URL, {"mrn": seen.mrn, "patient": str(other.pk)})

    assert response.status_code == 400
    assert "another patient" in response.content.decode()


def test_a_record_entered_in_error_is_not_found_by_mrn_as_in_the_api(signed_in, administrator, front_desk):
    patient = PatientFactory()
    patient_mark_entered_in_error(patient=patient, actor=front_desk, reason="Registered twice.")

    response = signed_in(administrator).get(URL, {"mrn": patient.mrn})

    assert response.status_code == 400  # the shared lookup leaves it out; its id still filters the log
    assert signed_in(administrator).get(URL, {"patient": str(patient.pk)}).status_code == 200


@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_other_roles_get_no_audit_page_by_mrn_either(db, request, signed_in, seen, role):
    user = request.getfixturevalue(role)

    response = signed_in(user).get(URL, {"mrn": seen.mrn})

    assert response.status_code == 403
    assert AuditEvent.objects.filter(user=user, outcome="denied").exists()


def test_the_mrn_lookup_costs_one_query(signed_in, administrator, seen, django_assert_max_num_queries):
    client = signed_in(administrator)

    # session, user, roles; the MRN lookup; count, page, who accessed; the read's audit append
    with django_assert_max_num_queries(7 + AUDIT_APPEND_QUERIES):
        assert client.get(URL, {"mrn": seen.mrn}).status_code == 200


# --- Role changes --------------------------------------------------------------------------------------------------


def test_role_changes_show_old_and_new_roles_by_name_with_their_status(signed_in, administrator, supervisor):
    member = UserFactory(username="tess", roles=[Role.FRONT_DESK])
    other_admin = UserFactory(username="admin2", roles=[Role.ADMINISTRATOR])
    change = request_change(
        actor=administrator,
        subject=member,
        kind=AccessChange.Kind.ROLES,
        roles_after=["front_desk", "clinician"],
    )
    decide(approver=other_admin, change=change, approve=True)

    response = signed_in(administrator).get(URL, {"action": ["role_change", "approve"]})

    changes = [event.change for event in response.context["events"]]
    assert changes == [
        "tess: Roles: Front desk -> Front desk, Clinician",  # applied
        "tess: Roles: Front desk -> Front desk, Clinician (approved)",
        "tess: Roles: Front desk -> Front desk, Clinician (pending)",
    ]
    html = response.content.decode()
    assert "tess: Roles: Front desk -&gt; Front desk, Clinician (pending)" in html
    assert "front_desk" not in html.split("<tbody>")[1]  # no role code in the rows


def test_a_refused_change_says_so_and_other_events_show_no_change(signed_in, administrator, clinician):
    member = UserFactory(username="tess", roles=[Role.FRONT_DESK])
    other_admin = UserFactory(username="admin2", roles=[Role.ADMINISTRATOR])
    change = request_change(
        actor=administrator, subject=member, kind=AccessChange.Kind.ROLES, roles_after=["supervisor"]
    )
    decide(approver=other_admin, change=change, approve=False)
    audit_record(user=clinician, action="view", object_type="patient", patient_id=PatientFactory().pk)

    response = signed_in(administrator).get(URL)

    changes = {event.action: event.change for event in response.context["events"]}
    assert changes["refuse"] == "tess: Roles: Front desk -> Supervisor (refused)"
    assert changes["view"] == ""
