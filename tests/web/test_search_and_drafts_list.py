"""The header's patient search (name, MRN, date of birth, phone; within the user's scope) and the dashboard's list
of the user's own unsaved drafts."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Draft
from clinic.models import AuditEvent
from tests.factories import AttendedVisitFactory, PatientFactory

pytestmark = pytest.mark.django_db


def found(client, term: str) -> str:
    return client.get(reverse("patients"), {"search": term}).content.decode()


@pytest.fixture
def whitfield():
    return PatientFactory(
        first_name="Dana", last_name="Whitfield", date_of_birth=dt.date(1988, 4, 9), phone="(785) 555-0142"
    )


@pytest.fixture
def other():
    return PatientFactory(
        first_name="Ezra", last_name="Pham", date_of_birth=dt.date(1970, 1, 2), phone="316-555-9999"
    )


@pytest.mark.parametrize(
    "term", ["1988-04-09", "04/09/1988", "5550142", "785-555-0142", "0142", "Whit 1988-04-09"]
)
def test_the_search_finds_a_patient_by_date_of_birth_or_phone(signed_in, front_desk, whitfield, other, term):
    content = found(signed_in(front_desk), term)
    assert reverse("chart", args=[whitfield.pk]) in content
    assert (
        reverse("chart", args=[other.pk]) not in content
    )  # (not "Pham": the signed-in user's name is random)


@pytest.mark.parametrize("term", ["1988-04-10", "555-0143", "Whitfield 1970-01-02", "142"])
def test_the_search_misses_what_does_not_match(signed_in, front_desk, whitfield, term):
    assert reverse("chart", args=[whitfield.pk]) not in found(signed_in(front_desk), term)


def test_the_api_searches_the_same_way(client, front_desk, whitfield, other):
    client.force_login(front_desk)
    response = client.get("/api/v1/patients/", {"search": "04/09/1988"})
    assert [row["last_name"] for row in response.json()["results"]] == ["Whitfield"]


def test_a_clinicians_search_by_phone_stays_inside_the_caseload(signed_in, clinician, own_case, other_case):
    other_case.patient.phone = "913-555-7777"
    other_case.patient.save()
    assert other_case.patient.last_name not in found(signed_in(clinician), "5557777")


@pytest.mark.parametrize(
    ("role", "shown"),
    [("front_desk", True), ("clinician", True), ("supervisor", True), ("administrator", False)],
)
def test_the_header_search_is_shown_to_roles_that_search(request, signed_in, role, shown):
    content = signed_in(request.getfixturevalue(role)).get("/").content.decode()
    assert ('role="search"' in content) is shown


def test_the_header_search_leads_to_the_patient_list(signed_in, front_desk):
    content = signed_in(front_desk).get("/").content.decode()
    assert f'action="{reverse("patients")}"' in content
    assert 'name="search"' in content
    assert '<label class="visually-hidden" for="header-search">' in content


def test_the_patient_list_has_one_search_box(signed_in, front_desk):
    assert found(signed_in(front_desk), "").count('type="search"') == 1


# --- The dashboard's drafts --------------------------------------------------------------------------------------


def draft(author, visit, form=Draft.Form.VISIT_NOTE, **extra):
    now = timezone.now()
    return Draft.objects.create(
        author=author,
        form=form,
        object_id=visit.pk,
        patient=visit.case.patient,
        data={"subjective": ["Never shown on the dashboard"]},
        saved_at=now,
        expires_at=now + Draft.LIFETIME,
        **extra,
    )


def test_the_dashboard_lists_the_users_own_drafts_with_the_way_back(signed_in, clinician, own_case):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician)
    draft(clinician, visit)
    draft(clinician, visit, form=Draft.Form.ADDENDUM)
    content = signed_in(clinician).get("/").content.decode()
    assert "Your unsaved drafts" in content
    assert f'href="{reverse("visit-note", args=[visit.pk])}"' in content
    assert f'href="{reverse("chart", args=[own_case.patient_id])}#visit-{visit.pk}"' in content
    assert "Never shown on the dashboard" not in content
    event = AuditEvent.objects.filter(action="list", object_type="dashboard").latest("id")
    assert str(own_case.patient_id) in event.patients_seen


def test_nobody_sees_another_users_drafts_on_their_dashboard(signed_in, clinician, supervisor, own_case):
    draft(clinician, AttendedVisitFactory(case=own_case, clinician=clinician))
    assert "Your unsaved drafts" not in signed_in(supervisor).get("/").content.decode()


def test_drafts_on_patients_outside_the_scope_are_not_listed(signed_in, clinician, other_case):
    draft(
        clinician, AttendedVisitFactory(case=other_case)
    )  # e.g. written under a break-glass grant now ended
    assert "Your unsaved drafts" not in signed_in(clinician).get("/").content.decode()


def test_expired_drafts_are_not_listed(signed_in, clinician, own_case):
    visit = AttendedVisitFactory(case=own_case)
    row = draft(clinician, visit)
    Draft.objects.filter(pk=row.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert "Your unsaved drafts" not in signed_in(clinician).get("/").content.decode()
