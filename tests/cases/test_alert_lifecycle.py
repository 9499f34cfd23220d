"""The alert lifecycle of SPEC section 5 (version 2): a new danger is never swallowed. Evidence on every alert,
reopen on new evidence after an acknowledgement, severity from the most severe valid evidence, entered-in-error
records struck, an alert with nothing valid left resolving itself. The vectors of issue 11 are here."""

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from cases.models import Alert, AlertEvidence, Assessment, Case
from cases.services.alerts import (
    CORRECTED_NOTE,
    ENTERED_IN_ERROR_NOTE,
    alert_acknowledge,
    alert_resolve,
)
from cases.services.clinical import (
    assessment_mark_entered_in_error,
    assessment_record,
    drug_screen_record,
    drug_screen_update,
    liver_panel_record,
)
from cases.services.visits import visit_update
from clinic.models import AuditEvent
from tests.factories import AlertFactory, AttendedVisitFactory, responses_totalling


def phq9(case: Case, actor, q9: int) -> Assessment:
    responses = responses_totalling("phq9", 0) | {"q1": 2, "q2": 2, "q9": q9}
    return assessment_record(case=case, actor=actor, instrument="phq9", responses=responses)


def cows(case: Case, actor, total: int) -> Assessment:
    return assessment_record(
        case=case, actor=actor, instrument="cows", responses=responses_totalling("cows", total)
    )


def the_alert(case: Case, kind: str) -> Alert:
    return Alert.objects.exclude(status="resolved").get(case=case, kind=kind)


def acknowledge(case: Case, kind: str, actor) -> None:
    alert_acknowledge(alert=the_alert(case, kind), actor=actor, note="Seen; acted on")


def evidence(alert: Alert) -> list[tuple[str, bool]]:
    """(summary, struck) newest first."""
    return [(e.summary, e.struck) for e in alert.evidence.order_by("-at", "-added_at")]


def bp(case: Case, actor, systolic: int, diastolic: int, days_ago: int = 0):
    visit = AttendedVisitFactory(
        case=case, clinician=actor, scheduled_at=timezone.now() - dt.timedelta(days=days_ago, minutes=5)
    )
    return visit_update(visit=visit, actor=actor, data={"bp_systolic": systolic, "bp_diastolic": diastolic})


LIVER_NORMAL = {
    "alt": "30", "alt_uln": "40", "ast": "28", "ast_uln": "40", "alp": "90", "alp_uln": "120",
    "total_bilirubin": "0.8", "total_bilirubin_uln": "1.2",
}  # fmt: skip


def liver(case: Case, actor, **values: str):
    data = {"collected_on": timezone.localdate()} | {
        k: Decimal(v) for k, v in (LIVER_NORMAL | values).items()
    }
    return liver_panel_record(case=case, actor=actor, data=data)


# --- Issue 11: an acknowledged alert swallowed the next danger ---


def test_a_worse_phq9_after_an_acknowledged_one_reopens_the_alert_and_names_it(own_case, clinician):
    phq9(own_case, clinician, q9=1)
    acknowledge(own_case, "suicide_risk", clinician)

    phq9(own_case, clinician, q9=3)

    alert = the_alert(own_case, "suicide_risk")
    assert (alert.status, alert.severity) == ("open", "urgent")
    assert "answered 3" in alert.message and "answered 1" not in alert.message
    assert [summary[:40] for summary, _ in evidence(alert)] == [
        "PHQ-9 item 9 (thoughts of self-harm) ans",
    ] * 2
    assert "answered 3" in evidence(alert)[0][0]
    # The acknowledgement stays in its history.
    assert alert.acknowledge_note == "Seen; acted on" and alert.reopened_at is not None


def test_a_second_fentanyl_positive_after_an_acknowledged_one_reopens_the_alert(own_case, clinician):
    today = timezone.localdate()
    drug_screen_record(
        case=own_case,
        actor=clinician,
        collected_on=today - dt.timedelta(days=7),
        results={"fentanyl": "positive"},
    )
    acknowledge(own_case, "fentanyl_positive", clinician)

    drug_screen_record(case=own_case, actor=clinician, collected_on=today, results={"fentanyl": "positive"})

    alert = the_alert(own_case, "fentanyl_positive")
    assert alert.status == "open"
    assert str(today) in alert.message
    assert len(evidence(alert)) == 2


def test_a_hypertensive_crisis_after_an_acknowledged_one_reopens_the_alert(own_case, clinician):
    bp(own_case, clinician, 185, 100, days_ago=3)
    acknowledge(own_case, "hypertensive_crisis", clinician)

    bp(own_case, clinician, 210, 125)

    alert = the_alert(own_case, "hypertensive_crisis")
    assert alert.status == "open"
    assert alert.message.startswith("Blood pressure 210/125")


