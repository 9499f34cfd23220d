"""The patient chart: what each role sees, the stage change and clinician assignment forms, settling alerts, the
audit of every read and refusal, and the page's query count."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.contact import display_phone
from cases.models import Alert, CareTeamMember, Case, DrugScreen, StageTransition
from cases.services.stages import allowed_next_stages
from clinic.models import AuditEvent
from clinic.roles import Role
from tests.factories import (
    AlertFactory,
    AttendedVisitFactory,
    BreakGlassGrantFactory,
    ClosedCaseFactory,
    DrugScreenFactory,
    Dsm5ChecklistFactory,
    LiverPanelFactory,
    TreatmentGoalFactory,
    UserFactory,
    VisitFactory,
    case_in_stage,
    responses_totalling,
)
from tests.report_builders import MET, checklist, episode, score

pytestmark = pytest.mark.django_db

RECOVERED = ((Case.Stage.ASSESSMENT, dt.date(2024, 1, 5)), (Case.Stage.TREATMENT, dt.date(2024, 2, 1)),
             (Case.Stage.RECOVERY, dt.date(2024, 12, 1)))  # fmt: skip

# Clinical content planted on the clinician's case: none of it may reach front desk.
CLINICAL_MARKERS = {
    "substance history": "Alprazolam on weekends",
    "transition reason": "Ready for assessment after intake interview",
    "alert message": "PHQ-9 item 9 answered 2",
    "screen section": "Urine drug screens",
    "liver section": "Liver panels",
    "plan goal": "Walk thirty minutes daily",
    "medication": "Dr. Okafor",
    "alerts section": 'id="alerts"',
    "kratom form": "Kratom form",
}


def chart_url(patient_id) -> str:
    return f"/patients/{patient_id}/"


def transition_url(case) -> str:
    return f"/cases/{case.pk}/transition/"


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-id").first()


@pytest.fixture
def charted(own_case, clinician):
    """The clinician's case with one of every kind of clinical content, each carrying a marker above."""
    from cases.services.clinical import medication_add
    from cases.services.stages import case_transition

    own_case.other_substances = CLINICAL_MARKERS["substance history"]
    own_case.reasons_for_use = ["pain"]
    own_case.save()
    case_transition(
        case=own_case, to_stage="assessment", actor=clinician, reason=CLINICAL_MARKERS["transition reason"]
    )
    AlertFactory(case=own_case, message=CLINICAL_MARKERS["alert message"])
    DrugScreenFactory(case=own_case, fentanyl="positive")
    LiverPanelFactory(case=own_case)
    TreatmentGoalFactory(case=own_case, goal=CLINICAL_MARKERS["plan goal"])
    medication_add(
        case=own_case,
        actor=clinician,
        data={
            "medication": "clonidine",
            "dose": "0.1 mg",
            "frequency": "twice daily",
            "start_date": own_case.opened_on,
            "prescriber": CLINICAL_MARKERS["medication"],
        },
    )
    return own_case


# --- Who sees the chart ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [("front_desk", 200), ("clinician", 200), ("supervisor", 200), ("administrator", 403)],
)
def test_role_gets_the_expected_status_on_a_caseload_chart(request, signed_in, charted, role, expected):
    response = signed_in(request.getfixturevalue(role)).get(chart_url(charted.patient_id))

    assert response.status_code == expected


def test_signed_out_user_is_sent_to_sign_in(client, charted):
    response = client.get(chart_url(charted.patient_id))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_administrator_is_refused_with_a_reason_and_the_refusal_is_audited(signed_in, administrator, charted):
    response = signed_in(administrator).get(chart_url(charted.patient_id))

    assert response.status_code == 403
    assert b"read their demographics" in response.content
    event = last_event()
    assert (event.user_id, event.outcome, event.action) == (administrator.pk, "denied", "view")


def test_clinician_gets_404_for_another_clinicians_patient_and_it_is_audited(
    signed_in, clinician, other_case
):
    response = signed_in(clinician).get(chart_url(other_case.patient_id))

    assert response.status_code == 404
    event = last_event()
    assert (event.outcome, event.object_type, event.patient_id) == (
        "denied",
        "patient",
        other_case.patient_id,
    )


def test_an_unknown_patient_is_a_404_naming_no_patient(signed_in, supervisor):
    response = signed_in(supervisor).get(chart_url("00000000-0000-4000-8000-000000000000"))

    assert response.status_code == 404
    assert last_event().patient_id is None


