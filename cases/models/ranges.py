"""Plausible ranges for measured values, as field validators, so that an out-of-range value is refused naming
the field (the check constraints in each model's Meta hold the same bounds in the database)."""

from django.core.validators import MaxValueValidator, MinValueValidator

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
