"""Patients (SPEC 3.1): registration with a generated MRN, demographic edits, duplicates, entered-in-error."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from cases.errors import ValidationFailed
from cases.models import Case, MrnAllocation, Patient, format_mrn
from cases.selectors import patient_near_duplicates
from cases.services.patients import (
    mrn_allocate,
    patient_mark_entered_in_error,
    patient_register,
    patient_update,
)
from tests.factories import CaseFactory, PatientFactory, case_in_stage

MRN_PATTERN = re.compile(r"^KR\d{7}$")


def luhn_valid(digits: str) -> bool:
    """The Luhn check, written independently of `format_mrn`: every second digit from the right is doubled."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def registration(**fields) -> dict:
    return {
        "first_name": "Dana",
        "last_name": "Whitfield",
        "date_of_birth": dt.date(1985, 4, 12),
        "sex_at_birth": "female",
        **fields,
    }


def years_ago(years: int) -> dt.date:
    today = timezone.localdate()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # today is 29 February
        return today.replace(year=today.year - years, day=28)


# --- The medical record number ---


@pytest.mark.parametrize(("serial", "mrn"), [(1, "KR0000018"), (12, "KR0000125"), (999999, "KR9999996")])
def test_format_mrn_is_kr_six_digits_and_a_check_digit(serial, mrn):
    assert format_mrn(serial) == mrn


@pytest.mark.parametrize("serial", [1, 7, 42, 1234, 98765, 500000, 999999])
def test_every_formatted_mrn_passes_the_luhn_check(serial):
    mrn = format_mrn(serial)

    assert MRN_PATTERN.match(mrn)
    assert luhn_valid(mrn[2:])
    assert int(mrn[2:8]) == serial


def test_a_single_mistyped_digit_fails_the_luhn_check():
    digits = format_mrn(4711)[2:]

    for position in range(len(digits)):
        for wrong in "0123456789":
            if wrong != digits[position]:
                typo = digits[:position] + wrong + digits[position + 1 :]
                assert not luhn_valid(typo), typo


def test_registration_generates_a_valid_mrn(front_desk):
    patient = patient_register(actor=front_desk, data=registration())

    mrn = Patient.objects.get(pk=patient.pk).mrn
    assert MRN_PATTERN.match(mrn)
    assert luhn_valid(mrn[2:])
    assert mrn == format_mrn(MrnAllocation.objects.get().id)


def test_each_registration_gets_its_own_mrn(front_desk):
    patients = [
        patient_register(actor=front_desk, data=registration(first_name=f"P{n}"), confirm_not_duplicate=True)
        for n in range(5)
    ]

    mrns = list(Patient.objects.filter(pk__in=[p.pk for p in patients]).values_list("mrn", flat=True))
    assert len(set(mrns)) == 5
    assert all(MRN_PATTERN.match(mrn) and luhn_valid(mrn[2:]) for mrn in mrns)


def test_allocated_mrns_are_distinct_and_increasing(db):
    first_batch = mrn_allocate(3)
    next_one = mrn_allocate()[0]

    serials = [int(mrn[2:8]) for mrn in [*first_batch, next_one]]
    assert serials == sorted(serials)
    assert len(set(serials)) == 4


def test_an_mrn_is_not_reused_after_its_patient_is_marked_entered_in_error(front_desk):
    mistaken = patient_register(actor=front_desk, data=registration())
    patient_mark_entered_in_error(patient=mistaken, actor=front_desk, reason="Registered twice.")

    again = patient_register(actor=front_desk, data=registration())  # the mistaken one is no duplicate now

    assert again.mrn != mistaken.mrn
    assert int(again.mrn[2:8]) > int(mistaken.mrn[2:8])
    assert Patient.objects.count() == 2


def test_a_refused_registration_uses_no_mrn(front_desk):
    with pytest.raises(ValidationFailed):
        patient_register(actor=front_desk, data=registration(first_name=""))

    assert not MrnAllocation.objects.exists()


# --- Registration ---


def test_registration_stores_the_demographics_trimmed(front_desk):
    patient = patient_register(
        actor=front_desk,
        data=registration(
            first_name="  Dana ",
            preferred_name=" Dee ",
            county="Shawnee",
            phone="785-555-0199",
            city=" Topeka ",
        ),
    )

    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.first_name, stored.last_name, stored.preferred_name) == ("Dana", "Whitfield", "Dee")
    assert (stored.date_of_birth, stored.sex_at_birth, stored.county, stored.city) == (
        dt.date(1985, 4, 12),
        "female",
        "Shawnee",
        "Topeka",
    )
    assert (stored.created_by, stored.entered_in_error, stored.state) == (front_desk, False, "KS")


