"""Phone numbers and ZIP codes as the clinic stores and shows them (SPEC 3.1; issue 15: registration accepted
"call me maybe" and "abcde").

- Phone numbers are parsed with `phonenumbers` (Google's libphonenumber), US by default (a number written with
  `+` and a country code is taken as such), must be valid numbers, and are stored in E.164 (`+17855550142`), with
  an extension as `;ext=12` (RFC 3966). They are shown in the national format for US numbers (`(785) 555-0142`),
  the international one otherwise (`display_phone`). Searching by phone digits still finds them
  (`cases.filters.PatientFilter`: four or more digits anywhere in the number).
- ZIP codes are 5 digits or ZIP+4 (`66044`, `66044-1234`; `660441234` is stored as `66044-1234`).

The model fields carry the validators, so the page forms (built from the model), the API serializers and the
services' `full_clean` refuse the same input with the same words; the services store the normalized value.
"""

import re

import phonenumbers
from django.core.exceptions import ValidationError

DEFAULT_REGION = "US"
PHONE_MESSAGE = (
    "Enter a valid phone number, e.g. 785-555-0142 (with + and the country code if not in the US)."
)
ZIP_MESSAGE = "Enter a ZIP code of 5 digits, or ZIP+4: 66044 or 66044-1234."
_ZIP = re.compile(r"^(\d{5})(?:-?(\d{4}))?$")
MAX_PHONE_INPUT = 40  # longer is no phone number (and not worth parsing)


def normalize_phone(value: str) -> str:
    """The number in E.164 (with `;ext=` when it has an extension); '' for ''. `ValidationError` otherwise."""
    text = (value or "").strip()
    if not text:
        return ""
    if len(text) > MAX_PHONE_INPUT:
        raise ValidationError(PHONE_MESSAGE, code="invalid_phone")
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(PHONE_MESSAGE, code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(PHONE_MESSAGE, code="invalid_phone")
    stored = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{stored};ext={number.extension}" if number.extension else stored


def validate_phone(value: str) -> None:
    normalize_phone(value)


def display_phone(value: str) -> str:
    """A stored number as staff read it: national format in the US, international elsewhere; anything that does
    not parse (a number stored before validation existed) as it is."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value.replace(";ext=", " ext. "), DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    national = phonenumbers.region_code_for_number(number) == DEFAULT_REGION
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL if national else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def normalize_postal_code(value: str) -> str:
    """`66044` or `66044-1234`; '' for ''. `ValidationError` otherwise."""
    text = (value or "").strip()
    if not text:
        return ""
    match = _ZIP.match(text)
    if match is None:
        raise ValidationError(ZIP_MESSAGE, code="invalid_zip")
    five, four = match.groups()
    return f"{five}-{four}" if four else five


def validate_postal_code(value: str) -> None:
    normalize_postal_code(value)
