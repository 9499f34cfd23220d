"""Attendance through the API (issue 15): `POST visits/{id}/attendance/` and `PATCH` of `status` go through the same
rules (`cases.services.visits`); a refusal names its rule in `code`; the visit's `history` keeps every change."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Visit
from clinic.models import AuditEvent
from tests.factories import VisitFactory

DAY = timezone.localdate() + dt.timedelta(days=3)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


START = local(DAY, 9, 30)


def attendance_url(visit: Visit) -> str:
    return f"/api/v1/visits/{visit.id}/attendance/"


@pytest.fixture
def visit(clinic):
    return VisitFactory(case=clinic.own_case, clinician=clinic.own_case.primary_clinician, scheduled_at=START)


@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_those_who_schedule_check_a_patient_in_on_the_visits_day(as_user, clock, visit, role):
    clock(local(DAY, 9, 20))

    response = as_user(role).post(attendance_url(visit), {"status": "attended"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "attended"
    assert [(h["kind"], h["from_status"], h["to_status"], h["by"]) for h in body["history"]] == [
        ("attendance", "scheduled", "attended", role.replace("_", ""))
    ]


def test_a_check_in_the_day_before_is_a_409_naming_the_rule(as_user, clock, visit):
    clock(local(DAY - dt.timedelta(days=1), 23, 59))

    response = as_user("front_desk").post(attendance_url(visit), {"status": "attended"}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "check_in_not_visit_day"
    assert "status" in body and body["detail"].startswith("A visit can only be checked in on its day")
    assert Visit.objects.get(pk=visit.pk).status == "scheduled"


def test_a_patch_of_status_follows_the_same_rules(as_user, clock, visit):
    clock(START - dt.timedelta(minutes=1))

    response = as_user("front_desk").patch(
        f"/api/v1/visits/{visit.id}/", {"status": "no_show"}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (409, "no_show_before_start")
    assert Visit.objects.get(pk=visit.pk).status == "scheduled"


def test_a_correction_without_a_reason_is_a_400_naming_the_field(as_user, clock, visit):
    clock(START + dt.timedelta(minutes=5))
    client = as_user("front_desk")
    client.post(attendance_url(visit), {"status": "no_show"}, format="json")

    response = client.post(attendance_url(visit), {"status": "attended"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "correction_reason_required"
    assert list(response.json()) == ["reason", "code"]


def test_a_same_day_correction_is_audited_and_shown_in_the_history(as_user, clock, visit, front_desk):
    clock(START + dt.timedelta(minutes=5))
    client = as_user("front_desk")
    client.post(attendance_url(visit), {"status": "no_show"}, format="json")
    # A minute later: under a frozen clock both entries would share one `at`, and PostgreSQL may return rows
    # of equal sort keys in either order (the history is in time order).
    clock(START + dt.timedelta(minutes=6))

    response = client.post(
        attendance_url(visit), {"status": "attended", "reason": "Was in the waiting room."}, format="json"
    )

    assert response.status_code == 200
    history = response.json()["history"]
    assert [(h["kind"], h["to_status"], h["reason"]) for h in history] == [
        ("attendance", "no_show", ""),
        ("correction", "attended", "Was in the waiting room."),
    ]
    audit = AuditEvent.objects.get(action="attendance_correction")
    assert (audit.user, audit.object_id) == (front_desk, str(visit.pk))


def test_a_correction_the_next_day_is_a_409(as_user, clock, visit):
    clock(START + dt.timedelta(minutes=5))
    client = as_user("front_desk")
    client.post(attendance_url(visit), {"status": "attended"}, format="json")
    clock(local(DAY + dt.timedelta(days=1), 8))

    response = client.post(
        attendance_url(visit), {"status": "no_show", "reason": "Wrong patient."}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (409, "correction_day_passed")


def test_a_signed_note_refuses_a_correction(as_user, clinic):
    response = as_user("supervisor").post(
        attendance_url(clinic.own_signed_visit), {"status": "no_show", "reason": "Wrong."}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (409, "note_signed")


@pytest.mark.parametrize(("body", "field"), [({"status": "rescheduled"}, "status"), ({}, "status")])
def test_a_bad_body_is_a_400_naming_the_field(as_user, visit, body, field):
    response = as_user("front_desk").post(attendance_url(visit), body, format="json")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(("role", "status"), [("administrator", 403), ("clinician", 404)])
def test_others_may_not_record_attendance(as_user, clinic, clock, role, status):
    other = VisitFactory(
        case=clinic.other_case, clinician=clinic.other_case.primary_clinician, scheduled_at=START
    )
    clock(local(DAY, 9))

    response = as_user(role).post(attendance_url(other), {"status": "attended"}, format="json")

    assert response.status_code == status
    assert Visit.objects.get(pk=other.pk).status == "scheduled"