def test_a_worse_liver_panel_after_an_acknowledged_warning_reopens_it(own_case, clinician):
    liver(own_case, clinician, alt="250")
    acknowledge(own_case, "liver_injury", clinician)

    liver(own_case, clinician, alt="800", total_bilirubin="4.0", alp="150")

    alert = the_alert(own_case, "liver_injury")
    assert alert.status == "open"
    assert "ALT 800" in alert.message


def test_new_evidence_on_an_open_alert_is_appended_and_it_stays_open(own_case, clinician):
    phq9(own_case, clinician, q9=1)

    phq9(own_case, clinician, q9=2)

    alert = the_alert(own_case, "suicide_risk")
    assert (alert.status, alert.reopened_at, len(evidence(alert))) == ("open", None, 2)


def test_a_milder_newer_finding_leads_the_message_but_the_worst_is_still_named(own_case, clinician):
    phq9(own_case, clinician, q9=3)

    phq9(own_case, clinician, q9=1)

    message = the_alert(own_case, "suicide_risk").message
    assert message.startswith("PHQ-9 item 9 (thoughts of self-harm) answered 1")
    assert "Most severe still valid" in message and "answered 3" in message


def test_a_resolved_alert_stays_resolved_and_a_new_trigger_raises_a_new_one(own_case, clinician):
    phq9(own_case, clinician, q9=1)
    alert_resolve(alert=the_alert(own_case, "suicide_risk"), actor=clinician, note="Assessed")

    phq9(own_case, clinician, q9=1)

    statuses = list(
        Alert.objects.filter(case=own_case).order_by("raised_at").values_list("status", flat=True)
    )
    assert statuses == ["resolved", "open"]
    assert [len(evidence(a)) for a in Alert.objects.filter(case=own_case).order_by("raised_at")] == [1, 1]


# --- Severity follows the most severe valid evidence ---


@pytest.mark.parametrize(
    ("total", "expected"), [(12, None), (13, "warning"), (24, "warning"), (25, "urgent")]
)
def test_cows_bands_raise_the_withdrawal_alert_at_its_severity(own_case, clinician, total, expected):
    cows(own_case, clinician, total)

    found = Alert.objects.filter(case=own_case, kind="withdrawal_moderate").values_list("severity", flat=True)
    assert list(found) == ([expected] if expected else [])


def test_a_worse_cows_escalates_the_alert_and_striking_it_lowers_it_again(own_case, clinician):
    cows(own_case, clinician, 18)
    severe = cows(own_case, clinician, 27)
    assert the_alert(own_case, "withdrawal_moderate").severity == "urgent"

    assessment_mark_entered_in_error(assessment=severe, actor=clinician, reason="Scored the wrong patient")

    alert = the_alert(own_case, "withdrawal_moderate")
    assert (alert.severity, alert.status) == ("warning", "open")
    assert alert.message.startswith("COWS 18")
    assert evidence(alert)[0][1] is True  # the newer entry, struck


def test_an_escalation_of_an_acknowledged_alert_reopens_it(own_case, clinician):
    cows(own_case, clinician, 14)
    acknowledge(own_case, "withdrawal_moderate", clinician)

    cows(own_case, clinician, 30)

    alert = the_alert(own_case, "withdrawal_moderate")
    assert (alert.status, alert.severity) == ("open", "urgent")


# --- Entered in error ---


def test_a_valid_positive_entered_after_a_wrong_one_keeps_the_alert_open(own_case, clinician):
    """Issue 11: PHQ-9 item 9 = 2 by mistake, a correct PHQ-9 with item 9 = 1, the first marked entered in error:
    the suicide-risk alert stays unresolved on the valid record."""
    wrong = phq9(own_case, clinician, q9=2)
    phq9(own_case, clinician, q9=1)

    assessment_mark_entered_in_error(assessment=wrong, actor=clinician, reason="Another patient's form")

    alert = the_alert(own_case, "suicide_risk")
    assert alert.status == "open"
    assert "answered 1" in alert.message and "answered 2" not in alert.message
    assert [struck for _, struck in evidence(alert)] == [False, True]
    struck = alert.evidence.get(struck=True)
    assert (struck.source_id, struck.struck_reason) == (wrong.pk, "entered in error: Another patient's form")


