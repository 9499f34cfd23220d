"""The assessment pages: the form built from each instrument's definition, its running score, saving, entered in
error, and the chart's assessments section, for every role."""

import datetime as dt
import html

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.instruments.definitions import INSTRUMENTS
from cases.models import Alert, Assessment
from cases.web.assessments import assessments_section
from cases.web.visits import chart_url
from clinic.models import AuditEvent
from tests.builders import AUDIT_APPEND_QUERIES
from tests.factories import ClosedCaseFactory, UserFactory, responses_totalling

pytestmark = pytest.mark.django_db


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-id").first()


def form_data(responses: dict[str, object], *, administered_at: str | None = None) -> dict[str, str]:
    """What the browser posts: a radio's value, a ticked box as "on" (an unticked one is not sent)."""
    data = {
        code: ("on" if value is True else str(value))
        for code, value in responses.items()
        if value is not False
    }
    data["administered_at"] = administered_at or timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    return data


def record_url(case, instrument: str) -> str:
    return reverse("assessment-record", args=[case.pk, instrument])


def score_url(case, instrument: str) -> str:
    return reverse("assessment-score", args=[case.pk, instrument])


def record(case, by, instrument: str, total: int, *, days_ago: int = 0, **fields) -> Assessment:
    definition = INSTRUMENTS[instrument]
    band = definition.band_for(total)
    return Assessment.objects.create(
        case=case,
        instrument=instrument,
        responses=responses_totalling(instrument, total),
        total=total,
        band=band.code if band else None,
        administered_at=timezone.now() - dt.timedelta(days=days_ago, hours=1),
        by=by,
        **fields,
    )


# --- The form -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [("front_desk", 403), ("clinician", 200), ("supervisor", 200), ("administrator", 403)],
)
def test_the_assessment_form_opens_for_roles_that_record_clinical_data(
    request, signed_in, own_case, role, expected
):
    response = signed_in(request.getfixturevalue(role)).get(record_url(own_case, "cows"))
    assert response.status_code == expected
    if expected == 403:
        assert b"record assessments" in response.content
        assert last_event().outcome == "denied"


def test_clinician_gets_404_for_another_clinicians_case(signed_in, clinician, other_case):
    response = signed_in(clinician).post(
        record_url(other_case, "cows"), form_data(responses_totalling("cows", 3))
    )
    assert response.status_code == 404
    assert not Assessment.objects.exists()
    assert (last_event().outcome, last_event().patient_id) == ("denied", other_case.patient_id)


def test_an_unknown_instrument_is_a_404(signed_in, clinician, own_case):
    assert signed_in(clinician).get(record_url(own_case, "audit_c")).status_code == 404
    assert signed_in(clinician).post(score_url(own_case, "audit_c"), {}).status_code == 404


def test_opening_the_form_is_audited_as_a_read_of_the_patients_name(signed_in, clinician, own_case):
    signed_in(clinician).get(record_url(own_case, "phq9"))
    event = last_event()
    assert (event.action, event.object_type, event.patient_id, event.data_category) == (
        "view",
        "case",
        own_case.patient_id,
        "demographics",
    )


@pytest.mark.parametrize("instrument", list(INSTRUMENTS))
def test_the_form_shows_every_item_of_the_instrument_with_its_allowed_values(
    signed_in, clinician, own_case, instrument
):
    content = signed_in(clinician).get(record_url(own_case, instrument)).content.decode()
    definition = INSTRUMENTS[instrument]
    for item in definition.items:
        assert html.escape(item.label) in content, item.code
        if all(isinstance(value, bool) for value in item.allowed):
            assert f'type="checkbox" name="{item.code}"' in content
        else:
            for index, choice in enumerate(item.choices):
                assert f'<label for="id_{item.code}_{index}">' in content
                assert f'name="{item.code}" value="{choice.value}"' in content
                assert html.escape(f"{choice.value}: {choice.label}") in content
    assert '<label for="id_administered_at">Administered</label>' in content
    assert f'hx-post="{score_url(own_case, instrument)}"' in content
    assert 'hx-trigger="change"' in content


def test_the_dsm5_form_offers_no_medical_supervision_box(signed_in, clinician, own_case):
    content = signed_in(clinician).get(record_url(own_case, "dsm5_sud")).content.decode()

    assert 'name="under_medical_supervision"' not in content
    assert 'name="withdrawal"' in content


# --- The running score --------------------------------------------------------------------------------------


