"""How the reports round what the database computed: rates and shares to three places, means to two, halves
rounded up (the same digits whichever database computed the value)."""

from decimal import ROUND_HALF_UP, Decimal


def rounded(value: float | Decimal | None, places: int) -> float | None:
    if value is None:
        return None
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def ratio(part: int, whole: int, places: int = 3) -> float | None:
    """`part / whole` rounded, None when `whole` is 0 (nothing to divide by)."""
    return None if not whole else rounded(Decimal(part) / Decimal(whole), places)