@pytest.mark.parametrize("marker", CLINICAL_MARKERS.values(), ids=CLINICAL_MARKERS.keys())
def test_front_desk_sees_no_clinical_content(signed_in, front_desk, charted, marker):
    response = signed_in(front_desk).get(chart_url(charted.patient_id))

    assert marker not in response.content.decode()


@pytest.mark.parametrize("role", ["clinician", "supervisor"])
@pytest.mark.parametrize("marker", CLINICAL_MARKERS.values(), ids=CLINICAL_MARKERS.keys())
def test_caseload_clinician_and_supervisor_see_the_clinical_content(
    request, signed_in, charted, role, marker
):
    response = signed_in(request.getfixturevalue(role)).get(chart_url(charted.patient_id))

    assert marker in response.content.decode()


def test_front_desk_sees_demographics_stage_status_clinician_and_timeline(signed_in, front_desk, charted):
    patient = charted.patient

    page = signed_in(front_desk).get(chart_url(patient.pk)).content.decode()

    for shown in (
        patient.mrn,
        patient.last_name,
        display_phone(patient.phone),
        "Assessment",
        "Open",
        str(charted.primary_clinician),
    ):
        assert shown in page
    assert "Intake → Assessment" in page
    assert "Change stage" not in page


def test_the_header_shows_the_preferred_name_and_the_age(signed_in, supervisor, charted):
    patient = charted.patient
    patient.preferred_name = "Sunny"
    patient.date_of_birth = timezone.localdate().replace(year=timezone.localdate().year - 40) - dt.timedelta(
        days=1
    )
    patient.save()

    response = signed_in(supervisor).get(chart_url(patient.pk))

    assert f"<h1>Sunny {patient.last_name}</h1>" in response.content.decode()
    assert response.context["age"] == 40


@pytest.mark.parametrize(
    ("role", "flags"),
    [
        ("front_desk", {"may_read_clinical": False, "may_change_stage": False, "may_assign": False, "may_record": False, "may_edit_demographics": True}),
        ("clinician", {"may_read_clinical": True, "may_change_stage": True, "may_assign": False, "may_record": True, "may_edit_demographics": True}),
        ("supervisor", {"may_read_clinical": True, "may_change_stage": True, "may_assign": True, "may_record": True, "may_edit_demographics": True}),
    ],
)  # fmt: skip
def test_the_page_is_told_what_the_role_may_do(request, signed_in, charted, role, flags):
    response = signed_in(request.getfixturevalue(role)).get(chart_url(charted.patient_id))

    assert {name: response.context[name] for name in flags} == flags


@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_roles_that_edit_demographics_get_the_link(request, signed_in, charted, role):
    page = signed_in(request.getfixturevalue(role)).get(chart_url(charted.patient_id)).content.decode()

    assert f'href="/patients/{charted.patient_id}/edit/"' in page


def test_a_discharged_patient_offers_front_desk_a_new_case(signed_in, front_desk, clinician):
    case = ClosedCaseFactory(primary_clinician=clinician)

    page = signed_in(front_desk).get(chart_url(case.patient_id)).content.decode()

    assert f'href="/patients/{case.patient_id}/open-case/"' in page


def test_a_patient_with_an_open_case_offers_no_new_case(signed_in, front_desk, charted):
    page = signed_in(front_desk).get(chart_url(charted.patient_id)).content.decode()

    assert "/open-case/" not in page


def test_break_glass_grant_lets_another_clinician_read_the_chart_flagged(signed_in, other_clinician, charted):
    client = signed_in(other_clinician)
    assert client.get(chart_url(charted.patient_id)).status_code == 404

    BreakGlassGrantFactory(user=other_clinician, patient=charted.patient)
    response = client.get(chart_url(charted.patient_id))

    assert response.status_code == 200
    page = response.content.decode()
    assert CLINICAL_MARKERS["alert message"] in page
    assert "break-glass access" in page


def test_an_expired_break_glass_grant_no_longer_opens_the_chart(signed_in, other_clinician, charted):
    granted = timezone.now() - dt.timedelta(hours=5)
    BreakGlassGrantFactory(user=other_clinician, patient=charted.patient, granted_at=granted)

    assert signed_in(other_clinician).get(chart_url(charted.patient_id)).status_code == 404


def test_a_patient_without_a_case_shows_no_case(signed_in, front_desk):
    from tests.factories import PatientFactory

    patient = PatientFactory()

    response = signed_in(front_desk).get(chart_url(patient.pk))

    assert response.status_code == 200
    assert "No case has been opened" in response.content.decode()
    assert response.context["may_open_case"] is True


