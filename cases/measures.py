"""Derived clinical values, computed in one place: blood pressure class, liver injury pattern and Hy's law,
and the DSM-5 remission specifier."""

import calendar
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from enum import IntEnum
from typing import Any

from cases.instruments.definitions import DSM5_SUD

# --- Blood pressure, ACC/AHA 2017 -----------------------------------------------------------------------


class BloodPressureClass(IntEnum):
    """Ordered so that `max()` gives "the higher class holds"."""

    NORMAL = 0
    ELEVATED = 1
    STAGE_1 = 2
    STAGE_2 = 3
    CRISIS = 4

    @property
    def code(self) -> str:
        return self.name.lower()


# (class, systolic at or above, diastolic at or above); crisis is "above", i.e. >= 181 / >= 121.
_SYSTOLIC = ((BloodPressureClass.CRISIS, 181), (BloodPressureClass.STAGE_2, 140), (BloodPressureClass.STAGE_1, 130),
             (BloodPressureClass.ELEVATED, 120))  # fmt: skip
_DIASTOLIC = (
    (BloodPressureClass.CRISIS, 121),
    (BloodPressureClass.STAGE_2, 90),
    (BloodPressureClass.STAGE_1, 80),
)


def _class_of(value: int, thresholds: Iterable[tuple[BloodPressureClass, int]]) -> BloodPressureClass:
    return next((cls for cls, at_least in thresholds if value >= at_least), BloodPressureClass.NORMAL)


def blood_pressure_class(systolic: int | None, diastolic: int | None) -> BloodPressureClass | None:
    """ACC/AHA 2017 class; when the two numbers fall in different classes, the higher one holds."""
    if systolic is None or diastolic is None:
        return None
    return max(_class_of(systolic, _SYSTOLIC), _class_of(diastolic, _DIASTOLIC))


# --- Liver panel --------------------------------------------------------------------------------------------


def r_ratio(*, alt: Decimal, alt_uln: Decimal, alp: Decimal, alp_uln: Decimal) -> Decimal | None:
    """R = (ALT/ULN) / (ALP/ULN), rounded to two places; None when ALP is 0 (undefined)."""
    if not alp or not alt_uln or not alp_uln:
        return None
    return ((Decimal(alt) / Decimal(alt_uln)) / (Decimal(alp) / Decimal(alp_uln))).quantize(Decimal("0.01"))


def liver_injury_pattern(ratio: Decimal | None) -> str | None:
    """Hepatocellular when R >= 5, cholestatic when R <= 2, mixed between."""
    if ratio is None:
        return None
    if ratio >= 5:
        return "hepatocellular"
    if ratio <= 2:
        return "cholestatic"
    return "mixed"


def hys_law(
    *,
    alt: Decimal,
    alt_uln: Decimal,
    ast: Decimal,
    ast_uln: Decimal,
    bilirubin: Decimal,
    bilirubin_uln: Decimal,
) -> bool:
    """ALT or AST at least 3 x ULN together with total bilirubin above 2 x ULN."""
    return (alt >= 3 * alt_uln or ast >= 3 * ast_uln) and bilirubin > 2 * bilirubin_uln


# --- DSM-5 remission ----------------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later, clamped to the month's end (31 Jan + 1 -> 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def criteria_met_other_than_craving(responses: dict[str, Any]) -> bool:
    """Any criterion but craving met, not counting tolerance and withdrawal under medical supervision."""
    excluded = {"craving"}
    for modifier, codes in DSM5_SUD.exclusions.items():
        if responses.get(modifier) is True:
            excluded.update(codes)
    return any(
        responses.get(item.code) is True
        for item in DSM5_SUD.items
        if item.counted and item.code not in excluded
    )


def remission_specifier(checklists: Iterable[tuple[dt.date, dict[str, Any]]], as_of: dt.date) -> str | None:
    """`early` when 3 <= months since D < 12, `sustained` at 12 or more, else None, where D is the date of the
    latest checklist on which a criterion other than craving was met (later ones meeting none but craving)."""
    met_dates = [day for day, responses in checklists if criteria_met_other_than_craving(responses)]
    if not met_dates:
        return None
    last_met = max(met_dates)
    if as_of >= add_months(last_met, 12):
        return "sustained"
    if as_of >= add_months(last_met, 3):
        return "early"
    return None
