"""Alerts (SPEC section 5): each rule at its threshold, one unresolved alert per cause, written in the data's own
transaction; acknowledge and resolve; the time-based rules of `raise_alerts`; the worklist."""

import datetime as dt
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import DatabaseError
from django.utils import timezone

from cases.errors import Conflict, ValidationFailed
from cases.models import Alert, Assessment, Case, DrugScreen, LiverPanel, Visit
from cases.selectors import worklist_for
from cases.services.alerts import (
    RULES,
    alert_acknowledge,
    alert_raise,
    alert_resolve,
    alerts_check,
    alerts_raise_periodic,
)
from cases.services.clinical import (
    assessment_record,
    drug_screen_record,
    drug_screen_update,
    goal_add,
    liver_panel_record,
)
from cases.services.stages import case_transition
from cases.services.visits import visit_update
from tests.factories import (
    AlertFactory,
    AttendedVisitFactory,
    CaseFactory,
    TreatmentGoalFactory,
    VisitFactory,
    case_in_treatment_since,
    responses_totalling,
)


def alerts(case: Case) -> list[tuple[str, str, str]]:
    """The case's alerts as (kind, severity, status), oldest first."""
    return list(
        Alert.objects.filter(case=case).order_by("raised_at").values_list("kind", "severity", "status")
    )


def kinds(case: Case) -> set[str]:
    return set(Alert.objects.filter(case=case).values_list("kind", flat=True))


def record_phq9(case: Case, actor, q9: int) -> Assessment:
    """A PHQ-9 (mild, 4 plus item 9) recorded through the service."""
    responses = responses_totalling("phq9", 0) | {"q1": 2, "q2": 2, "q9": q9}
    return assessment_record(case=case, actor=actor, instrument="phq9", responses=responses)


# --- The rules, each at its threshold ---


def test_phq9_item_9_above_zero_raises_an_urgent_suicide_risk_alert(own_case, clinician):
    assessment = record_phq9(own_case, clinician, q9=1)

    alert = Alert.objects.get(case=own_case)
    assert (alert.kind, alert.severity, alert.status) == ("suicide_risk", "urgent", "open")
    assert (alert.patient_id, alert.source_type, alert.source_id) == (
        own_case.patient_id,
        "assessment",
        assessment.pk,
    )
    assert "item 9" in alert.message and "answered 1" in alert.message
    assert alert.acknowledged_at is None and alert.resolved_at is None


def test_phq9_item_9_at_zero_raises_no_alert_even_with_a_severe_total(own_case, clinician):
    responses = responses_totalling("phq9", 24)
    assert responses["q9"] == 0

    assessment_record(case=own_case, actor=clinician, instrument="phq9", responses=responses)

    assert alerts(own_case) == []


def test_cows_of_13_raises_a_moderate_withdrawal_warning(own_case, clinician):
    assessment_record(
        case=own_case, actor=clinician, instrument="cows", responses=responses_totalling("cows", 13)
    )

    assert alerts(own_case) == [("withdrawal_moderate", "warning", "open")]
    assert Alert.objects.get(case=own_case).message == "COWS 13 (moderate): moderate or worse withdrawal."


def test_cows_of_12_raises_no_alert(own_case, clinician):
    assessment_record(
        case=own_case, actor=clinician, instrument="cows", responses=responses_totalling("cows", 12)
    )

    assert alerts(own_case) == []


@pytest.mark.parametrize(("instrument", "total"), [("sows", 64), ("gad7", 21), ("dsm5_sud", 11), ("phq9", 9)])
def test_other_instruments_raise_no_alert_whatever_the_score(own_case, clinician, instrument, total):
    assessment_record(
        case=own_case,
        actor=clinician,
        instrument=instrument,
        responses=responses_totalling(instrument, total),
    )

    assert alerts(own_case) == []


@pytest.mark.parametrize(
    ("systolic", "diastolic", "expected"),
    [
        (181, 80, [("hypertensive_crisis", "urgent", "open")]),
        (190, 125, [("hypertensive_crisis", "urgent", "open")]),
        (150, 121, [("hypertensive_crisis", "urgent", "open")]),
        (180, 120, [("elevated_bp", "warning", "open")]),
        (140, 89, [("elevated_bp", "warning", "open")]),
        (139, 90, [("elevated_bp", "warning", "open")]),
        (139, 89, []),
        (125, 75, []),
    ],
)
def test_blood_pressure_at_a_visit_raises_the_alert_of_its_class(
    own_case, clinician, systolic, diastolic, expected
):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician)

    visit_update(visit=visit, actor=clinician, data={"bp_systolic": systolic, "bp_diastolic": diastolic})

    assert alerts(own_case) == expected


