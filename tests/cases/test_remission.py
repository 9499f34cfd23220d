"""DSM-5-TR remission (SPEC section 4, cases/remission.py): E, D and C from a case's dated checklists, calendar
months between D and C counted in the database, the suggested ICD-10-CM code, and what questions a remission."""

import datetime as dt

import pytest
from django.db.models import DateField, Value

from cases.measures import add_months
from cases.models import Case, DrugScreen
from cases.remission import (
    calendar_months,
    case_with_remission,
    diagnosis_code,
    remission_questioned_by,
    with_remission,
)
from tests.factories import VisitFactory
from tests.report_builders import CRAVING_ONLY, MET, checklist, episode, local, score

D = dt.date(2025, 1, 15)
NONE_MET = checklist()
RECOVERED = ((Case.Stage.ASSESSMENT, dt.date(2024, 1, 5)), (Case.Stage.TREATMENT, dt.date(2024, 2, 1)),
             (Case.Stage.RECOVERY, dt.date(2024, 12, 1)))  # fmt: skip
AS_OF = dt.date(2027, 6, 1)


@pytest.fixture
def case(clinician):
    return episode(dt.date(2024, 1, 1), *RECOVERED, primary=clinician)


def checklists(case, *dated, by, error_on=None):
    for day, responses in dated:
        score(case, "dsm5_sud", day, responses=responses, by=by, entered_in_error=day == error_on)


def remission(case, as_of=AS_OF):
    found = case_with_remission(case, as_of)
    return found.remission, found.remission_assessed_on


# --- Calendar months, in the database, as adding months to a date counts them ---

EDGE_DAYS = [
    dt.date(2025, 1, 15), dt.date(2025, 1, 31), dt.date(2024, 11, 30), dt.date(2024, 12, 31),
    dt.date(2024, 2, 29), dt.date(2023, 2, 28), dt.date(2025, 3, 31), dt.date(2025, 8, 31), dt.date(2025, 5, 1),
    dt.date(2100, 2, 28),  # 2100 is no leap year
]  # fmt: skip


@pytest.mark.parametrize("earlier", EDGE_DAYS)
@pytest.mark.parametrize("months", [3, 12])
def test_calendar_months_in_sql_reach_n_exactly_where_add_months_does(db, earlier, months):
    reached = add_months(earlier, months)
    later_days = [reached + dt.timedelta(days=shift) for shift in range(-3, 4)]
    # and the month ends around it (30 November + 3 months is 28 February: the 27th falls short)
    later_days += [add_months(earlier.replace(day=1), months + k) - dt.timedelta(days=1) for k in (0, 1, 2)]
    expressions = {
        f"m{n}": calendar_months(Value(earlier, DateField()), Value(later, DateField()))
        for n, later in enumerate(later_days)
    }
    episode(dt.date(2024, 1, 1))  # a row to evaluate them on
    found = Case.objects.annotate(**expressions).values(*expressions).get()

    for n, later in enumerate(later_days):
        assert (found[f"m{n}"] >= months) is (reached <= later), (earlier, later, found[f"m{n}"])


# --- The vectors ---


def test_a_single_moderate_checklist_followed_by_nothing_is_no_remission(case, clinician):
    checklists(case, (D, MET), by=clinician)

    assert remission(case) == (None, None)


def test_only_hazardous_use_ever_met_is_no_diagnosis_so_no_remission(case, clinician):
    checklists(case, (D, checklist(hazardous_use=True)), (add_months(D, 13), NONE_MET), by=clinician)
    found = case_with_remission(case, AS_OF)

    assert (found.remission, found.remission_assessed_on, found.dsm5_severity) == (None, None, None)


# --- Early from 3 calendar months between D and C, sustained from 12 ---


@pytest.mark.parametrize(
    ("last_met", "assessed", "expected"),
    [
        (D, D, None),
        (D, add_months(D, 3) - dt.timedelta(days=1), None),
        (D, add_months(D, 3), "early"),  # exactly 3 months
        (D, add_months(D, 12) - dt.timedelta(days=1), "early"),
        (D, add_months(D, 12), "sustained"),  # exactly 12 months
        (D, add_months(D, 28), "sustained"),
        (dt.date(2024, 11, 30), dt.date(2025, 2, 27), None),
        (dt.date(2024, 11, 30), dt.date(2025, 2, 28), "early"),  # the 30th + 3 months: February's last day
        (dt.date(2025, 3, 31), dt.date(2025, 6, 29), None),
        (dt.date(2025, 3, 31), dt.date(2025, 6, 30), "early"),
        (dt.date(2024, 2, 29), dt.date(2025, 2, 27), "early"),
        (dt.date(2024, 2, 29), dt.date(2025, 2, 28), "sustained"),
        (dt.date(2024, 12, 31), dt.date(2025, 12, 30), "early"),
        (dt.date(2024, 12, 31), dt.date(2025, 12, 31), "sustained"),
    ],
)
def test_remission_is_the_calendar_months_from_d_to_c(case, clinician, last_met, assessed, expected):
    checklists(case, (last_met, MET), (assessed, NONE_MET), by=clinician)

    assert remission(case) == (expected, assessed if expected else None)


