"""Derived clinical values (SPEC section 3.5): blood pressure class, liver injury pattern, Hy's law, month sums."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace

import pytest

from cases.measures import (
    BloodPressureClass,
    add_months,
    blood_pressure_class,
    liver_findings,
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


# --- Liver panel (SPEC 3.5; Aithal et al. 2011; FDA 2009): from the exact values ---


def panel(**values: str) -> SimpleNamespace:
    """ULN: ALT 40, AST 40, ALP 120, bilirubin 1.2; normal values unless given."""
    normal = {
        "alt": "30", "alt_uln": "40", "ast": "28", "ast_uln": "40", "alp": "90", "alp_uln": "120",
        "total_bilirubin": "0.8", "total_bilirubin_uln": "1.2",
    }  # fmt: skip
    return SimpleNamespace(**{name: Decimal(value) for name, value in (normal | values).items()})


def found(**values: str):
    return liver_findings(panel(**values))


def test_a_normal_panel_meets_no_criteria_and_shows_no_pattern():
    normal = found()

    assert (normal.meets_dili_criteria, normal.pattern, normal.hys_law) == (False, None, False)
    assert normal.r_ratio == Decimal("1.00")  # R is still given; the pattern is not


def test_the_cholestatic_kratom_pattern_meets_the_criteria():
    # Issue 11: ALT 80/40, AST 60/40, ALP 480/120, bilirubin 2.2/1.2.
    injury = found(alt="80", ast="60", alp="480", total_bilirubin="2.2")

    assert (injury.meets_dili_criteria, injury.pattern, injury.hys_law) == (True, "cholestatic", False)
    assert injury.r_ratio == Decimal("0.50")


def test_potential_hys_law_needs_alp_below_twice_its_limit():
    # Issue 11: ALT 800/40, bilirubin 4.0/1.2, ALP 150/120 is potential Hy's law; with ALP 600/120 it is not.
    assert found(alt="800", total_bilirubin="4.0", alp="150").hys_law is True
    cholestatic = found(alt="120", alp="600", total_bilirubin="3.0")
    assert (cholestatic.hys_law, cholestatic.meets_dili_criteria, cholestatic.pattern) == (
        False,
        True,
        "cholestatic",
    )


def test_r_is_classified_unrounded():
    # Issue 11: ALT 199.9/40, ALP 120/120: R = 4.9975, shown as 5.00 but mixed, not hepatocellular.
    near = found(alt="199.9", alp="120", total_bilirubin="3.0")

    assert near.r == Fraction(49975, 10000)
    assert (near.r_ratio, near.pattern) == (Decimal("5.00"), "mixed")


@pytest.mark.parametrize(
    ("values", "pattern"),
    [
        ({"alt": "200", "alp": "120"}, "hepatocellular"),  # ALT exactly 5 x ULN, R exactly 5
        ({"alt": "199.9", "alp": "120", "total_bilirubin": "2.5"}, "mixed"),  # R 4.9975
        ({"alt": "120", "alp": "180", "total_bilirubin": "2.5"}, "cholestatic"),  # R exactly 2
        ({"alt": "120.1", "alp": "180", "total_bilirubin": "2.5"}, "mixed"),  # R 2.0017
    ],
)
def test_r_at_exactly_2_and_5(values, pattern):
    assert found(**values).pattern == pattern


@pytest.mark.parametrize(
    ("values", "meets"),
    [
        ({"alt": "200"}, True),  # ALT exactly 5 x ULN
        ({"alt": "199.9"}, False),
        ({"alp": "240"}, True),  # ALP exactly 2 x ULN
        ({"alp": "239.9"}, False),
        ({"alt": "120", "total_bilirubin": "2.41"}, True),  # ALT exactly 3 x ULN with bilirubin above 2 x ULN
        ({"alt": "120", "total_bilirubin": "2.40"}, False),  # bilirubin exactly 2 x ULN
        ({"alt": "119.9", "total_bilirubin": "2.41", "alp": "250"}, True),  # by ALP
        ({"alt": "119.9", "total_bilirubin": "2.41"}, False),
        ({"ast": "400"}, False),  # AST alone: not the published criteria (docs/clinical.md)
        ({"ast": "130", "total_bilirubin": "2.5"}, True),  # ... but AST with bilirubin is potential Hy's law
    ],
)
def test_dili_criteria_bands_on_both_sides(values, meets):
    result = found(**values)

    assert result.meets_dili_criteria is meets
    assert (result.pattern is not None) is meets


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"alt": "120", "total_bilirubin": "2.41"},
            True,
        ),  # ALT exactly 3 x ULN, bilirubin just above 2 x ULN
        ({"ast": "120", "total_bilirubin": "2.41"}, True),  # AST exactly 3 x ULN
        ({"alt": "120", "total_bilirubin": "2.40"}, False),  # bilirubin exactly 2 x ULN
        ({"alt": "119.9", "total_bilirubin": "2.41"}, False),
        ({"alt": "400", "total_bilirubin": "6.0", "alp": "239.9"}, True),  # ALP just below 2 x ULN
        ({"alt": "400", "total_bilirubin": "6.0", "alp": "240"}, False),  # ALP exactly 2 x ULN: cholestasis
        ({"alt": "400", "ast": "400"}, False),  # transaminases alone
        ({"total_bilirubin": "6.0"}, False),  # bilirubin alone
    ],
)
def test_potential_hys_law_thresholds(values, expected):
    result = found(**values)

    assert result.hys_law is expected
    if expected:
        assert result.meets_dili_criteria is True


def test_r_is_undefined_when_alkaline_phosphatase_is_zero():
    assert found(alp="0", alt="400").r is None
    assert found(alp="0", alt="400").pattern is None


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
