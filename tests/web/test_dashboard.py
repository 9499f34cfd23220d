"""The dashboard (`/`): each role's sections and no one else's, its audit and query bounds; and the attendance
endpoint (`visits/<id>/attendance/`) behind the schedule's check-in, no-show and cancel buttons."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Alert, Case, Draft, Visit
from cases.web import dashboard
from clinic.audit import audit_record
from clinic.models import AuditEvent
from clinic.roles import Role
from tests.builders import AUDIT_APPEND_QUERIES
from tests.factories import (
    AlertFactory,
    AttendedVisitFactory,
    BreakGlassGrantFactory,
    CaseFactory,
    ClosedCaseFactory,
    SignedVisitFactory,
    UserFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

SECTIONS = ("worklist", "my_visits", "schedule", "caseload", "unassigned", "break_glass", "administration")
SECTIONS_OF = {
    Role.FRONT_DESK: {"schedule"},
    Role.CLINICIAN: {"worklist", "my_visits", "caseload"},
    Role.SUPERVISOR: {"worklist", "my_visits", "schedule", "caseload", "unassigned", "break_glass"},
    Role.ADMINISTRATOR: {"administration"},
}
HEADING_ID = {
    "worklist": "worklist-h",
    "my_visits": "my-visits-h",
    "schedule": "schedule-h",
    "caseload": "caseload-h",
    "unassigned": "unassigned-h",
    "break_glass": "break-glass-h",
    "administration": "administration-h",
}
# Queries per dashboard, whatever the rows: session, user and the user's groups (3), then one per list or count
# shown, and the audit append when a patient was shown. Front desk: the schedule. Clinician: worklist (+ the count
# of the rest), own visits, stage counts. Supervisor: those, the clinic's schedule, unassigned cases (+ count),
# grants (+ count) and their activity. Administrator: three counts, no audit (no patient shown). Each schedule's
# visits bring their attendance history in one query (whether a correction is offered); the clinic schedule's
# clinician filter lists the clinicians (two queries: the users, their groups).
MAX_QUERIES = {
    Role.FRONT_DESK: 7 + AUDIT_APPEND_QUERIES,
    # the worklist's evidence is one query, the unsaved drafts one, whose visits' contact details they read one
    Role.CLINICIAN: 11 + AUDIT_APPEND_QUERIES,
    Role.SUPERVISOR: 19 + AUDIT_APPEND_QUERIES,
    Role.ADMINISTRATOR: 6,
}


def at(hour: int, minute: int = 0, *, days: int = 0) -> dt.datetime:
    """A clinic-local moment today (or `days` from today)."""
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def attendance_url(visit: Visit) -> str:
    return f"/visits/{visit.pk}/attendance/"


def events(**filters: object) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


@pytest.fixture
def clinic(clinician, other_clinician, own_case, other_case):
    """Alerts, today's visits and an unassigned case across the clinician's caseload and another's."""
    urgent = AlertFactory(case=own_case, severity="urgent", raised_at=at(8, days=-1))
    warning = AlertFactory(
        case=own_case,
        kind="elevated_bp",
        severity="warning",
        message="Blood pressure 150/95 at today's visit.",
        raised_at=at(7, days=-2),
    )
    AlertFactory(
        case=own_case,
        kind="liver_injury",
        severity="urgent",
        status=Alert.Status.ACKNOWLEDGED,
        message="ALT 4 x ULN (acknowledged).",
    )
    others = AlertFactory(case=other_case, message="Another clinician's patient: fentanyl positive.")
    own_visit = VisitFactory(case=own_case, clinician=clinician, scheduled_at=at(10))
    early_visit = AttendedVisitFactory(
        case=own_case, clinician=clinician, scheduled_at=at(8, 30), subjective="Slept badly; craving 7/10."
    )
    other_visit = VisitFactory(case=other_case, clinician=other_clinician, scheduled_at=at(9))
    tomorrow = VisitFactory(case=own_case, clinician=clinician, scheduled_at=at(10, days=1))
    unassigned = CaseFactory(primary_clinician=None, stage=Case.Stage.ASSESSMENT)
    return {
        "urgent": urgent,
        "warning": warning,
        "others": others,
        "own_visit": own_visit,
        "early_visit": early_visit,
        "other_visit": other_visit,
        "tomorrow": tomorrow,
        "unassigned": unassigned,
    }


@pytest.fixture
def grant(clinician, other_clinician):
    """A running break-glass grant of the clinician's on another clinician's patient, used once."""
    case = CaseFactory(primary_clinician=other_clinician)
    grant = BreakGlassGrantFactory(
        user=clinician, patient=case.patient, granted_at=timezone.now() - dt.timedelta(minutes=5)
    )
    audit_record(
        user=clinician,
        action="view",
        object_type="patient",
        object_id=case.patient_id,
        patient_id=case.patient_id,
    )
    return grant


