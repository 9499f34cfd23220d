"""Validate a set of responses against an instrument and compute its total, band and suggested diagnosis."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cases.errors import ValidationFailed
from cases.instruments.definitions import INSTRUMENTS, Instrument, Item


@dataclass(frozen=True)
class Score:
    total: int
    band: str | None
    diagnosis_code: str | None = None


def _valid(item: Item, value: Any) -> bool:
    # bool is a subclass of int in Python: True must not pass for 1, nor 1 for True.
    return any(type(value) is type(allowed) and value == allowed for allowed in item.allowed)


def validate_responses(instrument: Instrument, responses: Any) -> dict[str, Any]:
    """The responses, checked item by item; errors name each offending item under `responses.<item>`."""
    if not isinstance(responses, Mapping):
        raise ValidationFailed("Responses must be an object of item codes to values.", field="responses")
    errors: dict[str, list[str]] = {}
    for code in responses:
        if str(code) in instrument.withdrawn:
            errors[f"responses.{code}"] = [instrument.withdrawn[str(code)]]
        elif instrument.item(str(code)) is None:
            errors[f"responses.{code}"] = [f"Unknown item for {instrument.code}."]
    for item in instrument.items:
        if item.code not in responses:
            if item.required:
                errors[f"responses.{item.code}"] = ["This item is required."]
            continue
        if not _valid(item, responses[item.code]):
            allowed = ", ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in item.allowed)
            errors[f"responses.{item.code}"] = [f"Not an allowed value; allowed: {allowed}."]
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, errors=errors)
    return {item.code: responses[item.code] for item in instrument.items if item.code in responses}


def score_responses(instrument_code: str, responses: Any) -> tuple[dict[str, Any], Score]:
    """Check the responses and score them. Raises `ValidationFailed` naming the instrument or the items."""
    instrument = INSTRUMENTS.get(instrument_code)
    if instrument is None:
        raise ValidationFailed(f"Unknown instrument {instrument_code!r}.", field="instrument")
    clean = validate_responses(instrument, responses)
    counted = [item for item in instrument.items if item.counted]
    if instrument.scoring == "count_true":
        total = sum(1 for item in counted if clean.get(item.code) is True)
    else:
        total = sum(int(clean[item.code]) for item in counted)
    band = instrument.band_for(total)
    band_code = band.code if band else None
    return clean, Score(total, band_code, instrument.diagnosis_codes.get(band_code or ""))
