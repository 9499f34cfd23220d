"""Scheduling (issue 15, `cases.services.visits`): conflict warnings for the patient and the clinician, and the
reschedule that keeps the visit, records the move and is no cancellation in the visits report."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.errors import Conflict, SchedulingConflict, ValidationFailed
from cases.models import Visit, VisitEvent
from cases.reports.params import ReportParams
from cases.reports.visits_report import visits
from cases.services.visits import visit_reschedule, visit_schedule, visit_update
from clinic.models import AuditEvent
from tests.factories import AttendedVisitFactory, CaseFactory, VisitFactory

DAY = timezone.localdate() + dt.timedelta(days=5)


def local(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def book(case, clinician, at, *, minutes=50, actor=None, **extra):
    return visit_schedule(
        case=case,
        actor=actor,
        clinician=clinician,
        visit_type="individual_counseling",
        scheduled_at=at,
        duration_minutes=minutes,
        **extra,
    )


# --- Conflicts ---


def test_booking_the_same_patient_twice_at_once_is_a_conflict(
    own_case, clinician, other_clinician, front_desk
):
    first = book(own_case, clinician, local(8, 30))

    with pytest.raises(SchedulingConflict) as excinfo:
        book(own_case, other_clinician, local(9), actor=front_desk)

    (conflict,) = excinfo.value.conflicts
    assert (conflict["id"], conflict["same_patient"], conflict["same_clinician"]) == (
        str(first.pk),
        True,
        False,
    )
    assert conflict["patient"] == str(own_case.patient_id)
    assert excinfo.value.code == "scheduling_conflict"
    assert "the patient" in excinfo.value.message
    assert Visit.objects.count() == 1


def test_booking_the_same_clinician_for_another_patient_at_once_is_a_conflict_naming_no_patient(
    own_case, clinician
):
    other = CaseFactory(primary_clinician=clinician)
    book(own_case, clinician, local(8, 30))

    with pytest.raises(SchedulingConflict) as excinfo:
        book(other, clinician, local(8, 30), minutes=30)

    (conflict,) = excinfo.value.conflicts
    assert (conflict["same_patient"], conflict["same_clinician"], conflict["patient"]) == (False, True, None)


def test_end_to_start_is_no_overlap(own_case, clinician):
    book(own_case, clinician, local(8, 30), minutes=30)

    book(own_case, clinician, local(9), minutes=30)
    book(own_case, clinician, local(8), minutes=30)

    assert Visit.objects.count() == 3


def test_a_long_earlier_visit_still_overlaps(own_case, clinician):
    book(own_case, clinician, local(8), minutes=480)

    with pytest.raises(SchedulingConflict):
        book(own_case, clinician, local(15, 55), minutes=15)


@pytest.mark.parametrize("status", ["cancelled", "late_cancel", "no_show"])
def test_a_cancelled_or_missed_visit_frees_its_time(own_case, clinician, status):
    VisitFactory(case=own_case, clinician=clinician, scheduled_at=local(8, 30), status=status)

    book(own_case, clinician, local(8, 30))

    assert Visit.objects.filter(status="scheduled").count() == 1


def test_confirming_books_over_the_conflict(own_case, clinician):
    book(own_case, clinician, local(8, 30))

    book(own_case, clinician, local(8, 30), confirm_conflicts=True)

    assert Visit.objects.count() == 2


# --- Reschedule ---


def test_a_reschedule_keeps_the_visit_and_records_the_move(own_case, clinician, front_desk):
    visit = book(own_case, clinician, local(8, 30))

    visit_reschedule(
        visit=visit, actor=front_desk, scheduled_at=local(14), reason="Patient asked for the afternoon."
    )

    stored = Visit.objects.get()
    assert (stored.pk, stored.scheduled_at, stored.status) == (visit.pk, local(14), "scheduled")
    (event,) = VisitEvent.objects.filter(visit=visit)
    assert (event.kind, event.from_scheduled_at, event.to_scheduled_at, event.by, event.reason) == (
        "reschedule",
        local(8, 30),
        local(14),
        front_desk,
        "Patient asked for the afternoon.",
    )
    audit = AuditEvent.objects.filter(action="update", object_id=str(visit.pk)).get()
    assert audit.detail == {
        "fields": ["scheduled_at"],
        "kind": "reschedule",
        "from_scheduled_at": local(8, 30).isoformat(),
        "to_scheduled_at": local(14).isoformat(),
        "reason": "Patient asked for the afternoon.",
    }


def test_a_reschedule_is_not_a_cancellation_in_the_visits_report(own_case, clinician, supervisor, front_desk):
    visit = book(own_case, clinician, local(8, 30))
    visit_reschedule(
        visit=visit, actor=front_desk, scheduled_at=local(9, 30, DAY + dt.timedelta(days=1)), reason="Snow."
    )

    report = visits(supervisor, ReportParams(start=DAY, end=DAY + dt.timedelta(days=2)))

    (row,) = report["rows"]
    assert (row["scheduled"], row["cancelled"], row["late_cancel"]) == (1, 0, 0)


def test_a_reschedule_needs_a_reason(own_case, clinician, front_desk):
    visit = book(own_case, clinician, local(8, 30))

    with pytest.raises(ValidationFailed) as excinfo:
        visit_reschedule(visit=visit, actor=front_desk, scheduled_at=local(14), reason=" ")

    assert (excinfo.value.code, list(excinfo.value.errors)) == ("reschedule_reason_required", ["reason"])
    assert Visit.objects.get().scheduled_at == local(8, 30)


def test_only_a_scheduled_visit_is_moved(own_case, clinician, front_desk):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician, scheduled_at=local(8, 30), subjective="")

    with pytest.raises(Conflict) as excinfo:
        visit_reschedule(visit=visit, actor=front_desk, scheduled_at=local(14), reason="Oops.")

    assert excinfo.value.code == "visit_not_scheduled"


def test_a_reschedule_onto_another_visit_warns_and_confirming_moves_it(own_case, clinician, front_desk):
    visit = book(own_case, clinician, local(8, 30))
    other = book(own_case, clinician, local(14))

    with pytest.raises(SchedulingConflict) as excinfo:
        visit_reschedule(visit=visit, actor=front_desk, scheduled_at=local(14, 15), reason="Later.")
    assert [c["id"] for c in excinfo.value.conflicts] == [str(other.pk)]

    visit_reschedule(
        visit=visit, actor=front_desk, scheduled_at=local(14, 15), reason="Later.", confirm_conflicts=True
    )
    assert Visit.objects.get(pk=visit.pk).scheduled_at == local(14, 15)


def test_a_visit_moved_a_little_does_not_conflict_with_itself(own_case, clinician, front_desk):
    visit = book(own_case, clinician, local(8, 30))

    visit_reschedule(visit=visit, actor=front_desk, scheduled_at=local(8, 45), reason="Running late.")

    assert Visit.objects.get().scheduled_at == local(8, 45)


def test_a_patch_of_the_time_is_a_reschedule_too(own_case, clinician, front_desk):
    visit = book(own_case, clinician, local(8, 30))

    with pytest.raises(ValidationFailed):
        visit_update(visit=visit, actor=front_desk, data={"scheduled_at": local(10)})
    visit_update(visit=visit, actor=front_desk, data={"scheduled_at": local(10)}, reason="Moved by phone.")

    assert VisitEvent.objects.get().kind == "reschedule"