# --- Who sees what --------------------------------------------------------------------------------------------


def test_anonymous_visitors_are_redirected_to_the_login_page(client):
    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/")


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_its_own_sections_and_no_others(signed_in, clinic, role):
    response = signed_in(UserFactory(roles=[role])).get("/")

    assert response.status_code == 200
    html = response.content.decode()
    shown = {name for name in SECTIONS if response.context[name] is not None}
    assert shown == SECTIONS_OF[role]
    assert {name for name in SECTIONS if f'id="{HEADING_ID[name]}"' in html} == SECTIONS_OF[role]
    assert f"<strong>{role.label}</strong>" in html  # the role by its name, not its code


def test_a_user_with_several_roles_sees_the_sections_of_each(signed_in, clinic):
    response = signed_in(UserFactory(roles=[Role.SUPERVISOR, Role.ADMINISTRATOR])).get("/")

    shown = {name for name in SECTIONS if response.context[name] is not None}
    assert shown == SECTIONS_OF[Role.SUPERVISOR] | SECTIONS_OF[Role.ADMINISTRATOR]
    assert response.context["roles"] == [Role.ADMINISTRATOR, Role.SUPERVISOR]


def test_a_user_without_roles_is_told_to_ask_an_administrator(signed_in, clinic):
    response = signed_in(UserFactory()).get("/")

    html = response.content.decode()
    assert "none (ask an administrator)" in html
    assert "There is nothing for your roles on this page yet." in html
    assert not events(object_type="dashboard")


def test_front_desk_never_sees_alert_messages_or_notes(signed_in, front_desk, clinic):
    html = signed_in(front_desk).get("/").content.decode()

    assert clinic["own_visit"].case.patient.mrn in html  # the schedule names the patient
    for alert in (clinic["urgent"], clinic["warning"], clinic["others"]):
        assert alert.message not in html
    assert "Slept badly" not in html


def test_an_administrator_sees_counts_and_links_but_no_patient(signed_in, administrator, clinic):
    response = signed_in(administrator).get("/")

    html = response.content.decode()
    for case in Case.objects.select_related("patient"):
        assert case.patient.mrn not in html
        assert case.patient.last_name not in html
    assert dict(response.context["administration"]["numbers"]) == {
        "Open cases": 3,
        "Visits scheduled today": 3,
        "Break-glass grants running now": 0,
    }
    for href in ('href="/reports/"', 'href="/audit/"'):
        assert href in html
    assert not events(object_type="dashboard")


@pytest.mark.parametrize(("role", "shown"), [(Role.ADMINISTRATOR, True), (Role.CLINICIAN, False)])
def test_the_staff_admin_link_shows_only_for_those_the_admin_lets_in(signed_in, role, shown):
    html = signed_in(UserFactory(roles=[role], is_staff=not shown)).get("/").content.decode()

    assert ('href="/admin/"' in html) is shown


# --- The worklist ---------------------------------------------------------------------------------------------


def test_a_clinicians_worklist_holds_the_open_alerts_of_their_caseload_urgent_first(
    signed_in, clinician, clinic
):
    response = signed_in(clinician).get("/")

    assert response.context["worklist"]["alerts"] == [clinic["urgent"], clinic["warning"]]
    html = response.content.decode()
    assert "Your worklist: open alerts" in html
    assert f'href="/patients/{clinic["urgent"].patient_id}/"' in html
    assert f'href="/patients/{clinic["urgent"].patient_id}/#alerts"' in html
    assert clinic["urgent"].message in html
    assert clinic["urgent"].patient.mrn in html
    assert "ALT 4 x ULN" not in html  # acknowledged: off the worklist, as `alerts/?status=open`
    assert clinic["others"].message not in html


def test_a_supervisor_sees_the_open_alerts_of_every_patient(signed_in, supervisor, clinic):
    response = signed_in(supervisor).get("/")

    assert response.context["worklist"]["alerts"] == [clinic["urgent"], clinic["others"], clinic["warning"]]
    assert "Open alerts in the clinic" in response.content.decode()


def test_the_worklist_is_cut_short_with_a_count_of_the_rest(signed_in, clinician, own_case, monkeypatch):
    monkeypatch.setattr(dashboard, "WORKLIST_LIMIT", 2)
    for kind in ("suicide_risk", "elevated_bp", "liver_injury", "engagement_risk"):
        AlertFactory(case=own_case, kind=kind)

    response = signed_in(clinician).get("/")

    assert len(response.context["worklist"]["alerts"]) == 2
    assert "And 2 more open alerts" in response.content.decode()


