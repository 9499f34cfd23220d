"""The alert rules of SPEC v2 section 5 added by issue 11, through the API: `alpha2_hypotension` (systolic 89/90,
heart rate 54/55, only on a current clonidine or lofexidine), `return_to_use` (in recovery: a positive screen or
reported kratom use), COWS 24/25 (`withdrawal_moderate` warning / urgent); each raised with the write that
warrants it, with evidence, and `raise_alerts` still idempotent."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from cases.models import Alert, AlertEvidence, Case, Medication
from cases.services.clinical import medication_add
from cases.services.stages import case_transition
from tests.factories import AttendedVisitFactory, case_in_stage, responses_totalling

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return timezone.localdate()


def on_medication(case, actor, name="clonidine", start=None, stop=None) -> Medication:
    data = {
        "medication": name, "dose": "0.1 mg", "frequency": "twice daily", "start_date": start or case.opened_on,
        "prescriber": "Dr. Reyes",
    }  # fmt: skip
    if stop is not None:
        data["stop_date"] = stop
    return medication_add(case=case, actor=actor, data=data)


def vitals(client, visit, systolic=120, diastolic=70, heart_rate=72, **more):
    body = {"bp_systolic": systolic, "bp_diastolic": diastolic, "heart_rate": heart_rate, **more}
    response = client.patch(f"/api/v1/visits/{visit.pk}/", body, format="json")
    assert response.status_code == 200, response.content
    return response


@pytest.fixture
def visit(own_case, clinician):
    return AttendedVisitFactory(case=own_case, clinician=clinician, subjective="")


def alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind))


# alpha2_hypotension: systolic < 90 or heart rate < 55 on a current clonidine or lofexidine.


@pytest.mark.parametrize(
    ("systolic", "heart_rate", "raised"),
    [(89, 72, True), (90, 72, False), (120, 54, True), (120, 55, False), (88, 50, True)],
    ids=["systolic-89", "systolic-90", "heart-rate-54", "heart-rate-55", "both-low"],
)
@pytest.mark.parametrize("drug", ["clonidine", "lofexidine"])
def test_low_blood_pressure_or_heart_rate_on_an_alpha2_agonist_is_a_warning(
    as_user, own_case, clinician, visit, drug, systolic, heart_rate, raised
):
    on_medication(own_case, clinician, drug)

    vitals(
        as_user("clinician"),
        visit,
        systolic=systolic,
        diastolic=min(60, systolic - 10),
        heart_rate=heart_rate,
    )

    found = alerts("alpha2_hypotension")
    assert bool(found) is raised
    if raised:
        (alert,) = found
        assert (alert.severity, alert.status, alert.case) == ("warning", "open", own_case)
        assert drug in alert.message
        (entry,) = alert.evidence.all()
        assert (entry.source_type, entry.source_id) == ("visit", visit.pk)


def test_the_message_names_each_low_value(as_user, own_case, clinician, visit):
    on_medication(own_case, clinician, "lofexidine")

    vitals(as_user("clinician"), visit, systolic=86, diastolic=50, heart_rate=48)

    message = Alert.objects.get().message
    assert "systolic 86 (under 90)" in message and "heart rate 48 (under 55)" in message


@pytest.mark.parametrize("drug", ["buprenorphine_naloxone", "naltrexone_oral", None])
def test_low_vitals_without_an_alpha2_agonist_raise_nothing(as_user, own_case, clinician, visit, drug):
    if drug:
        on_medication(own_case, clinician, drug)

    vitals(as_user("clinician"), visit, systolic=85, diastolic=50, heart_rate=48)

    assert not alerts("alpha2_hypotension")


@pytest.mark.parametrize(
    ("stop_days_before_visit", "raised"),
    [(1, False), (0, True)],
    ids=["stopped-the-day-before", "stops-that-day"],
)
def test_only_a_medication_current_on_the_visits_day_counts(
    as_user, own_case, clinician, stop_days_before_visit, raised
):
    visit_day = today() - dt.timedelta(days=3)
    visit = AttendedVisitFactory(
        case=own_case, clinician=clinician, subjective="",
        scheduled_at=timezone.make_aware(dt.datetime.combine(visit_day, dt.time(10))),
    )  # fmt: skip
    on_medication(
        own_case, clinician, "clonidine", stop=visit_day - dt.timedelta(days=stop_days_before_visit)
    )

    vitals(as_user("clinician"), visit, systolic=85, diastolic=50)

    assert bool(alerts("alpha2_hypotension")) is raised


def test_a_medication_started_after_the_visit_does_not_count(as_user, own_case, clinician):
    visit = AttendedVisitFactory(
        case=own_case, clinician=clinician, subjective="", scheduled_at=timezone.now() - dt.timedelta(days=2)
    )
    on_medication(own_case, clinician, "clonidine", start=today())

    vitals(as_user("clinician"), visit, systolic=85, diastolic=50)

    assert not alerts("alpha2_hypotension")


def test_a_back_dated_alpha2_agonist_checks_the_earlier_low_vitals_again(as_user, own_case, clinician):
    """Low vitals recorded first, the clonidine they were taken on entered later with its real start date."""
    visit = AttendedVisitFactory(
        case=own_case, clinician=clinician, subjective="", scheduled_at=timezone.now() - dt.timedelta(days=2)
    )
    vitals(as_user("clinician"), visit, systolic=84, diastolic=50)
    assert not alerts("alpha2_hypotension")

    response = as_user("clinician").post(
        "/api/v1/medications/",
        {"case": str(own_case.pk), "medication": "clonidine", "dose": "0.1 mg", "frequency": "twice daily",
         "start_date": str(today() - dt.timedelta(days=5)), "prescriber": "Dr. Reyes"},
        format="json",
    )  # fmt: skip

    assert response.status_code == 201, response.content
    (alert,) = alerts("alpha2_hypotension")
    assert (alert.status, alert.evidence.get().source_id) == ("open", visit.pk)


def test_a_stop_date_moved_before_the_visit_strikes_the_finding(as_user, own_case, clinician):
    visit = AttendedVisitFactory(
        case=own_case, clinician=clinician, subjective="", scheduled_at=timezone.now() - dt.timedelta(days=2)
    )
    medication = on_medication(own_case, clinician)
    vitals(as_user("clinician"), visit, systolic=84, diastolic=50)

    response = as_user("clinician").patch(
        f"/api/v1/medications/{medication.pk}/",
        {"stop_date": str(today() - dt.timedelta(days=3))},
        format="json",
    )

    assert response.status_code == 200, response.content
    alert = Alert.objects.get(kind="alpha2_hypotension")
    assert (alert.status, alert.resolve_note) == ("resolved", "source corrected; it no longer meets the rule")


def test_an_unrelated_medication_added_leaves_low_vitals_alone(as_user, own_case, clinician):
    visit = AttendedVisitFactory(
        case=own_case, clinician=clinician, subjective="", scheduled_at=timezone.now() - dt.timedelta(days=2)
    )
    vitals(as_user("clinician"), visit, systolic=84, diastolic=50)

    on_medication(own_case, clinician, "naltrexone_oral")

    assert not alerts("alpha2_hypotension")


def test_corrected_vitals_strike_the_evidence_and_resolve_the_alert(as_user, own_case, clinician, visit):
    on_medication(own_case, clinician)
    client = as_user("clinician")
    vitals(client, visit, systolic=85, diastolic=50)

    vitals(client, visit, systolic=118, diastolic=74)

    alert = Alert.objects.get(kind="alpha2_hypotension")
    assert (alert.status, alert.resolve_note) == ("resolved", "source corrected; it no longer meets the rule")
    assert AlertEvidence.objects.get(alert=alert).struck is True


def test_a_lower_reading_at_a_later_visit_adds_evidence_and_reopens(as_user, own_case, clinician):
    on_medication(own_case, clinician)
    client = as_user("clinician")
    first = AttendedVisitFactory(
        case=own_case, clinician=clinician, subjective="", scheduled_at=timezone.now() - dt.timedelta(days=2)
    )
    vitals(client, first, systolic=88, diastolic=55)
    client.post(
        f"/api/v1/alerts/{Alert.objects.get().pk}/acknowledge/", {"note": "Dose halved."}, format="json"
    )

    later = AttendedVisitFactory(case=own_case, clinician=clinician, subjective="")
    vitals(client, later, systolic=120, diastolic=70, heart_rate=50)

    alert = Alert.objects.get()
    assert alert.status == "open" and alert.reopened_at is not None
    assert {e.source_id for e in alert.evidence.all()} == {first.pk, later.pk}
    shown = client.get(f"/api/v1/alerts/{alert.pk}/").json()
    assert [e["id"] for e in shown["evidence"]] == [str(later.pk), str(first.pk)]


# return_to_use: in recovery, a screen positive for mitragynine, 7-OH, opioids (or fentanyl), or kratom use reported.


@pytest.fixture
def recovery_case(clinician, supervisor):
    return case_in_stage(Case.Stage.RECOVERY, actor=supervisor, primary_clinician=clinician)


def screen(client, case, day=None, **results):
    body = {"case": str(case.pk), "collected_on": (day or today()).isoformat(), "results": results}
    response = client.post("/api/v1/drug-screens/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize("analyte", ["mitragynine", "seven_oh_mitragynine", "opioids", "fentanyl"])
def test_a_positive_screen_in_recovery_is_a_return_to_use_warning(as_user, recovery_case, analyte):
    recorded = screen(as_user("clinician"), recovery_case, **{analyte: "positive"})

    (alert,) = alerts("return_to_use")
    assert (alert.severity, alert.case) == ("warning", recovery_case)
    assert [(e.source_type, str(e.source_id)) for e in alert.evidence.all()] == [
        ("drugscreen", recorded["id"])
    ]
    assert "return to use" in alert.message


@pytest.mark.parametrize(
    "results",
    [{"mitragynine": "negative", "seven_oh_mitragynine": "negative"}, {"buprenorphine": "positive"}, {}],
    ids=["negative", "prescribed-buprenorphine", "nothing-tested"],
)
def test_a_screen_without_kratom_or_opioids_raises_nothing(as_user, recovery_case, results):
    screen(as_user("clinician"), recovery_case, **results)

    assert not alerts("return_to_use")


def test_a_positive_screen_before_recovery_is_not_a_return_to_use(as_user, own_case, clinician, supervisor):
    case_transition(case=own_case, to_stage="assessment", actor=supervisor)

    screen(as_user("clinician"), own_case, mitragynine="positive")

    assert not alerts("return_to_use")


def test_a_screen_collected_before_the_move_to_recovery_is_not_a_return_to_use(as_user, recovery_case):
    screen(as_user("clinician"), recovery_case, day=today() - dt.timedelta(days=1), mitragynine="positive")

    assert not alerts("return_to_use")


def test_a_screen_corrected_to_negative_resolves_the_warning(as_user, recovery_case):
    client = as_user("clinician")
    recorded = screen(client, recovery_case, mitragynine="positive")

    client.patch(
        f"/api/v1/drug-screens/{recorded['id']}/", {"results": {"mitragynine": "negative"}}, format="json"
    )

    assert Alert.objects.get(kind="return_to_use").status == "resolved"


@pytest.mark.parametrize(("grams", "raised"), [("0", False), ("0.5", True), (None, False)])
def test_a_visit_in_recovery_reporting_kratom_use_is_a_return_to_use(
    as_user, recovery_case, clinician, grams, raised
):
    visit = AttendedVisitFactory(
        case=recovery_case, clinician=clinician, subjective="", scheduled_at=timezone.now()
    )

    response = as_user("clinician").patch(
        f"/api/v1/visits/{visit.pk}/", {"kratom_daily_grams": grams, "subjective": "Check-in."}, format="json"
    )

    assert response.status_code == 200, response.content
    assert bool(alerts("return_to_use")) is raised
    if raised:
        assert "0.5 g a day" in Alert.objects.get().message


def test_kratom_use_reported_in_treatment_is_not_a_return_to_use(as_user, own_case, clinician):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician, subjective="")

    as_user("clinician").patch(f"/api/v1/visits/{visit.pk}/", {"kratom_daily_grams": "12"}, format="json")

    assert not alerts("return_to_use")


def test_a_screen_and_a_visit_are_two_entries_of_one_alert(as_user, recovery_case, clinician):
    client = as_user("clinician")
    recorded = screen(client, recovery_case, seven_oh_mitragynine="positive")
    visit = AttendedVisitFactory(
        case=recovery_case, clinician=clinician, subjective="", scheduled_at=timezone.now()
    )
    client.patch(f"/api/v1/visits/{visit.pk}/", {"kratom_daily_grams": "4"}, format="json")

    (alert,) = alerts("return_to_use")
    assert {(e.source_type, str(e.source_id)) for e in alert.evidence.all()} == {
        ("drugscreen", recorded["id"]),
        ("visit", str(visit.pk)),
    }


# COWS 25 or more makes withdrawal_moderate urgent (SPEC section 5; Wesson & Ling 2003: 25-36 moderately severe).


@pytest.mark.parametrize(
    ("total", "severity"), [(12, None), (13, "warning"), (24, "warning"), (25, "urgent")]
)
def test_cows_24_is_a_warning_and_25_urgent(as_user, own_case, total, severity):
    body = {"case": str(own_case.pk), "instrument": "cows", "responses": responses_totalling("cows", total)}

    response = as_user("clinician").post("/api/v1/assessments/", body, format="json")

    assert response.json()["total"] == total
    found = alerts("withdrawal_moderate")
    assert [a.severity for a in found] == ([severity] if severity else [])


# raise_alerts: the time-based rules, run twice, add nothing the second time.


def test_raise_alerts_run_twice_changes_nothing_the_second_time(
    as_user, own_case, recovery_case, clinician, visit
):
    on_medication(own_case, clinician)
    vitals(as_user("clinician"), visit, systolic=85, diastolic=50)
    screen(as_user("clinician"), recovery_case, mitragynine="positive")
    call_command("raise_alerts", stdout=open("/dev/null", "w"))  # noqa: SIM115
    before = sorted(Alert.objects.values_list("id", "kind", "status", "severity", "message"))
    evidence = AlertEvidence.objects.count()

    call_command("raise_alerts", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert sorted(Alert.objects.values_list("id", "kind", "status", "severity", "message")) == before
    assert AlertEvidence.objects.count() == evidence
    assert {kind for _, kind, *_ in before} >= {"alpha2_hypotension", "return_to_use"}
