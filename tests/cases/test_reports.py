"""The reports (SPEC section 6, docs/reports.md) on small cohorts built by hand: every number of every report,
the range's edges, readmissions, censoring, scope and the clinician filter, empty ranges, small-cell suppression,
the CSV table, the parameters, and the SQL pieces (medians, the remission months, the DSM-5 criterion)."""

import datetime as dt
import itertools
from dataclasses import dataclass

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from cases.errors import ValidationFailed
from cases.measures import add_months
from cases.models import Assessment, Case, DrugScreen, Patient, Visit
from cases.models.assessments import criteria_met_other_than_craving
from cases.remission import with_remission
from cases.reports import (
    REPORTS,
    SMALL_CELL,
    SUPPRESSED,
    ReportParams,
    census,
    csv_rows,
    deidentify,
    outcomes,
    parse_params,
    retention,
    visits,
)
from cases.reports.expressions import DaysBetween, medians
from cases.reports.params import clinic_today
from clinic.models import User
from clinic.roles import Role
from tests.factories import PatientFactory, UserFactory
from tests.report_builders import (
    CRAVING_ONLY,
    MET,
    QUERIES,
    SETUP_QUERIES,
    checklist,
    closed_case,
    episode,
    local,
    score,
    screen,
    visit,
)

Stage = Case.Stage
Reason = Case.DischargeReason
Status = Visit.Status
Type = Visit.VisitType
D = dt.date


def params(start: dt.date, end: dt.date, clinician: User | None = None) -> ReportParams:
    return ReportParams(start=start, end=end, clinician=clinician)


@dataclass
class Staff:
    ana: User  # a clinician
    ben: User  # another clinician
    supervisor: User
    administrator: User
    front_desk: User


@pytest.fixture
def staff(db) -> Staff:
    return Staff(
        ana=UserFactory(username="ana", first_name="Ana", last_name="Alvarez", roles=[Role.CLINICIAN]),
        ben=UserFactory(username="ben", first_name="Ben", last_name="Brooks", roles=[Role.CLINICIAN]),
        supervisor=UserFactory(username="sup", roles=[Role.SUPERVISOR]),
        administrator=UserFactory(username="adm", roles=[Role.ADMINISTRATOR]),
        front_desk=UserFactory(username="desk", roles=[Role.FRONT_DESK]),
    )


def whole_clinic(staff: Staff) -> list[User]:
    return [staff.supervisor, staff.administrator]


# --- Census ------------------------------------------------------------------------------------------------

CENSUS_RANGE = (D(2025, 1, 1), D(2025, 3, 31))


@pytest.fixture
def census_cohort(staff):
    """Ana primary on c1, c3, c4, c6, c10 (and c0, an old case of c2's patient); Ben primary on c2 and c7, with
    Ana on c7's care team; c5 unassigned. c8 and c9 are an old episode and an old readmission; c11 belongs to a
    patient entered in error."""
    ana, ben = staff.ana, staff.ben
    c2_patient, c3_patient, c8_patient = PatientFactory(), PatientFactory(), PatientFactory()
    return {
        "c0": closed_case(D(2023, 1, 1), D(2023, 6, 1), patient=c2_patient, primary=ana),
        # open before the range, in treatment throughout
        "c1": episode(D(2024, 10, 1), (Stage.ASSESSMENT, D(2024, 10, 10)), (Stage.TREATMENT, D(2024, 11, 1)),
                      primary=ana),
        # a readmission (c0) opened in the range; in assessment at the end, in treatment since
        "c2": episode(D(2025, 1, 15), (Stage.ASSESSMENT, D(2025, 2, 1)), (Stage.TREATMENT, D(2025, 4, 10)),
                      patient=c2_patient, primary=ben),
        # opened before the range, discharged in it
        "c3": episode(D(2024, 12, 1), (Stage.DISCHARGED, D(2025, 2, 15)), patient=c3_patient, primary=ana,
                      discharge_reason=Reason.LEFT_AGAINST_ADVICE),
        # c3's patient readmitted in the range, still at intake
        "c4": episode(D(2025, 3, 1), patient=c3_patient, primary=ana),
        # opened in the range, discharged after it: open at the end, in assessment
        "c5": episode(D(2025, 3, 20), (Stage.ASSESSMENT, D(2025, 3, 25)), (Stage.DISCHARGED, D(2025, 4, 5))),
        # opened after the range
        "c6": episode(D(2025, 4, 2), primary=ana),
        # reached recovery late on the last day, back to treatment just after midnight
        "c7": episode(
            D(2024, 6, 1), (Stage.ASSESSMENT, D(2024, 6, 5)), (Stage.TREATMENT, D(2024, 7, 1)),
            (Stage.RECOVERY, local(D(2025, 3, 31), 23, 30)), (Stage.TREATMENT, local(D(2025, 4, 1), 0, 30)),
            primary=ben, care_team=[ana],
        ),
        "c8": closed_case(D(2024, 1, 1), D(2024, 6, 1), patient=c8_patient, primary=ben),
        "c9": closed_case(D(2024, 7, 1), D(2024, 12, 31), patient=c8_patient, primary=ben,
                          discharge_reason=Reason.DEATH),
        # opened in the range, discharged on its last day: counted, and not open at the end
        "c10": closed_case(D(2025, 1, 10), D(2025, 3, 31), primary=ana, discharge_reason=Reason.TRANSFERRED),
        "c11": episode(D(2025, 2, 1), primary=ana, patient=PatientFactory(
            entered_in_error=True, entered_in_error_reason="Duplicate record.")),
    }  # fmt: skip


def reasons(**counts: int) -> dict[str, int]:
    return {reason: counts.get(reason, 0) for reason in Reason.values}


def stages(intake: int = 0, assessment: int = 0, treatment: int = 0, recovery: int = 0) -> dict[str, int]:
    return {"intake": intake, "assessment": assessment, "treatment": treatment, "recovery": recovery}


def by_clinician(*rows: tuple[User | None, int]) -> list[dict[str, object]]:
    return [
        {
            "clinician": str(user.pk) if user else None,
            "clinician_name": user.full_name if user else "Unassigned",
            "open": n,
        }
        for user, n in rows
    ]