# --- Visits and the schedule -----------------------------------------------------------------------------------


def test_a_clinician_sees_their_own_visits_today_by_time(signed_in, clinician, clinic):
    response = signed_in(clinician).get("/")

    assert response.context["my_visits"]["visits"] == [clinic["early_visit"], clinic["own_visit"]]
    html = response.content.decode()
    assert "Your visits today" in html
    assert html.count(f'action="{attendance_url(clinic["own_visit"])}"') == 1
    assert 'value="attended">Check in<span class="visually-hidden"> the 08:30' not in html  # attended already
    assert "Correct attendance" in html  # ... but correctable today


def test_front_desk_sees_the_whole_clinics_schedule_today_with_attendance_buttons(
    signed_in, front_desk, clinic, other_clinician
):
    response = signed_in(front_desk).get("/")

    assert response.context["schedule"]["visits"] == [
        clinic["early_visit"],
        clinic["other_visit"],
        clinic["own_visit"],
    ]
    html = response.content.decode()
    assert str(other_clinician) in html
    for visit in (clinic["other_visit"], clinic["own_visit"]):
        assert f'hx-post="{attendance_url(visit)}"' in html
    for status in ("attended", "no_show", "cancelled", "late_cancel"):
        assert f'name="status" value="{status}"' in html
    assert 'name="next" value="/"' in html


def test_another_day_of_the_schedule_is_shown_when_asked_for(signed_in, front_desk, clinic):
    day = timezone.localdate() + dt.timedelta(days=1)

    response = signed_in(front_desk).get("/", {"day": day.isoformat()})

    assert response.context["schedule"]["visits"] == [clinic["tomorrow"]]
    html = response.content.decode()
    assert f"Clinic schedule on {day:%A}" in html
    assert f'name="next" value="/?day={day.isoformat()}"' in html


@pytest.mark.parametrize("bad", ["tomorrow", "2026-02-30", "1900-01-01"])
def test_a_day_that_is_not_one_shows_today_with_a_message(signed_in, front_desk, clinic, bad):
    response = signed_in(front_desk).get("/", {"day": bad})

    assert response.status_code == 200
    assert response.context["day"] == timezone.localdate()
    assert "Showing today&#x27;s schedule." in response.content.decode()


def test_a_clinician_sees_open_case_counts_of_their_caseload_by_stage(
    signed_in, clinician, other_clinician, own_case, other_case
):
    CaseFactory(primary_clinician=clinician, stage=Case.Stage.TREATMENT)
    CaseFactory(primary_clinician=other_clinician, care_team=[clinician], stage=Case.Stage.TREATMENT)
    ClosedCaseFactory(primary_clinician=clinician)
    CaseFactory(
        primary_clinician=clinician, patient__entered_in_error=True, patient__entered_in_error_reason="Dup"
    )

    response = signed_in(clinician).get("/")

    caseload = response.context["caseload"]
    assert caseload["stages"] == [
        ("intake", "Intake", 1),
        ("assessment", "Assessment", 0),
        ("treatment", "Treatment", 2),
        ("recovery", "Long-term recovery", 0),
    ]
    assert (caseload["total"], caseload["clinic_wide"]) == (3, False)
    assert 'href="/patients/?stage=treatment"' in response.content.decode()


# --- Supervisors' review ---------------------------------------------------------------------------------------


def test_a_supervisor_sees_the_open_cases_without_a_primary_clinician(signed_in, supervisor, clinic):
    response = signed_in(supervisor).get("/")

    assert response.context["unassigned"]["cases"] == [clinic["unassigned"]]
    assert f'href="/patients/{clinic["unassigned"].patient_id}/"' in response.content.decode()


def test_a_supervisor_reviews_break_glass_grants_with_what_was_viewed(
    signed_in, supervisor, clinician, grant
):
    response = signed_in(supervisor).get("/")

    (shown,) = response.context["break_glass"]["grants"]
    assert shown == grant
    assert [event.object_type for event in shown.activity] == ["patient"]
    html = response.content.decode()
    for text in (
        str(clinician),
        grant.patient.mrn,
        grant.reason,
        "Running",
        "What was viewed or done under it (1)",
    ):
        assert text in html