def test_a_discharged_patient_shows_the_latest_case_and_earlier_episodes(signed_in, supervisor, clinician):
    first = ClosedCaseFactory(
        primary_clinician=clinician, opened_on=timezone.localdate() - dt.timedelta(days=400)
    )
    latest = ClosedCaseFactory(
        patient=first.patient,
        primary_clinician=clinician,
        opened_on=timezone.localdate() - dt.timedelta(days=100),
        discharge_reason="left_against_advice",
    )

    response = signed_in(supervisor).get(chart_url(first.patient_id))

    assert response.context["case"] == latest
    assert response.context["earlier_cases"] == [first]
    assert response.context["may_change_stage"] is False
    assert "Left against professional advice" in response.content.decode()


def test_the_open_case_is_current_even_after_earlier_episodes(signed_in, supervisor, clinician):
    earlier = ClosedCaseFactory(
        primary_clinician=clinician, opened_on=timezone.localdate() - dt.timedelta(days=90)
    )
    current = case_in_stage(
        "treatment", actor=supervisor, patient=earlier.patient, primary_clinician=clinician
    )

    response = signed_in(supervisor).get(chart_url(earlier.patient_id))

    assert response.context["case"] == current
    assert response.context["earlier_cases"] == [earlier]


def test_the_timeline_lists_stage_changes_oldest_first_with_who_and_why(signed_in, supervisor, clinician):
    case = case_in_stage("recovery", actor=clinician, primary_clinician=clinician)

    response = signed_in(supervisor).get(chart_url(case.patient_id))

    history = list(response.context["case"].stage_history.all())
    assert [step.to_stage for step in history] == ["intake", "assessment", "treatment", "recovery"]
    assert str(clinician) in response.content.decode()


def remission_case(clinician, *, questioned_on=None):
    """A case in recovery whose checklists document early remission (D 15 January 2025, C 15 May 2025)."""
    case = episode(dt.date(2024, 1, 1), *RECOVERED, primary=clinician)
    score(case, "dsm5_sud", dt.date(2025, 1, 15), responses=MET, by=clinician)
    score(case, "dsm5_sud", dt.date(2025, 5, 15), responses=checklist(), by=clinician)
    if questioned_on is not None:
        DrugScreen.objects.create(
            case=case, collected_on=questioned_on, fentanyl="positive", created_by=clinician
        )
    return case


def test_a_documented_remission_shows_a_green_badge_with_its_checklist(signed_in, supervisor, clinician):
    case = remission_case(clinician)

    response = signed_in(supervisor).get(chart_url(case.patient_id))
    page = response.content.decode()

    assert response.context["remission"] == "early"
    assert 'data-remission="early"' in page
    assert "Early remission <small>(checklist of 2025-05-15)</small>" in page
    assert "Re-assess" not in page
    assert 'data-diagnosis-code="F19.21"' in page  # moderate, in remission


def test_a_fentanyl_positive_today_turns_the_badge_into_re_assess(signed_in, clinician):
    today = timezone.localdate()
    case = remission_case(clinician, questioned_on=today)

    page = signed_in(clinician).get(chart_url(case.patient_id)).content.decode()

    assert 'data-remission="questioned"' in page
    assert f"Re-assess early remission: positive urine screen of {today.isoformat()}" in page
    assert 'class="badge ok" data-remission' not in page


def test_a_single_checklist_followed_by_nothing_shows_no_remission(signed_in, clinician):
    case = episode(dt.date(2024, 1, 1), *RECOVERED, primary=clinician)
    score(case, "dsm5_sud", dt.date(2025, 1, 15), responses=MET, by=clinician)

    response = signed_in(clinician).get(chart_url(case.patient_id))

    assert response.context["remission"] is None
    assert "data-remission" not in response.content.decode()
    assert 'data-diagnosis-code="F19.20"' in response.content.decode()


def test_front_desk_is_not_shown_the_remission(signed_in, front_desk, clinician):
    case = remission_case(clinician, questioned_on=timezone.localdate())

    response = signed_in(front_desk).get(chart_url(case.patient_id))

    assert response.context["remission"] is None
    assert "data-remission" not in response.content.decode()
    assert "data-diagnosis-code" not in response.content.decode()