def test_craving_alone_on_c_still_counts_as_meeting_no_other_criterion(case, clinician):
    checklists(
        case, (D, MET), (add_months(D, 2), CRAVING_ONLY), (add_months(D, 12), CRAVING_ONLY), by=clinician
    )

    assert remission(case) == ("sustained", add_months(D, 12))


def test_c_is_the_latest_checklist_after_d(case, clinician):
    checklists(case, (D, MET), (add_months(D, 4), NONE_MET), (add_months(D, 13), NONE_MET), by=clinician)

    assert remission(case) == ("sustained", add_months(D, 13))


def test_a_later_checklist_meeting_another_criterion_is_the_new_d(case, clinician):
    relapse = add_months(D, 10)
    checklists(
        case, (D, MET), (add_months(D, 4), NONE_MET), (relapse, checklist(role_failure=True)),
        (add_months(D, 12), NONE_MET), by=clinician,
    )  # fmt: skip

    assert remission(case) == (None, None)
    checklists(case, (add_months(relapse, 3), NONE_MET), by=clinician)
    assert remission(case) == ("early", add_months(relapse, 3))


def test_a_later_diagnosis_is_the_new_e(case, clinician):
    again = add_months(D, 8)
    checklists(case, (D, MET), (add_months(D, 6), NONE_MET), (again, MET), (add_months(again, 3), NONE_MET),
               by=clinician)  # fmt: skip

    assert remission(case) == ("early", add_months(again, 3))


def test_a_checklist_entered_in_error_counts_for_nothing(case, clinician):
    mistaken = add_months(D, 6)
    checklists(
        case, (D, MET), (mistaken, MET), (add_months(D, 12), NONE_MET), by=clinician, error_on=mistaken
    )

    assert remission(case) == ("sustained", add_months(D, 12))


def test_the_dates_are_the_clinics_local_dates(case, clinician):
    # 03:00 UTC on 16 January is 21:00 on 15 January in Chicago: D is the 15th, and 15 April is 3 months on.
    checklists(case, (dt.datetime(2025, 1, 16, 3, 0, tzinfo=dt.UTC), MET), (D.replace(month=4), NONE_MET),
               by=clinician)  # fmt: skip

    assert remission(case) == ("early", D.replace(month=4))


def test_remission_as_of_a_day_reads_only_the_checklists_up_to_it(case, clinician):
    checklists(case, (D, MET), (add_months(D, 12), NONE_MET), by=clinician)

    assert remission(case, as_of=add_months(D, 12) - dt.timedelta(days=1)) == (None, None)
    assert remission(case, as_of=add_months(D, 12)) == ("sustained", add_months(D, 12))


def test_elapsed_time_alone_never_makes_a_remission(case, clinician):
    checklists(case, (D, MET), (add_months(D, 1), NONE_MET), by=clinician)

    assert remission(case, as_of=add_months(D, 60)) == (None, None)


@pytest.mark.parametrize("stage", [Case.Stage.TREATMENT, Case.Stage.DISCHARGED])
def test_the_stage_does_not_decide_it_the_checklists_do(clinician, stage):
    moves = [*RECOVERED[:2], (stage, dt.date(2025, 6, 1))] if stage != Case.Stage.TREATMENT else RECOVERED[:2]
    case = episode(dt.date(2024, 1, 1), *moves, primary=clinician)
    checklists(case, (D, MET), (add_months(D, 3), NONE_MET), by=clinician)

    assert remission(case) == ("early", add_months(D, 3))


# --- ICD-10-CM: the severity of the checklist that established the diagnosis (E) ---


@pytest.mark.parametrize(
    ("severity", "remission_", "code"),
    [
        ("mild", None, "F19.10"), ("moderate", None, "F19.20"), ("severe", None, "F19.20"),
        ("mild", "early", "F19.11"), ("mild", "sustained", "F19.11"),
        ("moderate", "early", "F19.21"), ("severe", "sustained", "F19.21"),
        ("none", None, None), (None, None, None), (None, "early", None),
    ],
)  # fmt: skip
def test_the_suggested_code_follows_the_establishing_severity_and_the_remission(severity, remission_, code):
    assert diagnosis_code(severity, remission_) == code