def test_census_counts_the_whole_clinic_for_supervisors_and_administrators(staff, census_cohort):
    for user in whole_clinic(staff):
        assert census(user, params(*CENSUS_RANGE)) == {
            "as_of": "2025-03-31",
            "open_by_stage": stages(intake=1, assessment=2, treatment=1, recovery=1),  # c4 / c2, c5 / c1 / c7
            # c1 c4 / c2 c7 / c5
            "open_by_clinician": by_clinician((staff.ana, 2), (staff.ben, 2), (None, 1)),
            "admissions": 4,  # c2, c4, c5, c10
            "readmissions": 2,  # c2 (after c0), c4 (after c3)
            "discharges": 2,  # c3, c10
            "discharges_by_reason": reasons(left_against_advice=1, transferred=1),
        }


def test_census_for_a_clinician_covers_their_caseload_patients_cases(staff, census_cohort):
    """Ana's caseload: the patients of c0 (so c2 too), c1, c3 (so c4), c6, c10, and c7 (care team)."""
    assert census(staff.ana, params(*CENSUS_RANGE)) == {
        "as_of": "2025-03-31",
        "open_by_stage": stages(intake=1, assessment=1, treatment=1, recovery=1),  # c4 / c2 / c1 / c7
        "open_by_clinician": by_clinician((staff.ana, 2), (staff.ben, 2)),
        "admissions": 3,  # c2, c4, c10
        "readmissions": 2,
        "discharges": 2,
        "discharges_by_reason": reasons(left_against_advice=1, transferred=1),
    }


def test_census_clinician_filter_is_the_primary_clinician_and_readmissions_look_outside_it(
    staff, census_cohort
):
    """c2 is Ben's, its patient's earlier case c0 Ana's: still a readmission under `clinician=Ben`."""
    assert census(staff.supervisor, params(*CENSUS_RANGE, clinician=staff.ben)) == {
        "as_of": "2025-03-31",
        "open_by_stage": stages(assessment=1, recovery=1),  # c2, c7
        "open_by_clinician": by_clinician((staff.ben, 2)),
        "admissions": 1,
        "readmissions": 1,
        "discharges": 0,
        "discharges_by_reason": reasons(),
    }
    assert census(staff.supervisor, params(*CENSUS_RANGE, clinician=staff.ana)) == {
        "as_of": "2025-03-31",
        "open_by_stage": stages(intake=1, treatment=1),  # c4, c1
        "open_by_clinician": by_clinician((staff.ana, 2)),
        "admissions": 2,  # c4, c10
        "readmissions": 1,
        "discharges": 2,
        "discharges_by_reason": reasons(left_against_advice=1, transferred=1),
    }


def test_a_clinician_naming_a_colleague_gets_the_colleagues_part_of_their_own_caseload(staff, census_cohort):
    """Ben is primary on c2, c7, c8 and c9; of those only c2 and c7 are Ana's caseload's."""
    report = census(staff.ana, params(*CENSUS_RANGE, clinician=staff.ben))

    assert report["open_by_stage"] == stages(assessment=1, recovery=1)
    assert report["open_by_clinician"] == by_clinician((staff.ben, 2))
    assert (report["admissions"], report["readmissions"], report["discharges"]) == (1, 1, 0)
    # Ben's caseload: the patients of c2 (so c0 too), c7 and c8 (so c9); of their cases Ana is primary on c0 only
    reverse = census(staff.ben, params(*CENSUS_RANGE, clinician=staff.ana))
    assert reverse["open_by_stage"] == stages()
    assert (reverse["admissions"], reverse["readmissions"], reverse["discharges"]) == (0, 0, 0)


def test_census_of_an_empty_range_is_zeros(staff, census_cohort):
    assert census(staff.supervisor, params(D(2020, 1, 1), D(2020, 1, 31))) == {
        "as_of": "2020-01-31",
        "open_by_stage": stages(),
        "open_by_clinician": [],
        "admissions": 0,
        "readmissions": 0,
        "discharges": 0,
        "discharges_by_reason": reasons(),
    }


def test_census_stage_as_of_a_day_includes_moves_late_that_evening(staff, census_cohort):
    """c7 moved to recovery at 23:30 on 31 March (clinic time; 05:30 UTC on 1 April) and back at 00:30 on 1 April."""
    on_31 = census(staff.supervisor, params(D(2025, 3, 31), D(2025, 3, 31), clinician=staff.ben))
    on_1 = census(staff.supervisor, params(D(2025, 4, 1), D(2025, 4, 1), clinician=staff.ben))
    on_30 = census(staff.supervisor, params(D(2025, 3, 30), D(2025, 3, 30), clinician=staff.ben))

    assert on_31["open_by_stage"] == stages(assessment=1, recovery=1)
    assert on_1["open_by_stage"] == stages(assessment=1, treatment=1)
    assert on_30["open_by_stage"] == stages(assessment=1, treatment=1)


def test_same_day_readmission_counts_the_later_recorded_case_only(staff):
    patient = PatientFactory()
    first = closed_case(D(2025, 2, 1), D(2025, 2, 1), patient=patient)
    second = episode(D(2025, 2, 1), patient=patient)
    assert first.created_at < second.created_at

    report = census(staff.supervisor, params(D(2025, 2, 1), D(2025, 2, 1)))

    assert (report["admissions"], report["readmissions"], report["discharges"]) == (2, 1, 1)


def test_census_for_front_desk_is_empty(staff, census_cohort):
    """The API refuses front desk (403) first; the domain alone has nothing in their scope."""
    report = census(staff.front_desk, params(*CENSUS_RANGE))

    assert report["admissions"] == 0
    assert report["open_by_stage"] == stages()


# --- Retention ---------------------------------------------------------------------------------------------


@pytest.fixture
def retention_cohort(staff):
    """Days before today each case opened, and how long it stayed (None: still open). r3 and r8 are one
    patient's two episodes; r9 opened before the range."""
    today = clinic_today()
    stays = {
        "r1": (200, None), "r2": (200, 30), "r3": (200, 29), "r4": (100, None), "r5": (95, 90), "r6": (89, None),
        "r7": (10, None), "r9": (500, None), "r10": (180, None), "r11": (300, 179), "r12": (60, 10),
    }  # fmt: skip
    cases = {}
    for name, (ago, stay) in stays.items():
        opened = today - dt.timedelta(days=ago)
        if stay is None:
            cases[name] = episode(opened, primary=staff.ana)
        else:
            cases[name] = closed_case(opened, opened + dt.timedelta(days=stay), primary=staff.ana)
    readmitted = today - dt.timedelta(days=171)  # the day r3 closed
    cases["r8"] = closed_case(
        readmitted, readmitted + dt.timedelta(days=100), patient=cases["r3"].patient, primary=staff.ben
    )
    return cases


def retention_range() -> tuple[dt.date, dt.date]:
    return clinic_today() - dt.timedelta(days=400), clinic_today()


