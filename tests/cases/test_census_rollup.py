"""The census report's rollup (cases/census_rollup.py): on PostgreSQL the whole clinic's census sums the rollup,
which triggers mark and a pass recounts; it must give exactly the figures counted from the cases themselves, right
after every kind of write (admission, readmission, stage change, discharge, a correction of a stage change's
date, a change of primary clinician, a patient entered in error and back, a deletion), recounted or not."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection

from cases.census_rollup import census_differences, rebuild_census, recount_census
from cases.models import Case, CensusCount, DrugScreen, Patient, ReportDirty, StageTransition
from cases.reports import ReportParams, census, census_report, outcomes, outcomes_report
from clinic.roles import Role
from tests.factories import PatientFactory, UserFactory
from tests.report_builders import closed_case, episode, local, screen

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
    """The census and outcomes as the rows themselves give them (the path SQLite and a clinician's caseload
    take)."""
    with monkeypatch.context() as patched:
        patched.setattr(census_report, "has_rollups", lambda: False)
        patched.setattr(outcomes_report, "has_rollups", lambda: False)
        return census(user, report_params), outcomes(user, report_params)


def check(monkeypatch, clinic):
    for start, end in RANGES:
        for clinician in (None, clinic["ana"], clinic["ben"]):
            report_params = ReportParams(start=start, end=end, clinician=clinician)
            from_rollup = census(clinic["sup"], report_params), outcomes(clinic["sup"], report_params)
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

    # A deletion (a test case removed with its history).
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
