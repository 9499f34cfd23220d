"""The schedule page (issue 15): day and week views for the whole clinic or one clinician, previous / next, within
the policy's scope; and the dashboard's day with previous / next and a clinician filter."""

import datetime as dt

import pytest
from django.utils import timezone

from clinic.models import AuditEvent
from tests.factories import CaseFactory, VisitFactory

MONDAY = timezone.localdate() + dt.timedelta(days=7 - timezone.localdate().weekday())  # next week's Monday


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def week(own_case, other_case, clinician, other_clinician):
    return {
        "own_monday": VisitFactory(case=own_case, clinician=clinician, scheduled_at=local(MONDAY, 9)),
        "other_monday": VisitFactory(
            case=other_case, clinician=other_clinician, scheduled_at=local(MONDAY, 10)
        ),
        "own_friday": VisitFactory(
            case=own_case, clinician=clinician, scheduled_at=local(MONDAY + dt.timedelta(days=4), 14)
        ),
        "next_monday": VisitFactory(
            case=own_case, clinician=clinician, scheduled_at=local(MONDAY + dt.timedelta(days=7), 9)
        ),
    }


def names(response) -> set[str]:
    return {v.case.patient.display_name for d in response.context["days"] for v in d["visits"]}


def test_front_desk_sees_the_whole_clinics_day(signed_in, front_desk, week, own_case, other_case):
    response = signed_in(front_desk).get("/schedule/", {"day": MONDAY.isoformat()})

    assert response.status_code == 200
    assert [v.pk for v in response.context["days"][0]["visits"]] == [
        week["own_monday"].pk,
        week["other_monday"].pk,
    ]
    html = response.content.decode()
    assert f"?view=day&amp;day={(MONDAY - dt.timedelta(days=1)).isoformat()}" in html
    assert f"?view=day&amp;day={(MONDAY + dt.timedelta(days=1)).isoformat()}" in html
    event = AuditEvent.objects.get(action="list", object_type="schedule")
    assert set(event.patients_seen.split()) == {str(own_case.patient_id), str(other_case.patient_id)}


def test_the_week_view_runs_monday_to_sunday(signed_in, front_desk, week):
    response = signed_in(front_desk).get(
        "/schedule/", {"view": "week", "day": (MONDAY + dt.timedelta(days=2)).isoformat()}
    )

    days = response.context["days"]
    assert [d["date"] for d in days] == [MONDAY + dt.timedelta(days=n) for n in range(7)]
    assert [len(d["visits"]) for d in days] == [2, 0, 0, 0, 1, 0, 0]
    assert f"?view=week&amp;day={(MONDAY + dt.timedelta(days=9)).isoformat()}" in response.content.decode()


def test_the_clinician_filter_shows_one_clinicians_visits(signed_in, front_desk, week, clinician):
    response = signed_in(front_desk).get(
        "/schedule/", {"view": "week", "day": MONDAY.isoformat(), "clinician": str(clinician.pk)}
    )

    assert {v.pk for d in response.context["days"] for v in d["visits"]} == {
        week["own_monday"].pk,
        week["own_friday"].pk,
    }


def test_a_clinician_sees_only_their_caseload(signed_in, clinician, week):
    response = signed_in(clinician).get("/schedule/", {"view": "week", "day": MONDAY.isoformat()})

    assert {v.pk for d in response.context["days"] for v in d["visits"]} == {
        week["own_monday"].pk,
        week["own_friday"].pk,
    }
    assert week["other_monday"].case.patient.display_name not in response.content.decode()


def test_an_administrator_has_no_schedule(signed_in, administrator):
    response = signed_in(administrator).get("/schedule/")

    assert response.status_code == 403
    assert AuditEvent.objects.filter(outcome="denied").exists()


@pytest.mark.parametrize("query", [{"day": "2026-02-30"}, {"view": "month"}, {"clinician": "not-an-id"}])
def test_a_bad_filter_is_a_400_naming_it(signed_in, front_desk, query):
    response = signed_in(front_desk).get("/schedule/", query)

    assert response.status_code == 400
    assert f"{next(iter(query))}:" in response.content.decode()


@pytest.mark.parametrize("role", ["front_desk", "supervisor", "clinician"])
def test_the_schedule_query_count_does_not_grow_with_visits(
    signed_in, request, role, clinician, django_assert_max_num_queries
):
    user = request.getfixturevalue(role)
    for n in range(12):
        case = CaseFactory(primary_clinician=clinician)
        VisitFactory(
            case=case, clinician=clinician, scheduled_at=local(MONDAY + dt.timedelta(days=n % 7), 8 + n % 9)
        )
    client = signed_in(user)

    with django_assert_max_num_queries(12):
        response = client.get("/schedule/", {"view": "week", "day": MONDAY.isoformat()})

    assert response.context["count"] == 12


def test_the_dashboard_day_has_previous_next_and_a_clinician_filter(signed_in, front_desk, week, clinician):
    client = signed_in(front_desk)

    response = client.get("/", {"day": MONDAY.isoformat(), "clinician": str(clinician.pk)})

    assert [v.pk for v in response.context["schedule"]["visits"]] == [week["own_monday"].pk]
    html = response.content.decode()
    assert f'href="?day={(MONDAY - dt.timedelta(days=1)).isoformat()}&amp;clinician={clinician.pk}"' in html
    assert f'href="?day={(MONDAY + dt.timedelta(days=1)).isoformat()}&amp;clinician={clinician.pk}"' in html
    assert "Previous day" in html and "Next day" in html
