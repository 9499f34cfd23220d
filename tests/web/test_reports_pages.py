"""The reports page (`/reports/`): who may run which scope, the four reports as tables and charts from a small
hand-built cohort, bad parameters as a 400 with the message, de-identified cells, CSV through the API's export,
htmx fragments, the audit of each run, and query bounds."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.db.models import Max
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case, Visit
from clinic.models import AuditEvent
from clinic.roles import Role
from tests.builders import AUDIT_APPEND_QUERIES
from tests.factories import PatientFactory, UserFactory
from tests.report_builders import closed_case, episode, local, score, screen, visit

pytestmark = pytest.mark.django_db

URL = "/reports/"
REPORT_NAMES = ["census", "retention", "visits", "outcomes"]
RANGE = {"start": "2025-01-01", "end": "2025-06-30"}
Stage, Status, Type = Case.Stage, Visit.Status, Visit.VisitType


def day(month: int, day_of_month: int) -> dt.date:
    return dt.date(2025, month, day_of_month)


def last_sequence() -> int:
    return AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0


def table(response, caption: str) -> list[list[str]]:
    """The rows of the report's table with this caption, as shown."""
    [found] = [t for t in response.context["layout"].tables if t.caption == caption]
    return found.rows


def stats(response) -> dict[str, str]:
    return dict(response.context["layout"].stats)


@pytest.fixture
def cohort(clinician, other_clinician, supervisor):
    """Five cases in the first half of 2025 (clinic dates):

    - `treated` (clinician): opened Jan 10, assessment Jan 20, treatment Feb 1; still open. PHQ-9 15 then 6.
      Visits: Feb 10 counselling attended, Feb 17 counselling no-show, Mar 3 medication management attended.
    - `completed` (clinician): opened Feb 1, discharged (completed) Mar 3: a 30-day stay.
    - `recovering` (clinician): opened Jan 5, assessment Jan 10, treatment Jan 20, recovery Mar 1. Urine screens:
      Feb 15 positive (in treatment: not counted), Apr 1 and May 1 negative.
    - `assessed` (other clinician): opened Mar 1, assessment Mar 5. PHQ-9 10 then 12. Visit Mar 10 attended.
    - `waiting` (other clinician): opened Dec 1 2024 (before the range), still at intake.
    """
    # Names no staff member has (the test of names looks for them on the page).
    named = iter(PatientFactory(last_name=name) for name in ("Quillon", "Marrowby", "Thistlewood", "Ambergast",
                                                             "Fennimore"))  # fmt: skip
    treated = episode(
        day(1, 10), (Stage.ASSESSMENT, day(1, 20)), (Stage.TREATMENT, day(2, 1)), primary=clinician,
        patient=next(named),
    )  # fmt: skip
    completed = closed_case(day(2, 1), day(3, 3), primary=clinician, patient=next(named))
    recovering = episode(
        day(1, 5),
        (Stage.ASSESSMENT, day(1, 10)),
        (Stage.TREATMENT, day(1, 20)),
        (Stage.RECOVERY, day(3, 1)),
        primary=clinician,
        patient=next(named),
    )
    assessed = episode(day(3, 1), (Stage.ASSESSMENT, day(3, 5)), primary=other_clinician, patient=next(named))
    waiting = episode(dt.date(2024, 12, 1), primary=other_clinician, patient=next(named))
    score(treated, "phq9", day(1, 15), total=15, by=supervisor)
    score(treated, "phq9", day(3, 15), total=6, by=supervisor)
    score(assessed, "phq9", day(3, 5), total=10, by=supervisor)
    score(assessed, "phq9", day(4, 1), total=12, by=supervisor)
    visit(treated, clinician, local(day(2, 10)), Status.ATTENDED, Type.INDIVIDUAL_COUNSELING)
    visit(treated, clinician, local(day(2, 17)), Status.NO_SHOW, Type.INDIVIDUAL_COUNSELING)
    visit(treated, clinician, local(day(3, 3)), Status.ATTENDED, Type.MEDICATION_MANAGEMENT)
    visit(assessed, other_clinician, local(day(3, 10)), Status.ATTENDED, Type.INDIVIDUAL_COUNSELING)
    screen(recovering, day(2, 15), "positive", by=supervisor)
    screen(recovering, day(4, 1), "negative", by=supervisor)
    screen(recovering, day(5, 1), "negative", by=supervisor)
    return {"treated": treated, "completed": completed, "recovering": recovering, "assessed": assessed,
            "waiting": waiting}  # fmt: skip