def test_a_diastolic_crisis_above_the_systolic_number_is_a_crisis_by_the_rules(own_case):
    # 120/121 cannot be recorded on a visit (systolic must exceed diastolic), but the rules class it by itself.
    visit = Visit(case=own_case, bp_systolic=120, bp_diastolic=121)

    raised = alerts_check(visit)

    assert [(a.kind, a.severity) for a in raised] == [("hypertensive_crisis", "urgent")]


def test_the_crisis_alert_names_the_reading(own_case, clinician):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician)

    visit_update(visit=visit, actor=clinician, data={"bp_systolic": 182, "bp_diastolic": 96})

    assert Alert.objects.get(case=own_case).message.startswith("Blood pressure 182/96: hypertensive crisis")


def test_a_visit_update_without_blood_pressure_checks_no_blood_pressure_rule(own_case, clinician):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician, bp_systolic=190, bp_diastolic=100)

    visit_update(visit=visit, actor=clinician, data={"craving": 4})

    assert alerts(own_case) == []


def panel(**values: str) -> dict[str, object]:
    """A liver panel (ULN: ALT 40, AST 40, ALP 120, bilirubin 1.2) with the given values changed."""
    normal = {
        "collected_on": timezone.localdate(),
        "alt": "30",
        "alt_uln": "40",
        "ast": "28",
        "ast_uln": "40",
        "alp": "90",
        "alp_uln": "120",
        "total_bilirubin": "0.8",
        "total_bilirubin_uln": "1.2",
    }
    return normal | {name: Decimal(value) for name, value in values.items()}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"alt": "200"}, [("liver_injury", "warning", "open")]),  # ALT exactly 5 x ULN
        ({"alt": "199.9"}, []),
        ({"alp": "240"}, [("liver_injury", "warning", "open")]),  # ALP exactly 2 x ULN
        ({"alp": "239.9"}, []),
        (
            {"alt": "120", "total_bilirubin": "2.41"},
            [("liver_injury", "warning", "open"), ("hys_law", "urgent", "open")],
        ),
        ({"alt": "120", "total_bilirubin": "2.40"}, []),  # bilirubin exactly 2 x ULN
        ({"total_bilirubin": "2.41"}, []),  # bilirubin alone
        ({"ast": "400"}, []),  # AST alone (docs/clinical.md)
        ({"alt": "400", "total_bilirubin": "3.5", "alp": "240"}, [("liver_injury", "warning", "open")]),
    ],
)
def test_a_liver_panel_raises_its_alerts_at_the_thresholds(own_case, clinician, values, expected):
    liver_panel_record(case=own_case, actor=clinician, data=panel(**values))

    assert sorted(alerts(own_case)) == sorted(expected)


def test_the_liver_alert_points_at_the_panel(own_case, clinician):
    recorded = liver_panel_record(case=own_case, actor=clinician, data=panel(alt="200"))

    alert = Alert.objects.get(case=own_case)
    assert (alert.source_type, alert.source_id) == ("liverpanel", recorded.pk)
    assert "ALT 200" in alert.message


def test_a_fentanyl_positive_screen_raises_an_urgent_alert(own_case, clinician):
    drug_screen_record(
        case=own_case, actor=clinician, collected_on=timezone.localdate(), results={"fentanyl": "positive"}
    )

    assert alerts(own_case) == [("fentanyl_positive", "urgent", "open")]


@pytest.mark.parametrize(
    "results",
    [
        {"fentanyl": "negative"},
        {"fentanyl": "not_tested"},
        {},
        {"opioids": "positive", "mitragynine": "positive", "fentanyl": "negative"},
    ],
)
def test_a_screen_not_positive_for_fentanyl_raises_no_alert(own_case, clinician, results):
    drug_screen_record(case=own_case, actor=clinician, collected_on=timezone.localdate(), results=results)

    assert alerts(own_case) == []


def test_a_screen_corrected_to_fentanyl_positive_raises_the_alert(own_case, clinician):
    screen = drug_screen_record(
        case=own_case, actor=clinician, collected_on=timezone.localdate(), results={"fentanyl": "negative"}
    )

    drug_screen_update(screen=screen, actor=clinician, results={"fentanyl": "positive"})

    assert alerts(own_case) == [("fentanyl_positive", "urgent", "open")]