def test_an_alert_whose_every_entry_is_struck_resolves_itself_audited(own_case, clinician):
    wrong = phq9(own_case, clinician, q9=2)
    alert = the_alert(own_case, "suicide_risk")

    assessment_mark_entered_in_error(assessment=wrong, actor=clinician, reason="Wrong patient")

    alert.refresh_from_db()
    assert (alert.status, alert.resolve_note, alert.resolved_by_id) == (
        "resolved",
        ENTERED_IN_ERROR_NOTE,
        clinician.pk,
    )
    event = AuditEvent.objects.filter(object_type="alert", object_id=str(alert.pk)).latest("sequence")
    assert event.detail["status"] == "resolved" and event.detail["note"] == ENTERED_IN_ERROR_NOTE


def test_a_valid_record_after_every_entry_was_struck_raises_anew(own_case, clinician):
    wrong = phq9(own_case, clinician, q9=2)
    assessment_mark_entered_in_error(assessment=wrong, actor=clinician, reason="Wrong patient")

    phq9(own_case, clinician, q9=1)

    alert = the_alert(own_case, "suicide_risk")
    assert alert.status == "open" and evidence(alert) == [(alert.message, False)]


def test_an_acknowledged_alert_with_valid_evidence_left_stays_acknowledged_when_one_is_struck(
    own_case, clinician
):
    phq9(own_case, clinician, q9=1)
    wrong = phq9(own_case, clinician, q9=1)
    acknowledge(own_case, "suicide_risk", clinician)

    assessment_mark_entered_in_error(assessment=wrong, actor=clinician, reason="Duplicate entry")

    assert the_alert(own_case, "suicide_risk").status == "acknowledged"


def test_striking_evidence_leaves_a_resolved_alert_resolved_by_whoever_resolved_it(
    own_case, clinician, supervisor
):
    wrong = phq9(own_case, clinician, q9=2)
    alert_resolve(alert=the_alert(own_case, "suicide_risk"), actor=supervisor, note="Assessed")

    assessment_mark_entered_in_error(assessment=wrong, actor=clinician, reason="Wrong patient")

    alert = Alert.objects.get(case=own_case)
    assert (alert.resolved_by_id, alert.resolve_note) == (supervisor.pk, "Assessed")


# --- Corrections ---


def test_a_blood_pressure_corrected_below_the_crisis_strikes_its_entry_and_resolves_the_alert(
    own_case, clinician
):
    visit = bp(own_case, clinician, 190, 100)

    visit_update(visit=visit, actor=clinician, data={"bp_systolic": 130, "bp_diastolic": 80})

    alert = Alert.objects.get(case=own_case, kind="hypertensive_crisis")
    assert (alert.status, alert.resolve_note) == ("resolved", CORRECTED_NOTE)
    assert evidence(alert)[0][1] is True


def test_a_screen_corrected_to_negative_keeps_the_alert_on_the_other_positive(own_case, clinician):
    today = timezone.localdate()
    drug_screen_record(
        case=own_case,
        actor=clinician,
        collected_on=today - dt.timedelta(days=3),
        results={"fentanyl": "positive"},
    )
    typo = drug_screen_record(
        case=own_case, actor=clinician, collected_on=today, results={"fentanyl": "positive"}
    )

    drug_screen_update(screen=typo, actor=clinician, results={"fentanyl": "negative"})

    alert = the_alert(own_case, "fentanyl_positive")
    assert alert.status == "open"
    assert str(today - dt.timedelta(days=3)) in alert.message
    assert [struck for _, struck in evidence(alert)] == [True, False]


def test_a_reading_corrected_to_a_worse_one_reopens_the_acknowledged_alert(own_case, clinician):
    visit = bp(own_case, clinician, 185, 100)
    acknowledge(own_case, "hypertensive_crisis", clinician)

    visit_update(visit=visit, actor=clinician, data={"bp_systolic": 220})

    alert = the_alert(own_case, "hypertensive_crisis")
    assert alert.status == "open" and alert.message.startswith("Blood pressure 220/100")
    assert len(evidence(alert)) == 1


# --- Migration: existing alerts get their source as their first evidence ---


def test_the_migration_gives_every_existing_alert_its_source_as_first_evidence(own_case):
    migration = importlib.import_module("cases.migrations.0011_alert_evidence")
    with_source = AlertFactory(case=own_case, source_type="assessment", source_id=own_case.pk)
    periodic = AlertFactory(case=own_case, kind="engagement_risk", severity="warning", message="No visit.")
    AlertEvidence.objects.all().delete()

    migration.first_evidence(apps, None)

    first = AlertEvidence.objects.get(alert=with_source)
    assert (first.source_type, first.source_id, first.summary, first.struck) == (
        "assessment", own_case.pk, with_source.message, False,
    )  # fmt: skip
    assert AlertEvidence.objects.filter(alert=periodic, source_type="case", source_id=own_case.pk).exists()