# --- Who may run reports, over what ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["administrator", "supervisor", "clinician"])
@pytest.mark.parametrize("name", REPORT_NAMES)
def test_administrators_supervisors_and_clinicians_run_every_report_with_its_charts(
    signed_in, request, cohort, role, name
):
    response = signed_in(request.getfixturevalue(role)).get(URL, {"report": name, **RANGE})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html
    assert 'aria-current="page">' + name.capitalize() in html


def test_front_desk_is_refused_reports_and_the_refusal_is_audited(signed_in, front_desk):
    client = signed_in(front_desk)
    before = last_sequence()

    response = client.get(URL, {"report": "census"})

    assert response.status_code == 403
    assert b"run reports" in response.content
    [event] = AuditEvent.objects.filter(id__gt=before)
    assert (event.action, event.object_type, event.object_id, event.outcome) == (
        "view",
        "page",
        URL,
        "denied",
    )


def test_without_signing_in_reports_redirect_to_the_login_page(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")


def test_reports_answer_get_only(signed_in, supervisor):
    assert signed_in(supervisor).post(URL, RANGE).status_code == 405


def test_census_covers_the_whole_clinic_for_supervisors(
    signed_in, supervisor, cohort, clinician, other_clinician
):
    response = signed_in(supervisor).get(URL, {"report": "census", **RANGE})

    assert table(response, "Open cases by stage") == [
        ["Intake", "1"],
        ["Assessment", "1"],
        ["Treatment", "1"],
        ["Long-term recovery", "1"],
    ]
    assert sorted(table(response, "Open cases by primary clinician")) == sorted(
        [[clinician.full_name, "2"], [other_clinician.full_name, "2"]]
    )
    assert stats(response) == {
        "Open on 2025-06-30": "4",
        "Admissions": "4",
        "Readmissions": "0",
        "Discharges": "1",
    }
    assert ["Treatment completed", "1"] in table(response, "Discharges by reason")
    assert "Figures cover the whole clinic." in response.content.decode()


def test_census_covers_only_a_clinicians_caseload(signed_in, clinician, cohort):
    response = signed_in(clinician).get(URL, {"report": "census", **RANGE})

    assert table(response, "Open cases by stage") == [
        ["Intake", "0"],
        ["Assessment", "0"],
        ["Treatment", "1"],
        ["Long-term recovery", "1"],
    ]
    assert table(response, "Open cases by primary clinician") == [[clinician.full_name, "2"]]
    assert stats(response)["Admissions"] == "3"
    assert "Figures cover your caseload." in response.content.decode()


def test_the_clinician_filter_narrows_the_report_to_their_primary_cases(
    signed_in, supervisor, other_clinician, cohort
):
    response = signed_in(supervisor).get(
        URL, {"report": "census", "clinician": str(other_clinician.pk), **RANGE}
    )

    assert table(response, "Open cases by primary clinician") == [[other_clinician.full_name, "2"]]
    assert other_clinician.full_name in response.content.decode().split('id="report-h"')[1].split("</h2>")[0]


def test_supervisors_pick_any_clinician_and_a_clinician_only_themselves(
    signed_in, client, supervisor, clinician, other_clinician
):
    administrator = UserFactory(roles=[Role.ADMINISTRATOR])
    clinical = {str(clinician.pk), str(other_clinician.pk), str(supervisor.pk)}

    for user in (supervisor, administrator):
        picks = signed_in(user).get(URL).context["form"].fields["clinician"].widget.choices
        assert picks[0] == ("", "All clinicians")
        assert {value for value, _ in picks[1:]} == clinical
    picks = signed_in(clinician).get(URL).context["form"].fields["clinician"].widget.choices
    assert picks == [("", "My whole caseload"), (str(clinician.pk), clinician.full_name)]


# --- The four reports -----------------------------------------------------------------------------------------------


def test_retention_shows_each_day_rate_and_the_median_stay(signed_in, supervisor, cohort):
    response = signed_in(supervisor).get(URL, {"report": "retention", **RANGE})

    assert table(response, "Retention at 30, 90 and 180 days") == [
        ["Day 30", "4", "4", "100.0%"],
        ["Day 90", "4", "3", "75.0%"],
        ["Day 180", "4", "3", "75.0%"],
    ]
    assert stats(response) == {
        "Cases opened in the range": "4",
        "Still open": "3",
        "Median length of stay (days, closed cases)": "30",
    }


def test_visits_show_months_types_and_clinicians_with_the_attendance_chart(
    signed_in, supervisor, clinician, other_clinician, cohort
):
    response = signed_in(supervisor).get(URL, {"report": "visits", **RANGE})

    assert table(response, "Per month and visit type") == [
        ["2025-02 · Individual counseling", "2", "1", "1", "0", "0", "50.0%"],
        ["2025-03 · Individual counseling", "1", "1", "0", "0", "0", "100.0%"],
        ["2025-03 · Medication management", "1", "1", "0", "0", "0", "100.0%"],
    ]
    assert table(response, "Per clinician") == [
        [clinician.full_name, "3", "2", "1", "0", "0", "66.7%"],
        [other_clinician.full_name, "1", "1", "0", "0", "0", "100.0%"],
    ]
    [chart] = response.context["layout"].charts
    assert chart.caption == "Visits attended and missed, per month"
    assert "2025-02: Attended 1, No-show 1; 2025-03: Attended 2, No-show 0" in chart.svg


def test_outcomes_show_scores_screens_stays_and_remission(signed_in, supervisor, cohort):
    response = signed_in(supervisor).get(URL, {"report": "outcomes", **RANGE})

    scores = {row[0]: row[1:] for row in table(response, "Scores (cases with two or more in the range)")}
    assert scores["PHQ-9"] == ["2", "12.5", "9", "-3.5", "50.0%"]
    assert scores["GAD-7"] == ["0", "—", "—", "—", "—"]
    assert table(response, "Median days in each stage (completed stays)") == [
        ["Intake", "7.5", "4"],
        ["Assessment", "11", "2"],
        ["Treatment", "40", "1"],
        ["Long-term recovery", "—", "0"],
    ]
    assert stats(response)["Mitragynine-negative urine screens in recovery"] == "100.0%"
    assert stats(response)["Screens tested for mitragynine"] == "2"
    first_vs_latest = response.context["layout"].charts[0]
    assert "PHQ-9: Mean first score 12.5, Mean latest score 9" in first_vs_latest.svg


def test_no_patient_names_record_numbers_or_birth_dates_appear(signed_in, supervisor, cohort):
    client = signed_in(supervisor)
    patients = [case.patient for case in cohort.values()]

    for name in REPORT_NAMES:
        html = client.get(URL, {"report": name, **RANGE}).content.decode()
        for patient in patients:
            assert patient.mrn not in html
            assert patient.last_name not in html
            assert patient.date_of_birth.isoformat() not in html


def test_the_default_report_is_the_census_of_the_last_twelve_months(signed_in, administrator):
    response = signed_in(administrator).get(URL)

    assert response.status_code == 200
    params = response.context["params"]
    assert response.context["report"] == "census"
    assert (params.end - params.start).days in (364, 365)
    assert response.context["form"]["start"].value() == params.start.isoformat()


def test_a_report_run_is_audited_as_the_apis_view(signed_in, administrator, cohort):
    client = signed_in(administrator)
    before = last_sequence()

    client.get(URL, {"report": "visits", "deidentified": "true", **RANGE})

    [event] = AuditEvent.objects.filter(id__gt=before)
    assert (event.action, event.object_type, event.object_id, event.patient_id, event.outcome) == (
        "view",
        "report",
        "visits",
        None,
        "allowed",
    )
    assert event.detail == {
        "parameters": {**RANGE, "clinician": None},
        "deidentified": True,
        "page": URL,
    }


# --- De-identified --------------------------------------------------------------------------------------------------


def test_the_de_identified_view_shows_small_counts_as_under_eleven(signed_in, supervisor, cohort):
    response = signed_in(supervisor).get(URL, {"report": "census", "deidentified": "true", **RANGE})

    assert table(response, "Open cases by stage") == [
        ["Intake", "<11"],
        ["Assessment", "<11"],
        ["Treatment", "<11"],
        ["Long-term recovery", "<11"],
    ]
    assert stats(response)["Open on 2025-06-30"] == "suppressed"  # a total of hidden cells is hidden too
    html = response.content.decode()
    assert "&lt;11" in html
    assert 'value="true" aria-describedby="id_deidentified_helptext" checked>' in html
    assert "(de-identified)" in html


def test_de_identified_rates_are_suppressed_and_left_out_of_the_charts(signed_in, supervisor, cohort):
    response = signed_in(supervisor).get(URL, {"report": "visits", "deidentified": "true", **RANGE})

    assert table(response, "Per month and visit type")[0] == [
        "2025-02 · Individual counseling", "<11", "<11", "<11", "0", "0", "suppressed",
    ]  # fmt: skip
    [chart] = response.context["layout"].charts
    assert "Attended 1" not in chart.svg and "No-show 1" not in chart.svg


# --- Bad parameters -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2025-07-01", "end": "2025-06-30"}, "The start comes after the end."),
        ({"start": "2025-02-30"}, "Not a real date."),
        ({"end": "30/06/2025"}, "Give a date as YYYY-MM-DD."),
        ({"start": "1800-01-01"}, "Give a date between 1900-01-01 and 2999-12-31."),
        ({"clinician": "nobody"}, "Give a clinician&#x27;s user id (a UUID)."),
        ({"clinician": "00000000-0000-0000-0000-000000000000"}, "No such clinician."),
        ({"report": "payroll"}, "Choose one of: census, retention, visits, outcomes."),
        ({"deidentified": "maybe"}, "Give true or false."),  # the API's message: one rule (report_run)
    ],
)
def test_a_bad_parameter_re_renders_the_form_with_its_message_as_a_400(signed_in, supervisor, query, message):
    client = signed_in(supervisor)
    before = last_sequence()

    response = client.get(URL, query)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'class="errorlist"' in html
    assert "<svg" not in html
    assert last_sequence() == before  # nothing shown, nothing recorded