def test_retention_counts_each_day_with_censoring_and_the_median_stay(staff, retention_cohort):
    """Cohort: every case but r9 (11). Day 30: all but r7 eligible (10); r3 (29 days) and r12 (10) left before.
    Day 90: opened 90+ days ago: r1 r2 r3 r4 r5 r8 r10 r11 (r6 opened 89 days ago is censored); r5 left on day
    90 exactly and counts. Day 180: r1 r2 r3 r10 r11; r11 left on day 179. Closed stays 10 29 30 90 100 179:
    median (30 + 90) / 2."""
    for user in [*whole_clinic(staff), staff.ana]:
        assert retention(user, params(*retention_range())) == {
            "cohort_size": 11,
            "days": [
                {"day": 30, "eligible": 10, "retained": 8, "rate": 0.8},
                {"day": 90, "eligible": 8, "retained": 6, "rate": 0.75},
                {"day": 180, "eligible": 5, "retained": 2, "rate": 0.4},
            ],
            "median_length_of_stay_days": 60.0,
            "open_cases": 5,  # r1 r4 r6 r7 r10
        }


def test_retention_median_of_an_odd_number_of_stays_is_the_middle_one(staff, retention_cohort):
    """Under `clinician=Ana` r8 (Ben's, 100 days) leaves: stays 10 29 30 90 179."""
    report = retention(staff.supervisor, params(*retention_range(), clinician=staff.ana))

    assert report["cohort_size"] == 10
    assert report["median_length_of_stay_days"] == 30.0
    assert report["days"][1] == {"day": 90, "eligible": 7, "retained": 5, "rate": 0.714}


def test_a_readmission_is_its_own_cohort_member(staff, retention_cohort):
    report = retention(staff.supervisor, params(*retention_range(), clinician=staff.ben))

    assert report == {
        "cohort_size": 1,
        "days": [
            {"day": 30, "eligible": 1, "retained": 1, "rate": 1.0},
            {"day": 90, "eligible": 1, "retained": 1, "rate": 1.0},
            {"day": 180, "eligible": 0, "retained": 0, "rate": None},  # opened 171 days ago
        ],
        "median_length_of_stay_days": 100.0,
        "open_cases": 0,
    }


def test_a_case_opened_too_recently_is_left_out_of_every_denominator(staff, retention_cohort):
    today = clinic_today()
    report = retention(staff.supervisor, params(today - dt.timedelta(days=29), today))  # r7 only

    assert report == {
        "cohort_size": 1,
        "days": [{"day": day, "eligible": 0, "retained": 0, "rate": None} for day in (30, 90, 180)],
        "median_length_of_stay_days": None,
        "open_cases": 1,
    }


def test_retention_of_an_empty_range_is_zeros(staff, retention_cohort):
    assert retention(staff.supervisor, params(D(2020, 1, 1), D(2020, 12, 31))) == {
        "cohort_size": 0,
        "days": [{"day": day, "eligible": 0, "retained": 0, "rate": None} for day in (30, 90, 180)],
        "median_length_of_stay_days": None,
        "open_cases": 0,
    }


# --- Visits ------------------------------------------------------------------------------------------------

VISITS_RANGE = (D(2025, 1, 1), D(2025, 2, 28))


@pytest.fixture
def visit_log(staff):
    """Ana's case `ca` and Ben's `cb`. Ana holds her own visits; Ben late-cancelled one of hers and holds his."""
    ana, ben = staff.ana, staff.ben
    ca, cb = episode(D(2024, 12, 1), primary=ana), episode(D(2024, 12, 1), primary=ben)
    jan, feb = D(2025, 1, 14), D(2025, 2, 11)
    IC, GROUP, INTAKE = Type.INDIVIDUAL_COUNSELING, Type.GROUP_COUNSELING, Type.INTAKE
    rows = [
        (ca, ana, local(D(2025, 1, 1), 0, 30), Status.ATTENDED, IC),  # first minutes of the range
        (ca, ana, local(jan, 9), Status.ATTENDED, IC),
        (ca, ana, local(jan, 10), Status.NO_SHOW, IC),
        (ca, ben, local(jan, 11), Status.LATE_CANCEL, IC),
        (cb, ben, local(jan, 9), Status.ATTENDED, INTAKE),
        (cb, ben, local(jan, 10), Status.CANCELLED, INTAKE),
        (cb, ben, local(jan, 11), Status.SCHEDULED, INTAKE),  # never marked: counted as scheduled only
        (ca, ana, local(feb, 9), Status.CANCELLED, GROUP),
        (ca, ana, local(feb, 10), Status.CANCELLED, GROUP),
        (ca, ana, local(D(2025, 2, 28), 23, 30), Status.NO_SHOW, IC),  # 1 March in UTC: still February here
        # outside the range in clinic time (inside it in UTC for the first)
        (ca, ana, local(D(2024, 12, 31), 23, 30), Status.ATTENDED, IC),
        (ca, ana, local(D(2025, 3, 1), 0, 10), Status.ATTENDED, IC),
    ]
    for case, clinician, at, status, visit_type in rows:
        visit(case, clinician, at, status, visit_type)
    hidden = episode(D(2024, 12, 1), primary=ana, patient=PatientFactory(
        entered_in_error=True, entered_in_error_reason="Duplicate record."))  # fmt: skip
    visit(hidden, ana, local(jan, 12), Status.ATTENDED, IC)
    return {"ca": ca, "cb": cb}


def counts(scheduled=0, attended=0, no_show=0, cancelled=0, late_cancel=0, rate=None) -> dict[str, object]:
    return {
        "scheduled": scheduled,
        "attended": attended,
        "no_show": no_show,
        "cancelled": cancelled,
        "late_cancel": late_cancel,
        "attendance_rate": rate,
    }


def clinician_row(user: User, **kwargs: object) -> dict[str, object]:
    return {"clinician": str(user.pk), "clinician_name": user.full_name, **counts(**kwargs)}  # type: ignore[arg-type]


def test_visits_per_month_and_type_in_clinic_time_and_per_clinician(staff, visit_log):
    for user in whole_clinic(staff):
        assert visits(user, params(*VISITS_RANGE)) == {
            "rows": [
                {"month": "2025-01", "visit_type": "intake", **counts(3, attended=1, cancelled=1, rate=1.0)},
                {"month": "2025-01", "visit_type": "individual_counseling",
                 **counts(4, attended=2, no_show=1, late_cancel=1, rate=0.5)},
                {"month": "2025-02", "visit_type": "individual_counseling", **counts(1, no_show=1, rate=0.0)},
                {"month": "2025-02", "visit_type": "group_counseling", **counts(2, cancelled=2, rate=None)},
            ],
            "by_clinician": [
                clinician_row(staff.ana, scheduled=6, attended=2, no_show=2, cancelled=2, rate=0.5),
                clinician_row(staff.ben, scheduled=4, attended=1, cancelled=1, late_cancel=1, rate=0.5),
            ],
        }  # fmt: skip


