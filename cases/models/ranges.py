"""Plausible ranges for measured values, as field validators, so that an out-of-range value is refused naming
the field (the check constraints in each model's Meta hold the same bounds in the database)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
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
    low, high = RANGES[field]
    return [MinValueValidator(low), MaxValueValidator(high)]


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