# --- Audit and query bounds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "category", "patients"),
    [
        ("front_desk", "visit_schedule", {"own_case", "other_case"}),
        ("clinician", "alert", {"own_case"}),
        ("supervisor", "alert", {"own_case", "other_case", "unassigned"}),
    ],
)
def test_the_dashboard_read_is_one_audit_event_naming_every_patient_shown(
    request, signed_in, clinic, own_case, other_case, role, category, patients
):
    user = request.getfixturevalue(role)
    client = signed_in(user)  # signing in is an event of its own
    before = AuditEvent.objects.count()

    client.get("/")

    (event,) = AuditEvent.objects.order_by("id")[before:]
    cases = {"own_case": own_case, "other_case": other_case, "unassigned": clinic["unassigned"]}
    assert (event.user, event.action, event.object_type, event.data_category, event.outcome) == (
        user,
        "list",
        "dashboard",
        category,
        "allowed",
    )
    assert set(event.patients_seen.split()) == {str(cases[name].patient_id) for name in patients}


@pytest.mark.parametrize("rows", [1, 6])
@pytest.mark.parametrize("role", list(Role))
def test_the_dashboards_query_count_does_not_grow_with_rows(
    signed_in, django_assert_max_num_queries, monkeypatch, role, rows
):
    for limit in ("WORKLIST_LIMIT", "UNASSIGNED_LIMIT", "GRANTS_LIMIT"):
        monkeypatch.setattr(dashboard, limit, 3)  # 6 rows: the lists are cut short and the rest counted
    user = UserFactory(roles=[role])
    clinician = user if role in (Role.CLINICIAN, Role.SUPERVISOR) else UserFactory(roles=[Role.CLINICIAN])
    for i in range(rows):
        case = CaseFactory(primary_clinician=clinician)
        AlertFactory(case=case)
        visit = VisitFactory(case=case, clinician=clinician, scheduled_at=at(9, i))
        Draft.objects.create(
            author=user,
            form=Draft.Form.VISIT_NOTE,
            object_id=visit.pk,
            patient=case.patient,
            saved_at=timezone.now(),
            expires_at=timezone.now() + Draft.LIFETIME,
        )
        CaseFactory(primary_clinician=None)
        grant = BreakGlassGrantFactory(patient=case.patient)
        audit_record(user=grant.user, action="view", object_type="patient", patient_id=case.patient_id)
    client = signed_in(user)

    with django_assert_max_num_queries(MAX_QUERIES[role]):
        response = client.get("/")

    assert response.status_code == 200


# --- Attendance ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN, Role.SUPERVISOR])
def test_those_who_schedule_record_attendance_through_the_visit_service(signed_in, clinician, own_case, role):
    user = clinician if role is Role.CLINICIAN else UserFactory(roles=[role])
    visit = VisitFactory(case=own_case, scheduled_at=at(10))

    response = signed_in(user).post(attendance_url(visit), {"status": "attended", "next": "/"})

    assert (response.status_code, response["Location"]) == (302, "/")
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ATTENDED
    (event,) = events(action="update", object_type="visit", object_id=str(visit.pk))
    assert (event.user, event.patient_id, event.detail["fields"]) == (user, own_case.patient_id, ["status"])


def test_front_desk_records_attendance_on_any_patients_visit(signed_in, front_desk, other_case):
    visit = VisitFactory(case=other_case)

    response = signed_in(front_desk).post(attendance_url(visit), {"status": "cancelled"})

    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED


def test_a_clinician_gets_404_for_a_visit_outside_their_caseload(signed_in, clinician, other_case):
    visit = VisitFactory(case=other_case)

    response = signed_in(clinician).post(attendance_url(visit), {"status": "no_show"})

    assert response.status_code == 404
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED
    (event,) = events(outcome="denied")
    assert (event.action, event.object_type, event.object_id, event.patient_id) == (
        "update",
        "visit",
        str(visit.pk),
        other_case.patient_id,
    )


def test_a_visit_that_does_not_exist_is_404(signed_in, front_desk):
    response = signed_in(front_desk).post("/visits/00000000-0000-0000-0000-000000000000/attendance/", {})

    assert response.status_code == 404
    (event,) = events(outcome="denied")
    assert event.patient_id is None


def test_an_administrator_gets_403_for_attendance(signed_in, administrator, own_case):
    visit = VisitFactory(case=own_case)

    response = signed_in(administrator).post(attendance_url(visit), {"status": "attended"})

    assert response.status_code == 403
    assert "schedule visits or record attendance" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED
    (event,) = events(outcome="denied")
    assert (event.action, event.detail["capability"]) == ("update", "schedule_visits")