def test_a_clinician_outside_the_caseload_gets_404_for_the_chart(signed_in, other_clinician, clinician):
    case = remission_case(clinician)

    assert signed_in(other_clinician).get(chart_url(case.patient_id)).status_code == 404


def test_alerts_list_unresolved_ones_urgent_first(signed_in, clinician, own_case):
    warning = AlertFactory(case=own_case, kind="elevated_bp", severity="warning")
    urgent = AlertFactory(case=own_case, kind="fentanyl_positive", severity="urgent")
    AlertFactory(
        case=own_case,
        kind="liver_injury",
        status="resolved",
        resolved_at=timezone.now(),
        resolved_by=clinician,
    )

    response = signed_in(clinician).get(chart_url(own_case.patient_id))

    assert [row.alert for row in response.context["alerts"]] == [urgent, warning]


# --- Audit ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "category"),
    [("front_desk", "demographics"), ("clinician", "clinical_note"), ("supervisor", "clinical_note")],
)
def test_a_chart_read_is_one_view_event_with_the_patient_and_what_was_shown(
    request, signed_in, charted, role, category
):
    user = request.getfixturevalue(role)
    client = signed_in(user)
    before = AuditEvent.objects.count()

    client.get(chart_url(charted.patient_id))

    assert AuditEvent.objects.count() == before + 1
    event = last_event()
    assert (event.action, event.outcome, event.user_id) == ("view", "allowed", user.pk)
    assert (event.object_type, event.patient_id, event.data_category) == (
        "patient",
        charted.patient_id,
        category,
    )


# --- Stage changes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["intake", "assessment", "treatment", "recovery"])
def test_only_the_moves_the_workflow_allows_are_offered(signed_in, clinician, stage):
    case = case_in_stage(stage, actor=clinician, primary_clinician=clinician)

    response = signed_in(clinician).get(chart_url(case.patient_id))

    assert [form.move for form in response.context["stage_moves"]] == allowed_next_stages(case)


def test_the_discharge_form_alone_asks_for_a_discharge_reason(signed_in, clinician, own_case):
    response = signed_in(clinician).get(chart_url(own_case.patient_id))

    forms = {form.move: form for form in response.context["stage_moves"]}
    assert "discharge_reason" in forms["discharged"].fields
    assert "discharge_reason" not in forms["assessment"].fields


def test_returning_to_treatment_marks_its_reason_required(signed_in, clinician):
    case = case_in_stage("recovery", actor=clinician, primary_clinician=clinician)

    response = signed_in(clinician).get(chart_url(case.patient_id))

    forms = {form.move: form for form in response.context["stage_moves"]}
    assert forms["treatment"].fields["reason"].widget.attrs.get("required") is True
    assert "Return to treatment" in response.content.decode()


