"""The DSM-5 remission specifier (SPEC section 4), from a case's dated checklists."""

import datetime as dt
import zoneinfo

import pytest

from cases.measures import add_months, criteria_met_other_than_craving, remission_specifier
from cases.models import Case
from cases.selectors import case_remission, cases_visible_to
from cases.services.clinical import assessment_mark_entered_in_error
from tests.factories import CaseFactory, Dsm5ChecklistFactory, case_in_stage, responses_totalling

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
D = dt.date(2025, 1, 15)  # the last checklist on which a criterion other than craving was met


def checklist(**met: bool) -> dict[str, bool]:
    """A complete DSM-5 checklist meeting the named criteria (and the supervision box if named)."""
    return responses_totalling("dsm5_sud", 0) | met


MET = checklist(cut_down=True, tolerance=True, withdrawal=True, craving=True)
CRAVING_ONLY = checklist(craving=True)
NONE_MET = checklist()


# --- Which checklists count as meeting a criterion ---


@pytest.mark.parametrize(
    ("responses", "expected"),
    [
        (NONE_MET, False),
        (CRAVING_ONLY, False),
        (checklist(hazardous_use=True), True),
        (checklist(craving=True, larger_longer=True), True),
        (checklist(tolerance=True), True),
        (checklist(withdrawal=True), True),
        (checklist(tolerance=True, under_medical_supervision=True), False),
        (checklist(tolerance=True, withdrawal=True, craving=True, under_medical_supervision=True), False),
        (checklist(withdrawal=True, time_spent=True, under_medical_supervision=True), True),
        (checklist(under_medical_supervision=True), False),
    ],
)
def test_a_checklist_meets_a_criterion_other_than_craving(responses, expected):
    assert criteria_met_other_than_craving(responses) is expected


# --- The specifier at each boundary (add_months-based: 3.0 months after D is add_months(D, 3)) ---


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (D, None),
        (add_months(D, 3) - dt.timedelta(days=1), None),  # 2.9 months
        (add_months(D, 3), "early"),  # 3.0 months
        (add_months(D, 12) - dt.timedelta(days=1), "early"),  # 11.9 months
        (add_months(D, 12), "sustained"),  # 12.0 months
        (add_months(D, 60), "sustained"),
    ],
)
def test_remission_is_early_from_three_months_and_sustained_from_twelve(as_of, expected):
    assert remission_specifier([(D, MET)], as_of) == expected


def test_months_are_calendar_months_clamped_to_the_months_end():
    last_met = dt.date(2025, 11, 30)  # three months later is 28 February 2026

    assert remission_specifier([(last_met, MET)], dt.date(2026, 2, 27)) is None
    assert remission_specifier([(last_met, MET)], dt.date(2026, 2, 28)) == "early"


def test_craving_alone_on_later_checklists_does_not_break_remission():
    dated = [(D, MET), (add_months(D, 2), CRAVING_ONLY), (add_months(D, 6), CRAVING_ONLY)]

    assert remission_specifier(dated, add_months(D, 12)) == "sustained"


def test_a_later_checklist_meeting_another_criterion_resets_the_clock():
    relapse = add_months(D, 10)
    dated = [(D, MET), (add_months(D, 4), NONE_MET), (relapse, checklist(role_failure=True))]

    assert remission_specifier(dated, add_months(D, 12)) is None
    assert remission_specifier(dated, add_months(relapse, 3)) == "early"


def test_the_order_the_checklists_come_in_does_not_matter():
    dated = [(add_months(D, 10), checklist(role_failure=True)), (D, MET)]

    assert remission_specifier(dated, add_months(D, 12)) is None


def test_medically_supervised_tolerance_and_withdrawal_do_not_reset_the_clock():
    supervised = checklist(tolerance=True, withdrawal=True, under_medical_supervision=True)
    dated = [(D, MET), (add_months(D, 11), supervised)]

    assert remission_specifier(dated, add_months(D, 12)) == "sustained"