def test_every_rule_raises_a_kind_and_severity_from_the_spec_codes():
    assert {(rule.kind, rule.severity) for rule in RULES} == {
        ("suicide_risk", "urgent"),
        ("withdrawal_moderate", "warning"),
        ("hypertensive_crisis", "urgent"),
        ("elevated_bp", "warning"),
        ("liver_injury", "warning"),
        ("hys_law", "urgent"),
        ("fentanyl_positive", "urgent"),
        ("alpha2_hypotension", "warning"),
        ("return_to_use", "warning"),
        ("seizure", "urgent"),
        ("overdose", "urgent"),
    }


# --- No-shows in a row ---


def visit_days_ago(case: Case, days: int, status: str = "scheduled") -> Visit:
    return VisitFactory(case=case, scheduled_at=timezone.now() - dt.timedelta(days=days), status=status)


def mark(visit: Visit, status: str, actor) -> None:
    visit_update(visit=visit, actor=actor, data={"status": status})


def test_two_no_shows_in_a_row_raise_an_engagement_risk(own_case, front_desk):
    first, second = visit_days_ago(own_case, 9), visit_days_ago(own_case, 2)
    mark(first, "no_show", front_desk)

    mark(second, "no_show", front_desk)

    assert alerts(own_case) == [("engagement_risk", "warning", "open")]
    assert Alert.objects.get(case=own_case).source_id == second.pk


def test_one_no_show_raises_no_alert(own_case, front_desk):
    visit_days_ago(own_case, 9, status="attended")

    mark(visit_days_ago(own_case, 2), "no_show", front_desk)

    assert alerts(own_case) == []


def test_a_cancelled_visit_between_two_no_shows_does_not_break_the_run(own_case, front_desk):
    visit_days_ago(own_case, 9, status="no_show")
    visit_days_ago(own_case, 5, status="cancelled")
    visit_days_ago(own_case, 4)  # still only scheduled: no outcome either

    mark(visit_days_ago(own_case, 2), "no_show", front_desk)

    assert alerts(own_case) == [("engagement_risk", "warning", "open")]


@pytest.mark.parametrize("between", ["attended", "late_cancel"])
def test_an_attended_or_late_cancelled_visit_between_two_no_shows_breaks_the_run(
    own_case, front_desk, between
):
    visit_days_ago(own_case, 9, status="no_show")
    visit_days_ago(own_case, 5, status=between)

    mark(visit_days_ago(own_case, 2), "no_show", front_desk)

    assert alerts(own_case) == []


def test_two_no_shows_marked_out_of_order_raise_an_engagement_risk(own_case, front_desk):
    earlier, later = visit_days_ago(own_case, 9), visit_days_ago(own_case, 2)
    mark(later, "no_show", front_desk)

    mark(earlier, "no_show", front_desk)

    assert alerts(own_case) == [("engagement_risk", "warning", "open")]


def test_a_late_marked_no_show_next_to_an_attended_visit_raises_no_alert(own_case, front_desk):
    earlier = visit_days_ago(own_case, 9)
    visit_days_ago(own_case, 5, status="attended")
    visit_days_ago(own_case, 2, status="no_show")

    mark(earlier, "no_show", front_desk)

    assert alerts(own_case) == []


def test_no_shows_on_another_case_do_not_count(own_case, front_desk):
    visit_days_ago(CaseFactory(), 9, status="no_show")

    mark(visit_days_ago(own_case, 2), "no_show", front_desk)

    assert Alert.objects.count() == 0


# --- One unresolved alert per cause ---


def test_a_second_positive_while_the_first_alert_is_open_raises_none(own_case, clinician):
    record_phq9(own_case, clinician, q9=1)

    record_phq9(own_case, clinician, q9=2)

    assert alerts(own_case) == [("suicide_risk", "urgent", "open")]
    assert Assessment.objects.filter(case=own_case).count() == 2


def test_a_second_positive_while_the_first_alert_is_acknowledged_reopens_it(own_case, clinician):
    record_phq9(own_case, clinician, q9=1)
    alert_acknowledge(
        alert=Alert.objects.get(case=own_case), actor=clinician, note="Called; safety plan made"
    )

    record_phq9(own_case, clinician, q9=1)

    assert alerts(own_case) == [("suicide_risk", "urgent", "open")]
    assert Alert.objects.get(case=own_case).evidence.count() == 2


def test_a_new_positive_after_the_alert_is_resolved_raises_a_new_one(own_case, clinician):
    record_phq9(own_case, clinician, q9=1)
    alert_resolve(alert=Alert.objects.get(case=own_case), actor=clinician, note="Assessed; low risk")

    record_phq9(own_case, clinician, q9=1)

    assert alerts(own_case) == [("suicide_risk", "urgent", "resolved"), ("suicide_risk", "urgent", "open")]