def test_a_non_clinician_as_the_clinician_filter_is_refused_with_its_message(
    signed_in, supervisor, front_desk
):
    response = signed_in(supervisor).get(URL, {"clinician": str(front_desk.pk)})

    assert response.status_code == 400
    assert "This user is not a clinician or supervisor." in response.content.decode()


def test_a_bad_date_keeps_what_was_typed_and_names_the_field(signed_in, clinician):
    response = signed_in(clinician).get(URL, {"start": "2025-02-30", "report": "visits"})

    form = response.context["form"]
    assert form.errors == {"start": ["Not a real date."]}
    assert form["start"].value() == "2025-02-30"
    assert 'id="id_start_error"' in response.content.decode()


# --- htmx -----------------------------------------------------------------------------------------------------------


def test_htmx_gets_the_form_tabs_and_report_alone(signed_in, htmx, supervisor, cohort):
    response = signed_in(supervisor).get(URL, {"report": "retention", **RANGE}, headers=htmx)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="report">')
    assert "<html" not in html
    assert "<svg" in html
    assert 'hx-push-url="true"' in html


def test_a_history_restore_gets_the_whole_page_and_answers_vary_with_htmx(signed_in, supervisor):
    client = signed_in(supervisor)

    restored = client.get(URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})

    assert "<html" in restored.content.decode()
    assert "HX-Request" in restored["Vary"]
    assert "HX-Request" in client.get(URL)["Vary"]