def test_a_date_of_birth_in_the_future_is_refused(front_desk):
    with pytest.raises(ValidationFailed) as excinfo:
        patient_register(
            actor=front_desk, data=registration(date_of_birth=timezone.localdate() + dt.timedelta(days=1))
        )

    assert list(excinfo.value.errors) == ["date_of_birth"]
    assert not Patient.objects.exists()


def test_a_patient_born_today_is_accepted(front_desk):
    patient = patient_register(actor=front_desk, data=registration(date_of_birth=timezone.localdate()))

    assert Patient.objects.get(pk=patient.pk).date_of_birth == timezone.localdate()


def test_a_date_of_birth_more_than_120_years_ago_is_refused(front_desk):
    with pytest.raises(ValidationFailed) as excinfo:
        patient_register(
            actor=front_desk, data=registration(date_of_birth=years_ago(120) - dt.timedelta(days=1))
        )

    assert list(excinfo.value.errors) == ["date_of_birth"]
    assert not Patient.objects.exists()


def test_a_patient_exactly_120_years_old_is_accepted(front_desk):
    patient = patient_register(actor=front_desk, data=registration(date_of_birth=years_ago(120)))

    assert Patient.objects.get(pk=patient.pk).date_of_birth == years_ago(120)


@pytest.mark.parametrize("field", ["mrn", "id", "entered_in_error", "created_at", "nickname"])
def test_registration_refuses_an_unknown_or_server_owned_field(front_desk, field):
    with pytest.raises(ValidationFailed) as excinfo:
        patient_register(actor=front_desk, data=registration(**{field: "KR0000018"}))

    assert list(excinfo.value.errors) == [field]
    assert not Patient.objects.exists()


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize("value", ["", "   "])
def test_registration_refuses_a_blank_legal_name_naming_the_field(front_desk, field, value):
    with pytest.raises(ValidationFailed) as excinfo:
        patient_register(actor=front_desk, data=registration(**{field: value}))

    assert list(excinfo.value.errors) == [field]
    assert not Patient.objects.exists()


@pytest.mark.parametrize("field", ["first_name", "last_name", "date_of_birth", "sex_at_birth"])
def test_registration_refuses_a_missing_required_field_naming_it(front_desk, field):
    data = registration()
    del data[field]

    with pytest.raises(ValidationFailed) as excinfo:
        patient_register(actor=front_desk, data=data)

    assert field in excinfo.value.errors
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("county", "Cook"), ("sex_at_birth", "x"), ("email", "not-an-email")]
)
def test_registration_refuses_an_invalid_value_naming_the_field(front_desk, field, value):
    with pytest.raises(ValidationFailed) as excinfo:
        patient_register(actor=front_desk, data=registration(**{field: value}))

    assert list(excinfo.value.errors) == [field]
    assert not Patient.objects.exists()


# --- Demographic edits ---


def test_update_changes_the_given_fields_only(front_desk):
    patient = PatientFactory(first_name="Dana", phone="785-555-0100")

    patient_update(patient=patient, actor=front_desk, data={"phone": " 785-555-0142 "})

    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.first_name, stored.phone) == ("Dana", "+17855550142")  # stored in E.164


def test_update_refuses_a_future_date_of_birth(front_desk):
    patient = PatientFactory(date_of_birth=dt.date(1990, 1, 1))

    with pytest.raises(ValidationFailed) as excinfo:
        patient_update(
            patient=patient,
            actor=front_desk,
            data={"date_of_birth": timezone.localdate() + dt.timedelta(days=3)},
        )

    assert list(excinfo.value.errors) == ["date_of_birth"]
    assert Patient.objects.get(pk=patient.pk).date_of_birth == dt.date(1990, 1, 1)


def test_update_refuses_the_mrn(front_desk):
    patient = PatientFactory()

    with pytest.raises(ValidationFailed) as excinfo:
        patient_update(patient=patient, actor=front_desk, data={"mrn": "KR0000018"})

    assert list(excinfo.value.errors) == ["mrn"]
    assert Patient.objects.get(pk=patient.pk).mrn == patient.mrn