def test_an_open_alert_of_another_kind_does_not_hold_back_a_new_cause(own_case, clinician):
    record_phq9(own_case, clinician, q9=1)

    assessment_record(
        case=own_case, actor=clinician, instrument="cows", responses=responses_totalling("cows", 20)
    )

    assert kinds(own_case) == {"suicide_risk", "withdrawal_moderate"}


def test_the_same_cause_on_another_case_raises_its_own_alert(
    own_case, other_case, clinician, other_clinician
):
    record_phq9(own_case, clinician, q9=1)

    record_phq9(other_case, other_clinician, q9=1)

    assert (alerts(own_case), alerts(other_case)) == ([("suicide_risk", "urgent", "open")],) * 2


def test_alert_raise_answers_none_for_the_same_finding_again(own_case):
    alert = AlertFactory(case=own_case, kind="liver_injury", severity="warning")

    assert alert_raise(case=own_case, kind="liver_injury", severity="warning", message=alert.message) is None
    assert Alert.objects.filter(case=own_case).count() == 1
    assert alert.evidence.count() == 1


# --- The alert is written in the data's own transaction ---


def test_when_the_alert_write_fails_the_assessment_is_not_kept(own_case, clinician):
    with (
        mock.patch(
            "cases.services.alerts.alert_raise", side_effect=DatabaseError("alerts table unavailable")
        ),
        pytest.raises(DatabaseError),
    ):
        record_phq9(own_case, clinician, q9=3)

    assert not Assessment.objects.exists()
    assert not Alert.objects.exists()


def test_when_the_alert_write_fails_the_liver_panel_is_not_kept(own_case, clinician):
    with (
        mock.patch(
            "cases.services.alerts.alert_raise", side_effect=DatabaseError("alerts table unavailable")
        ),
        pytest.raises(DatabaseError),
    ):
        liver_panel_record(case=own_case, actor=clinician, data=panel(alt="400"))

    assert not LiverPanel.objects.exists()


def test_when_the_alert_write_fails_the_screen_correction_is_not_kept(own_case, clinician):
    screen = drug_screen_record(case=own_case, actor=clinician, collected_on=timezone.localdate(), results={})

    with (
        mock.patch(
            "cases.services.alerts.alert_raise", side_effect=DatabaseError("alerts table unavailable")
        ),
        pytest.raises(DatabaseError),
    ):
        drug_screen_update(screen=screen, actor=clinician, results={"fentanyl": "positive"})

    assert DrugScreen.objects.get(pk=screen.pk).fentanyl == "not_tested"


def test_when_the_alert_write_fails_the_blood_pressure_is_not_kept(own_case, clinician):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician)

    with (
        mock.patch(
            "cases.services.alerts.alert_raise", side_effect=DatabaseError("alerts table unavailable")
        ),
        pytest.raises(DatabaseError),
    ):
        visit_update(visit=visit, actor=clinician, data={"bp_systolic": 200, "bp_diastolic": 110})

    assert Visit.objects.filter(pk=visit.pk).values_list("bp_systolic", "bp_diastolic").get() == (None, None)


def test_when_the_alert_write_fails_the_no_show_is_not_kept(own_case, front_desk):
    visit_days_ago(own_case, 9, status="no_show")
    second = visit_days_ago(own_case, 2)

    with (
        mock.patch(
            "cases.services.alerts.alert_raise", side_effect=DatabaseError("alerts table unavailable")
        ),
        pytest.raises(DatabaseError),
    ):
        mark(second, "no_show", front_desk)

    assert Visit.objects.get(pk=second.pk).status == "scheduled"


def test_when_the_assessment_save_fails_no_alert_is_written(own_case, clinician):
    with (
        mock.patch.object(Assessment, "save", side_effect=DatabaseError("disk full")),
        pytest.raises(DatabaseError),
    ):
        record_phq9(own_case, clinician, q9=3)

    assert not Alert.objects.exists()


def test_a_refused_liver_panel_raises_no_alert(own_case, clinician):
    data = panel(alt="400") | {"collected_on": timezone.localdate() + dt.timedelta(days=1)}

    with pytest.raises(ValidationFailed):
        liver_panel_record(case=own_case, actor=clinician, data=data)

    assert not Alert.objects.exists()


def test_a_refused_blood_pressure_raises_no_alert(own_case, clinician):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician)

    with pytest.raises(ValidationFailed):
        visit_update(visit=visit, actor=clinician, data={"bp_systolic": 310, "bp_diastolic": 130})

    assert not Alert.objects.exists()


# --- Acknowledge and resolve ---