def test_htmx_gets_a_bad_parameter_back_as_a_400_fragment_with_the_message(signed_in, htmx, supervisor):
    response = signed_in(supervisor).get(URL, {"start": "2025-07-01", "end": "2025-06-30"}, headers=htmx)

    assert response.status_code == 400
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="report">')
    assert "The start comes after the end." in html


def test_tabs_keep_the_applied_parameters(signed_in, supervisor, clinician, cohort):
    response = signed_in(supervisor).get(
        URL, {"report": "census", "clinician": str(clinician.pk), "deidentified": "true", **RANGE}
    )

    tabs = {tab["name"]: QueryDict(tab["query"]) for tab in response.context["tabs"]}
    assert tabs["outcomes"].dict() == {
        "report": "outcomes",
        **RANGE,
        "clinician": str(clinician.pk),
        "deidentified": "true",
    }
    assert [tab["name"] for tab in response.context["tabs"] if tab["current"]] == ["census"]


# --- CSV ------------------------------------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode())))


@pytest.mark.parametrize("deidentified", [False, True])
def test_the_csv_links_download_the_report_with_the_same_parameters_audited_as_an_export(
    signed_in, supervisor, clinician, cohort, deidentified
):
    client = signed_in(supervisor)
    page = client.get(URL, {"report": "census", "clinician": str(clinician.pk), **RANGE})
    link = page.context["deidentified_csv_url" if deidentified else "csv_url"]
    path, query = link.split("?")
    assert path == reverse("report-census")
    assert QueryDict(query).dict() == {
        **RANGE, "clinician": str(clinician.pk), "format": "csv", **({"deidentified": "true"} if deidentified else {})
    }  # fmt: skip
    assert link.replace("&", "&amp;") in page.content.decode()
    before = last_sequence()

    response = client.get(link)  # the browser's session is enough for the API

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="report-census-2025-01-01-to-2025-06-30'
    )
    header, *rows = read_csv(response)
    assert header == ["section", "group", "subgroup", "label", "measure", "value"]
    admissions = next(row for row in rows if row[0] == "summary" and row[4] == "admissions")
    assert admissions[5] == ("<11" if deidentified else "3")
    [export] = AuditEvent.objects.filter(id__gt=before)
    assert (export.action, export.object_type, export.object_id, export.user_id) == (
        "export",
        "report",
        "census",
        supervisor.pk,
    )