def test_the_establishing_checklist_is_the_latest_meeting_two_criteria(case, clinician):
    severe = checklist(**{c: True for c in ("larger_longer", "cut_down", "time_spent", "craving", "tolerance",
                                             "withdrawal")})  # fmt: skip
    mild = checklist(cut_down=True, tolerance=True)
    checklists(case, (D, severe), (add_months(D, 1), mild), (add_months(D, 5), NONE_MET), by=clinician)
    found = case_with_remission(case, AS_OF)

    assert (found.dsm5_severity, found.remission) == ("mild", "early")
    assert diagnosis_code(found.dsm5_severity, found.remission) == "F19.11"


# --- What questions a remission: a record on or after C ---


def positive(case, on, by, **results):
    return DrugScreen.objects.create(case=case, collected_on=on, created_by=by, **results)


@pytest.fixture
def in_remission(case, clinician):
    checklists(case, (D, MET), (add_months(D, 4), NONE_MET), by=clinician)
    return case


C = add_months(D, 4)


@pytest.mark.parametrize("analyte", ["mitragynine", "seven_oh_mitragynine", "opioids", "fentanyl"])
def test_a_screen_positive_on_or_after_c_questions_the_remission(in_remission, clinician, analyte):
    screen = positive(in_remission, C, clinician, **{analyte: "positive"})

    assert remission_questioned_by(case_with_remission(in_remission, AS_OF)) == {
        "type": "drug_screen", "id": str(screen.pk), "on": C.isoformat(),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("on", "results"),
    [
        (C - dt.timedelta(days=1), {"fentanyl": "positive"}),  # before C
        (C, {"buprenorphine": "positive", "mitragynine": "negative", "fentanyl": "not_tested"}),
        (C, {"cannabinoids": "positive"}),
    ],
)
def test_other_screens_do_not_question_it(in_remission, clinician, on, results):
    positive(in_remission, on, clinician, **results)

    assert remission_questioned_by(case_with_remission(in_remission, AS_OF)) is None


def test_a_visit_reporting_current_kratom_use_questions_it_and_the_latest_record_is_named(
    in_remission, clinician
):
    positive(in_remission, C + dt.timedelta(days=5), clinician, opioids="positive")
    VisitFactory(case=in_remission, scheduled_at=local(C + dt.timedelta(days=3)), kratom_daily_grams=0)
    used = VisitFactory(
        case=in_remission, scheduled_at=local(C + dt.timedelta(days=9), 21), kratom_daily_grams=4
    )
    found = case_with_remission(in_remission, AS_OF)

    assert remission_questioned_by(found) == {
        "type": "visit", "id": str(used.pk), "on": (C + dt.timedelta(days=9)).isoformat(),
    }  # fmt: skip


def test_no_remission_nothing_to_question(case, clinician):
    checklists(case, (D, MET), by=clinician)
    positive(case, C, clinician, fentanyl="positive")

    assert remission_questioned_by(case_with_remission(case, AS_OF)) is None


# --- The annotations, built and compiled once per day, in any queryset of cases ---


def test_the_annotations_compiled_once_read_each_queryset_afresh(case, clinician):
    other = episode(dt.date(2024, 1, 1), *RECOVERED, primary=clinician)
    checklists(case, (D, MET), (add_months(D, 4), NONE_MET), by=clinician)
    checklists(other, (D, MET), (add_months(D, 13), NONE_MET), by=clinician)
    annotated = with_remission(Case.objects.order_by("opened_on", "id"), AS_OF)

    assert {c.pk: c.remission for c in annotated} == {case.pk: "early", other.pk: "sustained"}
    assert list(
        with_remission(Case.objects.filter(pk=other.pk), AS_OF).values_list("remission", flat=True)
    ) == ["sustained"]
    # Filtered on, and inside a subquery (its tables renamed): compiled again for that query.
    early = with_remission(Case.objects.all(), AS_OF).filter(remission="early")
    assert list(early.values_list("pk", flat=True)) == [case.pk]
    assert list(Case.objects.filter(pk__in=early.values("pk")).values_list("pk", flat=True)) == [case.pk]
    # Another day, other annotations: before the other case's C, no remission.
    assert with_remission(Case.objects.filter(pk=other.pk), add_months(D, 5)).get().remission is None
    assert with_remission(Case.objects.filter(pk=other.pk), AS_OF).get().remission == "sustained"
