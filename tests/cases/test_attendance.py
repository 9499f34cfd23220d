"""Attendance rules (issue 15, `cases.services.visits`): check-in only on the visit's clinic day, a no-show only
after its start, a same-day correction with a reason (audited, kept in the visit's history), nothing once the note is
signed. Days are clinic days (America/Chicago)."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.errors import AttendanceRefused, NoteLocked, ValidationFailed
from cases.models import Visit, VisitEvent
from cases.services.visits import attendance_correction_open, visit_record_attendance
from clinic.models import AuditEvent
from tests.factories import AttendedVisitFactory, SignedVisitFactory, VisitFactory

DAY = timezone.localdate() + dt.timedelta(days=3)  # the visit's clinic day


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


START = local(DAY, 9, 30)


@pytest.fixture
def visit(own_case):
    return VisitFactory(case=own_case, scheduled_at=START)


def refused(excinfo: pytest.ExceptionInfo) -> tuple[str, list[str]]:
    return excinfo.value.code, list(excinfo.value.errors)


def stored(visit: Visit) -> str:
    return Visit.objects.get(pk=visit.pk).status


# --- Check-in ---


@pytest.mark.parametrize("now", [local(DAY, 0, 0), local(DAY, 7, 32), local(DAY, 16), local(DAY, 23, 59)])
def test_a_visit_is_checked_in_on_its_clinic_day_even_before_its_start(clock, visit, front_desk, now):
    clock(now)

    visit_record_attendance(visit=visit, actor=front_desk, status="attended")

    assert stored(visit) == "attended"


@pytest.mark.parametrize(
    "now",
    [
        local(DAY - dt.timedelta(days=1), 23, 59),  # the evening before
        local(DAY + dt.timedelta(days=1), 0, 0),  # just after midnight, the day after
        local(DAY - dt.timedelta(days=21), 9, 30),  # three weeks ahead
    ],
)
def test_a_visit_cannot_be_checked_in_on_another_day(clock, visit, front_desk, now):
    clock(now)

    with pytest.raises(AttendanceRefused) as excinfo:
        visit_record_attendance(visit=visit, actor=front_desk, status="attended")

    assert refused(excinfo) == ("check_in_not_visit_day", ["status"])
    assert stored(visit) == "scheduled"
    assert not VisitEvent.objects.exists()


def test_the_clinic_day_is_chicagos_not_utcs(clock, own_case, front_desk):
    late = VisitFactory(case=own_case, scheduled_at=local(DAY, 23, 30))  # the next day in UTC
    clock(local(DAY, 23, 45))

    visit_record_attendance(visit=late, actor=front_desk, status="attended")

    assert stored(late) == "attended"


# --- No-show ---


def test_a_no_show_one_minute_before_the_start_is_refused(clock, visit, front_desk):
    clock(START - dt.timedelta(minutes=1))

    with pytest.raises(AttendanceRefused) as excinfo:
        visit_record_attendance(visit=visit, actor=front_desk, status="no_show")

    assert refused(excinfo) == ("no_show_before_start", ["status"])
    assert stored(visit) == "scheduled"


def test_a_no_show_at_the_start_itself_is_refused(clock, visit, front_desk):
    clock(START)

    with pytest.raises(AttendanceRefused):
        visit_record_attendance(visit=visit, actor=front_desk, status="no_show")


def test_a_no_show_one_minute_after_the_start_is_recorded(clock, visit, front_desk):
    clock(START + dt.timedelta(minutes=1))

    visit_record_attendance(visit=visit, actor=front_desk, status="no_show")

    assert stored(visit) == "no_show"


def test_yesterdays_no_show_can_be_recorded_the_next_morning(clock, visit, front_desk):
    clock(local(DAY + dt.timedelta(days=1), 8))

    visit_record_attendance(visit=visit, actor=front_desk, status="no_show")

    assert stored(visit) == "no_show"


@pytest.mark.parametrize("status", ["cancelled", "late_cancel"])
def test_a_cancellation_can_be_recorded_ahead(clock, visit, front_desk, status):
    clock(local(DAY - dt.timedelta(days=5), 11))

    visit_record_attendance(visit=visit, actor=front_desk, status=status)

    assert stored(visit) == status


# --- What is recorded ---


def test_recording_attendance_writes_the_history_and_an_update_event(clock, visit, front_desk):
    now = clock(local(DAY, 9, 25))

    visit_record_attendance(visit=visit, actor=front_desk, status="attended")

    (event,) = VisitEvent.objects.filter(visit=visit)
    assert (event.kind, event.from_status, event.to_status, event.by, event.at, event.reason) == (
        "attendance",
        "scheduled",
        "attended",
        front_desk,
        now,
        "",
    )
    (audit,) = AuditEvent.objects.filter(object_type="visit", object_id=str(visit.pk))
    assert (audit.action, audit.detail["fields"]) == ("update", ["status"])


# --- Corrections ---


def test_a_same_day_correction_with_a_reason_is_kept_and_audited(clock, visit, front_desk, supervisor):
    clock(local(DAY, 9, 35))
    visit_record_attendance(visit=visit, actor=front_desk, status="no_show")
    later = clock(local(DAY, 10, 5))

    visit_record_attendance(
        visit=visit, actor=supervisor, status="attended", reason="Arrived late; was in the waiting room."
    )

    assert stored(visit) == "attended"
    first, correction = VisitEvent.objects.filter(visit=visit).order_by("at")
    assert (first.kind, first.to_status) == ("attendance", "no_show")
    assert (
        correction.kind,
        correction.from_status,
        correction.to_status,
        correction.by,
        correction.at,
        correction.reason,
    ) == ("correction", "no_show", "attended", supervisor, later, "Arrived late; was in the waiting room.")
    audit = AuditEvent.objects.get(action="attendance_correction")
    assert (audit.user, audit.object_id, audit.patient_id, audit.data_category) == (
        supervisor,
        str(visit.pk),
        visit.case.patient_id,
        "visit_schedule",
    )
    assert audit.detail == {
        "from_status": "no_show",
        "to_status": "attended",
        "reason": "Arrived late; was in the waiting room.",
    }


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_correction_needs_a_reason(clock, visit, front_desk, reason):
    clock(local(DAY, 9, 35))
    visit_record_attendance(visit=visit, actor=front_desk, status="attended")

    with pytest.raises(ValidationFailed) as excinfo:
        visit_record_attendance(visit=visit, actor=front_desk, status="no_show", reason=reason)

    assert refused(excinfo) == ("correction_reason_required", ["reason"])
    assert stored(visit) == "attended"
    assert VisitEvent.objects.filter(visit=visit).count() == 1


def test_a_correction_on_the_next_clinic_day_is_refused(clock, visit, front_desk):
    clock(local(DAY, 9, 35))
    visit_record_attendance(visit=visit, actor=front_desk, status="attended")
    clock(local(DAY + dt.timedelta(days=1), 0, 0))

    with pytest.raises(AttendanceRefused) as excinfo:
        visit_record_attendance(visit=visit, actor=front_desk, status="no_show", reason="Wrong patient.")

    assert refused(excinfo) == ("correction_day_passed", ["status"])
    assert stored(visit) == "attended"
    assert not AuditEvent.objects.filter(action="attendance_correction").exists()


def test_a_correction_at_the_last_minute_of_the_day_is_accepted(clock, visit, front_desk):
    clock(local(DAY, 9, 35))
    visit_record_attendance(visit=visit, actor=front_desk, status="attended")
    clock(local(DAY, 23, 59))

    visit_record_attendance(visit=visit, actor=front_desk, status="no_show", reason="Wrong patient.")

    assert stored(visit) == "no_show"


def test_a_no_show_recorded_the_next_morning_can_be_corrected_that_morning(clock, visit, front_desk):
    clock(local(DAY + dt.timedelta(days=1), 8))
    visit_record_attendance(visit=visit, actor=front_desk, status="no_show")
    clock(local(DAY + dt.timedelta(days=1), 8, 10))

    visit_record_attendance(visit=visit, actor=front_desk, status="cancelled", reason="Had called to cancel.")

    assert stored(visit) == "cancelled"


def test_a_mistaken_cancellation_can_be_undone_the_same_day(clock, visit, front_desk):
    clock(local(DAY - dt.timedelta(days=4), 11))
    visit_record_attendance(visit=visit, actor=front_desk, status="cancelled")

    visit_record_attendance(
        visit=visit, actor=front_desk, status="scheduled", reason="Cancelled the wrong visit."
    )

    assert stored(visit) == "scheduled"


def test_a_correction_to_attended_still_needs_the_visits_day(clock, visit, front_desk):
    clock(local(DAY - dt.timedelta(days=4), 11))
    visit_record_attendance(visit=visit, actor=front_desk, status="cancelled")

    with pytest.raises(AttendanceRefused) as excinfo:
        visit_record_attendance(visit=visit, actor=front_desk, status="attended", reason="Wrong visit.")

    assert refused(excinfo) == ("check_in_not_visit_day", ["status"])


def test_nothing_changes_once_the_note_is_signed(clock, own_case, supervisor):
    visit = SignedVisitFactory(case=own_case, scheduled_at=START)
    clock(local(DAY, 11))

    with pytest.raises(NoteLocked) as excinfo:
        visit_record_attendance(visit=visit, actor=supervisor, status="no_show", reason="Wrong patient.")

    assert excinfo.value.code == "note_signed"
    assert stored(visit) == "attended"


@pytest.mark.parametrize(
    ("now", "status", "open_"),
    [
        (local(DAY, 12), "attended", True),
        (local(DAY + dt.timedelta(days=1), 0, 0), "attended", False),
        (local(DAY, 12), "scheduled", False),  # nothing recorded yet: the buttons, not a correction
    ],
)
def test_the_pages_offer_a_correction_only_while_the_service_allows_it(clock, own_case, now, status, open_):
    visit = VisitFactory(case=own_case, scheduled_at=START, status=status)
    clock(now)

    assert attendance_correction_open(visit) is open_


def test_a_signed_visit_offers_no_correction(clock, own_case):
    visit = AttendedVisitFactory(
        case=own_case, scheduled_at=START, signed_at=START, signed_by=own_case.primary_clinician
    )
    clock(local(DAY, 12))

    assert attendance_correction_open(visit) is False


# --- Late entry: a visit nobody checked in on its day ---


@pytest.mark.parametrize("days_after", [1, 12])
def test_a_visit_left_scheduled_is_recorded_attended_later_with_the_reason(
    clock, visit, front_desk, days_after
):
    clock(local(DAY + dt.timedelta(days=days_after), 10))

    visit_record_attendance(
        visit=visit, actor=front_desk, status="attended", reason="Check-in missed at the desk."
    )

    assert stored(visit) == "attended"
    event = VisitEvent.objects.get(visit=visit)
    assert (event.kind, event.from_status, event.to_status, event.reason) == (
        "attendance",
        "scheduled",
        "attended",
        "Check-in missed at the desk.",
    )


def test_a_late_check_in_without_a_reason_is_refused_and_says_how(clock, visit, front_desk):
    clock(local(DAY + dt.timedelta(days=1), 10))

    with pytest.raises(AttendanceRefused) as excinfo:
        visit_record_attendance(visit=visit, actor=front_desk, status="attended", reason="  ")

    assert refused(excinfo) == ("check_in_not_visit_day", ["status"])
    assert "reason for the late entry" in str(excinfo.value)
    assert stored(visit) == "scheduled"


def test_a_reason_does_not_open_a_check_in_before_the_visits_day(clock, visit, front_desk):
    clock(local(DAY - dt.timedelta(days=1), 10))

    with pytest.raises(AttendanceRefused) as excinfo:
        visit_record_attendance(visit=visit, actor=front_desk, status="attended", reason="Early, I promise.")

    assert refused(excinfo) == ("check_in_not_visit_day", ["status"])


def test_a_no_show_recorded_today_for_an_earlier_visit_may_be_corrected_to_attended(clock, visit, front_desk):
    clock(local(DAY + dt.timedelta(days=2), 9))
    visit_record_attendance(visit=visit, actor=front_desk, status="no_show")

    visit_record_attendance(visit=visit, actor=front_desk, status="attended", reason="Wrong patient marked.")

    assert stored(visit) == "attended"