def test_anonymous_attendance_is_redirected_to_the_login_page(client, own_case):
    visit = VisitFactory(case=own_case)

    response = client.post(attendance_url(visit), {"status": "attended"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_attendance_is_only_posted(signed_in, front_desk, own_case):
    response = signed_in(front_desk).get(attendance_url(VisitFactory(case=own_case)))

    assert response.status_code == 405


def test_a_status_that_is_not_one_is_400_and_changes_nothing(signed_in, front_desk, own_case, htmx):
    visit = VisitFactory(case=own_case)

    response = signed_in(front_desk).post(attendance_url(visit), {"status": "vanished"}, headers=htmx)

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED
    assert not events(action="update")


def test_an_attended_visit_with_notes_cannot_become_a_no_show(signed_in, front_desk, own_case, htmx):
    visit = AttendedVisitFactory(case=own_case)

    response = signed_in(front_desk).post(attendance_url(visit), {"status": "no_show"}, headers=htmx)

    assert response.status_code == 400
    assert "cannot be marked as not attended" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ATTENDED
    assert not events(action="update")


def test_a_signed_visit_is_a_409(signed_in, supervisor, own_case, htmx):
    visit = SignedVisitFactory(case=own_case)

    response = signed_in(supervisor).post(attendance_url(visit), {"status": "cancelled"}, headers=htmx)

    assert response.status_code == 409
    assert "signed" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ATTENDED


def test_htmx_gets_the_attendance_fragment_back(signed_in, front_desk, own_case, htmx):
    visit = VisitFactory(case=own_case, scheduled_at=timezone.now() - dt.timedelta(minutes=1))

    response = signed_in(front_desk).post(
        attendance_url(visit), {"status": "no_show", "next": "/"}, headers=htmx
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.strip().startswith('<div class="attendance')
    assert '<span class="badge no_show">No-show</span>' in html
    assert "Saved." in html
    assert 'value="attended">Check in' not in html  # no longer scheduled: no buttons
    assert "Correct attendance" in html  # ... but a correction, the same day


def test_a_plain_post_returns_to_next_with_a_message(signed_in, front_desk, own_case):
    visit = VisitFactory(case=own_case, scheduled_at=at(14, 30))
    client = signed_in(front_desk)

    response = client.post(
        attendance_url(visit), {"status": "late_cancel", "next": "/?day=2026-01-05"}, follow=True
    )

    assert response.redirect_chain == [("/?day=2026-01-05", 302)]
    assert "is now marked late cancellation." in response.content.decode()


@pytest.mark.parametrize(
    "next_url", ["https://evil.example.org/", "//evil.example.org/", "javascript:alert(1)", ""]
)
def test_a_plain_post_never_returns_to_another_site(signed_in, front_desk, own_case, next_url):
    visit = VisitFactory(case=own_case, scheduled_at=timezone.now())

    response = signed_in(front_desk).post(attendance_url(visit), {"status": "attended", "next": next_url})

    assert (response.status_code, response["Location"]) == (302, "/")


def test_a_refused_plain_post_shows_the_error_on_its_own_page(signed_in, front_desk, own_case):
    visit = AttendedVisitFactory(case=own_case)

    response = signed_in(front_desk).post(attendance_url(visit), {"status": "no_show", "next": "/"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "<h1>Record attendance</h1>" in html
    assert "cannot be marked as not attended" in html
    assert "Slept" not in html and visit.subjective not in html


def test_an_htmx_refusal_answers_the_fragment_with_the_error(signed_in, front_desk, own_case, htmx):
    visit = VisitFactory(case=own_case)

    response = signed_in(front_desk).post(attendance_url(visit), {"status": "", "next": "/"}, headers=htmx)

    assert response.status_code == 400
    html = response.content.decode()
    assert html.strip().startswith('<div class="attendance')
    assert "This field is required." in html
    assert f'hx-post="{attendance_url(visit)}"' in html  # still scheduled: the buttons stay for another try


def test_recording_attendance_costs_a_bounded_number_of_queries(
    signed_in, front_desk, own_case, htmx, django_assert_max_num_queries
):
    for days in range(1, 6):
        VisitFactory(case=own_case, scheduled_at=at(9, days=-days), status=Visit.Status.NO_SHOW)
    visit = VisitFactory(case=own_case, scheduled_at=timezone.now() - dt.timedelta(minutes=1))
    client = signed_in(front_desk)

    # All but five are the visit service's: the row lock, model validation (a query per check constraint), the
    # update, its history row and its audit append, then the engagement-risk alert the sixth no-show raises with its first evidence
    # entry, with its own append (on PostgreSQL one more than on SQLite).
    with django_assert_max_num_queries(44 + 2 * AUDIT_APPEND_QUERIES):
        response = client.post(attendance_url(visit), {"status": "no_show"}, headers=htmx)

    assert response.status_code == 200