def test_visits_for_a_clinician_are_those_of_their_caseload_whoever_held_them(staff, visit_log):
    assert visits(staff.ana, params(*VISITS_RANGE)) == {
        "rows": [
            {"month": "2025-01", "visit_type": "individual_counseling",
             **counts(4, attended=2, no_show=1, late_cancel=1, rate=0.5)},
            {"month": "2025-02", "visit_type": "individual_counseling", **counts(1, no_show=1, rate=0.0)},
            {"month": "2025-02", "visit_type": "group_counseling", **counts(2, cancelled=2, rate=None)},
        ],
        "by_clinician": [
            clinician_row(staff.ana, scheduled=6, attended=2, no_show=2, cancelled=2, rate=0.5),
            clinician_row(staff.ben, scheduled=1, late_cancel=1, rate=0.0),
        ],
    }  # fmt: skip


def test_visits_clinician_filter_is_who_held_the_visit(staff, visit_log):
    assert visits(staff.supervisor, params(*VISITS_RANGE, clinician=staff.ben)) == {
        "rows": [
            {"month": "2025-01", "visit_type": "intake", **counts(3, attended=1, cancelled=1, rate=1.0)},
            {"month": "2025-01", "visit_type": "individual_counseling", **counts(1, late_cancel=1, rate=0.0)},
        ],
        "by_clinician": [
            clinician_row(staff.ben, scheduled=4, attended=1, cancelled=1, late_cancel=1, rate=0.5)
        ],
    }


def test_visits_of_an_empty_range_are_no_rows(staff, visit_log):
    assert visits(staff.supervisor, params(D(2020, 1, 1), D(2020, 12, 31))) == {
        "rows": [],
        "by_clinician": [],
    }


# --- Outcomes ----------------------------------------------------------------------------------------------

OUTCOMES_RANGE = (D(2025, 1, 1), D(2025, 6, 30))
RECOVERED_IN_2024 = (
    (Stage.ASSESSMENT, D(2024, 1, 5)), (Stage.TREATMENT, D(2024, 2, 1)), (Stage.RECOVERY, D(2024, 12, 1)),
)  # fmt: skip


@pytest.fixture
def outcome_cohort(staff):
    """All Ana's. o1-o4 sit at intake with scores; o5 went treatment -> recovery -> treatment -> recovery in the
    range, with urine screens and two DSM-5 checklists; o7 and o8 move through early stages; o9-o18 are in
    recovery since 2024 (o17 in treatment, o18 discharged after the range) with the checklists that decide
    remission as of 30 June 2025."""
    ana = staff.ana
    opened = D(2024, 12, 1)
    o1, o2, o3, o4 = (episode(opened, primary=ana) for _ in range(4))
    for instrument, at, total in [
        ("phq9", D(2024, 12, 2), 27),  # before the range
        ("phq9", D(2025, 1, 10), 20), ("phq9", D(2025, 3, 10), 12), ("phq9", D(2025, 6, 10), 8),
        ("gad7", D(2025, 1, 10), 15), ("gad7", D(2025, 6, 10), 4),
        ("cows", local(D(2025, 1, 2), 9), 13), ("cows", local(D(2025, 1, 3), 9), 5), ("cows", D(2025, 1, 5), 2),
        ("sows", D(2025, 1, 2), 30), ("sows", D(2025, 1, 9), 10),
    ]:  # fmt: skip
        score(o1, instrument, at, total=total, by=ana)
    score(o1, "phq9", D(2025, 6, 20), total=0, by=ana, entered_in_error=True)
    score(o2, "phq9", D(2025, 2, 1), total=9, by=ana)
    score(o2, "phq9", D(2025, 5, 1), total=5, by=ana)
    # two GAD-7s at the same moment: the one recorded later is the latest
    same_moment = local(D(2025, 3, 1), 10)
    score(o2, "gad7", same_moment, total=10, by=ana, recorded_at=local(D(2025, 3, 1), 11))
    score(o2, "gad7", same_moment, total=9, by=ana, recorded_at=local(D(2025, 3, 1), 12))
    score(o3, "phq9", D(2025, 2, 1), total=15, by=ana)  # one score in the range: left out
    score(o3, "phq9", D(2025, 7, 5), total=3, by=ana)
    score(o4, "phq9", D(2025, 4, 1), total=4, by=ana)
    score(o4, "phq9", D(2025, 4, 15), total=10, by=ana)

    o5 = episode(
        D(2024, 10, 1), (Stage.ASSESSMENT, D(2024, 10, 5)), (Stage.TREATMENT, D(2024, 11, 1)),
        (Stage.RECOVERY, local(D(2025, 2, 1), 10)), (Stage.TREATMENT, local(D(2025, 4, 1), 10)),
        (Stage.RECOVERY, local(D(2025, 5, 1), 10)), primary=ana,
    )  # fmt: skip
    score(o5, "dsm5_sud", D(2025, 1, 5), responses=MET, by=ana)
    score(o5, "dsm5_sud", D(2025, 3, 1), responses=CRAVING_ONLY, by=ana)
    for day, result in [
        (D(2025, 1, 20), "negative"),  # in treatment
        (D(2025, 2, 1), "negative"),  # recovery from 10:00 that day
        (D(2025, 3, 1), "positive"),
        (D(2025, 3, 15), "not_tested"),
        (D(2025, 4, 1), "negative"),  # back in treatment from 10:00
        (D(2025, 5, 15), "negative"),
        (D(2025, 7, 1), "negative"),  # after the range
    ]:
        screen(o5, day, result, by=ana)
    # kratom-negative counts 7-hydroxymitragynine too (SPEC v2 section 6)
    for day, results in [
        (
            D(2025, 2, 15),
            {"mitragynine": "negative", "seven_oh_mitragynine": "positive"},
        ),  # 7-OH: not negative
        (D(2025, 5, 20), {"seven_oh_mitragynine": "negative"}),  # 7-OH alone tested: negative
        (D(2025, 5, 25), {"opioids": "negative"}),  # neither tested: left out
    ]:
        DrugScreen.objects.create(case=o5, collected_on=day, created_by=ana, **results)

    episode(
        D(2025, 1, 1), (Stage.ASSESSMENT, D(2025, 1, 11)), (Stage.TREATMENT, D(2025, 1, 31)),
        (Stage.DISCHARGED, local(D(2025, 3, 2), 23, 30)), primary=ana,  # 3 March in UTC
    )  # o7  # fmt: skip
    o8_moves = ((Stage.ASSESSMENT, D(2025, 2, 4)), (Stage.DISCHARGED, D(2025, 7, 10)))
    episode(D(2025, 2, 1), *o8_moves, primary=ana)

    def recovering(*checklists: tuple[dt.date, dict[str, bool]], error_on: dt.date | None = None) -> Case:
        case = episode(D(2024, 1, 1), *RECOVERED_IN_2024, primary=ana)
        for day, responses in checklists:
            score(case, "dsm5_sud", day, responses=responses, by=ana, entered_in_error=day == error_on)
        return case

    # Remission as of 30 June 2025 (cases/remission.py): D the last checklist meeting a criterion other than
    # craving, C a later one meeting none.
    c = checklist()  # none met
    recovering((D(2024, 6, 30), MET), (D(2025, 6, 30), c))  # o9: 12 months to the day: sustained
    recovering((D(2024, 7, 1), MET), (D(2025, 6, 30), c))  # o10: a day short of 12 months: early
    recovering((D(2025, 3, 30), MET), (D(2025, 6, 30), c))  # o11: 3 months to the day: early
    recovering((D(2025, 3, 31), MET), (D(2025, 6, 30), c))  # o12: 31 March + 3 months is 30 June: early
    recovering((D(2025, 4, 1), MET), (D(2025, 6, 30), c))  # o13: a day short of 3 months: none
    recovering(  # o14: only hazardous use ever met (one criterion): no diagnosis, none a year on
        (D(2024, 2, 1), checklist(hazardous_use=True)),
        (D(2025, 3, 1), CRAVING_ONLY),
    )
    # o15: the later checklist (which would make D later) was entered in error: sustained from the earlier
    recovering((D(2024, 1, 1), MET), (D(2024, 9, 1), MET), (D(2025, 1, 1), c), error_on=D(2024, 9, 1))
    # o16: a checklist after `end` does not count: sustained
    recovering((D(2024, 1, 1), MET), (D(2025, 2, 1), c), (D(2025, 7, 15), MET))
    o17 = episode(D(2024, 1, 1), *RECOVERED_IN_2024[:2], primary=ana)  # in treatment: not counted
    score(o17, "dsm5_sud", D(2024, 1, 20), responses=MET, by=ana)
    score(o17, "dsm5_sud", D(2025, 1, 20), responses=c, by=ana)
    o18 = episode(D(2024, 1, 1), *RECOVERED_IN_2024, (Stage.DISCHARGED, D(2025, 8, 1)), primary=ana)
    score(o18, "dsm5_sud", D(2024, 1, 20), responses=MET, by=ana)  # in recovery on 30 June: sustained
    score(o18, "dsm5_sud", D(2025, 1, 20), responses=c, by=ana)
    recovering((D(2024, 1, 20), MET))  # o19: a single checklist followed by nothing: none, however long ago
    return {"o1": o1, "o5": o5}


