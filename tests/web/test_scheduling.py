"""Scheduling on the pages (issue 15): the booking form warns of an overlap and offers to book anyway; a scheduled
visit is rescheduled from the chart with a reason."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from cases.models import Visit, VisitEvent
from tests.factories import VisitFactory

DAY = timezone.localdate() + dt.timedelta(days=5)


def local(hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(DAY, dt.time(hour, minute)))


def form(clinician, **extra) -> dict:
    return {
        "visit_type": "intake",
        "date": DAY.isoformat(),
        "time": "08:30",
        "duration_minutes": "",
        "clinician": str(clinician.pk),
        **extra,
    }


def test_a_double_booking_warns_and_books_only_when_confirmed(signed_in, front_desk, own_case, clinician):
    VisitFactory(case=own_case, clinician=clinician, scheduled_at=local(9))
    client = signed_in(front_desk)
    url = reverse("visit-schedule", args=[own_case.pk])

    response = client.post(url, form(clinician))

    assert response.status_code == 409
    html = response.content.decode()
    assert "overlaps 1 other visit of the patient and the clinician" in html
    assert "<strong>this patient</strong>" in html
    assert 'name="confirm_conflicts" value="on">Book anyway</button>' in html
    assert Visit.objects.count() == 1

    response = client.post(url, form(clinician, confirm_conflicts="on"))

    assert response.status_code == 302
    assert Visit.objects.count() == 2


def test_the_chart_offers_reschedule_on_a_scheduled_visit(signed_in, front_desk, own_case, clinician):
    visit = VisitFactory(case=own_case, clinician=clinician, scheduled_at=local(9))

    html = signed_in(front_desk).get(f"/patients/{own_case.patient_id}/").content.decode()

    assert reverse("visit-reschedule-page", args=[visit.pk]) in html


def test_a_visit_is_rescheduled_with_its_reason(signed_in, front_desk, own_case, clinician):
    visit = VisitFactory(case=own_case, clinician=clinician, scheduled_at=local(9))
    client = signed_in(front_desk)
    url = reverse("visit-reschedule-page", args=[visit.pk])
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        {"date": DAY.isoformat(), "time": "13:00", "duration_minutes": "50", "reason": "Called to move it."},
    )

    assert response.status_code == 302
    stored = Visit.objects.get()
    assert (stored.pk, stored.scheduled_at, stored.status) == (visit.pk, local(13), "scheduled")
    assert VisitEvent.objects.get().reason == "Called to move it."
    chart = client.get(f"/patients/{own_case.patient_id}/").content.decode()
    assert "moved from" in chart and "<q>Called to move it.</q>" in chart


def test_a_reschedule_without_a_reason_is_a_400(signed_in, front_desk, own_case, clinician):
    visit = VisitFactory(case=own_case, clinician=clinician, scheduled_at=local(9))

    response = signed_in(front_desk).post(
        reverse("visit-reschedule-page", args=[visit.pk]),
        {"date": DAY.isoformat(), "time": "13:00", "duration_minutes": "50", "reason": ""},
    )

    assert response.status_code == 400
    assert Visit.objects.get().scheduled_at == local(9)


def test_a_clinician_cannot_reschedule_outside_the_caseload(signed_in, clinician, other_case):
    visit = VisitFactory(case=other_case, scheduled_at=local(9))

    response = signed_in(clinician).get(reverse("visit-reschedule-page", args=[visit.pk]))

    assert response.status_code == 404