def test_unsupervised_tolerance_on_a_later_checklist_resets_the_clock():
    dated = [(D, MET), (add_months(D, 11), checklist(tolerance=True))]

    assert remission_specifier(dated, add_months(D, 12)) is None


@pytest.mark.parametrize(
    "dated", [[], [(D, CRAVING_ONLY)], [(D, NONE_MET), (add_months(D, 1), CRAVING_ONLY)]]
)
def test_no_remission_without_a_checklist_that_met_a_criterion(dated):
    assert remission_specifier(dated, add_months(D, 24)) is None


# --- On a case: `case_remission` ---


def noon_in_chicago(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=CHICAGO)


@pytest.fixture
def recovery_case(db):
    """A case in long-term recovery (the stage only; its checklists are added by each test)."""
    return CaseFactory(stage=Case.Stage.RECOVERY, opened_on=D - dt.timedelta(days=60))


def test_a_case_in_recovery_shows_early_remission_three_months_after_its_last_met_checklist(recovery_case):
    Dsm5ChecklistFactory(case=recovery_case, administered_at=noon_in_chicago(D), responses=MET)

    assert case_remission(recovery_case, as_of=add_months(D, 3)) == "early"


def test_a_case_in_recovery_shows_sustained_remission_after_twelve_months(recovery_case):
    Dsm5ChecklistFactory(case=recovery_case, administered_at=noon_in_chicago(D), responses=MET)
    Dsm5ChecklistFactory(
        case=recovery_case, administered_at=noon_in_chicago(add_months(D, 5)), responses=CRAVING_ONLY, total=1
    )

    assert case_remission(recovery_case, as_of=add_months(D, 12)) == "sustained"


def test_a_checklist_entered_in_error_does_not_reset_the_clock(recovery_case, clinician):
    Dsm5ChecklistFactory(case=recovery_case, administered_at=noon_in_chicago(D), responses=MET)
    mistaken = Dsm5ChecklistFactory(
        case=recovery_case, administered_at=noon_in_chicago(add_months(D, 11)), responses=MET
    )
    assessment_mark_entered_in_error(assessment=mistaken, actor=clinician, reason="Wrong patient's form")

    assert case_remission(recovery_case, as_of=add_months(D, 12)) == "sustained"


def test_the_checklist_date_is_the_clinics_local_date(recovery_case):
    # 03:00 UTC on 16 January is 21:00 on 15 January in Chicago: D is the 15th.
    Dsm5ChecklistFactory(
        case=recovery_case, administered_at=dt.datetime(2025, 1, 16, 3, 0, tzinfo=dt.UTC), responses=MET
    )

    assert case_remission(recovery_case, as_of=dt.date(2025, 4, 15)) == "early"


def test_the_prefetched_checklists_give_the_same_specifier(recovery_case, supervisor):
    Dsm5ChecklistFactory(case=recovery_case, administered_at=noon_in_chicago(D), responses=MET)
    Dsm5ChecklistFactory(
        case=recovery_case,
        administered_at=noon_in_chicago(add_months(D, 10)),
        responses=checklist(cut_down=True),
    )
    prefetched = cases_visible_to(supervisor).get(pk=recovery_case.pk)

    assert case_remission(prefetched, as_of=add_months(D, 12)) is None
    assert case_remission(prefetched, as_of=add_months(D, 13)) == "early"


@pytest.mark.parametrize(
    "stage", [Case.Stage.INTAKE, Case.Stage.ASSESSMENT, Case.Stage.TREATMENT, Case.Stage.DISCHARGED]
)
def test_a_case_not_in_recovery_has_no_remission_specifier(stage, clinician):
    case = case_in_stage(stage, actor=clinician)
    Dsm5ChecklistFactory(
        case=case, administered_at=noon_in_chicago(case.opened_on), responses=MET, by=clinician
    )

    assert case_remission(case, as_of=add_months(case.opened_on, 24)) is None


def test_a_case_in_recovery_with_no_checklist_has_no_remission_specifier(recovery_case):
    assert case_remission(recovery_case, as_of=add_months(D, 24)) is None