@pytest.fixture
def alert(own_case):
    return AlertFactory(case=own_case, raised_at=timezone.now() - dt.timedelta(hours=3))


def test_acknowledging_records_who_when_and_the_note(alert, clinician):
    before = timezone.now()

    alert_acknowledge(alert=alert, actor=clinician, note="  Called the patient; safety plan reviewed. ")

    stored = Alert.objects.get(pk=alert.pk)
    assert (stored.status, stored.acknowledged_by_id, stored.acknowledge_note) == (
        "acknowledged",
        clinician.pk,
        "Called the patient; safety plan reviewed.",
    )
    assert before <= stored.acknowledged_at <= timezone.now()
    assert (stored.resolved_at, stored.resolved_by_id, stored.resolve_note) == (None, None, "")


def test_resolving_records_who_when_and_the_note(alert, clinician, supervisor):
    alert_acknowledge(alert=alert, actor=clinician, note="Seen")
    acknowledged_at = Alert.objects.get(pk=alert.pk).acknowledged_at

    alert_resolve(alert=alert, actor=supervisor, note="Reassessed; no current ideation")

    stored = Alert.objects.get(pk=alert.pk)
    assert (stored.status, stored.resolved_by_id, stored.resolve_note) == (
        "resolved",
        supervisor.pk,
        "Reassessed; no current ideation",
    )
    assert acknowledged_at <= stored.resolved_at <= timezone.now()
    assert (stored.acknowledged_by_id, stored.acknowledged_at, stored.acknowledge_note) == (
        clinician.pk,
        acknowledged_at,
        "Seen",
    )


def test_resolving_an_open_alert_marks_it_acknowledged_too(alert, clinician):
    alert_resolve(alert=alert, actor=clinician, note="Reassessed; no current ideation")

    stored = Alert.objects.get(pk=alert.pk)
    assert (stored.status, stored.acknowledged_by_id, stored.resolved_by_id) == (
        "resolved",
        clinician.pk,
        clinician.pk,
    )
    assert stored.acknowledged_at == stored.resolved_at


@pytest.mark.parametrize("settle", [alert_acknowledge, alert_resolve])
@pytest.mark.parametrize("note", ["", "   ", None])
def test_acknowledging_or_resolving_needs_a_note(alert, clinician, settle, note):
    with pytest.raises(ValidationFailed) as excinfo:
        settle(alert=alert, actor=clinician, note=note)

    assert list(excinfo.value.errors) == ["note"]
    assert Alert.objects.get(pk=alert.pk).status == "open"


def test_acknowledging_twice_is_a_conflict(alert, clinician, supervisor):
    alert_acknowledge(alert=alert, actor=clinician, note="Seen")

    with pytest.raises(Conflict):
        alert_acknowledge(alert=alert, actor=supervisor, note="Seen too")

    stored = Alert.objects.get(pk=alert.pk)
    assert (stored.acknowledged_by_id, stored.acknowledge_note) == (clinician.pk, "Seen")


def test_resolving_an_already_resolved_alert_is_a_conflict(alert, clinician, supervisor):
    alert_resolve(alert=alert, actor=clinician, note="Done")

    with pytest.raises(Conflict):
        alert_resolve(alert=alert, actor=supervisor, note="Done again")

    stored = Alert.objects.get(pk=alert.pk)
    assert (stored.resolved_by_id, stored.resolve_note) == (clinician.pk, "Done")


def test_acknowledging_a_resolved_alert_is_a_conflict(alert, clinician):
    alert_resolve(alert=alert, actor=clinician, note="Done")

    with pytest.raises(Conflict):
        alert_acknowledge(alert=alert, actor=clinician, note="Late look")

    assert Alert.objects.get(pk=alert.pk).status == "resolved"


def test_a_stale_copy_cannot_resolve_an_alert_resolved_since(alert, clinician, supervisor):
    stale = Alert.objects.get(pk=alert.pk)
    alert_resolve(alert=alert, actor=clinician, note="Done")

    with pytest.raises(Conflict):
        alert_resolve(alert=stale, actor=supervisor, note="Done as well")


# --- A corrected no-show withdraws the engagement risk it raised ---


def noon_today() -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time(12)))


def test_correcting_the_second_no_show_to_attended_resolves_the_engagement_risk(own_case, front_desk, clock):
    clock(noon_today())
    first = visit_days_ago(own_case, 9)
    second = VisitFactory(case=own_case, scheduled_at=noon_today() - dt.timedelta(hours=2))
    mark(first, "no_show", front_desk)
    mark(second, "no_show", front_desk)
    assert alerts(own_case) == [("engagement_risk", "warning", "open")]

    visit_update(
        visit=second, actor=front_desk, data={"status": "attended"}, reason="He was in group room B."
    )

    alert = Alert.objects.get(case=own_case)
    assert (alert.status, alert.resolve_note) == ("resolved", "source corrected; it no longer meets the rule")
    assert alert.evidence.get().struck_reason == "attendance corrected"


