"""The visit pages: schedule, the note form, sign, addenda, and the chart's visits section, for every role."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from cases.models import Visit, VisitAddendum
from cases.web.visits import VISITS_SHOWN, chart_url, visits_section
from clinic.models import AuditEvent
from tests.builders import AUDIT_APPEND_QUERIES
from tests.factories import AttendedVisitFactory, ClosedCaseFactory, SignedVisitFactory, VisitFactory

pytestmark = pytest.mark.django_db

LOCKED = "Signed notes can&#x27;t change; add an addendum."


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-id").first()


def note_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "subjective": "Using 10 g a day, down from 30.",
        "objective": "Alert, mild tremor.",
        "assessment": "Kratom use disorder, moderate, improving.",
        "plan": "Continue taper; return in one week.",
        "bp_systolic": "142",
        "bp_diastolic": "91",
        "heart_rate": "88",
        "weight_kg": "81.5",
        "craving": "4",
        "kratom_days_used_30": "20",
        "kratom_daily_grams": "10.5",
        "withdrawal_symptoms": ["insomnia", "irritability"],
    }
    data.update(overrides)
    return data


@pytest.fixture
def attended(own_case, clinician):
    return AttendedVisitFactory(case=own_case, clinician=clinician, subjective="")


@pytest.fixture
def signed(own_case, clinician):
    return SignedVisitFactory(case=own_case, clinician=clinician)


# --- Scheduling ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [("front_desk", 200), ("clinician", 200), ("supervisor", 200), ("administrator", 403)],
)
def test_the_schedule_form_opens_for_roles_that_schedule(request, signed_in, own_case, role, expected):
    response = signed_in(request.getfixturevalue(role)).get(reverse("visit-schedule", args=[own_case.pk]))
    assert response.status_code == expected
    if expected == 200:
        assert b'<label for="id_visit_type">Visit type</label>' in response.content
        assert AuditEvent.objects.filter(
            action="view", object_type="case", object_id=str(own_case.pk), patient_id=own_case.patient_id
        ).exists()


def test_the_schedule_form_offers_the_cases_primary_clinician_first(
    signed_in, front_desk, own_case, clinician
):
    response = signed_in(front_desk).get(reverse("visit-schedule", args=[own_case.pk]))
    assert f'<option value="{clinician.pk}" selected>'.encode() in response.content


def test_administrator_refused_scheduling_is_audited_as_denied(signed_in, administrator, own_case):
    response = signed_in(administrator).get(reverse("visit-schedule", args=[own_case.pk]))
    assert response.status_code == 403
    assert b"schedule visits" in response.content
    assert last_event().outcome == "denied"


def test_clinician_gets_404_scheduling_on_another_clinicians_case(signed_in, clinician, other_case):
    response = signed_in(clinician).post(
        reverse("visit-schedule", args=[other_case.pk]),
        {"visit_type": "intake", "date": "2030-01-02", "time": "09:00", "duration_minutes": "50"},
    )
    assert response.status_code == 404
    assert not Visit.objects.exists()
    assert last_event().outcome == "denied"
    assert last_event().patient_id == other_case.patient_id


def test_front_desk_schedules_a_visit_in_clinic_time(signed_in, front_desk, own_case, clinician):
    day = timezone.localdate() + dt.timedelta(days=3)
    response = signed_in(front_desk).post(
        reverse("visit-schedule", args=[own_case.pk]),
        {
            "visit_type": "medication_management",
            "date": day.isoformat(),
            "time": "14:30",
            "duration_minutes": "30",
            "clinician": str(clinician.pk),
        },
    )
    visit = Visit.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{chart_url(own_case.patient_id)}#visit-{visit.pk}"
    assert timezone.localtime(visit.scheduled_at).replace(tzinfo=None) == dt.datetime.combine(
        day, dt.time(14, 30)
    )
    assert str(timezone.localtime(visit.scheduled_at).tzinfo) == "America/Chicago"
    assert (visit.visit_type, visit.duration_minutes, visit.clinician, visit.created_by) == (
        "medication_management",
        30,
        clinician,
        front_desk,
    )
    event = last_event()
    assert (event.action, event.object_id, event.user) == ("create", str(visit.pk), front_desk)


def test_scheduling_before_the_case_opened_is_a_400_and_saves_nothing(
    signed_in, front_desk, own_case, clinician
):
    response = signed_in(front_desk).post(
        reverse("visit-schedule", args=[own_case.pk]),
        {
            "visit_type": "intake",
            "date": (own_case.opened_on - dt.timedelta(days=1)).isoformat(),
            "time": "09:00",
            "duration_minutes": "50",
            "clinician": str(clinician.pk),
        },
    )
    assert response.status_code == 400
    assert b"A visit cannot be scheduled before the case opened." in response.content
    assert not Visit.objects.exists()


def test_scheduling_without_a_clinician_is_a_400(signed_in, supervisor, own_case):
    response = signed_in(supervisor).post(
        reverse("visit-schedule", args=[own_case.pk]),
        {
            "visit_type": "intake",
            "date": "2030-01-02",
            "time": "09:00",
            "duration_minutes": "2",
            "clinician": "",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["clinician"] == ["This field is required."]
    assert not Visit.objects.exists()


def test_scheduling_a_duration_out_of_range_is_the_services_400(signed_in, supervisor, own_case, clinician):
    response = signed_in(supervisor).post(
        reverse("visit-schedule", args=[own_case.pk]),
        {
            "visit_type": "intake",
            "date": "2030-01-02",
            "time": "09:00",
            "duration_minutes": "600",
            "clinician": str(clinician.pk),
        },
    )
    assert response.status_code == 400
    assert "duration_minutes" in response.context["form"].errors
    assert not Visit.objects.exists()


def test_the_schedule_form_query_count_is_bounded(
    signed_in, front_desk, own_case, django_assert_max_num_queries
):
    client = signed_in(front_desk)
    with django_assert_max_num_queries(8 + AUDIT_APPEND_QUERIES):
        assert client.get(reverse("visit-schedule", args=[own_case.pk])).status_code == 200


# --- The note -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [("front_desk", 403), ("clinician", 200), ("supervisor", 200), ("administrator", 403)],
)
def test_the_note_form_opens_for_roles_that_write_notes(request, signed_in, attended, role, expected):
    response = signed_in(request.getfixturevalue(role)).get(reverse("visit-note", args=[attended.pk]))
    assert response.status_code == expected
    if expected == 403:
        assert last_event().outcome == "denied"


def test_clinician_gets_404_for_another_clinicians_note(signed_in, clinician, other_case, other_clinician):
    visit = AttendedVisitFactory(case=other_case, clinician=other_clinician)
    response = signed_in(clinician).post(reverse("visit-note", args=[visit.pk]), note_data())
    assert response.status_code == 404
    visit.refresh_from_db()
    assert visit.objective == ""
    assert (last_event().outcome, last_event().patient_id) == ("denied", other_case.patient_id)


def test_opening_the_note_form_is_audited_as_a_read_of_the_note(signed_in, clinician, attended):
    response = signed_in(clinician).get(reverse("visit-note", args=[attended.pk]))
    assert response.status_code == 200
    event = last_event()
    assert (event.action, event.object_type, event.object_id, event.data_category) == (
        "view",
        "visit",
        str(attended.pk),
        "clinical_note",
    )


def test_the_note_form_labels_every_field(signed_in, clinician, attended):
    content = signed_in(clinician).get(reverse("visit-note", args=[attended.pk])).content.decode()
    for name in (
        "subjective",
        "objective",
        "assessment",
        "plan",
        "bp_systolic",
        "bp_diastolic",
        "heart_rate",
    ):
        assert f'<label for="id_{name}">' in content
    for name in ("weight_kg", "craving", "kratom_days_used_30", "kratom_daily_grams"):
        assert f'<label for="id_{name}">' in content
    for index, (_, label) in enumerate(Visit.WithdrawalSymptom.choices):
        assert f'<label for="id_withdrawal_symptoms_{index}">' in content
        assert label in content
    assert 'max="300"' in content  # the plausible range reaches the input


def test_clinician_saves_the_note_and_the_update_is_audited(signed_in, clinician, attended):
    response = signed_in(clinician).post(reverse("visit-note", args=[attended.pk]), note_data())
    assert response.status_code == 302
    assert response["Location"] == f"{chart_url(attended.case.patient_id)}#visit-{attended.pk}"
    attended.refresh_from_db()
    assert attended.objective == "Alert, mild tremor."
    assert (attended.bp_systolic, attended.bp_diastolic, attended.heart_rate) == (142, 91, 88)
    assert (attended.weight_kg, attended.kratom_daily_grams) == (Decimal("81.5"), Decimal("10.5"))
    assert (attended.craving, attended.kratom_days_used_30) == (4, 20)
    assert attended.withdrawal_symptoms == ["insomnia", "irritability"]
    event = AuditEvent.objects.filter(action="update", object_id=str(attended.pk)).get()
    assert event.data_category == "clinical_note"
    assert "bp_systolic" in event.detail["fields"]


def test_only_the_changed_fields_are_written(signed_in, supervisor, attended):
    attended.plan = "Keep going."
    attended.save()
    data = {"subjective": "", "objective": "", "assessment": "", "plan": "Keep going.", "heart_rate": "70"}
    assert signed_in(supervisor).post(reverse("visit-note", args=[attended.pk]), data).status_code == 302
    event = AuditEvent.objects.filter(action="update", object_id=str(attended.pk)).get()
    assert event.detail["fields"] == ["heart_rate"]


def test_a_scheduled_visit_is_marked_attended_with_its_note(signed_in, clinician, own_case):
    visit = VisitFactory(
        case=own_case, clinician=clinician, scheduled_at=timezone.now() - dt.timedelta(hours=1)
    )
    page = signed_in(clinician).get(reverse("visit-note", args=[visit.pk]))
    assert b'name="mark_attended"' in page.content
    response = signed_in(clinician).post(
        reverse("visit-note", args=[visit.pk]), note_data(mark_attended="on")
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert (visit.status, visit.plan) == ("attended", "Continue taper; return in one week.")


def test_a_note_on_a_visit_not_attended_is_a_400_and_saves_nothing(signed_in, clinician, own_case):
    visit = VisitFactory(case=own_case, clinician=clinician)
    response = signed_in(clinician).post(reverse("visit-note", args=[visit.pk]), note_data())
    assert response.status_code == 400
    assert response.context["form"].errors["mark_attended"] == [
        "Clinical details can only be recorded for an attended visit."
    ]
    visit.refresh_from_db()
    assert (visit.status, visit.subjective, visit.bp_systolic) == ("scheduled", "", None)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"bp_systolic": "400"}, "bp_systolic", "Ensure this value is less than or equal to 300."),
        ({"bp_diastolic": ""}, "bp_diastolic", "Record both blood pressure numbers, or neither."),
        (
            {"bp_systolic": "80", "bp_diastolic": "90"},
            "bp_systolic",
            "Systolic pressure must be above diastolic",
        ),
        ({"craving": "11"}, "craving", "Ensure this value is less than or equal to 10."),
        (
            {"kratom_days_used_30": "31"},
            "kratom_days_used_30",
            "Ensure this value is less than or equal to 30.",
        ),
        ({"heart_rate": "fast"}, "heart_rate", "Enter a whole number."),
        ({"withdrawal_symptoms": ["hiccups"]}, "withdrawal_symptoms", "Select a valid choice."),
    ],
)
def test_a_note_with_a_bad_value_is_a_400_naming_the_field_and_saves_nothing(
    signed_in, clinician, attended, overrides, field, message
):
    response = signed_in(clinician).post(reverse("visit-note", args=[attended.pk]), note_data(**overrides))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert b"Nothing was saved" in response.content
    attended.refresh_from_db()
    assert (attended.objective, attended.bp_systolic, attended.craving) == ("", None, None)
    assert not AuditEvent.objects.filter(action="update").exists()


def test_the_note_of_a_signed_visit_cannot_be_opened_for_editing(signed_in, clinician, signed):
    response = signed_in(clinician).get(reverse("visit-note", args=[signed.pk]))
    assert response.status_code == 409
    assert LOCKED.encode() in response.content
    assert b"Add addendum" in response.content


def test_signing_then_editing_is_a_409_and_the_note_is_unchanged(signed_in, clinician, attended):
    client = signed_in(clinician)
    client.post(reverse("visit-note", args=[attended.pk]), note_data())
    assert client.post(reverse("visit-note-sign", args=[attended.pk])).status_code == 302
    response = client.post(reverse("visit-note", args=[attended.pk]), note_data(plan="Changed my mind."))
    assert response.status_code == 409
    assert LOCKED.encode() in response.content
    attended.refresh_from_db()
    assert attended.plan == "Continue taper; return in one week."


def test_the_note_form_query_count_is_bounded(
    signed_in, clinician, signed, attended, django_assert_max_num_queries
):
    for _ in range(5):
        VisitAddendum.objects.create(visit=signed, author=clinician, text="More.")
    client = signed_in(clinician)
    with django_assert_max_num_queries(12 + AUDIT_APPEND_QUERIES):
        assert client.get(reverse("visit-note", args=[attended.pk])).status_code == 200
    with django_assert_max_num_queries(16 + AUDIT_APPEND_QUERIES):
        assert client.get(reverse("visit-note", args=[signed.pk])).status_code == 409


# --- Sign and addenda ---------------------------------------------------------------------------------------


def test_signing_locks_the_note_and_returns_to_the_chart(signed_in, supervisor, own_case, clinician):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician)
    response = signed_in(supervisor).post(reverse("visit-note-sign", args=[visit.pk]))
    assert response.status_code == 302
    assert response["Location"] == f"{chart_url(own_case.patient_id)}#visit-{visit.pk}"
    visit.refresh_from_db()
    assert visit.signed_by == supervisor
    assert AuditEvent.objects.filter(action="sign", object_id=str(visit.pk), user=supervisor).exists()


def test_signing_with_htmx_swaps_the_visit(signed_in, clinician, own_case, htmx):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician)
    response = signed_in(clinician).post(reverse("visit-note-sign", args=[visit.pk]), headers=htmx)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith(f'<article class="card visit" id="visit-{visit.pk}"')
    assert "Note signed." in content
    assert "Add addendum" in content
    assert "<html" not in content


def test_signing_twice_is_a_409(signed_in, clinician, signed, htmx):
    response = signed_in(clinician).post(reverse("visit-note-sign", args=[signed.pk]), headers=htmx)
    assert response.status_code == 409
    assert b"already signed" in response.content


def test_signing_an_empty_note_is_a_400(signed_in, clinician, attended):
    response = signed_in(clinician).post(reverse("visit-note-sign", args=[attended.pk]))
    assert response.status_code == 400
    assert b"Write the note before signing it." in response.content
    attended.refresh_from_db()
    assert attended.signed_at is None


@pytest.mark.parametrize("url_name", ["visit-note-sign", "visit-addendum"])
@pytest.mark.parametrize(
    ("role", "expected"), [("front_desk", 403), ("administrator", 403), ("other_clinician", 404)]
)
def test_refused_signatures_and_addenda_change_nothing(request, signed_in, signed, url_name, role, expected):
    response = signed_in(request.getfixturevalue(role)).post(
        reverse(url_name, args=[signed.pk]), {"text": "Late entry."}
    )
    assert response.status_code == expected
    assert not VisitAddendum.objects.exists()
    assert last_event().outcome == "denied"


def test_signing_is_post_only(signed_in, clinician, attended):
    assert signed_in(clinician).get(reverse("visit-note-sign", args=[attended.pk])).status_code == 405


def test_an_addendum_on_a_signed_note_is_added_and_audited(signed_in, clinician, signed, htmx):
    response = signed_in(clinician).post(
        reverse("visit-addendum", args=[signed.pk]), {"text": "BP was taken seated."}, headers=htmx
    )
    assert response.status_code == 200
    assert b"BP was taken seated." in response.content
    assert b"Addendum added." in response.content
    addendum = VisitAddendum.objects.get()
    assert (addendum.visit, addendum.author) == (signed, clinician)
    assert AuditEvent.objects.filter(action="addendum", object_id=str(signed.pk)).exists()
    subjective = signed.subjective
    signed.refresh_from_db()
    assert signed.subjective == subjective


def test_an_addendum_without_htmx_returns_to_the_chart(signed_in, supervisor, signed):
    response = signed_in(supervisor).post(
        reverse("visit-addendum", args=[signed.pk]), {"text": "Seen with family."}
    )
    assert response.status_code == 302
    assert VisitAddendum.objects.get().text == "Seen with family."


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_an_empty_addendum_is_a_400_and_saves_nothing(signed_in, clinician, signed, headers):
    response = signed_in(clinician).post(
        reverse("visit-addendum", args=[signed.pk]), {"text": "  "}, headers=headers
    )
    assert response.status_code == 400
    assert b"The addendum needs text." in response.content
    assert not VisitAddendum.objects.exists()


def test_an_addendum_on_an_unsigned_note_is_a_400(signed_in, clinician, own_case):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician)
    response = signed_in(clinician).post(reverse("visit-addendum", args=[visit.pk]), {"text": "Extra."})
    assert response.status_code == 400
    assert b"Addenda are for signed notes" in response.content
    assert not VisitAddendum.objects.exists()


# --- The chart's section ------------------------------------------------------------------------------------


def render_section(user, case, **query: str) -> str:
    request = RequestFactory().get("/", query)
    request.user = user
    context = {
        "patient": case.patient,
        "case": case,
        "user": user,
        **visits_section(request, case.patient, case),
    }
    return render_to_string("cases/web/visits/section.html", context, request=request)


@pytest.fixture
def charted(own_case, clinician):
    """A case with a scheduled, an attended-and-noted, and a signed visit with an addendum."""
    scheduled = VisitFactory(case=own_case, clinician=clinician)
    noted = AttendedVisitFactory(
        case=own_case, clinician=clinician, bp_systolic=150, bp_diastolic=85, withdrawal_symptoms=["nausea"]
    )
    signed = SignedVisitFactory(
        case=own_case,
        clinician=clinician,
        scheduled_at=timezone.now() - dt.timedelta(days=7),
        plan="Taper by 2 g a week.",
    )
    VisitAddendum.objects.create(visit=signed, author=clinician, text="Corrected dose: 3 g.")
    return {"scheduled": scheduled, "noted": noted, "signed": signed}


@pytest.mark.parametrize("role", ["clinician", "supervisor"])
def test_clinicians_see_notes_vitals_signatures_addenda_and_their_buttons(request, own_case, charted, role):
    html = render_section(request.getfixturevalue(role), own_case)
    assert "Cravings eased since last week" in html
    assert "150/85 mmHg" in html and "Stage 2 hypertension" in html
    assert "Nausea" in html
    assert "Corrected dose: 3 g." in html
    assert "Signed by" in html
    assert reverse("visit-schedule", args=[own_case.pk]) in html
    assert reverse("visit-note", args=[charted["noted"].pk]) in html and "Edit note" in html
    assert reverse("visit-note-sign", args=[charted["noted"].pk]) in html
    assert reverse("visit-note-sign", args=[charted["signed"].pk]) not in html
    assert reverse("visit-addendum", args=[charted["signed"].pk]) in html
    assert reverse("visit-note", args=[charted["signed"].pk]) not in html


def test_front_desk_sees_the_schedule_and_attendance_but_no_clinical_content(front_desk, own_case, charted):
    html = render_section(front_desk, own_case)
    assert "Individual counseling" in html and "Attended" in html and "Scheduled" in html
    assert charted["noted"].clinician.full_name in html
    for clinical in ("Cravings eased", "150/85", "Nausea", "Corrected dose", "Signed by", "Taper by 2 g"):
        assert clinical not in html
    assert reverse("visit-schedule", args=[own_case.pk]) in html
    for url_name in ("visit-note", "visit-note-sign", "visit-addendum"):
        assert reverse(url_name, args=[charted["noted"].pk]) not in html
        assert reverse(url_name, args=[charted["signed"].pk]) not in html


def test_the_section_shows_visits_newest_first(clinician, own_case, charted):
    html = render_section(clinician, own_case)
    positions = [html.index(f'id="visit-{charted[name].pk}"') for name in ("scheduled", "noted", "signed")]
    assert positions == sorted(positions)


def test_the_section_shows_the_latest_visits_then_all_on_request(clinician, own_case):
    visits = [
        VisitFactory(case=own_case, clinician=clinician, scheduled_at=timezone.now() + dt.timedelta(days=n))
        for n in range(VISITS_SHOWN + 2)
    ]
    html = render_section(clinician, own_case)
    assert html.count('class="card visit"') == VISITS_SHOWN
    assert f'id="visit-{visits[0].pk}"' not in html
    assert "Show all visits" in html
    everything = render_section(clinician, own_case, visits="all")
    assert everything.count('class="card visit"') == VISITS_SHOWN + 2
    assert "Show all visits" not in everything


def test_the_section_without_a_case_says_so(clinician, own_case):
    request = RequestFactory().get("/")
    request.user = clinician
    context = {"patient": own_case.patient, "case": None, **visits_section(request, own_case.patient, None)}
    assert "No case yet" in render_to_string("cases/web/visits/section.html", context, request=request)


def test_no_schedule_button_on_a_closed_case(front_desk):
    case = ClosedCaseFactory()
    assert reverse("visit-schedule", args=[case.pk]) not in render_section(front_desk, case)


@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_the_section_query_count_does_not_grow_with_visits(request, own_case, clinician, role):
    user = request.getfixturevalue(role)
    user.roles  # noqa: B018  (the roles are read once per request, by the page that includes the section)

    def queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            render_section(user, own_case)
        return len(captured)

    SignedVisitFactory(case=own_case, clinician=clinician)
    few = queries()
    for _ in range(6):
        visit = SignedVisitFactory(case=own_case)  # each with a clinician of its own
        VisitAddendum.objects.create(visit=visit, author=clinician, text="More.")
    assert queries() == few
    # The policy's answer (one caseload check for a clinician, for all three rights; none for a scope of all), the
    # visits, their history, their addenda, and (for those who write notes, when a note is signed) the user's own
    # addendum drafts.
    assert few == {"front_desk": 2, "clinician": 5, "supervisor": 4}[role]


@pytest.mark.parametrize(
    ("role", "clinical"), [("front_desk", False), ("clinician", True), ("supervisor", True)]
)
def test_the_chart_shows_each_role_its_view_of_the_visits(
    request, signed_in, own_case, charted, role, clinical
):
    content = signed_in(request.getfixturevalue(role)).get(chart_url(own_case.patient_id)).content.decode()
    assert 'id="visits-h"' in content
    assert f'id="visit-{charted["signed"].pk}"' in content
    assert ("Corrected dose: 3 g." in content) is clinical
    assert (reverse("visit-note-sign", args=[charted["noted"].pk]) in content) is clinical
    assert reverse("visit-attendance", args=[charted["scheduled"].pk]) in content


# --- Default durations (issue 15) ---


def test_the_booking_form_books_the_types_default_when_left_empty(signed_in, front_desk, own_case):
    client = signed_in(front_desk)
    form = client.get(reverse("visit-schedule", args=[own_case.pk])).content.decode()
    assert "phone check-in 15" in form and "group counseling 90" in form

    response = client.post(
        reverse("visit-schedule", args=[own_case.pk]),
        {
            "visit_type": "phone_checkin",
            "date": (timezone.localdate() + dt.timedelta(days=2)).isoformat(),
            "time": "11:00",
            "duration_minutes": "",
            "clinician": str(own_case.primary_clinician_id),
        },
    )

    assert response.status_code == 302
    assert Visit.objects.get().duration_minutes == 15


# --- Query bounds of the writes (issue 14) --------------------------------------------------------------------
# Each counts the session and the user (with roles), and the savepoint pair of the service's transaction.


def test_booking_a_visit_on_the_page_stays_within_its_query_bound(
    signed_in, clinician, own_case, django_assert_max_num_queries
):
    """Session, user, the case in scope, the clinician (with roles), savepoint, the patient's and clinician's row
    locks, the overlap check, INSERT, audit event, release."""
    client = signed_in(clinician)
    day = timezone.localdate() + dt.timedelta(days=2)
    data = {"visit_type": "intake", "date": day.isoformat(), "time": "10:00", "clinician": str(clinician.pk)}

    with django_assert_max_num_queries(11):
        response = client.post(reverse("visit-schedule", args=[own_case.pk]), data)

    assert response.status_code == 302
    assert Visit.objects.filter(case=own_case).count() == 1


def test_writing_the_note_on_the_page_stays_within_its_query_bound(
    signed_in, clinician, attended, django_assert_max_num_queries
):
    """Session, user, the visit in scope (one query: no addenda or history for a write that redirects), savepoint,
    the row lock with its case, UPDATE, audit event, the alert rules' checks (the stage at the visit, for the use
    reported; the findings the note may withdraw), release, the draft check."""
    client = signed_in(clinician)

    with django_assert_max_num_queries(11):
        response = client.post(
            reverse("visit-note", args=[attended.pk]), note_data(bp_systolic="128", bp_diastolic="78")
        )

    assert response.status_code == 302
    attended.refresh_from_db()
    assert attended.craving == 4  # (a reading that raises an alert also writes the alert and its evidence)


@pytest.mark.parametrize(("headers", "bound"), [({}, 8), ({"HX-Request": "true"}, 11)])
def test_signing_on_the_page_stays_within_its_query_bound(
    signed_in, clinician, own_case, headers, bound, django_assert_max_num_queries
):
    """Session, user, the visit in scope, savepoint, the row lock, UPDATE, audit event, release; htmx also reads
    the signed visit back (visit, addenda, history) for its fragment."""
    visit = AttendedVisitFactory(case=own_case, clinician=own_case.primary_clinician)
    client = signed_in(own_case.primary_clinician)

    with django_assert_max_num_queries(bound):
        response = client.post(reverse("visit-note-sign", args=[visit.pk]), headers=headers)

    assert response.status_code in (200, 302)
    visit.refresh_from_db()
    assert visit.is_signed
