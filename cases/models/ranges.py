"""Plausible ranges for measured values, declared once (`RANGES`): the field validators that refuse an
out-of-range value naming the field (`in_range`), the check constraints that hold the same bounds in the database
(`range_constraint`, `bounds`), and the bounds the API's serializers and the pages' inputs offer (`min_max`) are
all built from this table. tests/cases/test_ranges.py ties them together."""

from decimal import Decimal
from typing import TypedDict

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import CheckConstraint, Q
from django.utils.deconstruct import deconstructible

RANGES: dict[str, tuple[int, int]] = {
    "craving": (0, 10),
    "kratom_days_used_30": (0, 30),
    "kratom_daily_grams": (0, 500),
    "kratom_years_used": (0, 80),
    "bp_systolic": (50, 300),
    "bp_diastolic": (20, 200),
    "heart_rate": (20, 250),
    "weight_kg": (20, 400),
    "duration_minutes": (5, 480),
}


def in_range(field: str) -> list[MinValueValidator | MaxValueValidator]:
    """The field's validators: a value outside `RANGES[field]` is refused naming the field."""
    low, high = RANGES[field]
    return [MinValueValidator(low), MaxValueValidator(high)]


class MinMax(TypedDict):
    min_value: int
    max_value: int


def min_max(field: str) -> MinMax:
    """The bounds as a serializer field's (or a form field's) `min_value`/`max_value`."""
    low, high = RANGES[field]
    return {"min_value": low, "max_value": high}


def bounds(field: str, *, low_in_column: bool = False) -> dict[str, int]:
    """The lookups of a check constraint holding `RANGES[field]`. `low_in_column`: the lower bound is 0 and the
    column's own type holds it (a positive integer field's CHECK), so the constraint states the upper one only."""
    low, high = RANGES[field]
    if low_in_column:
        if low != 0:
            raise ValueError(f"{field}: only a lower bound of 0 is held by a positive column")
        return {f"{field}__lte": high}
    return {f"{field}__gte": low, f"{field}__lte": high}


def range_constraint(
    field: str, *, name: str, null: bool = True, low_in_column: bool = False
) -> CheckConstraint:
    """The database's copy of `RANGES[field]` (NULL passes when the field is nullable)."""
    condition = Q(**bounds(field, low_in_column=low_in_column))
    if null:
        condition = Q(**{f"{field}__isnull": True}) | condition
    return CheckConstraint(condition=condition, name=name)


# Liver panel (SPEC 3.5): ALT, AST and ALP in U/L, total bilirubin in mg/dL only, each with the lab's ULN.
# (low, high, unit); a value outside is refused naming the field and the unit expected.
LIVER_RANGES: dict[str, tuple[Decimal, Decimal, str]] = {
    "alt": (Decimal(0), Decimal(20000), "U/L"),
    "ast": (Decimal(0), Decimal(20000), "U/L"),
    "alp": (Decimal(1), Decimal(5000), "U/L"),
    "total_bilirubin": (Decimal(0), Decimal(50), "mg/dL"),
    "alt_uln": (Decimal(10), Decimal(100), "U/L"),
    "ast_uln": (Decimal(10), Decimal(100), "U/L"),
    "alp_uln": (Decimal(50), Decimal(200), "U/L"),
    "total_bilirubin_uln": (Decimal("0.5"), Decimal("2.0"), "mg/dL"),
}
LIVER_LABELS = {
    "alt": "ALT", "ast": "AST", "alp": "Alkaline phosphatase", "total_bilirubin": "Total bilirubin",
    "alt_uln": "The ALT upper limit of normal", "ast_uln": "The AST upper limit of normal",
    "alp_uln": "The alkaline phosphatase upper limit of normal",
    "total_bilirubin_uln": "The total bilirubin upper limit of normal",
}  # fmt: skip
MICROMOL_PER_MG_DL = Decimal("17.1")  # total bilirubin: 1 mg/dL = 17.1 µmol/L


@deconstructible
class PlausibleLiverValue:
    """Refuses a liver panel value outside its plausible range, naming the unit expected (and, for bilirubin,
    telling a µmol/L value for what it is)."""

    def __init__(self, field: str) -> None:
        self.field = field

    def __call__(self, value: Decimal | None) -> None:
        if value is None:
            return
        low, high, unit = LIVER_RANGES[self.field]
        if low <= value <= high:
            return
        message = f"{LIVER_LABELS[self.field]} must be in {unit}, between {low} and {high}."
        if self.field.startswith("total_bilirubin") and value > high:
            in_mg = (Decimal(value) / MICROMOL_PER_MG_DL).quantize(Decimal("0.01"))
            message += f" {value} looks like µmol/L: that is {in_mg} mg/dL."
        raise ValidationError(message, code="implausible")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlausibleLiverValue) and other.field == self.field

    def __hash__(self) -> int:
        return hash(self.field)
