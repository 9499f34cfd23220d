"""Derived clinical values (SPEC section 3.5): blood pressure class, liver injury pattern, Hy's law, month sums."""

import datetime as dt
from decimal import Decimal

import pytest

from cases.measures import (
    BloodPressureClass,
    add_months,
    blood_pressure_class,
    hys_law,
    liver_injury_pattern,
    r_ratio,
)

# --- Blood pressure, ACC/AHA 2017 ---


@pytest.mark.parametrize(
    ("systolic", "diastolic", "expected"),
    [
        (90, 60, "normal"),
        (119, 79, "normal"),
        (120, 79, "elevated"),
        (129, 79, "elevated"),
        (130, 79, "stage_1"),
        (120, 80, "stage_1"),
        (139, 89, "stage_1"),
        (119, 80, "stage_1"),
        (140, 70, "stage_2"),
        (139, 90, "stage_2"),
        (110, 90, "stage_2"),
        (180, 110, "stage_2"),
        (180, 120, "stage_2"),
        (120, 120, "stage_2"),
        (181, 80, "crisis"),
        (150, 121, "crisis"),
        (120, 121, "crisis"),
    ],
)
def test_blood_pressure_is_classed_at_each_acc_aha_threshold(systolic, diastolic, expected):
    assert blood_pressure_class(systolic, diastolic).code == expected


@pytest.mark.parametrize(
    ("systolic", "diastolic", "expected"),
    [
        (118, 92, "stage_2"),  # normal systolic, stage 2 diastolic
        (125, 85, "stage_1"),  # elevated systolic, stage 1 diastolic
        (145, 75, "stage_2"),  # stage 2 systolic, normal diastolic
        (135, 95, "stage_2"),  # stage 1 systolic, stage 2 diastolic
        (200, 85, "crisis"),  # crisis systolic, stage 1 diastolic
        (100, 125, "crisis"),  # normal systolic, crisis diastolic
    ],
)
def test_when_the_two_numbers_differ_in_class_the_higher_class_holds(systolic, diastolic, expected):
    assert blood_pressure_class(systolic, diastolic).code == expected


@pytest.mark.parametrize(("systolic", "diastolic"), [(None, 80), (120, None), (None, None)])
def test_blood_pressure_has_no_class_when_a_number_is_missing(systolic, diastolic):
    assert blood_pressure_class(systolic, diastolic) is None


def test_blood_pressure_classes_are_ordered_from_normal_to_crisis():
    assert sorted(BloodPressureClass, reverse=True)[0] is BloodPressureClass.CRISIS
    assert [c.code for c in sorted(BloodPressureClass)] == [
        "normal",
        "elevated",
        "stage_1",
        "stage_2",
        "crisis",
    ]


# --- Liver panel: R ratio and injury pattern ---


def ratio(alt: str, alt_uln: str, alp: str, alp_uln: str) -> Decimal | None:
    return r_ratio(alt=Decimal(alt), alt_uln=Decimal(alt_uln), alp=Decimal(alp), alp_uln=Decimal(alp_uln))


@pytest.mark.parametrize(
    ("alt", "alt_uln", "alp", "alp_uln", "r", "pattern"),
    [
        ("200", "40", "120", "120", Decimal("5.00"), "hepatocellular"),  # exactly 5
        ("400", "40", "120", "120", Decimal("10.00"), "hepatocellular"),
        ("199.6", "40", "120", "120", Decimal("4.99"), "mixed"),
        ("140", "40", "120", "120", Decimal("3.50"), "mixed"),
        ("80.4", "40", "120", "120", Decimal("2.01"), "mixed"),
        ("80", "40", "120", "120", Decimal("2.00"), "cholestatic"),  # exactly 2
        ("80", "40", "240", "120", Decimal("1.00"), "cholestatic"),
        ("40", "40", "360", "120", Decimal("0.33"), "cholestatic"),
    ],
)
def test_r_ratio_classes_the_liver_injury_pattern(alt, alt_uln, alp, alp_uln, r, pattern):
    value = ratio(alt, alt_uln, alp, alp_uln)

    assert value == r
    assert liver_injury_pattern(value) == pattern


def test_r_ratio_uses_each_tests_own_upper_limit():
    # ALT 3 x ULN over ALP 0.5 x ULN: R = 6, though the raw ALT / ALP quotient is 0.5.
    assert ratio("105", "35", "60", "120") == Decimal("6.00")


def test_r_ratio_is_undefined_when_alkaline_phosphatase_is_zero():
    assert ratio("200", "40", "0", "120") is None


def test_an_undefined_r_ratio_has_no_pattern():
    assert liver_injury_pattern(None) is None


# --- Hy's law: ALT or AST >= 3 x ULN with total bilirubin > 2 x ULN ---


def hy(alt: str = "30", ast: str = "30", bilirubin: str = "0.8") -> bool:
    return hys_law(
        alt=Decimal(alt),
        alt_uln=Decimal("40"),
        ast=Decimal(ast),
        ast_uln=Decimal("40"),
        bilirubin=Decimal(bilirubin),
        bilirubin_uln=Decimal("1.2"),
    )


@pytest.mark.parametrize(
    ("alt", "ast", "bilirubin", "expected"),
    [
        ("120", "30", "2.41", True),  # ALT exactly 3 x ULN, bilirubin just above 2 x ULN
        ("30", "120", "2.41", True),  # AST exactly 3 x ULN
        ("400", "400", "6.0", True),
        ("120", "30", "2.40", False),  # bilirubin exactly 2 x ULN
        ("119.9", "30", "2.41", False),  # ALT just below 3 x ULN
        ("30", "119.9", "2.41", False),  # AST just below 3 x ULN
        ("400", "400", "1.0", False),  # transaminases alone
        ("30", "30", "6.0", False),  # bilirubin alone
    ],
)
def test_hys_law_needs_a_transaminase_at_three_times_and_bilirubin_above_twice_the_limit(
    alt, ast, bilirubin, expected
):
    assert hy(alt, ast, bilirubin) is expected


# --- Calendar months ---


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2025, 1, 15), 3, dt.date(2025, 4, 15)),
        (dt.date(2025, 1, 15), 12, dt.date(2026, 1, 15)),
        (dt.date(2025, 11, 30), 3, dt.date(2026, 2, 28)),
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),  # leap year
        (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)),
        (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
        (dt.date(2025, 12, 31), 1, dt.date(2026, 1, 31)),
        (dt.date(2025, 5, 31), 0, dt.date(2025, 5, 31)),
    ],
)
def test_add_months_lands_on_the_same_day_clamped_to_the_months_end(day, months, expected):
    assert add_months(day, months) == expected