def test_correcting_the_first_no_show_withdraws_the_alert_raised_on_the_second(own_case, front_desk, clock):
    clock(noon_today())
    first = VisitFactory(case=own_case, scheduled_at=noon_today() - dt.timedelta(hours=3))
    second = VisitFactory(case=own_case, scheduled_at=noon_today() - dt.timedelta(hours=1))
    mark(first, "no_show", front_desk)
    mark(second, "no_show", front_desk)

    visit_update(visit=first, actor=front_desk, data={"status": "late_cancel"}, reason="She phoned at 8.")

    assert alerts(own_case) == [("engagement_risk", "warning", "resolved")]


def test_a_correction_that_leaves_a_run_of_no_shows_keeps_the_alert(own_case, front_desk, clock):
    clock(noon_today())
    for days in (20, 9):
        mark(visit_days_ago(own_case, days), "no_show", front_desk)
    today_visit = VisitFactory(case=own_case, scheduled_at=noon_today() - dt.timedelta(hours=1))
    mark(today_visit, "no_show", front_desk)

    visit_update(visit=today_visit, actor=front_desk, data={"status": "attended"}, reason="Checked in late.")

    assert alerts(own_case) == [("engagement_risk", "warning", "open")]


def test_a_corrected_attendance_inside_the_30_days_withdraws_the_periodic_engagement_risk(clinician, clock):
    clock(noon_today())
    case = treated(45, clinician)
    visit = VisitFactory(case=case, scheduled_at=noon_today() - dt.timedelta(hours=2))
    mark(visit, "no_show", clinician)
    alerts_raise_periodic()
    assert alerts(case) == [("engagement_risk", "warning", "open")]

    visit_update(visit=visit, actor=clinician, data={"status": "attended"}, reason="Wrong row marked.")

    assert alerts(case) == [("engagement_risk", "warning", "resolved")]


def test_a_late_entry_of_attendance_inside_the_30_days_withdraws_the_periodic_engagement_risk(
    clinician, clock
):
    clock(noon_today())
    case = treated(45, clinician)
    visit = VisitFactory(case=case, scheduled_at=noon_today() - dt.timedelta(days=3))  # nobody checked it in
    alerts_raise_periodic()
    assert alerts(case) == [("engagement_risk", "warning", "open")]

    visit_update(
        visit=visit, actor=clinician, data={"status": "attended"}, reason="Desk missed the check-in."
    )

    assert alerts(case) == [("engagement_risk", "warning", "resolved")]


def test_an_attendance_after_the_alert_leaves_the_periodic_engagement_risk_for_a_person(clinician, clock):
    clock(noon_today() - dt.timedelta(hours=3))
    case = treated(45, clinician)
    alerts_raise_periodic()
    clock(noon_today())
    visit = VisitFactory(case=case, scheduled_at=noon_today() - dt.timedelta(hours=1))

    visit_update(visit=visit, actor=clinician, data={"status": "attended"})

    assert alerts(case) == [
        ("engagement_risk", "warning", "open")
    ]  # true when raised: the clinician resolves it


# --- Time-based rules: raise_alerts ---


def treated(days_ago: float, actor, **case_fields) -> Case:
    return case_in_treatment_since(days_ago, actor=actor, **case_fields)


def attended_days_ago(case: Case, days: float) -> Visit:
    return AttendedVisitFactory(case=case, scheduled_at=timezone.now() - dt.timedelta(days=days))


def test_no_attended_visit_in_30_days_in_treatment_raises_an_engagement_risk(clinician):
    case = treated(31, clinician)

    counts = alerts_raise_periodic()

    assert counts == {"engagement_risk": 1, "plan_review_overdue": 0}
    assert alerts(case) == [("engagement_risk", "warning", "open")]
    assert Alert.objects.get(case=case).message == "No attended visit in 30 days while in treatment."


def test_an_attended_visit_29_days_ago_holds_off_the_engagement_risk(clinician):
    case = treated(45, clinician)
    attended_days_ago(case, 29)

    alerts_raise_periodic()

    assert alerts(case) == []


def test_an_attended_visit_31_days_ago_does_not_hold_off_the_engagement_risk(clinician):
    case = treated(45, clinician)
    attended_days_ago(case, 31)

    alerts_raise_periodic()

    assert kinds(case) == {"engagement_risk"}


