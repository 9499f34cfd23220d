"""The chart's clinical record: urine drug screens, liver panels, medications and plan goals as the chart shows them
(flags derived as the API derives them), their add and edit forms for every role, refusals, audit, query count."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.client import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.measures import liver_findings
from cases.models import USUAL_SCREEN_PANEL, Alert, DrugScreen, LiverPanel, Medication, TreatmentGoal
from cases.web.clinical_record import clinical_record_section
from clinic.models import AuditEvent
from tests.factories import (
    CaseFactory,
    ClosedCaseFactory,
    DrugScreenFactory,
    LiverPanelFactory,
    TreatmentGoalFactory,
)

pytestmark = pytest.mark.django_db

MODELS = {
    "drug-screens": DrugScreen,
    "liver-panels": LiverPanel,
    "medications": Medication,
    "goals": TreatmentGoal,
}
ANCHORS = {
    "drug-screens": "drug-screens",
    "liver-panels": "liver-panels",
    "medications": "medications",
    "goals": "plan",
}


def chart_url(patient_id) -> str:
    return f"/patients/{patient_id}/"


def add_url(kind: str, case) -> str:
    return f"/cases/{case.pk}/{kind}/new/"


def today() -> dt.date:
    return timezone.localdate()


def valid_body(kind: str) -> dict[str, object]:
    """A form submission that records one `kind` and raises no alert."""
    return {
        "drug-screens": {
            "collected_on": today().isoformat(), **dict.fromkeys(USUAL_SCREEN_PANEL, "negative"),
            "mitragynine": "positive",
        },
        "liver-panels": {
            "collected_on": today().isoformat(), "alt": "60", "alt_uln": "40", "ast": "30", "ast_uln": "40",
            "alp": "100", "alp_uln": "120", "total_bilirubin": "1.0", "total_bilirubin_uln": "1.2",
        },
        "medications": {
            "medication": "clonidine", "dose": "0.1 mg", "frequency": "twice daily",
            "start_date": today().isoformat(), "prescriber": "Dr. Reyes",
        },
        "goals": {"problem": "Poor sleep", "goal": "Sleep seven hours", "interventions": "CBT-I"},
    }[kind]  # fmt: skip


# Bad submissions: what is wrong, and the message the page shows (the form's, or the service's).
INVALID = [
    ("drug-screens", {"collected_on": ""}, "This field is required."),
    ("drug-screens", {"collected_on": (today() + dt.timedelta(days=1)).isoformat()}, "This date cannot be in the future."),
    ("drug-screens", {"fentanyl": "maybe"}, "Select a valid choice."),
    ("liver-panels", {"alt": ""}, "This field is required."),
    ("liver-panels", {"alt_uln": "0"}, "The ALT upper limit of normal must be in U/L, between 10 and 100."),
    ("medications", {"medication": "other"}, "Name the medication when it is &#x27;other&#x27;."),
    ("medications", {"stop_date": (today() - dt.timedelta(days=400)).isoformat()}, "The stop date is before the start date."),
    ("goals", {"goal": ""}, "This field is required."),
    ("goals", {"review_date": (today() - dt.timedelta(days=365)).isoformat()}, "This date is before the case opened"),
]  # fmt: skip


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-id").first()


# --- What the section shows ----------------------------------------------------------------------------------


def test_a_screen_is_a_row_by_collection_date_with_positives_flagged(signed_in, clinician, own_case):
    DrugScreenFactory(case=own_case, fentanyl="positive", mitragynine="positive", opioids="negative")

    response = signed_in(clinician).get(chart_url(own_case.patient_id))

    row = response.context["clinical_record"].screens[0]
    assert row.positives == ["Mitragynine", "Fentanyl"]
    page = response.content.decode()
    assert page.count('<span class="visually-hidden">Positive</span></span>') == 2
    assert '<abbr title="7-OH-mitragynine">7-OH</abbr>' in page


def test_screens_and_panels_are_listed_newest_first_with_earlier_episodes_marked(
    signed_in, supervisor, clinician
):
    earlier = ClosedCaseFactory(primary_clinician=clinician, opened_on=today() - dt.timedelta(days=300))
    case = CaseFactory(patient=earlier.patient, primary_clinician=clinician)
    old = DrugScreenFactory(case=earlier, collected_on=earlier.opened_on + dt.timedelta(days=3))
    new = DrugScreenFactory(case=case, collected_on=today())

    record = signed_in(supervisor).get(chart_url(case.patient_id)).context["clinical_record"]

    assert [(row.screen, row.earlier_episode) for row in record.screens] == [(new, False), (old, True)]


@pytest.mark.parametrize(
    "values",
    [
        {},  # normal
        {"alt": Decimal("400"), "total_bilirubin": Decimal("3.00")},  # hepatocellular, Hy's law
        {"alp": Decimal("500"), "alt": Decimal("50")},  # cholestatic
        {"alp": Decimal("0")},  # R undefined
    ],
    ids=["normal", "hys-law", "cholestatic", "no-alp"],
)
def test_a_liver_panel_shows_r_pattern_and_hys_law_as_the_domain_derives_them(
    signed_in, clinician, own_case, values
):
    panel = LiverPanelFactory(case=own_case, **values)

    row = signed_in(clinician).get(chart_url(own_case.patient_id)).context["clinical_record"].panels[0]

    assert row.findings == liver_findings(panel)


def test_values_above_the_labs_upper_limit_are_flagged(signed_in, clinician, own_case):
    LiverPanelFactory(case=own_case, alt=Decimal("400"), total_bilirubin=Decimal("3.00"))

    response = signed_in(clinician).get(chart_url(own_case.patient_id))

    row = response.context["clinical_record"].panels[0]
    assert [value.above_uln for value in row.values] == [True, False, False, True]
    page = response.content.decode()
    assert page.count("Above ULN") == 2
    assert "Potential Hy's law" in page and "Hy's law met" not in page
    assert "Hepatocellular" in page


def test_a_normal_panel_shows_no_pattern_and_a_cholestatic_injury_shows_its_own(
    signed_in, clinician, own_case
):
    LiverPanelFactory(case=own_case, collected_on=timezone.localdate() - dt.timedelta(days=1))  # normal
    LiverPanelFactory(case=own_case, alt=Decimal("80"), alp=Decimal("480"), total_bilirubin=Decimal("2.20"))

    rows = signed_in(clinician).get(chart_url(own_case.patient_id)).context["clinical_record"].panels

    assert [(row.findings.meets_dili_criteria, row.findings.pattern) for row in rows] == [
        (True, "cholestatic"),
        (False, None),
    ]


def test_medications_are_split_into_current_and_stopped(signed_in, clinician, own_case):
    from cases.services.clinical import medication_add

    def add(name: str, stop: dt.date | None) -> Medication:
        data = {
            "medication": name,
            "dose": "1",
            "frequency": "daily",
            "start_date": own_case.opened_on,
            "prescriber": "Dr. A",
        }
        return medication_add(
            case=own_case, actor=clinician, data={**data, **({"stop_date": stop} if stop else {})}
        )

    current = add("clonidine", None)
    tapering = add("lofexidine", today() + dt.timedelta(days=5))
    stopped = add("naltrexone_oral", today() - dt.timedelta(days=1))

    record = signed_in(clinician).get(chart_url(own_case.patient_id)).context["clinical_record"]

    assert {row.medication for row in record.current_medications} == {current, tapering}
    assert [row.medication for row in record.stopped_medications] == [stopped]
    assert all(row.stop_form for row in record.current_medications)


def test_an_active_goal_reviewed_over_90_days_ago_is_flagged_overdue(signed_in, clinician, own_case):
    TreatmentGoalFactory(case=own_case, review_date=today() - dt.timedelta(days=91))
    TreatmentGoalFactory(case=own_case, review_date=today() - dt.timedelta(days=90))
    TreatmentGoalFactory(case=own_case, review_date=today() - dt.timedelta(days=200), status="met")

    response = signed_in(clinician).get(chart_url(own_case.patient_id))

    assert [row.review_overdue for row in response.context["clinical_record"].goals] == [True, False, False]
    assert response.content.decode().count("Review overdue") == 1


def test_front_desk_gets_no_clinical_record(signed_in, front_desk, own_case):
    DrugScreenFactory(case=own_case, fentanyl="positive")

    response = signed_in(front_desk).get(chart_url(own_case.patient_id))

    assert "clinical_record" not in response.context
    assert "Urine drug screens" not in response.content.decode()


def test_the_section_alone_shows_nothing_to_a_user_who_may_not_read_it(front_desk, own_case):
    request = RequestFactory().get("/")
    request.user = front_desk

    assert clinical_record_section(request, own_case.patient, own_case) == {"clinical_record": None}


def test_a_closed_case_shows_its_record_without_forms(signed_in, clinician):
    case = ClosedCaseFactory(primary_clinician=clinician)
    TreatmentGoalFactory(case=case)

    record = signed_in(clinician).get(chart_url(case.patient_id)).context["clinical_record"]

    assert record.may_record is False
    assert len(record.goals) == 1 and record.goals[0].form is None
    assert (record.screen_form, record.panel_form, record.medication_form, record.goal_form) == (None,) * 4


def test_the_panel_form_offers_the_last_panels_lab_limits(signed_in, clinician, own_case):
    LiverPanelFactory(case=own_case, alt_uln=Decimal("33.0"))

    form = signed_in(clinician).get(chart_url(own_case.patient_id)).context["clinical_record"].panel_form

    assert form.initial["alt_uln"] == Decimal("33.0")


# --- Adding --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("role", ["clinician", "supervisor"])
def test_a_valid_form_records_on_the_case_audits_and_returns_to_the_chart(
    request, signed_in, own_case, kind, role
):
    user = request.getfixturevalue(role)

    response = signed_in(user).post(add_url(kind, own_case), valid_body(kind))

    assert response.status_code == 302
    assert response["Location"] == f"{chart_url(own_case.patient_id)}#{ANCHORS[kind]}"
    record = MODELS[kind].objects.get(case=own_case)
    assert record.created_by == user
    event = last_event()
    assert (event.action, event.object_id, event.patient_id, event.user_id) == (
        "create",
        str(record.pk),
        own_case.patient_id,
        user.pk,
    )


def test_a_screen_keeps_each_analytes_result_and_leaves_alcohol_not_tested(signed_in, clinician, own_case):
    signed_in(clinician).post(add_url("drug-screens", own_case), valid_body("drug-screens"))

    screen = DrugScreen.objects.get(case=own_case)
    assert (screen.mitragynine, screen.fentanyl, screen.alcohol) == ("positive", "negative", "not_tested")


def test_a_goal_left_without_a_review_date_is_reviewed_today(signed_in, clinician, own_case):
    signed_in(clinician).post(add_url("goals", own_case), valid_body("goals"))

    goal = TreatmentGoal.objects.get(case=own_case)
    assert (goal.review_date, goal.status, goal.target_date) == (today(), "active", None)


@pytest.mark.parametrize("kind", MODELS)
def test_adding_by_htmx_sends_the_browser_back_to_the_charts_section(
    signed_in, clinician, own_case, htmx, kind
):
    response = signed_in(clinician).post(add_url(kind, own_case), valid_body(kind), headers=htmx)

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{chart_url(own_case.patient_id)}#{ANCHORS[kind]}"


def test_a_fentanyl_positive_screen_raises_an_alert_the_chart_then_shows(signed_in, clinician, own_case):
    client = signed_in(clinician)

    client.post(add_url("drug-screens", own_case), {**valid_body("drug-screens"), "fentanyl": "positive"})

    alert = Alert.objects.get(case=own_case)
    assert alert.kind == "fentanyl_positive"
    assert alert.message in client.get(chart_url(own_case.patient_id)).content.decode()


@pytest.mark.parametrize(
    ("kind", "change", "message"), INVALID, ids=[f"{k}-{next(iter(c))}" for k, c, _ in INVALID]
)
def test_an_invalid_form_is_a_400_with_its_message_and_nothing_saved(
    signed_in, clinician, own_case, kind, change, message
):
    client = signed_in(clinician)
    before = AuditEvent.objects.count()

    response = client.post(add_url(kind, own_case), {**valid_body(kind), **change})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not MODELS[kind].objects.filter(case=own_case).exists()
    assert AuditEvent.objects.count() == before


def test_a_refused_form_by_htmx_comes_back_alone(signed_in, clinician, own_case, htmx):
    response = signed_in(clinician).post(
        add_url("goals", own_case), {**valid_body("goals"), "goal": ""}, headers=htmx
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert page.lstrip().startswith('<form id="goal-form"')
    assert "Poor sleep" in page  # what was typed stays


def test_a_refused_form_without_htmx_is_shown_on_its_own_page_with_a_way_back(signed_in, clinician, own_case):
    response = signed_in(clinician).post(add_url("goals", own_case), {**valid_body("goals"), "goal": ""})

    page = response.content.decode()
    assert "<h1>Add a plan goal</h1>" in page
    assert f'href="{chart_url(own_case.patient_id)}"' in page


@pytest.mark.parametrize("kind", MODELS)
def test_recording_on_a_closed_case_is_refused(signed_in, clinician, kind):
    case = ClosedCaseFactory(primary_clinician=clinician)

    response = signed_in(clinician).post(add_url(kind, case), valid_body(kind))

    assert response.status_code == 400
    assert "The case is closed; open a new case to record care." in response.content.decode()
    assert not MODELS[kind].objects.filter(case=case).exists()


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("role", ["front_desk", "administrator"])
def test_roles_that_do_not_record_clinical_content_get_403_audited(request, signed_in, own_case, kind, role):
    user = request.getfixturevalue(role)

    response = signed_in(user).post(add_url(kind, own_case), valid_body(kind))

    assert response.status_code == 403
    assert not MODELS[kind].objects.exists()
    event = last_event()
    assert (event.user_id, event.action, event.outcome) == (user.pk, "create", "denied")


@pytest.mark.parametrize("kind", MODELS)
def test_clinician_gets_404_recording_on_another_clinicians_case_audited(
    signed_in, clinician, other_case, kind
):
    response = signed_in(clinician).post(add_url(kind, other_case), valid_body(kind))

    assert response.status_code == 404
    assert not MODELS[kind].objects.exists()
    event = last_event()
    assert (event.outcome, event.object_type, event.patient_id) == ("denied", "case", other_case.patient_id)


def test_adding_cannot_be_done_with_get(signed_in, clinician, own_case):
    assert signed_in(clinician).get(add_url("goals", own_case)).status_code == 405


# --- Editing -------------------------------------------------------------------------------------------------


@pytest.fixture
def goal(own_case):
    return TreatmentGoalFactory(case=own_case, review_date=today() - dt.timedelta(days=100))


@pytest.fixture
def medication(own_case, clinician):
    from cases.services.clinical import medication_add

    data = {
        "medication": "clonidine",
        "dose": "0.1 mg",
        "frequency": "daily",
        "start_date": own_case.opened_on,
        "prescriber": "Dr. A",
    }
    return medication_add(case=own_case, actor=clinician, data=data)


def goal_url(goal) -> str:
    return f"/goals/{goal.pk}/edit/"


def medication_url(medication) -> str:
    return f"/medications/{medication.pk}/edit/"


def test_a_goal_is_marked_met_and_reviewed(signed_in, clinician, goal):
    response = signed_in(clinician).post(
        goal_url(goal), {"status": "met", "review_date": today().isoformat()}
    )

    assert response.status_code == 302
    assert response["Location"].endswith("#plan")
    goal.refresh_from_db()
    assert (goal.status, goal.review_date) == ("met", today())
    assert (last_event().action, last_event().object_type) == ("update", "treatmentgoal")


def test_a_goal_review_dated_in_the_future_is_a_400_and_changes_nothing(signed_in, clinician, goal, htmx):
    response = signed_in(clinician).post(
        goal_url(goal),
        {"status": "met", "review_date": (today() + dt.timedelta(days=3)).isoformat()},
        headers=htmx,
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert page.lstrip().startswith(f'<form id="goal-{goal.pk}-update"')
    assert "This date cannot be in the future." in page
    assert TreatmentGoal.objects.get(pk=goal.pk).status == "active"


def test_a_medication_is_stopped(signed_in, clinician, medication):
    response = signed_in(clinician).post(medication_url(medication), {"stop_date": today().isoformat()})

    assert response.status_code == 302
    assert response["Location"].endswith("#medications")
    assert Medication.objects.get(pk=medication.pk).stop_date == today()


def test_a_stop_date_before_the_start_is_a_400_with_the_services_message(signed_in, clinician, medication):
    stop = medication.start_date - dt.timedelta(days=1)

    response = signed_in(clinician).post(medication_url(medication), {"stop_date": stop.isoformat()})

    assert response.status_code == 400
    assert "The stop date is before the start date." in response.content.decode()
    assert Medication.objects.get(pk=medication.pk).stop_date is None


def test_clinician_gets_404_editing_another_clinicians_goal_audited(signed_in, clinician, other_case):
    goal = TreatmentGoalFactory(case=other_case)

    response = signed_in(clinician).post(
        goal_url(goal), {"status": "met", "review_date": today().isoformat()}
    )

    assert response.status_code == 404
    assert TreatmentGoal.objects.get(pk=goal.pk).status == "active"
    event = last_event()
    assert (event.outcome, event.object_type, event.patient_id) == (
        "denied",
        "treatmentgoal",
        other_case.patient_id,
    )


def test_clinician_gets_404_stopping_another_clinicians_medication_audited(signed_in, clinician, other_case):
    from cases.services.clinical import medication_add

    data = {
        "medication": "clonidine",
        "dose": "1",
        "frequency": "daily",
        "start_date": other_case.opened_on,
        "prescriber": "Dr. B",
    }
    medication = medication_add(case=other_case, actor=other_case.primary_clinician, data=data)

    response = signed_in(clinician).post(medication_url(medication), {"stop_date": today().isoformat()})

    assert response.status_code == 404
    assert Medication.objects.get(pk=medication.pk).stop_date is None
    event = last_event()
    assert (event.outcome, event.object_type, event.patient_id) == (
        "denied",
        "medication",
        other_case.patient_id,
    )


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
def test_roles_that_do_not_record_clinical_content_cannot_edit(request, signed_in, goal, medication, role):
    client = signed_in(request.getfixturevalue(role))

    assert (
        client.post(goal_url(goal), {"status": "met", "review_date": today().isoformat()}).status_code == 403
    )
    assert client.post(medication_url(medication), {"stop_date": today().isoformat()}).status_code == 403
    assert TreatmentGoal.objects.get(pk=goal.pk).status == "active"
    assert Medication.objects.get(pk=medication.pk).stop_date is None


def test_supervisor_edits_any_patients_goal(signed_in, supervisor, other_case):
    goal = TreatmentGoalFactory(case=other_case)

    response = signed_in(supervisor).post(
        goal_url(goal), {"status": "discontinued", "review_date": today().isoformat()}
    )

    assert response.status_code == 302
    assert TreatmentGoal.objects.get(pk=goal.pk).status == "discontinued"


# --- Query count ---------------------------------------------------------------------------------------------

SECTION_QUERIES = 4  # screens, panels, medications, goals (the policy's answers come from the chart)


@pytest.mark.parametrize("rows", [1, 6])
def test_the_section_reads_a_fixed_number_of_queries_whatever_the_rows(clinician, own_case, rows):
    from cases.services.clinical import medication_add

    for index in range(rows):
        DrugScreenFactory(case=own_case, fentanyl="positive")
        LiverPanelFactory(case=own_case)
        TreatmentGoalFactory(case=own_case)
        data = {
            "medication": "clonidine",
            "dose": f"{index} mg",
            "frequency": "daily",
            "start_date": own_case.opened_on,
            "prescriber": "Dr. A",
        }
        medication_add(case=own_case, actor=clinician, data=data)
    request = RequestFactory().get("/")
    request.user = clinician

    with CaptureQueriesContext(connection) as queries:
        context = clinical_record_section(request, own_case.patient, own_case, readable=True, may_record=True)
        str(context)  # every row built

    assert len(queries) == SECTION_QUERIES
    assert len(context["clinical_record"].screens) == rows