# --- Query bounds ---------------------------------------------------------------------------------------------------


# The report's own queries, at most (on PostgreSQL some start with one that tunes the transaction's planner).
REPORT_QUERIES = {"census": 4, "retention": 3, "visits": 2, "outcomes": 5}


def more_of_the_same(clinician, other_clinician, count: int) -> None:
    """`count` more cases like the cohort's, each with a visit, a score and a screen."""
    for n in range(count):
        primary = clinician if n % 2 else other_clinician
        case = episode(day(1, 1 + n % 28), (Stage.ASSESSMENT, day(2, 1 + n % 28)), primary=primary)
        visit(case, primary, local(day(3, 1 + n % 28)), Status.ATTENDED, Type.INDIVIDUAL_COUNSELING)
        score(case, "phq9", day(2, 1 + n % 28), total=12, by=primary)
        score(case, "phq9", day(4, 1 + n % 28), total=4, by=primary)


@pytest.mark.parametrize("role", ["supervisor", "clinician"])
@pytest.mark.parametrize("name", REPORT_NAMES)
def test_each_report_page_costs_the_same_queries_whatever_the_number_of_cases(
    signed_in, request, cohort, clinician, other_clinician, django_assert_max_num_queries, role, name
):
    client = signed_in(request.getfixturevalue(role))

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL, {"report": name, **RANGE}).status_code == 200
        return len(queries)

    few = cost()
    more_of_the_same(clinician, other_clinician, 30)
    assert cost() == few
    # session, user, roles; the staff picker (users, their roles; not for clinicians); the report's own queries;
    # the run's audit append
    with django_assert_max_num_queries(3 + 2 + REPORT_QUERIES[name] + AUDIT_APPEND_QUERIES):
        client.get(URL, {"report": name, **RANGE})
