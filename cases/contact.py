"""Phone numbers and ZIP codes as the clinic stores and shows them (SPEC 3.1; issue 15: registration accepted
"call me maybe" and "abcde").

- Phone numbers are parsed with `phonenumbers` (Google's libphonenumber), US by default (a number written with
  `+` and a country code is taken as such), must be valid numbers, and are stored in E.164 (`+17855550142`), with
  an extension as `;ext=12` (RFC 3966). They are shown in the national format for US numbers (`(785) 555-0142`),
  the international one otherwise (`display_phone`). Searching by phone digits still finds them
  (`cases.filters.PatientFilter`: four or more digits anywhere in the number).
- ZIP codes are 5 digits or ZIP+4 (`66044`, `66044-1234`; `660441234` is stored as `66044-1234`).
- Contact preferences (issue 15): whether staff may leave a voicemail, whether they may text, and the preferred
  way to reach the patient (phone call, text, email, letter). In addiction care a message heard or read by a
  family member or employer discloses treatment (42 CFR Part 2), so an unanswered question ("not asked") reads as
  "no". The preferred way must be one the record allows (`contact_preference_problem`: a text preferred by a
  patient who refused texts, a call with no phone number, ...); staff read the preferences as `contact_notes`
  wherever they would call (the chart's header and demographics, the clinic's day).

The model fields carry the validators, so the page forms (built from the model), the API serializers and the
services' `full_clean` refuse the same input with the same words; the services store the normalized value.
"""

import re
from dataclasses import dataclass
from typing import Protocol

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


# --- Contact preferences --------------------------------------------------------------------------------------


class ContactRecord(Protocol):
    """The fields of a patient the contact preferences are read from (`cases.models.Patient`)."""

    phone: str
    email: str
    address_line1: str
    may_leave_voicemail: bool | None
    may_text: bool | None
    preferred_contact_method: str

    def get_preferred_contact_method_display(self) -> str: ...


# What each preferred way needs on the record: (field, what to say when it is missing).
_METHOD_NEEDS = {
    "phone": ("phone", "A phone call needs the patient's phone number: add it, or choose another way."),
    "text": ("phone", "A text needs the patient's phone number: add it, or choose another way."),
    "email": ("email", "Email needs the patient's email address: add it, or choose another way."),
    "mail": ("address_line1", "A letter needs the patient's street address: add it, or choose another way."),
}
TEXT_REFUSED_MESSAGE = (
    "The patient does not want text messages: choose another preferred way, or change that answer."
)


def contact_preference_problem(patient: ContactRecord) -> str:
    """Why the preferred way of contact does not fit the record ('' when it does)."""
    method = patient.preferred_contact_method
    if method == "text" and patient.may_text is False:
        return TEXT_REFUSED_MESSAGE
    needs = _METHOD_NEEDS.get(method)
    if needs is not None and not getattr(patient, needs[0]):
        return needs[1]
    return ""


@dataclass(frozen=True)
class ContactNote:
    """One line of the contact preferences as staff read them; `allowed` is True, False, or None (not asked)."""

    text: str
    allowed: bool | None

    @property
    def css(self) -> str:
        """Allowed in green, refused in amber (the one to notice before calling), not asked plain."""
        return "ok" if self.allowed else "warning" if self.allowed is False else ""


def contact_notes(patient: ContactRecord) -> list[ContactNote]:
    """The preferred way, then voicemail and texts: allowed, refused, or not asked (read as "no")."""
    notes = []
    if patient.preferred_contact_method:
        notes.append(ContactNote(f"Prefers {patient.get_preferred_contact_method_display().lower()}", True))
    answers = (
        (patient.may_leave_voicemail, "Voicemail OK", "No voicemail", "Voicemail not asked: leave none"),
        (patient.may_text, "Texts OK", "No texts", "Texts not asked: send none"),
    )
    for allowed, yes, no, unknown in answers:
        notes.append(ContactNote(unknown if allowed is None else yes if allowed else no, allowed))
    return notes
