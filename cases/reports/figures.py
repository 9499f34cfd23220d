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


def median_of_counts(counts: dict[int, int]) -> tuple[float | None, int]:
    """The median of values given as {value: how many}, and how many there are (None for none)."""
    size = sum(counts.values())
    if size <= 0:
        return None, 0
    low_rank, high_rank = (size + 1) // 2, size // 2 + 1  # 1-based: the same rank twice when `size` is odd
    seen, low, high = 0, 0, 0
    for value in sorted(counts):
        if seen < low_rank <= seen + counts[value]:
            low = value
        seen += counts[value]
        if seen >= high_rank:
            high = value
            break
    return (low + high) / 2, size
