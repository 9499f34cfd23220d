"""Scheduling through the API (issue 15): an overlapping booking is a 409 `scheduling_conflict` listing the visits it
meets unless `confirm_conflicts`; `POST visits/{id}/reschedule/` moves a visit, keeping it."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Visit
from tests.factories import CaseFactory, VisitFactory

DAY = timezone.localdate() + dt.timedelta(days=5)


def local(hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(DAY, dt.time(hour, minute)))


def booking(case, clinician, at: dt.datetime, **extra) -> dict:
    return {
        "case": str(case.pk),
        "clinician": str(clinician.pk),
        "visit_type": "individual_counseling",
        "scheduled_at": at.isoformat(),
        **extra,
    }


def test_a_double_booking_is_a_409_listing_the_conflicts(as_user, own_case, clinician):
    first = VisitFactory(case=own_case, clinician=clinician, scheduled_at=local(8, 30))

    response = as_user("front_desk").post(
        "/api/v1/visits/", booking(own_case, clinician, local(8, 30)), format="json"
    )

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "scheduling_conflict"
    assert [(c["id"], c["same_patient"], c["same_clinician"]) for c in body["conflicts"]] == [
        (str(first.pk), True, True)
    ]
    assert Visit.objects.count() == 1


def test_confirming_books_anyway(as_user, own_case, clinician):
    VisitFactory(case=own_case, clinician=clinician, scheduled_at=local(8, 30))

    response = as_user("front_desk").post(
        "/api/v1/visits/", booking(own_case, clinician, local(8, 30), confirm_conflicts=True), format="json"
    )

    assert response.status_code == 201
    assert Visit.objects.count() == 2


def test_a_clinicians_other_patient_is_not_named_in_the_conflict(
    as_user, own_case, clinician, other_clinician
):
    theirs = CaseFactory(primary_clinician=other_clinician)
    VisitFactory(case=theirs, clinician=other_clinician, scheduled_at=local(8, 30))

    response = as_user("front_desk").post(
        "/api/v1/visits/", booking(own_case, other_clinician, local(8, 45)), format="json"
    )

    (conflict,) = response.json()["conflicts"]
    assert (conflict["patient"], conflict["same_clinician"]) == (None, True)


def test_a_reschedule_keeps_the_visit_and_shows_the_move(as_user, own_case, clinician):
    visit = VisitFactory(case=own_case, clinician=clinician, scheduled_at=local(8, 30))

    response = as_user("front_desk").post(
        f"/api/v1/visits/{visit.pk}/reschedule/",
        {"scheduled_at": local(15).isoformat(), "reason": "Patient's ride fell through."},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"]) == (str(visit.pk), "scheduled")
    (move,) = body["history"]
    assert (move["kind"], move["reason"], move["by"]) == (
        "reschedule",
        "Patient's ride fell through.",
        "frontdesk",
    )
    assert Visit.objects.get().scheduled_at == local(15)


@pytest.mark.parametrize(
    ("body", "status", "key"),
    [({"scheduled_at": "2031-01-01T10:00:00-06:00"}, 400, "reason"), ({"reason": "x"}, 400, "scheduled_at")],
)
def test_a_reschedule_needs_a_time_and_a_reason(as_user, own_case, clinician, body, status, key):
    visit = VisitFactory(case=own_case, clinician=clinician, scheduled_at=local(8, 30))

    response = as_user("front_desk").post(f"/api/v1/visits/{visit.pk}/reschedule/", body, format="json")

    assert response.status_code == status
    assert key in response.json()


@pytest.mark.parametrize(("role", "status"), [("administrator", 403), ("clinician", 404)])
def test_others_may_not_reschedule(as_user, other_case, role, status):
    visit = VisitFactory(case=other_case, scheduled_at=local(8, 30))

    response = as_user(role).post(
        f"/api/v1/visits/{visit.pk}/reschedule/",
        {"scheduled_at": local(9).isoformat(), "reason": "x"},
        format="json",
    )

    assert response.status_code == status
    assert Visit.objects.get().scheduled_at == local(8, 30)