def test_the_live_score_of_a_complete_cows_shows_its_total_and_band(signed_in, clinician, own_case, htmx):
    client = signed_in(clinician)
    events = AuditEvent.objects.count()
    response = client.post(
        score_url(own_case, "cows"), form_data(responses_totalling("cows", 14)), headers=htmx
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="assessment-score"')
    assert '<span class="score">14</span>' in content
    assert "Moderate" in content
    assert "answer all" not in content
    assert "Moderate or worse withdrawal" in content  # the alert saving would raise (COWS 13+)
    assert not Assessment.objects.exists()
    assert AuditEvent.objects.count() == events


def test_the_live_score_of_a_partial_cows_shows_the_total_so_far(signed_in, clinician, own_case, htmx):
    data = {"pulse": "2", "sweating": "3", "gooseflesh": "5"}
    response = signed_in(clinician).post(score_url(own_case, "cows"), data, headers=htmx)
    content = response.content.decode()
    assert '<span class="score">10</span>' in content
    assert "3 of 11 answered: answer all 11 items" in content
    assert "Mild" not in content


def test_the_live_score_ignores_a_value_the_item_does_not_allow(signed_in, clinician, own_case, htmx):
    response = signed_in(clinician).post(
        score_url(own_case, "cows"), {"pulse": "3", "tremor": "4"}, headers=htmx
    )
    assert '<span class="score">4</span>' in response.content.decode()


@pytest.mark.parametrize(("item9", "warned"), [("0", False), ("1", True), ("3", True)])
def test_the_live_score_warns_of_suicide_risk_when_phq9_item_9_is_above_0(
    signed_in, clinician, own_case, htmx, item9, warned
):
    response = signed_in(clinician).post(score_url(own_case, "phq9"), {"q1": "1", "q9": item9}, headers=htmx)
    content = response.content.decode()
    assert ('role="alert"' in content and "Suicide-risk screen positive" in content) is warned


def test_the_live_score_of_a_dsm5_checklist_names_the_suggested_diagnosis(
    signed_in, clinician, own_case, htmx
):
    response = signed_in(clinician).post(
        score_url(own_case, "dsm5_sud"), form_data(responses_totalling("dsm5_sud", 5)), headers=htmx
    )
    content = response.content.decode()
    assert '<span class="score">5</span>' in content and "Moderate" in content and "F19.20" in content


@pytest.mark.parametrize(
    ("role", "expected"), [("front_desk", 403), ("administrator", 403), ("other_clinician", 404)]
)
def test_the_live_score_is_refused_like_the_form(request, signed_in, own_case, htmx, role, expected):
    response = signed_in(request.getfixturevalue(role)).post(score_url(own_case, "cows"), {}, headers=htmx)
    assert response.status_code == expected


def test_the_live_score_query_count_is_bounded(signed_in, clinician, own_case, django_assert_max_num_queries):
    client = signed_in(clinician)
    with django_assert_max_num_queries(6):
        client.post(score_url(own_case, "cows"), form_data(responses_totalling("cows", 14)))


# --- Saving -------------------------------------------------------------------------------------------------


def test_a_complete_cows_is_saved_with_the_servers_total_and_band(signed_in, clinician, own_case):
    client = signed_in(clinician)
    response = client.post(record_url(own_case, "cows"), form_data(responses_totalling("cows", 14)))
    assert response.status_code == 302
    assert response["Location"] == f"{chart_url(own_case.patient_id)}#assessments-cows"
    saved = Assessment.objects.get()
    assert (saved.instrument, saved.total, saved.band, saved.by) == ("cows", 14, "moderate", clinician)
    assert saved.responses == responses_totalling("cows", 14)
    assert AuditEvent.objects.filter(action="create", object_id=str(saved.pk)).exists()
    shown = [str(m) for m in client.get(response["Location"]).context["messages"]]
    assert "COWS 14: moderate" in shown
    assert Alert.objects.filter(case=own_case, kind="withdrawal_moderate").exists()


def test_a_back_dated_administration_keeps_its_clinic_time(signed_in, supervisor, own_case):
    when = timezone.localtime() - dt.timedelta(days=2)
    signed_in(supervisor).post(
        record_url(own_case, "gad7"),
        form_data(responses_totalling("gad7", 9), administered_at=when.strftime("%Y-%m-%dT%H:%M")),
    )
    saved = Assessment.objects.get()
    assert timezone.localtime(saved.administered_at).replace(second=0, microsecond=0) == when.replace(
        second=0, microsecond=0
    )
    assert (saved.total, saved.band) == (9, "mild")


def test_a_posted_medical_supervision_box_is_a_400_naming_it_and_saves_nothing(
    signed_in, clinician, own_case
):
    data = form_data(
        {"craving": True, "tolerance": True, "withdrawal": True, "under_medical_supervision": True}
    )
    response = signed_in(clinician).post(record_url(own_case, "dsm5_sud"), data)

    assert response.status_code == 400
    assert "under_medical_supervision is not part of this checklist" in response.content.decode()
    assert not Assessment.objects.exists()


def test_tolerance_and_withdrawal_count_on_the_page_too(signed_in, clinician, own_case):
    data = form_data({"craving": True, "tolerance": True, "withdrawal": True, "cut_down": True})

    assert signed_in(clinician).post(record_url(own_case, "dsm5_sud"), data).status_code == 302
    assert Assessment.objects.values_list("total", "band").get() == (4, "moderate")


def test_an_incomplete_assessment_is_a_400_naming_the_missing_items_and_saves_nothing(
    signed_in, clinician, own_case
):
    responses = responses_totalling("cows", 14)
    del responses["tremor"], responses["yawning"]
    response = signed_in(clinician).post(record_url(own_case, "cows"), form_data(responses))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["tremor"] == ["This item is required."] and errors["yawning"] == ["This item is required."]
    assert b"answer all 11 items" in response.content
    assert b'value="4" id="id_pulse_3" checked' in response.content or b"checked" in response.content
    assert not Assessment.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pulse": "3"}, "pulse"),  # not one of 0, 1, 2, 4
        ({"administered_at": ""}, "administered_at"),
        ({"administered_at": "2099-01-01T09:00"}, "administered_at"),
    ],
)
def test_an_invalid_assessment_is_a_400_naming_the_field_and_saves_nothing(
    signed_in, clinician, own_case, change, field
):
    data = {**form_data(responses_totalling("cows", 14)), **change}
    response = signed_in(clinician).post(record_url(own_case, "cows"), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Assessment.objects.exists()


def test_a_suicide_risk_answer_is_saved_with_a_warning_message(signed_in, clinician, own_case):
    responses = {**responses_totalling("phq9", 0), "q9": 2}
    client = signed_in(clinician)
    response = client.post(record_url(own_case, "phq9"), form_data(responses))
    shown = [str(m) for m in client.get(response["Location"]).context["messages"]]
    assert "PHQ-9 2: minimal" in shown
    assert any(m.startswith("Suicide-risk screen positive") for m in shown)
    assert Alert.objects.filter(case=own_case, kind="suicide_risk", severity="urgent").exists()


def test_the_assessment_form_query_count_is_bounded(
    signed_in, clinician, own_case, django_assert_max_num_queries
):
    client = signed_in(clinician)
    with django_assert_max_num_queries(6 + AUDIT_APPEND_QUERIES):
        assert client.get(record_url(own_case, "sows")).status_code == 200


# --- Entered in error ---------------------------------------------------------------------------------------


def error_url(assessment: Assessment) -> str:
    return reverse("assessment-mark-entered-in-error", args=[assessment.pk])


def test_marking_entered_in_error_with_a_reason_strikes_the_score(signed_in, clinician, own_case, htmx):
    wrong = record(own_case, clinician, "cows", 20)
    response = signed_in(clinician).post(error_url(wrong), {"reason": "Wrong patient's sheet."}, headers=htmx)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<article class="card instrument" id="assessments-cows"')
    assert "<del>20</del>" in content and "Wrong patient&#x27;s sheet." in content
    wrong.refresh_from_db()
    assert (wrong.entered_in_error, wrong.entered_in_error_by) == (True, clinician)
    event = last_event()
    assert (event.action, event.object_id, event.detail) == (
        "update",
        str(wrong.pk),
        {"entered_in_error": True},
    )


def test_marking_entered_in_error_without_htmx_returns_to_the_chart(
    signed_in, supervisor, own_case, clinician
):
    wrong = record(own_case, clinician, "gad7", 4)
    response = signed_in(supervisor).post(error_url(wrong), {"reason": "Duplicate entry."})
    assert response.status_code == 302
    assert response["Location"] == f"{chart_url(own_case.patient_id)}#assessments-gad7"


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_marking_entered_in_error_without_a_reason_is_a_400_and_changes_nothing(
    signed_in, clinician, own_case, headers
):
    wrong = record(own_case, clinician, "cows", 20)
    response = signed_in(clinician).post(error_url(wrong), {"reason": " "}, headers=headers)
    assert response.status_code == 400
    assert b"A reason is required." in response.content
    wrong.refresh_from_db()
    assert not wrong.entered_in_error


@pytest.mark.parametrize(
    ("role", "expected"), [("front_desk", 403), ("administrator", 403), ("other_clinician", 404)]
)
def test_refused_entered_in_error_changes_nothing(request, signed_in, own_case, clinician, role, expected):
    wrong = record(own_case, clinician, "cows", 20)
    response = signed_in(request.getfixturevalue(role)).post(error_url(wrong), {"reason": "Not mine."})
    assert response.status_code == expected
    wrong.refresh_from_db()
    assert not wrong.entered_in_error
    assert last_event().outcome == "denied"


# --- The chart's section ------------------------------------------------------------------------------------


def render_section(user, case) -> str:
    request = RequestFactory().get("/")
    request.user = user
    context = {
        "patient": case.patient,
        "case": case,
        "user": user,
        **assessments_section(request, case.patient, case),
    }
    return render_to_string("cases/web/assessments/section.html", context, request=request)


def test_the_section_shows_a_trend_chart_and_a_table_per_instrument(clinician, own_case):
    for days_ago, total in ((14, 30), (7, 18), (1, 6)):
        record(own_case, clinician, "cows", total, days_ago=days_ago)
    wrong = record(
        own_case,
        clinician,
        "cows",
        40,
        entered_in_error=True,
        entered_in_error_reason="Typo",
        entered_in_error_by=clinician,
        entered_in_error_at=timezone.now(),
    )
    content = render_section(clinician, own_case)
    cows = content[content.index('id="assessments-cows"') : content.index('id="assessments-sows"')]
    assert cows.count("<svg") == 1 and cows.count('class="point"') == 3  # the error left out of the trend
    assert cows.count('<rect class="band') == len(INSTRUMENTS["cows"].bands)
    assert "Moderately severe" in cows and "Mild" in cows
    assert "<del>40</del>" in cows and "Typo" in cows
    assert reverse("assessment-mark-entered-in-error", args=[wrong.pk]) not in cows
    assert cows.index(">6<") < cows.index(">18<") < cows.index(">30<")  # newest first in the table
    for code in INSTRUMENTS:
        assert record_url(own_case, code) in content
    assert "No PHQ-9 scores yet." in content


def test_a_clinician_under_break_glass_sees_and_may_record_scores(clinician, own_case):
    from tests.factories import BreakGlassGrantFactory

    record(own_case, clinician, "phq9", 12)
    reader = UserFactory(roles=["clinician"])
    BreakGlassGrantFactory(user=reader, patient=own_case.patient)
    content = render_section(reader, own_case)
    assert "Moderate" in content
    # A grant opens the caseload for every capability of the role (the policy's answer, not this page's).
    assert ('href="' + record_url(own_case, "phq9")) in content


def test_front_desk_gets_no_assessments_section(front_desk, own_case, clinician):
    record(own_case, clinician, "phq9", 12)
    assert render_section(front_desk, own_case).strip() == ""


def test_the_section_query_count_does_not_grow_with_scores(clinician, supervisor, own_case):
    def queries(user) -> int:
        user.roles  # noqa: B018  (read once per request by the page that includes the section)
        with CaptureQueriesContext(connection) as captured:
            render_section(user, own_case)
        return len(captured)

    record(own_case, clinician, "cows", 10)
    few = {user: queries(user) for user in (clinician, supervisor)}
    for instrument, total in (("cows", 12), ("phq9", 5), ("gad7", 3), ("sows", 20), ("dsm5_sud", 4)) * 3:
        record(own_case, UserFactory(roles=["clinician"]), instrument, total)
    assert {user: queries(user) for user in (clinician, supervisor)} == few
    assert (few[clinician], few[supervisor]) == (3, 1)  # the policy's questions (caseload only), the scores


def test_a_closed_case_offers_no_new_scores_but_still_takes_corrections(clinician):
    case = ClosedCaseFactory(primary_clinician=clinician)
    score = record(case, clinician, "cows", 8)
    content = render_section(clinician, case)
    assert record_url(case, "cows") not in content
    assert reverse("assessment-mark-entered-in-error", args=[score.pk]) in content


# --- Through the chart ----------------------------------------------------------------------------------------


def test_the_chart_shows_clinicians_the_assessments_and_front_desk_only_the_schedule(
    signed_in, clinician, front_desk, own_case
):
    from tests.factories import SignedVisitFactory

    record(own_case, clinician, "cows", 14)
    SignedVisitFactory(case=own_case, clinician=clinician, plan="Taper by 2 g a week.")
    url = chart_url(own_case.patient_id)
    as_clinician = signed_in(clinician).get(url).content.decode()
    assert 'id="assessments-cows"' in as_clinician and "<svg" in as_clinician
    assert "Taper by 2 g a week." in as_clinician
    as_front_desk = signed_in(front_desk).get(url).content.decode()
    assert 'id="assessments-h"' not in as_front_desk
    assert 'id="visits-h"' in as_front_desk and "Individual counseling" in as_front_desk
    assert "Taper by 2 g a week." not in as_front_desk
