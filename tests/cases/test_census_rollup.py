"""The census report's rollup (cases/census_rollup.py, with the outcomes' scores: cases/score_rollup.py): on
PostgreSQL the whole clinic's census and outcomes sum the rollup, which triggers mark and a pass recounts; it must
give exactly the figures counted from the cases themselves, right after every kind of write (admission,
readmission, stage change, discharge, a correction of a stage change's date, a change of primary clinician, a
patient entered in error and back, a score added, entered in error or re-dated, a case moved to another patient,
a deletion), recounted or not."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection

from cases.census_rollup import census_differences, rebuild_census, recount_census
from cases.models import Assessment, Case, CensusCount, DrugScreen, Patient, ReportDirty, StageTransition
from cases.reports import (
    ReportParams,
    census,
    census_report,
    outcomes,
    outcomes_report,
    retention,
    retention_report,
)
from cases.reports.params import clinic_today
from cases.score_rollup import score_differences
from clinic.roles import Role
from tests.factories import PatientFactory, UserFactory
from tests.report_builders import CRAVING_ONLY, MET, closed_case, episode, local, score, screen

D = dt.date
Stage = Case.Stage
pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the rollup is PostgreSQL's")

# Ranges ending before, on and after the stage changes and discharges below, and one single day.
RANGES = [
    (D(2025, 1, 1), D(2025, 3, 31)),
    (D(2025, 1, 15), D(2025, 2, 9)),
    (D(2025, 2, 10), D(2025, 2, 10)),
    (D(2024, 6, 1), D(2025, 12, 31)),
    (D(2025, 3, 1), D(2025, 3, 20)),
    (D(2025, 1, 12), D(2025, 1, 12)),
    (D(2025, 1, 21), D(2025, 3, 19)),
    # Retention: some cases not yet at day N. (Ending yesterday: a census ending today reads the cases' stage,
    # which the stage changes these tests write directly do not update.)
    (clinic_today() - dt.timedelta(days=200), clinic_today() - dt.timedelta(days=1)),
]


@pytest.fixture
def clinic(db):
    ana = UserFactory(username="ana", roles=[Role.CLINICIAN], first_name="Ana", last_name="Alvarez")
    ben = UserFactory(username="ben", roles=[Role.CLINICIAN], first_name="Ben", last_name="Brooks")
    supervisor = UserFactory(username="sup", roles=[Role.SUPERVISOR])
    returning = PatientFactory()
    closed_case(D(2024, 10, 1), D(2024, 12, 20), patient=returning, primary=ana)
    readmitted = episode(D(2025, 1, 10), (Stage.ASSESSMENT, D(2025, 1, 12)), patient=returning, primary=ben)
    moving = episode(
        D(2025, 1, 5),
        (Stage.ASSESSMENT, D(2025, 1, 20)),
        (Stage.TREATMENT, D(2025, 2, 10)),
        (Stage.RECOVERY, D(2025, 3, 15)),
        primary=ana,
    )
    same_day = episode(D(2025, 2, 10), (Stage.ASSESSMENT, D(2025, 2, 10)), primary=None)
    discharged = episode(
        D(2025, 1, 2),
        (Stage.TREATMENT, D(2025, 1, 30)),
        (Stage.DISCHARGED, D(2025, 3, 1)),
        primary=ben,
        discharge_reason=Case.DischargeReason.LEFT_AGAINST_ADVICE,
    )
    screen(moving, D(2025, 3, 1), "negative", by=ana)  # in treatment: not counted
    screen(moving, D(2025, 3, 16), "negative", by=ana)
    screen(moving, D(2025, 3, 20), "positive", by=ana)
    # Scores: histories inside some ranges and crossing the ends of others, ties on a day, one entered in error.
    for day, total in (
        (D(2024, 12, 20), 22),
        (D(2025, 1, 20), 16),
        (D(2025, 2, 10), 12),
        (D(2025, 3, 20), 4),
    ):
        score(moving, "phq9", day, total=total, by=ana)
    score(moving, "phq9", D(2025, 4, 5), total=3, by=ana)
    score(moving, "gad7", D(2025, 1, 15), total=12, by=ana)
    score(moving, "gad7", D(2025, 2, 9), total=6, by=ana)
    score(readmitted, "cows", local(D(2025, 1, 12), 9), total=14, by=ben)
    score(readmitted, "cows", local(D(2025, 1, 12), 9), total=6, by=ben)  # same moment, recorded later
    score(readmitted, "cows", D(2025, 3, 1), total=2, by=ben)
    score(discharged, "sows", D(2025, 1, 2), total=30, by=ben)
    score(discharged, "sows", D(2025, 1, 20), total=50, by=ben, entered_in_error=True)
    score(discharged, "sows", D(2025, 2, 10), total=10, by=ben)
    score(same_day, "gad7", D(2025, 2, 10), total=16, by=ana)
    score(same_day, "gad7", D(2025, 2, 11), total=9, by=ana)
    # DSM-5 checklists of the case in recovery: sustained remission from 20 March (D 10 January 2024, C then).
    score(moving, "dsm5_sud", D(2024, 1, 10), responses=MET, by=ana)
    score(moving, "dsm5_sud", D(2025, 3, 20), responses=CRAVING_ONLY, by=ana)
    score(same_day, "dsm5_sud", D(2025, 2, 10), responses=CRAVING_ONLY, by=ana)  # no E: no diagnosis
    # Recent admissions (retention): eligible for day 30 and 90 but not 180, kept to day 30 only; and day 30 only.
    today = clinic_today()
    closed_case(today - dt.timedelta(days=100), today - dt.timedelta(days=80), primary=ana)
    episode(today - dt.timedelta(days=40), primary=ben)
    return {
        "ana": ana,
        "ben": ben,
        "sup": supervisor,
        "readmitted": readmitted,
        "moving": moving,
        "same_day": same_day,
        "discharged": discharged,
    }


def counted_from_cases(monkeypatch, user, report_params):
    """The census, retention and outcomes as the rows themselves give them (the path SQLite and a clinician's
    caseload take)."""
    with monkeypatch.context() as patched:
        patched.setattr(census_report, "has_rollups", lambda: False)
        patched.setattr(outcomes_report, "has_rollups", lambda: False)
        patched.setattr(retention_report, "has_rollups", lambda: False)
        return census(user, report_params), outcomes(user, report_params), retention(user, report_params)


def check(monkeypatch, clinic):
    for start, end in RANGES:
        for clinician in (None, clinic["ana"], clinic["ben"]):
            report_params = ReportParams(start=start, end=end, clinician=clinician)
            from_rollup = (
                census(clinic["sup"], report_params),
                outcomes(clinic["sup"], report_params),
                retention(clinic["sup"], report_params),
            )
            assert from_rollup == counted_from_cases(monkeypatch, clinic["sup"], report_params), (
                start,
                end,
                clinician,
            )


def check_both_ways(monkeypatch, clinic):
    """Right after the write (its patients still marked), then after a pass (nothing marked)."""
    check(monkeypatch, clinic)
    recount_census()
    assert not ReportDirty.objects.exists()
    assert census_differences() == []
    assert score_differences() == []
    check(monkeypatch, clinic)


def test_the_rollup_gives_the_cases_figures_marked_or_recounted(monkeypatch, clinic):
    assert ReportDirty.objects.exists()  # every write so far marked its patient
    check_both_ways(monkeypatch, clinic)
    figures = census(clinic["sup"], ReportParams(start=D(2025, 1, 1), end=D(2025, 3, 31), clinician=None))
    assert figures["open_by_stage"] == {"intake": 0, "assessment": 2, "treatment": 0, "recovery": 1}
    assert (figures["admissions"], figures["readmissions"], figures["discharges"]) == (4, 1, 1)
    assert figures["discharges_by_reason"]["left_against_advice"] == 1
    assert [row["clinician_name"] for row in figures["open_by_clinician"]] == [
        "Ana Alvarez",
        "Ben Brooks",
        "Unassigned",
    ]


def test_each_write_shows_at_once_and_after_a_pass(monkeypatch, clinic):
    recount_census()
    march = ReportParams(start=D(2025, 1, 1), end=D(2025, 3, 31), clinician=None)
    before = census(clinic["sup"], march)

    # An admission (a readmission of the patient discharged in March).
    episode(D(2025, 3, 20), patient=clinic["discharged"].patient, primary=clinic["ana"])
    after = census(clinic["sup"], march)
    assert (after["admissions"], after["readmissions"]) == (
        before["admissions"] + 1,
        before["readmissions"] + 1,
    )
    check_both_ways(monkeypatch, clinic)

    # A stage change, then its date corrected into the next month.
    moving = clinic["moving"]
    change = StageTransition.objects.create(
        case=moving,
        sequence=5,
        from_stage=Stage.RECOVERY,
        to_stage=Stage.TREATMENT,
        effective_at=local(D(2025, 3, 25)),
    )
    assert (
        census(clinic["sup"], march)["open_by_stage"]["treatment"] == after["open_by_stage"]["treatment"] + 1
    )
    check_both_ways(monkeypatch, clinic)
    StageTransition.objects.filter(pk=change.pk).update(effective_at=local(D(2025, 4, 2)))
    assert census(clinic["sup"], march)["open_by_stage"] == after["open_by_stage"]
    check_both_ways(monkeypatch, clinic)

    # A discharge; another primary clinician; the change of a field the census does not read (no mark).
    Case.objects.filter(pk=clinic["same_day"].pk).update(
        status=Case.Status.CLOSED,
        stage=Stage.DISCHARGED,
        closed_on=D(2025, 3, 5),
        discharge_reason="transferred",
    )
    assert census(clinic["sup"], march)["discharges_by_reason"]["transferred"] == 1
    check_both_ways(monkeypatch, clinic)
    Case.objects.filter(pk=clinic["readmitted"].pk).update(primary_clinician=clinic["ana"])
    check_both_ways(monkeypatch, clinic)
    Case.objects.filter(pk=clinic["moving"].pk).update(version=99)
    assert not ReportDirty.objects.exists()

    # A patient entered in error and restored.
    patient = clinic["readmitted"].patient
    Patient.objects.filter(pk=patient.pk).update(
        entered_in_error=True, entered_in_error_reason="A duplicate record."
    )
    assert census(clinic["sup"], march)["readmissions"] == 1  # the other readmission is left
    check_both_ways(monkeypatch, clinic)
    Patient.objects.filter(pk=patient.pk).update(entered_in_error=False, entered_in_error_reason="")
    check_both_ways(monkeypatch, clinic)

    # Urine screens in recovery: one collected, its result corrected, then removed.
    added = screen(clinic["moving"], D(2025, 3, 18), "negative", by=clinic["ana"])
    assert outcomes(clinic["sup"], march)["mitragynine_screens"] == 3
    check_both_ways(monkeypatch, clinic)
    DrugScreen.objects.filter(pk=added.pk).update(mitragynine="positive")
    assert outcomes(clinic["sup"], march)["mitragynine_negative"] == 1
    check_both_ways(monkeypatch, clinic)
    DrugScreen.objects.filter(pk=added.pk).delete()
    check_both_ways(monkeypatch, clinic)

    # Scores: one added inside a history, one before it (the history now crosses `start`), one entered in error,
    # one re-dated into the next month, one removed.
    phq9 = ReportParams(start=D(2025, 1, 1), end=D(2025, 3, 31), clinician=None)
    before_scores = outcomes(clinic["sup"], phq9)["instruments"]
    added_score = score(clinic["moving"], "phq9", D(2025, 3, 1), total=7, by=clinic["ana"])
    assert outcomes(clinic["sup"], phq9)["instruments"] == before_scores  # neither first nor latest
    check_both_ways(monkeypatch, clinic)
    score(clinic["readmitted"], "cows", D(2024, 12, 30), total=20, by=clinic["ben"])
    check_both_ways(monkeypatch, clinic)
    Assessment.objects.filter(pk=added_score.pk).update(
        entered_in_error=True, entered_in_error_reason="Wrong patient."
    )
    check_both_ways(monkeypatch, clinic)
    latest_gad7 = Assessment.objects.get(case=clinic["moving"], instrument="gad7", total=6)
    Assessment.objects.filter(pk=latest_gad7.pk).update(administered_at=local(D(2025, 4, 2)))
    assert (
        next(row for row in outcomes(clinic["sup"], phq9)["instruments"] if row["instrument"] == "gad7")[
            "cases"
        ]
        == 1
    )
    check_both_ways(monkeypatch, clinic)
    Assessment.objects.filter(pk=added_score.pk).delete()
    check_both_ways(monkeypatch, clinic)

    # DSM-5 checklists (remission as of `end`): a criterion met after C (no remission), entered in error (back to
    # sustained), an earlier D less than a year before C (early).
    def remission():
        return outcomes(clinic["sup"], phq9)["remission"]

    assert remission() == {"early": 0, "sustained": 1}
    relapse = score(clinic["moving"], "dsm5_sud", D(2025, 3, 25), responses=MET, by=clinic["ana"])
    assert remission() == {"early": 0, "sustained": 0}
    check_both_ways(monkeypatch, clinic)
    Assessment.objects.filter(pk=relapse.pk).update(
        entered_in_error=True, entered_in_error_reason="Wrong patient."
    )
    assert remission() == {"early": 0, "sustained": 1}
    check_both_ways(monkeypatch, clinic)
    score(clinic["moving"], "dsm5_sud", D(2024, 12, 1), responses=MET, by=clinic["ana"])
    assert remission() == {"early": 1, "sustained": 0}
    check_both_ways(monkeypatch, clinic)

    # A case moved to another patient (a merge of two records): both patients are recounted.
    other = PatientFactory()
    Case.objects.filter(pk=clinic["readmitted"].pk).update(patient=other)
    check_both_ways(monkeypatch, clinic)
    Patient.objects.filter(pk=other.pk).update(entered_in_error=True, entered_in_error_reason="A duplicate.")
    check_both_ways(monkeypatch, clinic)

    # A deletion (a test case removed with its history).
    Assessment.objects.filter(case=clinic["same_day"]).delete()
    StageTransition.objects.filter(case=clinic["same_day"]).delete()
    Case.objects.filter(pk=clinic["same_day"].pk).delete()
    check_both_ways(monkeypatch, clinic)


def test_rebuild_and_the_command(monkeypatch, clinic):
    assert rebuild_census() > 0
    assert not ReportDirty.objects.exists()
    assert census_differences() == []
    check(monkeypatch, clinic)
    CensusCount.objects.filter(kind="opened").update(n=99)  # a broken rollup is caught by --check
    with pytest.raises(Exception, match="census counts differ"):
        call_command("rollup_visits", "--check")
    call_command("rollup_visits", "--rebuild")
    call_command("rollup_visits", "--check")
    with connection.cursor() as cursor:  # the same for the scores (plain tables, no models)
        cursor.execute("UPDATE cases_scorecount SET first_sum = first_sum + 1 WHERE instrument = 'phq9'")
    with pytest.raises(Exception, match="score counts differ"):
        call_command("rollup_visits", "--check")
    call_command("rollup_visits", "--rebuild")
    call_command("rollup_visits", "--check")
    check(monkeypatch, clinic)