# --- Possible duplicates ---


BORN = dt.date(1985, 4, 12)


def near(first_name: str, last_name: str, **kwargs: object) -> list[Patient]:
    return patient_near_duplicates(first_name=first_name, last_name=last_name, date_of_birth=BORN, **kwargs)


def test_near_duplicates_match_the_same_last_name_in_any_case_born_the_same_day(db):
    same = PatientFactory(first_name="Ann", last_name="Whitfield", date_of_birth=BORN)
    PatientFactory(first_name="Ann", last_name="Whitfield", date_of_birth=BORN + dt.timedelta(days=1))

    assert near("Zoe", "  WHITFIELD ") == [same]


@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [
        ("Jonathan", "Pahm"),  # two letters swapped (issue 15)
        ("Jonathon", "Pham"),  # a vowel
        ("Pham", "Jonathan"),  # first and last name swapped
        ("Jon", "Phamm"),  # a short form of the first name and a doubled letter
        ("jonathan", "PHAM"),  # letter case
        ("Jonathan", "Phạm"),  # an accent
    ],
)
def test_near_duplicates_find_a_similar_name_born_the_same_day(db, first_name, last_name):
    pham = PatientFactory(first_name="Jonathan", last_name="Pham", date_of_birth=BORN)

    assert near(first_name, last_name) == [pham]


@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [("Maria", "Lopez"), ("Jane", "Pahlavi"), ("Tom", "Pharr")],
)
def test_near_duplicates_leave_out_other_names_born_the_same_day(db, first_name, last_name):
    PatientFactory(first_name="Jonathan", last_name="Pham", date_of_birth=BORN)

    assert near(first_name, last_name) == []


def test_near_duplicates_leave_out_a_similar_name_born_another_day(db):
    PatientFactory(first_name="Jonathan", last_name="Pham", date_of_birth=BORN - dt.timedelta(days=1))

    assert near("Jonathan", "Pahm") == []


def test_near_duplicates_leave_out_records_entered_in_error(db):
    PatientFactory(
        first_name="Ann",
        last_name="Whitfield",
        date_of_birth=BORN,
        entered_in_error=True,
        entered_in_error_reason="Test record.",
    )

    assert near("Ann", "Whitfield") == []


def test_near_duplicates_can_leave_out_the_patient_being_edited(db):
    patient = PatientFactory(first_name="Ann", last_name="Whitfield", date_of_birth=BORN)
    namesake = PatientFactory(first_name="Bea", last_name="whitfield", date_of_birth=BORN)

    assert near("Ann", "Whitfield", exclude=patient) == [namesake]


# --- Entered in error ---


def test_marking_entered_in_error_stores_the_reason(front_desk):
    patient = PatientFactory()

    patient_mark_entered_in_error(patient=patient, actor=front_desk, reason="  Registered twice.  ")

    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.entered_in_error, stored.entered_in_error_reason) == (True, "Registered twice.")


@pytest.mark.parametrize("reason", ["", "   "])
def test_marking_entered_in_error_needs_a_reason(front_desk, reason):
    patient = PatientFactory()

    with pytest.raises(ValidationFailed) as excinfo:
        patient_mark_entered_in_error(patient=patient, actor=front_desk, reason=reason)

    assert list(excinfo.value.errors) == ["reason"]
    assert Patient.objects.get(pk=patient.pk).entered_in_error is False


def test_marking_entered_in_error_is_refused_while_a_case_is_open(front_desk):
    case = CaseFactory()

    with pytest.raises(ValidationFailed):
        patient_mark_entered_in_error(patient=case.patient, actor=front_desk, reason="Registered twice.")

    assert Patient.objects.get(pk=case.patient.pk).entered_in_error is False
    assert Case.objects.get(pk=case.pk).status == "open"


def test_a_patient_whose_cases_are_closed_can_be_marked_entered_in_error(clinician, front_desk):
    case = case_in_stage(Case.Stage.DISCHARGED, actor=clinician)

    patient_mark_entered_in_error(patient=case.patient, actor=front_desk, reason="Wrong person's chart.")

    stored = Patient.objects.get(pk=case.patient.pk)
    assert stored.entered_in_error is True
    assert stored.cases.count() == 1  # never deleted: the history stays