def instrument_row(instrument, cases=0, first=None, latest=None, change=None, improved=0, share=None):
    return {
        "instrument": instrument,
        "cases": cases,
        "mean_first": first,
        "mean_latest": latest,
        "mean_change": change,
        "improved": improved,
        "improved_share": share,
    }


OUTCOMES = {
    "instruments": [
        # o5: moderate (4) -> none (craving only, 1); o11, o12, o13: moderate (4) -> none (0)
        instrument_row("dsm5_sud", 4, 4.0, 0.25, -3.75, improved=4, share=1.0),
        # o1: 13 (moderate) -> 5 -> 2 (none)
        instrument_row("cows", 1, 13.0, 2.0, -11.0, improved=1, share=1.0),
        instrument_row("sows", 1, 30.0, 10.0, -20.0, improved=None, share=None),
        # o1 20 -> 8 (severe -> mild), o2 9 -> 5 (mild both), o4 4 -> 10 (minimal -> moderate)
        instrument_row("phq9", 3, 11.0, 7.67, -3.33, improved=1, share=0.333),
        # o1 15 -> 4 (severe -> minimal), o2 10 -> 9 (moderate -> mild)
        instrument_row("gad7", 2, 12.5, 6.5, -6.0, improved=2, share=1.0),
    ],
    # o5 in recovery on 1 Feb (negative), 15 Feb (7-OH positive), 1 Mar (positive), 15 May (negative), 20 May
    # (7-OH negative); 25 May tested neither kratom analyte
    "mitragynine_negative_share": 0.6,
    "mitragynine_screens": 5,
    "mitragynine_negative": 3,
    # intake: o7 10 days, o8 3; assessment: o7 20; treatment: o5 92 and 30, o7 30; recovery: o5 59
    "median_days_in_stage": {"intake": 6.5, "assessment": 20.0, "treatment": 30.0, "recovery": 59.0},
    "completed_stays": {"intake": 2, "assessment": 1, "treatment": 3, "recovery": 1},
    # early: o10, o11, o12; sustained: o9, o15, o16, o18 (o5: C 1 March is 2 months after D 5 January: none)
    "remission": {"early": 3, "sustained": 4},
}


def test_outcomes_every_figure(staff, outcome_cohort):
    for user in [*whole_clinic(staff), staff.ana]:
        assert outcomes(user, params(*OUTCOMES_RANGE)) == OUTCOMES


def test_outcomes_of_an_empty_range_are_zeros_and_nulls(staff, outcome_cohort):
    report = outcomes(staff.supervisor, params(D(2020, 1, 1), D(2020, 12, 31)))

    assert report == {
        "instruments": [
            instrument_row(code, improved=None if code == "sows" else 0)
            for code in ("dsm5_sud", "cows", "sows", "phq9", "gad7")
        ],
        "mitragynine_negative_share": None,
        "mitragynine_screens": 0,
        "mitragynine_negative": 0,
        "median_days_in_stage": {"intake": None, "assessment": None, "treatment": None, "recovery": None},
        "completed_stays": {"intake": 0, "assessment": 0, "treatment": 0, "recovery": 0},
        "remission": {"early": 0, "sustained": 0},
    }


