"""Writes on the clinical record (`cases.services.clinical`): assessments, plan goals, medications, urine drug
screens and liver panels, with the validations that keep them honest."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.errors import TransitionNotAllowed, ValidationFailed
from cases.models import ANALYTES, Assessment, Case, DrugScreen, LiverPanel, Medication, TreatmentGoal
from cases.services.clinical import (
    assessment_mark_entered_in_error,
    assessment_record,
    drug_screen_record,
    drug_screen_update,
    goal_add,
    goal_update,
    liver_panel_record,
    liver_panel_update,
    medication_add,
    medication_update,
)
from cases.services.stages import case_transition
from tests.factories import (
    ClosedCaseFactory,
    DrugScreenFactory,
    LiverPanelFactory,
    TreatmentGoalFactory,
    case_in_stage,
    responses_totalling,
)

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def refused(call, *args, **kwargs) -> dict[str, list[str]]:
    """The field errors of a refused service call."""
    with pytest.raises(ValidationFailed) as excinfo:
        call(*args, **kwargs)
    return excinfo.value.errors


def today() -> dt.date:
    return timezone.localdate()


# --- Assessments ---


def test_an_assessment_stores_the_clean_responses_with_the_computed_total_and_band(own_case, clinician):
    responses = responses_totalling("phq9", 12)
    when = timezone.now() - dt.timedelta(days=2)

    assessment = assessment_record(
        case=own_case, actor=clinician, instrument="phq9", responses=responses, administered_at=when
    )

    stored = Assessment.objects.get(pk=assessment.pk)
    assert (stored.instrument, stored.total, stored.band) == ("phq9", 12, "moderate")
    assert stored.responses == responses
    assert (stored.case_id, stored.by_id, stored.administered_at) == (own_case.pk, clinician.pk, when)
    assert (stored.entered_in_error, stored.entered_in_error_reason) == (False, "")


def test_an_assessment_is_administered_now_unless_dated(own_case, clinician):
    before = timezone.now()

    assessment = assessment_record(
        case=own_case, actor=clinician, instrument="gad7", responses=responses_totalling("gad7", 0)
    )

    assert before <= Assessment.objects.get(pk=assessment.pk).administered_at <= timezone.now()


def test_a_sows_assessment_is_stored_without_a_band(own_case, clinician):
    assessment = assessment_record(
        case=own_case, actor=clinician, instrument="sows", responses=responses_totalling("sows", 64)
    )

    assert Assessment.objects.filter(pk=assessment.pk).values_list("total", "band").get() == (64, None)


def test_a_client_cannot_set_the_total_through_the_responses(own_case, clinician):
    responses = responses_totalling("phq9", 3) | {"total": 0}

    errors = refused(
        assessment_record, case=own_case, actor=clinician, instrument="phq9", responses=responses
    )

    assert list(errors) == ["responses.total"]
    assert not Assessment.objects.exists()


def test_an_invalid_response_is_refused_naming_the_item_and_nothing_is_stored(own_case, clinician):
    responses = responses_totalling("cows", 10) | {"gooseflesh": 1}

    errors = refused(
        assessment_record, case=own_case, actor=clinician, instrument="cows", responses=responses
    )

    assert list(errors) == ["responses.gooseflesh"]
    assert not Assessment.objects.exists()


def test_an_unknown_instrument_is_refused_naming_the_instrument(own_case, clinician):
    errors = refused(assessment_record, case=own_case, actor=clinician, instrument="audit_c", responses={})

    assert list(errors) == ["instrument"]
    assert not Assessment.objects.exists()


def test_an_assessment_cannot_be_recorded_on_a_closed_case(clinician):
    case = ClosedCaseFactory(primary_clinician=clinician)

    errors = refused(
        assessment_record,
        case=case,
        actor=clinician,
        instrument="gad7",
        responses=responses_totalling("gad7", 3),
    )

    assert list(errors) == ["case"]
    assert not Assessment.objects.exists()


def test_an_assessment_cannot_be_dated_in_the_future(own_case, clinician):
    errors = refused(
        assessment_record,
        case=own_case,
        actor=clinician,
        instrument="gad7",
        responses=responses_totalling("gad7", 3),
        administered_at=timezone.now() + dt.timedelta(minutes=5),
    )

    assert list(errors) == ["administered_at"]
    assert not Assessment.objects.exists()


def test_an_assessment_time_without_a_time_zone_is_refused(own_case, clinician):
    errors = refused(
        assessment_record,
        case=own_case,
        actor=clinician,
        instrument="gad7",
        responses=responses_totalling("gad7", 3),
        administered_at=dt.datetime.now() - dt.timedelta(hours=1),  # naive on purpose
    )

    assert list(errors) == ["administered_at"]
    assert not Assessment.objects.exists()


def test_an_assessment_cannot_be_dated_before_the_case_opened_in_chicago(own_case, clinician):
    # 23:30 on the eve of opening in Chicago, though already the opening day in UTC.
    eve = dt.datetime.combine(own_case.opened_on - dt.timedelta(days=1), dt.time(23, 30), tzinfo=CHICAGO)

    errors = refused(
        assessment_record,
        case=own_case,
        actor=clinician,
        instrument="gad7",
        responses=responses_totalling("gad7", 3),
        administered_at=eve,
    )

    assert list(errors) == ["administered_at"]
    assert not Assessment.objects.exists()


def test_an_assessment_may_be_dated_on_the_day_the_case_opened(own_case, clinician):
    opening = dt.datetime.combine(own_case.opened_on, dt.time(0, 30), tzinfo=CHICAGO)

    assessment = assessment_record(
        case=own_case,
        actor=clinician,
        instrument="gad7",
        responses=responses_totalling("gad7", 3),
        administered_at=opening,
    )

    assert Assessment.objects.get(pk=assessment.pk).administered_at == opening


# --- Assessments entered in error ---


@pytest.fixture
def assessment(own_case, clinician):
    return assessment_record(
        case=own_case, actor=clinician, instrument="phq9", responses=responses_totalling("phq9", 6)
    )


def test_marking_an_assessment_entered_in_error_records_who_when_and_why(assessment, supervisor):
    before = timezone.now()

    assessment_mark_entered_in_error(
        assessment=assessment, actor=supervisor, reason="  Scored the wrong patient "
    )

    stored = Assessment.objects.get(pk=assessment.pk)
    assert (stored.entered_in_error, stored.entered_in_error_reason, stored.entered_in_error_by_id) == (
        True,
        "Scored the wrong patient",
        supervisor.pk,
    )
    assert before <= stored.entered_in_error_at <= timezone.now()
    assert (stored.total, stored.band, stored.responses) == (6, "mild", assessment.responses)


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_marking_an_assessment_entered_in_error_needs_a_reason(assessment, clinician, reason):
    errors = refused(assessment_mark_entered_in_error, assessment=assessment, actor=clinician, reason=reason)

    assert list(errors) == ["reason"]
    assert Assessment.objects.filter(pk=assessment.pk, entered_in_error=False).exists()


def test_an_assessment_cannot_be_marked_entered_in_error_twice(assessment, clinician, supervisor):
    assessment_mark_entered_in_error(assessment=assessment, actor=clinician, reason="Duplicate entry")

    errors = refused(
        assessment_mark_entered_in_error, assessment=assessment, actor=supervisor, reason="Again"
    )

    assert list(errors) == ["reason"]
    stored = Assessment.objects.get(pk=assessment.pk)
    assert (stored.entered_in_error_reason, stored.entered_in_error_by_id) == (
        "Duplicate entry",
        clinician.pk,
    )


def test_a_recorded_dsm5_checklist_lets_the_case_move_to_treatment(clinician):
    case = case_in_stage(Case.Stage.ASSESSMENT, actor=clinician, primary_clinician=clinician)
    assessment_record(
        case=case, actor=clinician, instrument="dsm5_sud", responses=responses_totalling("dsm5_sud", 4)
    )

    case_transition(case=case, to_stage=Case.Stage.TREATMENT, actor=clinician)

    assert Case.objects.get(pk=case.pk).stage == Case.Stage.TREATMENT


def test_a_dsm5_checklist_entered_in_error_no_longer_lets_the_case_move_to_treatment(clinician):
    case = case_in_stage(Case.Stage.ASSESSMENT, actor=clinician, primary_clinician=clinician)
    checklist = assessment_record(
        case=case, actor=clinician, instrument="dsm5_sud", responses=responses_totalling("dsm5_sud", 4)
    )
    assessment_mark_entered_in_error(
        assessment=checklist, actor=clinician, reason="Entered on the wrong case"
    )

    with pytest.raises(TransitionNotAllowed) as excinfo:
        case_transition(case=case, to_stage=Case.Stage.TREATMENT, actor=clinician)

    assert list(excinfo.value.errors) == ["to_stage"]
    assert Case.objects.get(pk=case.pk).stage == Case.Stage.ASSESSMENT


# --- Treatment plan goals ---

GOAL = {"problem": "Daily kratom use", "goal": "Abstinent for 30 days", "interventions": "Weekly counseling"}


def test_a_goal_is_added_active_and_reviewed_today_by_default(own_case, clinician):
    goal = goal_add(
        case=own_case, actor=clinician, data=GOAL | {"target_date": today() + dt.timedelta(days=60)}
    )

    stored = TreatmentGoal.objects.get(pk=goal.pk)
    assert (stored.problem, stored.goal, stored.interventions) == tuple(GOAL.values())
    assert (stored.status, stored.review_date, stored.target_date) == (
        "active",
        today(),
        today() + dt.timedelta(days=60),
    )
    assert (stored.case_id, stored.created_by_id) == (own_case.pk, clinician.pk)


@pytest.mark.parametrize("field", ["case", "created_by", "id", "priority"])
def test_a_goal_refuses_unknown_or_read_only_fields_naming_them(own_case, clinician, field):
    errors = refused(goal_add, case=own_case, actor=clinician, data=GOAL | {field: "x"})

    assert list(errors) == [field]
    assert not TreatmentGoal.objects.exists()


@pytest.mark.parametrize(
    ("days_from_opening", "days_from_today"),
    [(-1, None), (None, 1)],
    ids=["before the case opened", "in the future"],
)
def test_a_goal_review_date_outside_the_case_is_refused(
    own_case, clinician, days_from_opening, days_from_today
):
    if days_from_opening is not None:
        review = own_case.opened_on + dt.timedelta(days=days_from_opening)
    else:
        review = today() + dt.timedelta(days=days_from_today)

    errors = refused(goal_add, case=own_case, actor=clinician, data=GOAL | {"review_date": review})

    assert list(errors) == ["review_date"]
    assert not TreatmentGoal.objects.exists()


@pytest.mark.parametrize("missing", ["problem", "goal"])
def test_a_goal_needs_a_problem_and_a_goal(own_case, clinician, missing):
    errors = refused(goal_add, case=own_case, actor=clinician, data=GOAL | {missing: "  "})

    assert list(errors) == [missing]
    assert not TreatmentGoal.objects.exists()


def test_a_goal_status_must_be_a_known_code(own_case, clinician):
    errors = refused(goal_add, case=own_case, actor=clinician, data=GOAL | {"status": "abandoned"})

    assert list(errors) == ["status"]


def test_a_goal_cannot_be_added_to_a_closed_case(clinician):
    errors = refused(
        goal_add, case=ClosedCaseFactory(primary_clinician=clinician), actor=clinician, data=GOAL
    )

    assert list(errors) == ["case"]


def test_a_goal_update_changes_only_the_given_fields(own_case, clinician):
    goal = TreatmentGoalFactory(case=own_case, review_date=own_case.opened_on)

    goal_update(goal=goal, actor=clinician, data={"status": "met", "review_date": today()})

    stored = TreatmentGoal.objects.get(pk=goal.pk)
    assert (stored.status, stored.review_date, stored.goal) == ("met", today(), goal.goal)


def test_a_goal_update_refuses_a_future_review_date(own_case, clinician):
    goal = TreatmentGoalFactory(case=own_case, review_date=own_case.opened_on)

    errors = refused(
        goal_update, goal=goal, actor=clinician, data={"review_date": today() + dt.timedelta(days=1)}
    )

    assert list(errors) == ["review_date"]
    assert TreatmentGoal.objects.get(pk=goal.pk).review_date == own_case.opened_on


# --- Medications ---

BUPRENORPHINE = {
    "medication": "buprenorphine_naloxone",
    "dose": "8 mg/2 mg",
    "frequency": "once daily",
    "prescriber": "Dr. Reyes",
}


def test_a_medication_is_stored_as_given(own_case, clinician):
    start = today() - dt.timedelta(days=3)

    medication = medication_add(case=own_case, actor=clinician, data=BUPRENORPHINE | {"start_date": start})

    stored = (
        Medication.objects.filter(pk=medication.pk).values(*BUPRENORPHINE, "start_date", "stop_date").get()
    )
    assert stored == BUPRENORPHINE | {"start_date": start, "stop_date": None}


@pytest.mark.parametrize("other_name", ["", "   "])
def test_an_other_medication_must_be_named(own_case, clinician, other_name):
    data = BUPRENORPHINE | {"medication": "other", "other_name": other_name, "start_date": today()}

    errors = refused(medication_add, case=own_case, actor=clinician, data=data)

    assert list(errors) == ["other_name"]
    assert not Medication.objects.exists()


def test_an_other_medication_with_a_name_is_stored(own_case, clinician):
    data = BUPRENORPHINE | {"medication": "other", "other_name": "Gabapentin", "start_date": today()}

    medication = medication_add(case=own_case, actor=clinician, data=data)

    assert str(Medication.objects.get(pk=medication.pk)) == "Gabapentin 8 mg/2 mg once daily"


def test_a_medication_cannot_stop_before_it_starts(own_case, clinician):
    data = BUPRENORPHINE | {"start_date": today(), "stop_date": today() - dt.timedelta(days=1)}

    errors = refused(medication_add, case=own_case, actor=clinician, data=data)

    assert list(errors) == ["stop_date"]
    assert not Medication.objects.exists()


def test_a_medication_may_stop_the_day_it_starts(own_case, clinician):
    data = BUPRENORPHINE | {"start_date": today(), "stop_date": today()}

    medication = medication_add(case=own_case, actor=clinician, data=data)

    assert Medication.objects.get(pk=medication.pk).stop_date == today()


def test_a_medication_update_cannot_stop_before_the_start(own_case, clinician):
    medication = medication_add(case=own_case, actor=clinician, data=BUPRENORPHINE | {"start_date": today()})

    errors = refused(
        medication_update,
        medication=medication,
        actor=clinician,
        data={"stop_date": today() - dt.timedelta(days=1)},
    )

    assert list(errors) == ["stop_date"]
    assert Medication.objects.get(pk=medication.pk).stop_date is None


def test_a_medication_update_stops_it(own_case, clinician):
    medication = medication_add(
        case=own_case, actor=clinician, data=BUPRENORPHINE | {"start_date": today() - dt.timedelta(days=9)}
    )

    medication_update(medication=medication, actor=clinician, data={"stop_date": today()})

    assert Medication.objects.get(pk=medication.pk).stop_date == today()


def test_a_medication_must_be_a_known_code(own_case, clinician):
    data = BUPRENORPHINE | {"medication": "methadone", "start_date": today()}

    errors = refused(medication_add, case=own_case, actor=clinician, data=data)

    assert list(errors) == ["medication"]


@pytest.mark.parametrize("field", ["case", "created_by", "route"])
def test_a_medication_refuses_unknown_or_read_only_fields_naming_them(own_case, clinician, field):
    errors = refused(
        medication_add,
        case=own_case,
        actor=clinician,
        data=BUPRENORPHINE | {"start_date": today(), field: "x"},
    )

    assert list(errors) == [field]
    assert not Medication.objects.exists()


def test_a_medication_cannot_be_added_to_a_closed_case(clinician):
    case = ClosedCaseFactory(primary_clinician=clinician)

    errors = refused(medication_add, case=case, actor=clinician, data=BUPRENORPHINE | {"start_date": today()})

    assert list(errors) == ["case"]


# --- Urine drug screens ---


def test_a_drug_screen_stores_the_given_results_and_the_rest_as_not_tested(own_case, clinician):
    screen = drug_screen_record(
        case=own_case,
        actor=clinician,
        collected_on=today(),
        results={"mitragynine": "positive", "seven_oh_mitragynine": "negative"},
    )

    stored = DrugScreen.objects.get(pk=screen.pk)
    assert stored.results == {analyte: "not_tested" for analyte in ANALYTES} | {
        "mitragynine": "positive",
        "seven_oh_mitragynine": "negative",
    }
    assert (stored.collected_on, stored.created_by_id) == (today(), clinician.pk)


def test_a_drug_screen_with_no_results_is_all_not_tested(own_case, clinician):
    screen = drug_screen_record(case=own_case, actor=clinician, collected_on=today(), results={})

    assert set(DrugScreen.objects.get(pk=screen.pk).results.values()) == {"not_tested"}


def test_an_unknown_analyte_is_refused_naming_it(own_case, clinician):
    errors = refused(
        drug_screen_record,
        case=own_case,
        actor=clinician,
        collected_on=today(),
        results={"mitragynine": "negative", "kratom": "positive"},
    )

    assert list(errors) == ["results.kratom"]
    assert not DrugScreen.objects.exists()


@pytest.mark.parametrize("result", ["pos", "POSITIVE", "", None, True, 1])
def test_an_unknown_result_is_refused_naming_the_analyte(own_case, clinician, result):
    errors = refused(
        drug_screen_record, case=own_case, actor=clinician, collected_on=today(), results={"fentanyl": result}
    )

    assert list(errors) == ["results.fentanyl"]
    assert not DrugScreen.objects.exists()


def test_every_bad_analyte_is_named_at_once(own_case, clinician):
    errors = refused(
        drug_screen_record,
        case=own_case,
        actor=clinician,
        collected_on=today(),
        results={"kratom": "positive", "cocaine": "maybe", "opioids": "negative"},
    )

    assert set(errors) == {"results.kratom", "results.cocaine"}


@pytest.mark.parametrize("results", [None, [], "fentanyl=positive"])
def test_drug_screen_results_must_be_an_object(own_case, clinician, results):
    errors = refused(
        drug_screen_record, case=own_case, actor=clinician, collected_on=today(), results=results
    )

    assert list(errors) == ["results"]


@pytest.mark.parametrize(
    "collected_on",
    [lambda case: case.opened_on - dt.timedelta(days=1), lambda case: today() + dt.timedelta(days=1)],
    ids=["before the case opened", "in the future"],
)
def test_a_drug_screen_collected_outside_the_case_is_refused(own_case, clinician, collected_on):
    errors = refused(
        drug_screen_record, case=own_case, actor=clinician, collected_on=collected_on(own_case), results={}
    )

    assert list(errors) == ["collected_on"]
    assert not DrugScreen.objects.exists()


def test_a_drug_screen_cannot_be_recorded_on_a_closed_case(clinician):
    case = ClosedCaseFactory(primary_clinician=clinician)

    errors = refused(drug_screen_record, case=case, actor=clinician, collected_on=case.opened_on, results={})

    assert list(errors) == ["case"]


def test_a_drug_screen_update_replaces_only_the_named_analytes(own_case, clinician):
    screen = DrugScreenFactory(case=own_case, mitragynine="positive", opioids="negative")

    drug_screen_update(screen=screen, actor=clinician, results={"opioids": "positive"})

    stored = DrugScreen.objects.get(pk=screen.pk)
    assert (stored.mitragynine, stored.opioids, stored.cocaine) == ("positive", "positive", "not_tested")


def test_a_drug_screen_update_refuses_a_future_collection_date(own_case, clinician):
    screen = DrugScreenFactory(case=own_case, collected_on=today())

    errors = refused(
        drug_screen_update, screen=screen, actor=clinician, collected_on=today() + dt.timedelta(days=1)
    )

    assert list(errors) == ["collected_on"]
    assert DrugScreen.objects.get(pk=screen.pk).collected_on == today()


# --- Liver panels ---

PANEL = {
    "alt": Decimal("52.0"),
    "alt_uln": Decimal("40.0"),
    "ast": Decimal("44.0"),
    "ast_uln": Decimal("40.0"),
    "alp": Decimal("110.0"),
    "alp_uln": Decimal("120.0"),
    "total_bilirubin": Decimal("0.90"),
    "total_bilirubin_uln": Decimal("1.20"),
}


def test_a_liver_panel_is_stored_as_given(own_case, clinician):
    panel = liver_panel_record(case=own_case, actor=clinician, data=PANEL | {"collected_on": today()})

    stored = LiverPanel.objects.filter(pk=panel.pk).values(*PANEL, "collected_on", "created_by").get()
    assert stored == PANEL | {"collected_on": today(), "created_by": clinician.pk}


def test_liver_panel_numbers_sent_as_text_are_stored_as_decimals(own_case, clinician):
    text = {name: str(value) for name, value in PANEL.items()}

    panel = liver_panel_record(case=own_case, actor=clinician, data=text | {"collected_on": today()})

    assert LiverPanel.objects.get(pk=panel.pk).alt == Decimal("52.0")


@pytest.mark.parametrize("field", ["r_ratio", "pattern", "hys_law", "case", "created_by", "ggt"])
def test_a_liver_panel_refuses_derived_read_only_and_unknown_fields_naming_them(own_case, clinician, field):
    errors = refused(
        liver_panel_record, case=own_case, actor=clinician, data=PANEL | {"collected_on": today(), field: "1"}
    )

    assert list(errors) == [field]
    assert not LiverPanel.objects.exists()


@pytest.mark.parametrize(
    "collected_on",
    [lambda case: case.opened_on - dt.timedelta(days=1), lambda case: today() + dt.timedelta(days=1)],
    ids=["before the case opened", "in the future"],
)
def test_a_liver_panel_collected_outside_the_case_is_refused(own_case, clinician, collected_on):
    errors = refused(
        liver_panel_record,
        case=own_case,
        actor=clinician,
        data=PANEL | {"collected_on": collected_on(own_case)},
    )

    assert list(errors) == ["collected_on"]
    assert not LiverPanel.objects.exists()


def test_a_liver_panel_needs_its_collection_date(own_case, clinician):
    errors = refused(liver_panel_record, case=own_case, actor=clinician, data=PANEL)

    assert list(errors) == ["collected_on"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("alt", Decimal("-1")), ("total_bilirubin", Decimal("-0.1")), ("alp_uln", Decimal("0"))],
)
def test_a_liver_panel_refuses_negative_values_and_zero_limits(own_case, clinician, field, value):
    errors = refused(
        liver_panel_record,
        case=own_case,
        actor=clinician,
        data=PANEL | {"collected_on": today(), field: value},
    )

    assert list(errors) == [field]
    assert not LiverPanel.objects.exists()


def test_a_liver_panel_cannot_be_recorded_on_a_closed_case(clinician):
    case = ClosedCaseFactory(primary_clinician=clinician)

    errors = refused(
        liver_panel_record, case=case, actor=clinician, data=PANEL | {"collected_on": case.opened_on}
    )

    assert list(errors) == ["case"]


def test_a_liver_panel_update_corrects_a_value(own_case, clinician):
    panel = LiverPanelFactory(case=own_case)

    liver_panel_update(panel=panel, actor=clinician, data={"alt": Decimal("61.0")})

    assert LiverPanel.objects.get(pk=panel.pk).alt == Decimal("61.0")


def test_a_liver_panel_update_refuses_a_date_before_the_case_opened(own_case, clinician):
    panel = LiverPanelFactory(case=own_case)

    errors = refused(
        liver_panel_update,
        panel=panel,
        actor=clinician,
        data={"collected_on": own_case.opened_on - dt.timedelta(days=1)},
    )

    assert list(errors) == ["collected_on"]
    assert LiverPanel.objects.get(pk=panel.pk).collected_on == today()
