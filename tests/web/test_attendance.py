"""Attendance on the pages (issue 15): the chart offers late cancellation and, the same day, a correction with its
reason; the visit's history is shown on the chart; a refused rule answers 409 with its message."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Visit, VisitEvent
from clinic.models import AuditEvent
from tests.factories import VisitFactory

DAY = timezone.localdate() + dt.timedelta(days=3)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


START = local(DAY, 9, 30)


def attendance_url(visit: Visit) -> str:
    return f"/visits/{visit.pk}/attendance/"


def chart(client, visit: Visit) -> str:
    response = client.get(f"/patients/{visit.case.patient_id}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def visit(own_case, clinician):
    return VisitFactory(case=own_case, clinician=clinician, scheduled_at=START)


def test_the_chart_offers_check_in_no_show_cancel_and_late_cancel(signed_in, front_desk, visit):
    html = chart(signed_in(front_desk), visit)

    for status in ("attended", "no_show", "cancelled", "late_cancel"):
        assert f'name="status" value="{status}"' in html
    assert f'name="next" value="/patients/{visit.case.patient_id}/#visit-{visit.pk}"' in html


def test_a_late_cancellation_from_the_chart_is_recorded(signed_in, front_desk, visit, clock):
    clock(local(DAY, 8))
    client = signed_in(front_desk)

    response = client.post(attendance_url(visit), {"status": "late_cancel", "next": "/"})

    assert response.status_code == 302
    assert Visit.objects.get(pk=visit.pk).status == "late_cancel"


def test_a_check_in_on_another_day_is_refused_with_the_rule(signed_in, front_desk, visit, clock, htmx):
    clock(local(DAY - dt.timedelta(days=21), 7, 32))

    response = signed_in(front_desk).post(attendance_url(visit), {"status": "attended"}, headers=htmx)

    assert response.status_code == 409
    assert "A visit can only be checked in on its day" in response.content.decode()
    assert Visit.objects.get(pk=visit.pk).status == "scheduled"


def test_a_no_show_before_the_start_is_refused_on_its_own_page(signed_in, front_desk, visit, clock):
    clock(START - dt.timedelta(minutes=1))

    response = signed_in(front_desk).post(attendance_url(visit), {"status": "no_show", "next": "/"})

    assert response.status_code == 409
    assert "A no-show can only be recorded after the visit" in response.content.decode()


def test_the_chart_corrects_attendance_the_same_day_and_shows_the_history(
    signed_in, front_desk, visit, clock
):
    clock(START + dt.timedelta(minutes=20))
    client = signed_in(front_desk)
    client.post(attendance_url(visit), {"status": "no_show"})
    html = chart(client, visit)
    assert "Correct attendance" in html and f'id="correct-{visit.pk}-reason"' in html

    response = client.post(
        attendance_url(visit), {"status": "attended", "reason": "Was in the waiting room.", "next": "/"}
    )

    assert response.status_code == 302
    assert Visit.objects.get(pk=visit.pk).status == "attended"
    assert AuditEvent.objects.filter(action="attendance_correction", object_id=str(visit.pk)).count() == 1
    html = chart(client, visit)
    assert "History (2)" in html
    assert "marked no-show" in html
    assert "attendance corrected from no-show to attended" in html
    assert "<q>Was in the waiting room.</q>" in html


def test_a_correction_without_a_reason_is_a_400_that_keeps_the_form_open(
    signed_in, front_desk, visit, clock, htmx
):
    clock(START + dt.timedelta(minutes=20))
    client = signed_in(front_desk)
    client.post(attendance_url(visit), {"status": "no_show"})

    response = client.post(attendance_url(visit), {"status": "attended", "reason": ""}, headers=htmx)

    assert response.status_code == 400
    html = response.content.decode()
    assert "a correction needs a reason" in html
    assert '<details class="correction" open>' in html
    assert VisitEvent.objects.filter(visit=visit).count() == 1


def test_the_next_day_no_correction_is_offered(signed_in, front_desk, visit, clock):
    clock(START + dt.timedelta(minutes=20))
    client = signed_in(front_desk)
    client.post(attendance_url(visit), {"status": "no_show"})
    clock(local(DAY + dt.timedelta(days=1), 9))
    client = signed_in(front_desk)  # a new day's session

    assert "Correct attendance" not in chart(client, visit)
    response = client.post(attendance_url(visit), {"status": "attended", "reason": "Late."})
    assert response.status_code == 409


def test_after_its_day_the_chart_offers_a_late_entry_with_a_reason(signed_in, front_desk, visit, clock):
    clock(local(DAY + dt.timedelta(days=1), 9))
    client = signed_in(front_desk)

    html = chart(client, visit)
    assert "Record attendance late" in html and 'name="status" value="attended"' not in html

    response = client.post(
        attendance_url(visit), {"status": "attended", "reason": "Desk missed the check-in.", "next": "/"}
    )

    assert response.status_code == 302
    assert Visit.objects.get(pk=visit.pk).status == "attended"
    assert VisitEvent.objects.get(visit=visit).reason == "Desk missed the check-in."


def test_a_late_entry_without_a_reason_is_refused_on_the_page(signed_in, front_desk, visit, clock, htmx):
    clock(local(DAY + dt.timedelta(days=1), 9))

    response = signed_in(front_desk).post(attendance_url(visit), {"status": "attended"}, headers=htmx)

    assert response.status_code == 409
    assert "reason for the late entry" in response.content.decode()
    assert Visit.objects.get(pk=visit.pk).status == "scheduled"