def test_outcomes_cover_only_the_scope_and_the_primary_clinician(staff, outcome_cohort):
    theirs = episode(D(2024, 12, 1), primary=staff.ben)
    score(theirs, "phq9", D(2025, 1, 10), total=27, by=staff.ben)
    score(theirs, "phq9", D(2025, 2, 10), total=0, by=staff.ben)

    phq9 = {
        user: outcomes(user, params(*OUTCOMES_RANGE))["instruments"][3]
        for user in (staff.ana, staff.supervisor)
    }
    only_ben = outcomes(staff.supervisor, params(*OUTCOMES_RANGE, clinician=staff.ben))

    assert phq9[staff.ana] == OUTCOMES["instruments"][3]
    assert phq9[staff.supervisor] == instrument_row("phq9", 4, 15.0, 5.75, -9.25, improved=2, share=0.5)
    assert only_ben["instruments"][3] == instrument_row("phq9", 1, 27.0, 0.0, -27.0, improved=1, share=1.0)
    assert only_ben["remission"] == {"early": 0, "sustained": 0}
    assert only_ben["mitragynine_screens"] == 0


def test_remission_counts_agree_with_what_the_cases_show_as_of_today(staff, outcome_cohort):
    """As of today, the report counts what each case in recovery shows (`cases.remission.with_remission`)."""
    today = clinic_today()
    in_recovery = with_remission(Case.objects.filter(stage=Stage.RECOVERY), today)
    shown = [case.remission for case in in_recovery]
    report = outcomes(staff.supervisor, params(today - dt.timedelta(days=30), today))

    assert report["remission"] == {"early": shown.count("early"), "sustained": shown.count("sustained")}


# --- The SQL pieces ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("responses", "met"),
    [
        (checklist(), False),
        (CRAVING_ONLY, False),
        (checklist(hazardous_use=True), True),
        (checklist(craving=True, larger_longer=True), True),
        (checklist(tolerance=True), True),
        (checklist(withdrawal=True), True),
        (checklist(tolerance=True, withdrawal=True, craving=True), True),
        (MET, True),
        *(
            (checklist(**{code: True}), True)
            for code in ("cut_down", "role_failure", "social_problems", "activities_given_up",
                         "physical_psych_problems")
        ),
    ],
)  # fmt: skip
def test_the_sql_dsm5_criterion_other_than_craving(staff, responses, met):
    case = episode(D(2025, 1, 1), primary=staff.ana)
    recorded = score(case, "dsm5_sud", D(2025, 1, 2), responses=responses, by=staff.ana)

    assert Assessment.objects.filter(criteria_met_other_than_craving(), pk=recorded.pk).exists() is met


@pytest.mark.parametrize(
    ("stays", "expected"),
    [
        ([], None),
        ([7], 7.0),
        ([5, 1], 3.0),
        ([9, 1, 5], 5.0),
        ([1, 2, 3, 100], 2.5),
        ([4, 4, 4, 1, 9, 9], 4.0),
    ],
)
def test_the_median_is_the_middle_value_or_the_mean_of_the_middle_two(staff, stays, expected):
    for stay in stays:
        closed_case(D(2025, 1, 1), D(2025, 1, 1) + dt.timedelta(days=stay))
    median, size = medians(Case.objects.all(), DaysBetween(F("closed_on"), F("opened_on")))[None]

    assert (median if median is None else float(median), size) == (expected, len(stays))


@pytest.mark.postgres
def test_the_median_matches_postgresqls_percentile_cont(staff):
    import random

    rng = random.Random(7)
    for _ in range(41):
        opened = D(2025, 1, 1) + dt.timedelta(days=rng.randrange(60))
        closed_case(opened, opened + dt.timedelta(days=rng.randrange(400)))
    for count in (41, 40):
        rows = Case.objects.order_by("pk")[:count] if count == 40 else Case.objects.all()
        ids = list(rows.values_list("pk", flat=True))
        stays = DaysBetween(F("closed_on"), F("opened_on"))
        median, _ = medians(Case.objects.filter(pk__in=ids), stays)[None]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY closed_on - opened_on) FROM cases_case "
                "WHERE id = ANY(%s)",
                [ids],
            )
            (expected,) = cursor.fetchone()
        assert float(median) == float(expected)


# --- Parameters ---------------------------------------------------------------------------------------------


def test_parameters_default_to_the_twelve_months_ending_today(db):
    today = clinic_today()

    parsed = parse_params({})

    assert parsed == ReportParams(
        start=add_months(today, -12) + dt.timedelta(days=1), end=today, clinician=None
    )
    assert parse_params({"start": "", "end": " ", "clinician": ""}) == parsed


def test_parameters_are_read_as_given(staff):
    parsed = parse_params({"start": "2025-01-01", "end": "2025-03-31", "clinician": str(staff.ana.pk)})

    assert parsed == ReportParams(start=D(2025, 1, 1), end=D(2025, 3, 31), clinician=staff.ana)
    assert parsed.as_query() == {"start": "2025-01-01", "end": "2025-03-31", "clinician": str(staff.ana.pk)}
    assert parse_params({"end": "2024-02-29"}).start == D(2023, 3, 1)  # 28 Feb 2023 + 1 day
    assert parse_params({"start": "2025-03-01", "end": "2025-03-01"}).start == D(2025, 3, 1)  # one day


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2025-02-30"}, "start"),  # impossible
        ({"end": "2025-13-01"}, "end"),
        ({"start": "1/2/2025"}, "start"),  # malformed
        ({"end": "20250101"}, "end"),
        ({"start": "2025-01-01T00:00"}, "start"),
        ({"end": "1899-12-31"}, "end"),  # outside 1900-2999
        ({"start": "3000-01-01", "end": "3000-01-02"}, "start"),
        ({"start": "2025-03-02", "end": "2025-03-01"}, "start"),  # start after end
        ({"start": "2015-03-01", "end": "2025-03-01"}, "start"),  # more than ten years
        ({"clinician": "not-a-uuid"}, "clinician"),
        ({"clinician": "00000000-0000-0000-0000-000000000000"}, "clinician"),  # unknown
    ],
)
def test_bad_parameters_are_refused_naming_the_field(db, query, field):
    with pytest.raises(ValidationFailed) as refused:
        parse_params(query)

    assert field in refused.value.errors


def test_ten_years_is_the_longest_range(db):
    assert parse_params({"start": "2015-03-02", "end": "2025-03-01"}).start == D(2015, 3, 2)


def test_each_bad_parameter_is_named_at_once(db):
    with pytest.raises(ValidationFailed) as refused:
        parse_params({"start": "2025-02-30", "end": "nope", "clinician": "x"})

    assert set(refused.value.errors) == {"start", "end", "clinician"}


