"""Two bookings of the same clinician's slot at the same instant (issue 15), on PostgreSQL: the calendars' row
locks serialise them, so exactly one is booked (201) and the other is told of the overlap (409
`scheduling_conflict`), never a 500 and never a silent double booking."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Visit
from tests.api.test_concurrency_api import fire_together
from tests.factories import CaseFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.mark.parametrize("same_patient", [True, False])
def test_two_bookings_at_once_of_one_slot_book_one_and_warn_the_other(same_patient):
    front_desk = UserFactory(roles=["front_desk"])
    clinician = UserFactory(roles=["clinician"])
    first = CaseFactory(primary_clinician=clinician)
    second = first if same_patient else CaseFactory(primary_clinician=clinician)
    at = (timezone.localtime() + dt.timedelta(days=2)).replace(hour=8, minute=30, second=0, microsecond=0)
    bodies = [
        {
            "case": str(case.pk),
            "clinician": str(clinician.pk),
            "visit_type": "individual_counseling",
            "scheduled_at": (at + dt.timedelta(minutes=10 * n)).isoformat(),
        }
        for n, case in enumerate([first, second, first, second])
    ]

    results = fire_together(front_desk, "/api/v1/visits/", bodies)

    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 409, 409, 409], results
    assert {body["code"] for status, body in results if status == 409} == {"scheduling_conflict"}
    assert Visit.objects.filter(clinician=clinician).count() == 1