def test_intake_to_assessment_moves_the_case_records_history_and_audits(signed_in, clinician, own_case):
    response = signed_in(clinician).post(
        transition_url(own_case), {"to_stage": "assessment", "version": own_case.version, "reason": "Seen"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"{chart_url(own_case.patient_id)}#case"
    own_case.refresh_from_db()
    assert own_case.stage == "assessment"
    step = own_case.stage_history.order_by("-sequence").first()
    assert (step.from_stage, step.to_stage, step.by_id, step.reason) == (
        "intake",
        "assessment",
        clinician.pk,
        "Seen",
    )
    assert (last_event().action, last_event().object_id) == ("transition", str(own_case.pk))


def test_a_stage_change_by_htmx_sends_the_browser_back_to_the_chart(signed_in, clinician, own_case, htmx):
    response = signed_in(clinician).post(
        transition_url(own_case), {"to_stage": "assessment", "version": own_case.version}, headers=htmx
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{chart_url(own_case.patient_id)}#case"


def test_a_stage_change_from_the_chart_itself_reloads_it(signed_in, clinician, own_case, htmx):
    # A redirect to the same address with only an anchor added would scroll, not reload: the stage would look
    # unchanged.
    here = {**htmx, "HX-Current-URL": f"http://testserver{chart_url(own_case.patient_id)}?visits=all"}
    response = signed_in(clinician).post(
        transition_url(own_case), {"to_stage": "assessment", "version": own_case.version}, headers=here
    )

    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"


def test_the_chart_says_what_changed_after_a_stage_change(signed_in, clinician, own_case):
    response = signed_in(clinician).post(
        transition_url(own_case), {"to_stage": "assessment", "version": own_case.version}, follow=True
    )

    assert "the case is now in assessment" in response.content.decode()


def test_assessment_to_treatment_without_a_dsm5_checklist_is_refused_with_the_services_message(
    signed_in, clinician
):
    case = case_in_stage("assessment", actor=clinician, primary_clinician=clinician)

    response = signed_in(clinician).post(
        transition_url(case), {"to_stage": "treatment", "version": case.version}
    )

    assert response.status_code == 400
    assert (
        "Record a completed DSM-5 substance use disorder checklist before treatment."
        in response.content.decode()
    )
    case.refresh_from_db()
    assert case.stage == "assessment"
    assert case.stage_history.count() == 2


def test_assessment_to_treatment_with_a_dsm5_checklist_moves_the_case(signed_in, clinician):
    case = case_in_stage("assessment", actor=clinician, primary_clinician=clinician)
    Dsm5ChecklistFactory(case=case, by=clinician)

    response = signed_in(clinician).post(
        transition_url(case), {"to_stage": "treatment", "version": case.version}
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.stage == "treatment"


def test_returning_to_treatment_without_a_reason_is_a_400_and_changes_nothing(signed_in, clinician):
    case = case_in_stage("recovery", actor=clinician, primary_clinician=clinician)

    response = signed_in(clinician).post(
        transition_url(case), {"to_stage": "treatment", "version": case.version}
    )

    assert response.status_code == 400
    assert "A reason is required for this stage change." in response.content.decode()
    case.refresh_from_db()
    assert case.stage == "recovery"


def test_returning_to_treatment_with_a_reason_moves_the_case(signed_in, clinician):
    case = case_in_stage("recovery", actor=clinician, primary_clinician=clinician)

    response = signed_in(clinician).post(
        transition_url(case),
        {"to_stage": "treatment", "version": case.version, "reason": "Relapsed after loss"},
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.stage == "treatment"
    assert case.stage_history.order_by("-sequence").first().reason == "Relapsed after loss"


def test_discharge_without_a_discharge_reason_is_a_400_and_changes_nothing(signed_in, clinician, own_case):
    response = signed_in(clinician).post(
        transition_url(own_case), {"to_stage": "discharged", "version": own_case.version}
    )

    assert response.status_code == 400
    assert "A discharge reason is required" in response.content.decode()
    own_case.refresh_from_db()
    assert (own_case.stage, own_case.status) == ("intake", "open")


def test_discharge_with_a_reason_closes_the_case(signed_in, clinician, own_case):
    response = signed_in(clinician).post(
        transition_url(own_case),
        {"to_stage": "discharged", "version": own_case.version, "discharge_reason": "transferred"},
    )

    assert response.status_code == 302
    own_case.refresh_from_db()
    assert (own_case.stage, own_case.status, own_case.discharge_reason) == (
        "discharged",
        "closed",
        "transferred",
    )
    assert own_case.closed_on == timezone.localdate()


def test_a_stale_form_gets_a_409_with_the_services_message_and_changes_nothing(
    signed_in, clinician, supervisor, own_case
):
    from cases.services.stages import case_transition

    version_seen = own_case.version
    case_transition(case=Case.objects.get(pk=own_case.pk), to_stage="assessment", actor=supervisor)

    response = signed_in(clinician).post(
        transition_url(own_case),
        {"to_stage": "discharged", "version": version_seen, "discharge_reason": "other"},
    )

    assert response.status_code == 409
    page = response.content.decode()
    assert "The case was changed by someone else; reload it and try again." in page
    assert "Reload the chart" in page
    own_case.refresh_from_db()
    assert (own_case.stage, own_case.stage_history.count()) == ("assessment", 2)


def test_a_move_the_workflow_does_not_offer_is_refused_and_changes_nothing(signed_in, clinician, own_case):
    response = signed_in(clinician).post(
        transition_url(own_case), {"to_stage": "recovery", "version": own_case.version}
    )

    assert response.status_code == 400
    assert "A case cannot move from intake to recovery." in response.content.decode()
    assert Case.objects.get(pk=own_case.pk).stage == "intake"


def test_a_back_dated_change_takes_effect_when_it_happened(signed_in, clinician, own_case):
    when = timezone.localtime() - dt.timedelta(days=2)

    signed_in(clinician).post(
        transition_url(own_case),
        {
            "to_stage": "assessment",
            "version": own_case.version,
            "effective_at": when.strftime("%Y-%m-%dT%H:%M"),
        },
    )

    step = own_case.stage_history.order_by("-sequence").first()
    assert step.effective_at == when.replace(second=0, microsecond=0)


def test_a_change_dated_in_the_future_is_refused_under_its_field(signed_in, clinician, own_case):
    when = timezone.localtime() + dt.timedelta(days=2)

    response = signed_in(clinician).post(
        transition_url(own_case),
        {
            "to_stage": "assessment",
            "version": own_case.version,
            "effective_at": when.strftime("%Y-%m-%dT%H:%M"),
        },
    )

    assert response.status_code == 400
    assert response.context["stage_moves"][0].errors["effective_at"] == [
        "The effective time cannot be in the future."
    ]
    assert Case.objects.get(pk=own_case.pk).stage == "intake"


def test_a_refused_change_by_htmx_returns_the_forms_alone_with_the_message(
    signed_in, clinician, own_case, htmx
):
    response = signed_in(clinician).post(
        transition_url(own_case), {"to_stage": "discharged", "version": own_case.version}, headers=htmx
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="stage-change"')
    assert "<html" not in page
    assert "A discharge reason is required" in page


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
def test_roles_without_stage_changes_get_403_audited_and_nothing_moves(request, signed_in, own_case, role):
    user = request.getfixturevalue(role)

    response = signed_in(user).post(transition_url(own_case), {"to_stage": "assessment", "version": 1})

    assert response.status_code == 403
    assert Case.objects.get(pk=own_case.pk).stage == "intake"
    event = last_event()
    assert (event.user_id, event.action, event.outcome) == (user.pk, "transition", "denied")


def test_clinician_gets_404_changing_another_clinicians_case_audited(signed_in, clinician, other_case):
    response = signed_in(clinician).post(transition_url(other_case), {"to_stage": "assessment", "version": 1})

    assert response.status_code == 404
    assert Case.objects.get(pk=other_case.pk).stage == "intake"
    event = last_event()
    assert (event.action, event.outcome, event.object_type, event.patient_id) == (
        "transition",
        "denied",
        "case",
        other_case.patient_id,
    )


def test_supervisor_changes_any_patients_stage(signed_in, supervisor, other_case):
    response = signed_in(supervisor).post(
        transition_url(other_case), {"to_stage": "assessment", "version": 1}
    )

    assert response.status_code == 302
    assert Case.objects.get(pk=other_case.pk).stage == "assessment"


def test_a_stage_change_cannot_be_made_with_get(signed_in, clinician, own_case):
    assert signed_in(clinician).get(transition_url(own_case)).status_code == 405


# --- Clinicians -------------------------------------------------------------------------------------------------


def clinicians_url(case) -> str:
    return f"/cases/{case.pk}/clinicians/"


def test_supervisor_assigns_the_primary_clinician_and_care_team(
    signed_in, supervisor, clinician, other_clinician, own_case
):
    response = signed_in(supervisor).post(
        clinicians_url(own_case),
        {"primary_clinician": other_clinician.pk, "care_team": [clinician.pk, supervisor.pk]},
    )

    assert response.status_code == 302
    own_case.refresh_from_db()
    assert own_case.primary_clinician == other_clinician
    assert set(CareTeamMember.objects.filter(case=own_case).values_list("user_id", flat=True)) == {
        clinician.pk,
        supervisor.pk,
    }
    assert (last_event().action, last_event().object_type) == ("update", "case")


@pytest.mark.parametrize("role", ["clinician", "front_desk", "administrator"])
def test_only_supervisors_assign_clinicians(request, signed_in, other_clinician, own_case, role):
    user = request.getfixturevalue(role)

    response = signed_in(user).post(clinicians_url(own_case), {"primary_clinician": other_clinician.pk})

    assert response.status_code == 403
    assert Case.objects.get(pk=own_case.pk).primary_clinician_id != other_clinician.pk
    assert (last_event().outcome, last_event().user_id) == ("denied", user.pk)


def test_assigning_someone_who_is_not_clinical_staff_is_a_400_and_changes_nothing(
    signed_in, supervisor, front_desk, own_case
):
    response = signed_in(supervisor).post(clinicians_url(own_case), {"primary_clinician": front_desk.pk})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert Case.objects.get(pk=own_case.pk).primary_clinician_id != front_desk.pk


def test_assigning_a_deactivated_clinician_is_refused_by_the_service(signed_in, supervisor, own_case):
    gone = UserFactory(roles=[Role.CLINICIAN])
    form_page = signed_in(supervisor)
    gone.is_active = False
    gone.save()

    response = form_page.post(clinicians_url(own_case), {"care_team": [gone.pk]})

    assert response.status_code == 400
    assert not CareTeamMember.objects.filter(case=own_case, user=gone).exists()


def test_the_assignment_form_is_only_shown_to_supervisors(signed_in, supervisor, clinician, own_case):
    assert "assign_form" in signed_in(supervisor).get(chart_url(own_case.patient_id)).context
    assert "assign_form" not in signed_in(clinician).get(chart_url(own_case.patient_id)).context


# --- Alerts -----------------------------------------------------------------------------------------------------


def settle_url(alert, action: str) -> str:
    return f"/alerts/{alert.pk}/{action}/"


@pytest.fixture
def alert(own_case):
    return AlertFactory(case=own_case)


def test_acknowledging_by_htmx_swaps_the_row_and_records_who_when_and_the_note(
    signed_in, clinician, alert, htmx
):
    response = signed_in(clinician).post(
        settle_url(alert, "acknowledge"), {"note": "Called the patient"}, headers=htmx
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith(f'<li id="alert-{alert.pk}"')
    assert "Called the patient" in page
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.acknowledge_note) == (
        "acknowledged",
        clinician,
        "Called the patient",
    )
    assert (last_event().action, last_event().object_type, last_event().data_category) == (
        "update",
        "alert",
        "alert",
    )


def test_resolving_closes_the_alert_with_its_note(signed_in, clinician, alert, htmx):
    response = signed_in(clinician).post(
        settle_url(alert, "resolve"), {"note": "Safety plan made"}, headers=htmx
    )

    assert response.status_code == 200
    assert "Resolved by" in response.content.decode()
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by, alert.resolve_note) == (
        "resolved",
        clinician,
        "Safety plan made",
    )


def test_settling_without_htmx_goes_back_to_the_charts_alerts(signed_in, clinician, alert):
    response = signed_in(clinician).post(settle_url(alert, "acknowledge"), {"note": "Seen"})

    assert response.status_code == 302
    assert response["Location"] == f"{chart_url(alert.patient_id)}#alerts"


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_settling_without_a_note_is_a_400_and_changes_nothing(signed_in, clinician, alert, htmx, action):
    response = signed_in(clinician).post(settle_url(alert, action), {"note": "  "}, headers=htmx)

    assert response.status_code == 400
    assert "A note is required." in response.content.decode()
    assert Alert.objects.get(pk=alert.pk).status == "open"


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_settling_a_resolved_alert_is_a_409(signed_in, clinician, alert, action):
    client = signed_in(clinician)
    client.post(settle_url(alert, "resolve"), {"note": "Done"})

    response = client.post(settle_url(alert, action), {"note": "Again"})

    assert response.status_code == 409
    assert "already resolved" in response.content.decode()
    assert Alert.objects.get(pk=alert.pk).resolve_note == "Done"


def test_acknowledging_twice_is_a_409_that_keeps_the_first_note(signed_in, clinician, alert, htmx):
    client = signed_in(clinician)
    client.post(settle_url(alert, "acknowledge"), {"note": "First"})

    response = client.post(settle_url(alert, "acknowledge"), {"note": "Second"}, headers=htmx)

    assert response.status_code == 409
    assert "This alert is already acknowledged." in response.content.decode()
    assert Alert.objects.get(pk=alert.pk).acknowledge_note == "First"


def test_a_refused_settle_shows_the_alert_again_as_one_audited_read(signed_in, clinician, alert, htmx):
    client = signed_in(clinician)
    before = AuditEvent.objects.count()

    response = client.post(settle_url(alert, "resolve"), {"note": ""}, headers=htmx)

    assert response.status_code == 400
    assert response.content.decode().lstrip().startswith(f'<li id="alert-{alert.pk}"')
    assert AuditEvent.objects.count() == before + 1
    event = last_event()
    assert (event.action, event.object_type, event.object_id, event.data_category) == (
        "view",
        "alert",
        str(alert.pk),
        "alert",
    )


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_clinician_gets_404_settling_another_clinicians_alert_audited(
    signed_in, clinician, other_case, action
):
    alert = AlertFactory(case=other_case)

    response = signed_in(clinician).post(settle_url(alert, action), {"note": "Mine now"})

    assert response.status_code == 404
    assert Alert.objects.get(pk=alert.pk).status == "open"
    event = last_event()
    assert (event.outcome, event.object_type, event.patient_id) == ("denied", "alert", other_case.patient_id)


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_roles_without_clinical_rights_get_403_settling_alerts(request, signed_in, alert, role, action):
    response = signed_in(request.getfixturevalue(role)).post(settle_url(alert, action), {"note": "x"})

    assert response.status_code == 403
    assert Alert.objects.get(pk=alert.pk).status == "open"
    assert last_event().outcome == "denied"


def test_supervisor_settles_any_alert(signed_in, supervisor, other_case):
    alert = AlertFactory(case=other_case)

    response = signed_in(supervisor).post(settle_url(alert, "resolve"), {"note": "Reviewed"})

    assert response.status_code == 302
    assert Alert.objects.get(pk=alert.pk).status == "resolved"


def test_an_acknowledged_alert_offers_only_resolve(signed_in, clinician, alert):
    client = signed_in(clinician)
    client.post(settle_url(alert, "acknowledge"), {"note": "Seen"})

    page = client.get(chart_url(alert.patient_id)).content.decode()

    assert f"/alerts/{alert.pk}/resolve/" in page
    assert f"/alerts/{alert.pk}/acknowledge/" not in page


# --- Query count --------------------------------------------------------------------------------------------------

# The whole chart, whatever the rows: this page's own reads (~20), the visits and assessments sections (each with
# a few of their own), and the audit append. Generous but constant; see test_chart_query_count_does_not_grow.
CHART_MAX_QUERIES = 45


def fill_chart(case, clinician, rows: int) -> None:
    """`rows` of everything the chart lists on `case`'s patient, plus an earlier episode."""
    ClosedCaseFactory(
        patient=case.patient, primary_clinician=clinician, opened_on=case.opened_on - dt.timedelta(days=400)
    )
    kinds = [kind for kind, _ in Alert.Kind.choices]
    for index in range(rows):
        VisitFactory(case=case, clinician=clinician)
        AttendedVisitFactory(case=case, clinician=clinician)
        Dsm5ChecklistFactory(case=case, by=clinician)
        DrugScreenFactory(case=case, created_by=clinician, mitragynine="positive")
        LiverPanelFactory(case=case, created_by=clinician)
        TreatmentGoalFactory(case=case, created_by=clinician)
        AlertFactory(case=case, kind=kinds[index % len(kinds)])
        CareTeamMember.objects.create(case=case, user=UserFactory(roles=[Role.CLINICIAN]))
    StageTransition.objects.filter(case=case).update(by=clinician)


def chart_queries(client, patient_id) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(chart_url(patient_id)).status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_the_full_chart_stays_under_its_query_bound(
    request, signed_in, clinician, own_case, role, django_assert_max_num_queries
):
    fill_chart(own_case, clinician, rows=8)
    client = signed_in(request.getfixturevalue(role))

    with django_assert_max_num_queries(CHART_MAX_QUERIES):
        client.get(chart_url(own_case.patient_id))


@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_chart_query_count_does_not_grow_with_rows(request, signed_in, clinician, role):
    few = case_in_stage("treatment", actor=clinician, primary_clinician=clinician)
    many = case_in_stage("treatment", actor=clinician, primary_clinician=clinician)
    fill_chart(few, clinician, rows=1)
    fill_chart(many, clinician, rows=6)
    client = signed_in(request.getfixturevalue(role))
    chart_queries(client, few.patient_id)  # warm the session

    assert chart_queries(client, many.patient_id) == chart_queries(client, few.patient_id)


def test_the_chart_and_the_worklist_show_a_reopened_alerts_evidence_with_struck_entries(
    signed_in, clinician, own_case
):
    from cases.services.alerts import alert_acknowledge
    from cases.services.clinical import assessment_mark_entered_in_error, assessment_record

    def phq9(q9: int):
        responses = responses_totalling("phq9", 0) | {"q1": 2, "q9": q9}
        return assessment_record(case=own_case, actor=clinician, instrument="phq9", responses=responses)

    wrong = phq9(2)
    alert_acknowledge(alert=Alert.objects.get(case=own_case), actor=clinician, note="Called; safe")
    phq9(1)
    assessment_mark_entered_in_error(assessment=wrong, actor=clinician, reason="Wrong patient")
    client = signed_in(clinician)

    chart = client.get(chart_url(own_case.patient_id)).content.decode()
    dashboard = client.get("/").content.decode()

    for html in (chart, dashboard):
        assert "Evidence (2 records)" in html
        assert "<del>" in html and "struck: entered in error: Wrong patient" in html
    assert "Reopened" in chart and "Earlier acknowledged by" in chart