def test_the_clinician_must_be_a_clinician_or_supervisor(staff):
    for user in (staff.front_desk, staff.administrator):
        with pytest.raises(ValidationFailed) as refused:
            parse_params({"clinician": str(user.pk)})
        assert refused.value.errors == {"clinician": ["This user is not a clinician or supervisor."]}
    assert parse_params({"clinician": str(staff.supervisor.pk)}).clinician == staff.supervisor


def test_a_former_clinician_with_cases_can_still_be_reported_on(staff):
    episode(D(2024, 1, 1), primary=staff.ben)
    User.objects.filter(pk=staff.ben.pk).update(is_active=False)
    never_worked = UserFactory(is_active=False, roles=[Role.CLINICIAN])

    assert parse_params({"clinician": str(staff.ben.pk)}).clinician == staff.ben
    with pytest.raises(ValidationFailed):
        parse_params({"clinician": str(never_worked.pk)})


# --- Small-cell suppression and the CSV table --------------------------------------------------------------


def test_deidentify_turns_counts_of_1_to_10_into_less_than_11_and_keeps_0_and_11_up(staff):
    data = {
        "as_of": "2025-03-31",
        "open_by_stage": {"intake": 0, "assessment": 1, "treatment": 10, "recovery": 11},
        "open_by_clinician": [{"clinician": "x", "clinician_name": "Ana Alvarez", "open": 5}],
        "admissions": 11,
        "readmissions": 10,
        "discharges": 0,
        "discharges_by_reason": {reason: 3 if reason == "death" else 0 for reason in Reason.values},
    }

    assert deidentify("census", data) == {
        "as_of": "2025-03-31",
        "open_by_stage": {"intake": 0, "assessment": SMALL_CELL, "treatment": SMALL_CELL, "recovery": 11},
        "open_by_clinician": [{"clinician": "x", "clinician_name": "Ana Alvarez", "open": SMALL_CELL}],
        "admissions": 11,
        "readmissions": SMALL_CELL,
        "discharges": 0,
        "discharges_by_reason": {reason: SMALL_CELL if reason == "death" else 0 for reason in Reason.values},
    }
    assert data["readmissions"] == 10  # the report itself is left as it was


def test_deidentify_suppresses_rates_resting_on_a_small_numerator_or_denominator():
    data = {
        "cohort_size": 40,
        "days": [
            {"day": 30, "eligible": 40, "retained": 30, "rate": 0.75},  # shown
            {"day": 90, "eligible": 30, "retained": 3, "rate": 0.1},  # 3 = 0.1 x 30: suppressed
            {"day": 180, "eligible": 8, "retained": 8, "rate": 1.0},  # small group
        ],
        "median_length_of_stay_days": 45.0,
        "open_cases": 31,  # 9 closed: the median rests on 9 stays
    }

    assert deidentify("retention", data) == {
        "cohort_size": 40,
        "days": [
            {"day": 30, "eligible": 40, "retained": 30, "rate": 0.75},
            {"day": 90, "eligible": 30, "retained": SMALL_CELL, "rate": SUPPRESSED},
            {"day": 180, "eligible": SMALL_CELL, "retained": SMALL_CELL, "rate": SUPPRESSED},
        ],
        "median_length_of_stay_days": SUPPRESSED,
        "open_cases": 31,
    }


def test_deidentify_visits_and_outcomes(staff, visit_log, outcome_cohort):
    row = deidentify("visits", visits(staff.supervisor, params(*VISITS_RANGE)))["rows"][0]
    assert row == {"month": "2025-01", "visit_type": "intake", "scheduled": SMALL_CELL, "attended": SMALL_CELL,
                   "no_show": 0, "cancelled": SMALL_CELL, "late_cancel": 0, "attendance_rate": SUPPRESSED}  # fmt: skip

    report = deidentify("outcomes", outcomes(staff.supervisor, params(*OUTCOMES_RANGE)))
    assert report["instruments"][2] == instrument_row(
        "sows", SMALL_CELL, SUPPRESSED, SUPPRESSED, SUPPRESSED, improved=None, share=None
    )
    assert report["instruments"][3]["improved_share"] == SUPPRESSED
    assert report["mitragynine_negative_share"] == SUPPRESSED
    assert (report["mitragynine_screens"], report["mitragynine_negative"]) == (SMALL_CELL, SMALL_CELL)
    assert report["median_days_in_stage"] == {
        stage: SUPPRESSED for stage in ("intake", "assessment", "treatment", "recovery")
    }
    assert report["completed_stays"] == {
        stage: SMALL_CELL for stage in ("intake", "assessment", "treatment", "recovery")
    }
    assert report["remission"] == {"early": SMALL_CELL, "sustained": SMALL_CELL}


def test_deidentify_leaves_null_and_large_groups_alone():
    data = {"rows": [], "by_clinician": [
        {"clinician": "x", "clinician_name": "Ana", "scheduled": 40, "attended": 20, "no_show": 0, "cancelled": 20,
         "late_cancel": 0, "attendance_rate": 1.0},
        {"clinician": "y", "clinician_name": "Ben", "scheduled": 0, "attended": 0, "no_show": 0, "cancelled": 0,
         "late_cancel": 0, "attendance_rate": None},
    ]}  # fmt: skip

    assert deidentify("visits", data) == data


def figures(data: object, path: str = "") -> dict[str, object]:
    """Every leaf of a report, by its path."""
    if isinstance(data, dict):
        return {k: v for key, value in data.items() for k, v in figures(value, f"{path}/{key}").items()}
    if isinstance(data, list):
        return {k: v for i, value in enumerate(data) for k, v in figures(value, f"{path}/{i}").items()}
    return {path: data}


@pytest.mark.parametrize("deidentified", [False, True])
def test_the_csv_table_carries_every_figure_of_the_report(staff, census_cohort, visit_log, outcome_cohort,
                                                          retention_cohort, deidentified):  # fmt: skip
    ranges = {"census": CENSUS_RANGE, "retention": retention_range(), "visits": VISITS_RANGE,
              "outcomes": OUTCOMES_RANGE}  # fmt: skip
    for name, report in REPORTS.items():
        data = report(staff.supervisor, params(*ranges[name]))
        if deidentified:
            data = deidentify(name, data)
        rows = csv_rows(name, data)
        assert rows[0] == ["section", "group", "subgroup", "label", "measure", "value"]
        assert all(len(row) == 6 and all(isinstance(cell, str) for cell in row) for row in rows)
        values = [row[5] for row in rows[1:]]
        numbers = [value for key, value in figures(data).items() if not key.endswith(
            ("/clinician", "/clinician_name", "/month", "/visit_type", "/instrument", "/day"))]  # fmt: skip
        expected = ["" if value is None else str(value) for value in numbers]
        assert sorted(values) == sorted(expected), name