@pytest.mark.parametrize("status", ["scheduled", "no_show", "cancelled", "late_cancel"])
def test_recent_visits_not_attended_do_not_hold_off_the_engagement_risk(clinician, status):
    case = treated(45, clinician)
    VisitFactory(case=case, scheduled_at=timezone.now() - dt.timedelta(days=3), status=status)

    alerts_raise_periodic()

    assert kinds(case) == {"engagement_risk"}


def test_a_case_not_yet_30_days_in_treatment_raises_no_engagement_risk(clinician):
    case = treated(29, clinician)

    alerts_raise_periodic()

    assert alerts(case) == []


def test_a_case_that_returned_to_treatment_recently_raises_no_engagement_risk(clinician):
    case = treated(200, clinician)
    attended_days_ago(case, 100)
    case_transition(
        case=case,
        to_stage=Case.Stage.RECOVERY,
        actor=clinician,
        effective_at=timezone.now() - dt.timedelta(days=60),
    )
    case_transition(
        case=case,
        to_stage=Case.Stage.TREATMENT,
        actor=clinician,
        reason="Relapse",
        effective_at=timezone.now() - dt.timedelta(days=10),
    )

    alerts_raise_periodic()

    assert "engagement_risk" not in kinds(case)


@pytest.mark.parametrize("stage", [Case.Stage.RECOVERY, Case.Stage.DISCHARGED])
def test_a_case_past_treatment_raises_no_time_based_alert(clinician, stage):
    case = treated(200, clinician)
    case_transition(
        case=case,
        to_stage=stage,
        actor=clinician,
        effective_at=timezone.now() - dt.timedelta(days=100),
        discharge_reason="completed" if stage == Case.Stage.DISCHARGED else None,
    )

    assert alerts_raise_periodic() == {"engagement_risk": 0, "plan_review_overdue": 0}
    assert alerts(case) == []


@pytest.mark.parametrize(("reviewed_days_ago", "fires"), [(91, True), (90, False), (30, False)])
def test_a_plan_last_reviewed_over_90_days_ago_is_overdue(clinician, reviewed_days_ago, fires):
    case = treated(120, clinician)
    attended_days_ago(case, 2)
    TreatmentGoalFactory(case=case, review_date=timezone.localdate() - dt.timedelta(days=reviewed_days_ago))

    alerts_raise_periodic()

    assert alerts(case) == ([("plan_review_overdue", "warning", "open")] if fires else [])


def test_an_active_goal_due_is_overdue_whatever_another_goals_review(clinician):
    """The chart's rule (cases.plan_review): a goal met 20 days ago does not stand in for an active goal whose
    review is 110 days old (the chart flags that goal; the alert agrees)."""
    case = treated(120, clinician)
    attended_days_ago(case, 2)
    TreatmentGoalFactory(case=case, review_date=timezone.localdate() - dt.timedelta(days=110))
    TreatmentGoalFactory(case=case, review_date=timezone.localdate() - dt.timedelta(days=20), status="met")

    alerts_raise_periodic()

    assert kinds(case) == {"plan_review_overdue"}
    assert "1 active goal due" in Alert.objects.get(case=case).message


def test_met_goals_are_not_reviewed_again(clinician):
    case = treated(120, clinician)
    attended_days_ago(case, 2)
    TreatmentGoalFactory(case=case, review_date=timezone.localdate() - dt.timedelta(days=200), status="met")
    TreatmentGoalFactory(case=case, review_date=timezone.localdate() - dt.timedelta(days=10))

    alerts_raise_periodic()

    assert alerts(case) == []


def test_a_discontinued_goals_review_does_not_count(clinician):
    case = treated(120, clinician)
    attended_days_ago(case, 2)
    TreatmentGoalFactory(case=case, review_date=timezone.localdate() - dt.timedelta(days=91))
    TreatmentGoalFactory(
        case=case, review_date=timezone.localdate() - dt.timedelta(days=1), status="discontinued"
    )

    alerts_raise_periodic()

    assert kinds(case) == {"plan_review_overdue"}


def test_only_discontinued_goals_count_as_no_plan(clinician):
    case = treated(120, clinician)
    attended_days_ago(case, 2)
    TreatmentGoalFactory(
        case=case, review_date=timezone.localdate() - dt.timedelta(days=1), status="discontinued"
    )

    alerts_raise_periodic()

    assert kinds(case) == {"plan_review_overdue"}
    assert "no plan recorded" in Alert.objects.get(case=case).message


