"""Derived clinical values, computed in one place: blood pressure class, liver injury pattern and Hy's law,
and calendar months (the DSM-5-TR remission rule itself is cases/remission.py)."""

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import IntEnum
from fractions import Fraction
from typing import Any

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


@dataclass(frozen=True)
class LiverFindings:
    """What a liver panel means (SPEC 3.5, docs/clinical.md), from the exact values: multiples of ULN are
    fractions, never rounded before a comparison."""

    alt_x: Fraction
    ast_x: Fraction
    alp_x: Fraction
    bilirubin_x: Fraction
    r: Fraction | None  # (ALT/ULN) / (ALP/ULN); None when ALP is 0
    meets_dili_criteria: bool
    pattern: str | None  # only when the criteria are met
    hys_law: bool  # potential Hy's law

    @property
    def r_ratio(self) -> Decimal | None:
        """R rounded to two places, for display (never for classifying)."""
        return None if self.r is None else _rounded(self.r, "0.01")

    def multiple(self, name: str) -> Decimal:
        """A multiple of ULN to one place, for messages."""
        return _rounded(getattr(self, f"{name}_x"), "0.1")


def _rounded(value: Fraction, places: str) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(places), ROUND_HALF_UP)


def _times(value: Any, uln: Any) -> Fraction:
    return Fraction(Decimal(value)) / Fraction(Decimal(uln))


def liver_pattern(r: Fraction | None) -> str | None:
    """Hepatocellular when R >= 5, cholestatic when R <= 2, mixed between (Aithal et al. 2011)."""
    if r is None:
        return None
    if r >= 5:
        return "hepatocellular"
    if r <= 2:
        return "cholestatic"
    return "mixed"


def liver_findings(panel: Any) -> LiverFindings:
    """`panel` has alt, alt_uln, ast, ast_uln, alp, alp_uln, total_bilirubin, total_bilirubin_uln.

    - Potential Hy's law (FDA 2009 guidance): ALT or AST >= 3 x ULN, total bilirubin > 2 x ULN, ALP < 2 x ULN.
    - DILI criteria (Aithal et al. 2011, as EASL 2019): ALT >= 5 x ULN, or ALP >= 2 x ULN, or ALT >= 3 x ULN with
      total bilirubin > 2 x ULN; ALT, not AST (the published criteria; AST enters through Hy's law, which always
      meets the criteria, as SPEC states).
    - R = (ALT/ULN) / (ALP/ULN); the pattern only when the criteria are met."""
    alt_x, ast_x = _times(panel.alt, panel.alt_uln), _times(panel.ast, panel.ast_uln)
    alp_x = _times(panel.alp, panel.alp_uln)
    bilirubin_x = _times(panel.total_bilirubin, panel.total_bilirubin_uln)
    hys = (alt_x >= 3 or ast_x >= 3) and bilirubin_x > 2 and alp_x < 2
    meets = alt_x >= 5 or alp_x >= 2 or (alt_x >= 3 and bilirubin_x > 2) or hys
    r = alt_x / alp_x if alp_x else None
    return LiverFindings(
        alt_x=alt_x,
        ast_x=ast_x,
        alp_x=alp_x,
        bilirubin_x=bilirubin_x,
        r=r,
        meets_dili_criteria=meets,
        pattern=liver_pattern(r) if meets else None,
        hys_law=hys,
    )


# --- Calendar months ----------------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later, clamped to the month's end (31 Jan + 1 -> 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))
