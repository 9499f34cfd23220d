"""Default durations per visit type (issue 15): a visit booked without a duration lasts its type's usual length."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import DEFAULT_DURATIONS, Visit
from cases.services.visits import visit_schedule

EXPECTED = {
    "intake": 60,
    "assessment": 60,
    "individual_counseling": 50,
    "group_counseling": 90,
    "medication_management": 30,
    "telehealth": 30,
    "phone_checkin": 15,
    "lab_only": 15,
}


def test_every_visit_type_has_its_documented_default():
    assert DEFAULT_DURATIONS == EXPECTED
    assert set(DEFAULT_DURATIONS) == set(Visit.VisitType.values)


@pytest.mark.parametrize(("visit_type", "minutes"), sorted(EXPECTED.items()))
def test_a_visit_booked_without_a_duration_lasts_its_types_usual_length(
    own_case, front_desk, clinician, visit_type, minutes
):
    visit = visit_schedule(
        case=own_case,
        actor=front_desk,
        clinician=clinician,
        visit_type=visit_type,
        scheduled_at=timezone.now() + dt.timedelta(days=2),
    )

    assert Visit.objects.get(pk=visit.pk).duration_minutes == minutes


def test_a_given_duration_wins(own_case, front_desk, clinician):
    visit = visit_schedule(
        case=own_case,
        actor=front_desk,
        clinician=clinician,
        visit_type="intake",
        scheduled_at=timezone.now() + dt.timedelta(days=2),
        duration_minutes=45,
    )

    assert Visit.objects.get(pk=visit.pk).duration_minutes == 45