@pytest.mark.parametrize(("treated_days_ago", "fires"), [(91, True), (89, False)])
def test_no_plan_more_than_90_days_into_treatment_is_overdue(clinician, treated_days_ago, fires):
    case = treated(treated_days_ago, clinician)
    attended_days_ago(case, 2)

    alerts_raise_periodic()

    assert alerts(case) == ([("plan_review_overdue", "warning", "open")] if fires else [])


def test_the_overdue_alert_names_the_last_review(clinician):
    case = treated(120, clinician)
    attended_days_ago(case, 2)
    reviewed = timezone.localdate() - dt.timedelta(days=95)
    goal_add(case=case, actor=clinician, data={"problem": "Use", "goal": "Stop", "review_date": reviewed})

    alerts_raise_periodic()

    assert f"last reviewed {reviewed}" in Alert.objects.get(case=case).message


def test_raising_the_time_based_alerts_twice_raises_nothing_new(clinician):
    treated(120, clinician)

    first = alerts_raise_periodic()
    second = alerts_raise_periodic()

    assert (first, second) == (
        {"engagement_risk": 1, "plan_review_overdue": 1},
        {"engagement_risk": 0, "plan_review_overdue": 0},
    )
    assert Alert.objects.count() == 2


def test_a_resolved_time_based_alert_is_raised_again_while_the_cause_remains(clinician):
    case = treated(40, clinician)
    alerts_raise_periodic()
    alert_resolve(alert=Alert.objects.get(case=case), actor=clinician, note="Left a voicemail")

    assert alerts_raise_periodic() == {"engagement_risk": 1, "plan_review_overdue": 0}
    assert alerts(case) == [
        ("engagement_risk", "warning", "resolved"),
        ("engagement_risk", "warning", "open"),
    ]


def test_the_raise_alerts_command_prints_the_counts(clinician):
    treated(120, clinician)
    treated(40, clinician)
    out = StringIO()

    call_command("raise_alerts", stdout=out)

    assert out.getvalue() == "Raised 3 alert(s) (engagement_risk: 2, plan_review_overdue: 1).\n"
    assert Alert.objects.count() == 3


def test_the_raise_alerts_command_with_nothing_due_prints_zero(db):
    out = StringIO()

    call_command("raise_alerts", stdout=out)

    assert out.getvalue() == "Raised 0 alert(s) (engagement_risk: 0, plan_review_overdue: 0).\n"


# --- The worklist ---


def ago(hours: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=hours)


def test_the_worklist_lists_urgent_alerts_first_then_the_oldest(own_case, clinician):
    warning_oldest = AlertFactory(case=own_case, kind="liver_injury", severity="warning", raised_at=ago(72))
    urgent_newer = AlertFactory(case=own_case, kind="fentanyl_positive", severity="urgent", raised_at=ago(1))
    urgent_older = AlertFactory(case=own_case, kind="suicide_risk", severity="urgent", raised_at=ago(48))
    warning_newer = AlertFactory(case=own_case, kind="elevated_bp", severity="warning", raised_at=ago(2))

    assert list(worklist_for(clinician)) == [urgent_older, urgent_newer, warning_oldest, warning_newer]


def test_the_worklist_holds_only_the_clinicians_caseload(own_case, other_case, clinician):
    mine = AlertFactory(case=own_case)
    AlertFactory(case=other_case)

    assert list(worklist_for(clinician)) == [mine]


def test_the_worklist_includes_cases_where_the_clinician_is_on_the_care_team(clinician, other_clinician):
    shared = CaseFactory(primary_clinician=other_clinician, care_team=[clinician])
    alert = AlertFactory(case=shared)

    assert list(worklist_for(clinician)) == [alert]


def test_a_supervisor_sees_every_alert(own_case, other_case, supervisor):
    urgent = AlertFactory(case=other_case, raised_at=ago(1))
    warning = AlertFactory(case=own_case, kind="liver_injury", severity="warning", raised_at=ago(5))

    assert list(worklist_for(supervisor)) == [urgent, warning]


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
def test_front_desk_and_administrators_have_no_worklist(own_case, role, request):
    AlertFactory(case=own_case)

    assert list(worklist_for(request.getfixturevalue(role))) == []


def test_the_worklist_takes_two_queries_whatever_its_length(
    own_case, other_case, clinician, django_assert_num_queries
):
    for case in (own_case, other_case):
        AlertFactory(case=case)
        AlertFactory(case=case, kind="liver_injury", severity="warning")

    with django_assert_num_queries(3):  # the user's roles, the alerts, then their evidence
        assert len(list(worklist_for(clinician))) == 2