def test_the_csv_table_names_each_figure(staff, census_cohort):
    rows = csv_rows("census", census(staff.supervisor, params(*CENSUS_RANGE)))

    assert rows[1:5] == [
        ["summary", "", "", "", "as_of", "2025-03-31"],
        ["summary", "", "", "", "admissions", "4"],
        ["summary", "", "", "", "readmissions", "2"],
        ["summary", "", "", "", "discharges", "2"],
    ]
    assert ["open_by_stage", "recovery", "", "Long-term recovery", "open", "1"] in rows
    assert ["open_by_clinician", str(staff.ana.pk), "", "Ana Alvarez", "open", "2"] in rows
    assert ["open_by_clinician", "", "", "Unassigned", "open", "1"] in rows
    assert ["discharges_by_reason", "transferred", "", "Transferred to another program or level of care",
            "discharges", "1"] in rows  # fmt: skip


def test_a_clinician_name_that_looks_like_a_formula_is_defused_in_the_csv(staff):
    staff.ana.first_name, staff.ana.last_name = "=HYPERLINK(1)", ""
    staff.ana.save()
    episode(D(2025, 1, 1), primary=staff.ana)

    rows = csv_rows("census", census(staff.supervisor, params(*CENSUS_RANGE)))

    assert ["open_by_clinician", str(staff.ana.pk), "", "'=HYPERLINK(1)", "open", "1"] in rows


# --- Reports hold no identifiers, and run a fixed number of queries -------------------------------------------


def test_no_report_holds_a_patients_name_mrn_or_date_of_birth(
    staff, census_cohort, visit_log, outcome_cohort
):
    for n, patient in enumerate(Patient.objects.all()):  # names no staff member shares
        patient.first_name, patient.last_name = f"Quilla{n}", f"Zephyrine{n}"
        patient.date_of_birth = D(1961, 7, 1) + dt.timedelta(days=n)
        patient.save()
    for name, report in REPORTS.items():
        text = repr(report(staff.supervisor, params(D(2015, 1, 1), D(2025, 12, 31))))
        for patient in Patient.objects.all():
            for identifier in (patient.first_name, patient.last_name, patient.mrn, patient.date_of_birth.isoformat(),
                               str(patient.pk)):  # fmt: skip
                assert identifier not in text, (name, identifier)


def count_queries(run) -> int:
    with CaptureQueriesContext(connection) as queries:
        run()
    return len(queries)


@pytest.mark.parametrize("name", list(REPORTS))
def test_each_report_runs_the_same_few_queries_whatever_the_data_size(staff, name):
    def run() -> int:
        user = User.objects.get(pk=staff.supervisor.pk)  # as a request reads it: its roles not yet looked up
        return count_queries(lambda: REPORTS[name](user, params(D(2024, 1, 1), D(2025, 12, 31))))

    empty = run()
    for n in range(6):
        case = episode(
            D(2025, 1, 1 + n),
            (Stage.ASSESSMENT, D(2025, 1, 10)),
            (Stage.RECOVERY, D(2025, 2, 1 + n)),
            primary=staff.ana if n % 2 else staff.ben,
        )
        visit(case, staff.ana, local(D(2025, 2, 1 + n)), Status.ATTENDED, Type.INDIVIDUAL_COUNSELING)
        score(case, "phq9", D(2025, 1, 2), total=20, by=staff.ana)
        score(case, "phq9", D(2025, 3, 2), total=5, by=staff.ana)
        score(case, "dsm5_sud", D(2025, 1, 5), responses=MET, by=staff.ana)
        screen(case, D(2025, 3, 1), "negative", by=staff.ana)
    busy = run()

    assert busy == empty == QUERIES[name] + SETUP_QUERIES + 1  # + the user's roles, looked up once


def test_the_report_scope_is_the_policys(staff, census_cohort, visit_log):
    """`cases.reports.scope` writes the whole clinic's scope as an anti-join; it must select what the policy does."""
    from cases.reports.scope import on_report_cases, report_cases, report_visits
    from clinic.policy import Capability, cases_in_scope, visits_in_scope

    everyone = params(*CENSUS_RANGE)
    for user in (staff.supervisor, staff.administrator, staff.ana, staff.ben, staff.front_desk):
        policy_cases = set(cases_in_scope(user, Capability.REPORTS).values_list("pk", flat=True))
        policy_visits = set(visits_in_scope(user, Capability.REPORTS).values_list("pk", flat=True))
        assert set(report_cases(user, everyone).values_list("pk", flat=True)) == policy_cases
        assert (
            set(on_report_cases(Visit.objects.all(), user, everyone).values_list("pk", flat=True))
            == policy_visits
        )
        assert set(report_visits(user, everyone).values_list("pk", flat=True)) == policy_visits
    assert Case.objects.filter(patient__entered_in_error=True).exists()  # the cohorts hold one to leave out


def test_a_stage_at_a_moment_still_to_come_is_the_current_stage(staff):
    """`stage_at` reads the `stage` column for a moment after now (stage changes are never future-dated); it
    agrees with the history read up to now, for cases moved through the workflow."""
    from django.utils import timezone

    from cases.reports.expressions import stage_at
    from tests.factories import case_in_stage

    for stage in Stage.values:
        case_in_stage(stage, actor=staff.supervisor, primary_clinician=staff.ana)
    tomorrow = timezone.now() + dt.timedelta(days=1)

    from_history = dict(Case.objects.annotate(then=stage_at(timezone.now())).values_list("pk", "then"))
    from_column = dict(Case.objects.annotate(then=stage_at(tomorrow)).values_list("pk", "then"))

    assert from_history == from_column == dict(Case.objects.values_list("pk", "stage"))
    assert sorted(from_column.values()) == sorted(Stage.values)


@pytest.mark.parametrize("code", ["dsm5_sud", "cows", "phq9", "gad7"])
def test_bands_are_contiguous_ranges_from_the_best_so_a_lower_band_is_a_lower_total(code):
    """`improved_share` compares totals with the first band's lowest total; that is "a better band" only while
    each instrument's bands cover its totals in order, without gaps."""
    from cases.instruments import INSTRUMENTS

    bands = INSTRUMENTS[code].bands
    assert bands[0].low == 0
    assert all(later.low == earlier.high + 1 for earlier, later in itertools.pairwise(bands))
    assert bands[-1].high == INSTRUMENTS[code].max_total
