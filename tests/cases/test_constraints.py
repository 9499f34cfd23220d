"""The database's own guarantees: rows written around the services (`create`, `update`, `bulk_create`) still
cannot break the rules that the constraints hold."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.models import BreakGlassGrant, Case, Patient, StageTransition, Visit, VisitAddendum
from cases.services.patients import mrn_allocate
from tests.factories import CaseFactory, PatientFactory, SignedVisitFactory

TODAY = dt.date(2026, 6, 1)


def assert_refused(write, constraint: str | None = None) -> None:
    """`write()` raises IntegrityError (naming `constraint` when it is the only rule the row breaks) and the
    surrounding transaction stays usable."""
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        write()
    if constraint is not None:
        assert constraint in str(excinfo.value)


# --- Case ---


def case_row(patient: Patient, **fields) -> dict:
    """A valid open case's columns, with `fields` changed."""
    return {"patient": patient, "opened_on": TODAY, "referral_source": "self", **fields}


CLOSED = {
    "stage": "discharged",
    "status": "closed",
    "closed_on": TODAY + dt.timedelta(days=30),
    "discharge_reason": "completed",
}


def test_a_valid_case_row_is_accepted(db):
    Case.objects.create(**case_row(PatientFactory()))

    assert Case.objects.count() == 1


def test_a_second_open_case_for_one_patient_is_refused(db):
    patient = PatientFactory()
    Case.objects.create(**case_row(patient))

    assert_refused(lambda: Case.objects.create(**case_row(patient, opened_on=TODAY + dt.timedelta(days=1))))
    assert patient.cases.count() == 1


def test_a_second_open_case_is_refused_in_a_bulk_insert(db):
    patient = PatientFactory()

    assert_refused(lambda: Case.objects.bulk_create([Case(**case_row(patient)), Case(**case_row(patient))]))
    assert not patient.cases.exists()


def test_reopening_a_closed_case_beside_an_open_one_is_refused(db):
    patient = PatientFactory()
    closed = Case.objects.create(**case_row(patient, **CLOSED))
    Case.objects.create(**case_row(patient, opened_on=TODAY + dt.timedelta(days=40)))

    assert_refused(
        lambda: Case.objects.filter(pk=closed.pk).update(
            stage="treatment", status="open", closed_on=None, discharge_reason=None
        )
    )
    assert Case.objects.get(pk=closed.pk).status == "closed"


def test_closed_cases_beside_an_open_one_are_accepted(db):
    patient = PatientFactory()
    Case.objects.create(**case_row(patient, **CLOSED))
    Case.objects.create(**case_row(patient, **CLOSED))
    Case.objects.create(**case_row(patient, opened_on=TODAY + dt.timedelta(days=40)))

    assert sorted(patient.cases.values_list("status", flat=True)) == ["closed", "closed", "open"]


def test_another_patients_open_case_is_accepted(db):
    Case.objects.create(**case_row(PatientFactory()))
    Case.objects.create(**case_row(PatientFactory()))

    assert Case.objects.filter(status="open").count() == 2


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"stage": "detox"}, None),
        ({"status": "paused"}, None),
        ({"referral_source": "police"}, "case_referral_source_valid"),
        ({"kratom_form": "tea"}, "case_kratom_form_valid"),
        ({**CLOSED, "discharge_reason": "graduated"}, "case_discharge_reason_valid"),
        ({"stage": "discharged"}, "case_closed_iff_discharged"),
        (
            {"stage": "discharged", "discharge_reason": "completed", "closed_on": TODAY},
            "case_closed_iff_discharged",
        ),
        ({**CLOSED, "closed_on": None}, "case_closed_iff_discharged"),
        ({**CLOSED, "discharge_reason": None}, "case_closed_iff_discharged"),
        ({**CLOSED, "stage": "recovery"}, "case_closed_iff_discharged"),
        ({"status": "closed", "closed_on": TODAY, "discharge_reason": "other"}, "case_closed_iff_discharged"),
        ({"closed_on": TODAY}, "case_closed_iff_discharged"),
        ({"discharge_reason": "completed"}, "case_closed_iff_discharged"),
        ({**CLOSED, "closed_on": TODAY - dt.timedelta(days=1)}, "case_closed_after_opened"),
        ({"kratom_daily_grams": "500.1"}, "case_kratom_daily_grams_range"),
        ({"kratom_daily_grams": "-0.1"}, "case_kratom_daily_grams_range"),
        ({"kratom_years_used": "80.1"}, "case_kratom_years_range"),
    ],
    ids=lambda value: (
        "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
    ),
)
def test_a_case_row_breaking_a_rule_is_refused(db, fields, constraint):
    patient = PatientFactory()

    assert_refused(lambda: Case.objects.create(**case_row(patient, **fields)), constraint)
    assert not Case.objects.exists()


def test_a_case_closed_on_the_day_it_opened_is_accepted(db):
    Case.objects.create(**case_row(PatientFactory(), **{**CLOSED, "closed_on": TODAY}))

    assert Case.objects.get().closed_on == TODAY


def test_closing_a_case_by_update_without_a_closing_date_is_refused(db):
    case = CaseFactory()

    assert_refused(
        lambda: Case.objects.filter(pk=case.pk).update(
            stage="discharged", status="closed", discharge_reason="other"
        ),
        "case_closed_iff_discharged",
    )
    assert Case.objects.get(pk=case.pk).status == "open"


# --- Stage history ---


def transition_row(case: Case, **fields) -> dict:
    return {
        "case": case,
        "sequence": 2,
        "from_stage": "intake",
        "to_stage": "assessment",
        "effective_at": timezone.now(),
        **fields,
    }


def test_a_valid_transition_row_is_accepted(db):
    case = CaseFactory()

    StageTransition.objects.create(**transition_row(case))

    assert case.stage_history.count() == 2


def test_a_duplicate_sequence_number_is_refused(db):
    case = CaseFactory()
    StageTransition.objects.create(**transition_row(case))

    assert_refused(
        lambda: StageTransition.objects.create(
            **transition_row(case, from_stage="assessment", to_stage="treatment")
        )
    )
    assert case.stage_history.count() == 2


def test_the_same_sequence_number_on_two_cases_is_accepted(db):
    first, second = CaseFactory(), CaseFactory()

    StageTransition.objects.create(**transition_row(first))
    StageTransition.objects.create(**transition_row(second))

    assert StageTransition.objects.filter(sequence=2).count() == 2


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"from_stage": "assessment", "to_stage": "assessment"}, "stage_transition_moves"),
        ({"to_stage": "detox"}, "stage_transition_to_valid"),
        ({"from_stage": "detox"}, "stage_transition_chain_start"),
        ({"from_stage": None}, "stage_transition_chain_start"),
    ],
    ids=["from-equals-to", "unknown-to", "unknown-from", "later-row-from-null"],
)
def test_a_transition_row_breaking_a_rule_is_refused(db, fields, constraint):
    case = CaseFactory()

    assert_refused(lambda: StageTransition.objects.create(**transition_row(case, **fields)), constraint)
    assert case.stage_history.count() == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"sequence": 1, "from_stage": "intake", "to_stage": "assessment"},
        {"sequence": 1, "from_stage": None, "to_stage": "assessment"},
        {"sequence": 0, "from_stage": None, "to_stage": "intake"},
    ],
    ids=["first-row-from-a-stage", "first-row-not-to-intake", "sequence-zero"],
)
def test_a_history_must_start_from_nothing_into_intake(db, fields):
    case = Case.objects.create(**case_row(PatientFactory()))  # no opening row yet

    assert_refused(
        lambda: StageTransition.objects.create(**transition_row(case, **fields)),
        "stage_transition_chain_start",
    )
    assert not case.stage_history.exists()


# --- Visit ---


@pytest.fixture
def visit_case(clinician):
    return CaseFactory(primary_clinician=clinician)


def visit_row(case: Case, clinician, **fields) -> dict:
    return {
        "case": case,
        "clinician": clinician,
        "visit_type": "individual_counseling",
        "scheduled_at": timezone.now(),
        "status": "attended",
        **fields,
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"craving": 0},
        {"craving": 10},
        {"kratom_days_used_30": 0},
        {"kratom_days_used_30": 30},
        {"heart_rate": 20},
        {"heart_rate": 250},
        {"bp_systolic": 300, "bp_diastolic": 200},
        {"bp_systolic": 50, "bp_diastolic": 20},
        {"weight_kg": "20.0"},
        {"weight_kg": "400.0"},
        {"duration_minutes": 5},
        {"duration_minutes": 480},
        {"kratom_daily_grams": "0"},
        {"kratom_daily_grams": "500"},
    ],
    ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items()),
)
def test_a_visit_value_on_the_boundary_is_accepted(visit_case, clinician, fields):
    Visit.objects.create(**visit_row(visit_case, clinician, **fields))

    assert Visit.objects.filter(case=visit_case).count() == 1


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"visit_type": "yoga"}, "visit_type_valid"),
        ({"status": "rescheduled"}, "visit_status_valid"),
        ({"craving": 11}, "visit_craving_range"),
        ({"craving": -1}, None),  # refused by the positive-integer column check as well as the range
        ({"kratom_days_used_30": 31}, "visit_kratom_days_range"),
        ({"kratom_daily_grams": "500.1"}, "visit_kratom_grams_range"),
        ({"bp_systolic": 301, "bp_diastolic": 80}, "visit_blood_pressure_plausible"),
        ({"bp_systolic": 49, "bp_diastolic": 30}, "visit_blood_pressure_plausible"),
        ({"bp_systolic": 120, "bp_diastolic": 10}, "visit_blood_pressure_plausible"),
        ({"bp_systolic": 250, "bp_diastolic": 201}, "visit_blood_pressure_plausible"),
        ({"bp_systolic": 80, "bp_diastolic": 90}, "visit_blood_pressure_plausible"),
        ({"bp_systolic": 90, "bp_diastolic": 90}, "visit_blood_pressure_plausible"),
        ({"bp_systolic": 120}, "visit_blood_pressure_plausible"),
        ({"bp_diastolic": 80}, "visit_blood_pressure_plausible"),
        ({"heart_rate": 10}, "visit_heart_rate_plausible"),
        ({"heart_rate": 19}, "visit_heart_rate_plausible"),
        ({"heart_rate": 251}, "visit_heart_rate_plausible"),
        ({"heart_rate": 300}, "visit_heart_rate_plausible"),
        ({"weight_kg": "19.9"}, "visit_weight_plausible"),
        ({"weight_kg": "400.1"}, "visit_weight_plausible"),
        ({"duration_minutes": 2}, "visit_duration_range"),
        ({"duration_minutes": 481}, "visit_duration_range"),
        ({"duration_minutes": 600}, "visit_duration_range"),
    ],
    ids=lambda value: (
        "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
    ),
)
def test_a_visit_row_breaking_a_rule_is_refused(visit_case, clinician, fields, constraint):
    assert_refused(lambda: Visit.objects.create(**visit_row(visit_case, clinician, **fields)), constraint)
    assert not Visit.objects.exists()


@pytest.mark.parametrize("status", ["scheduled", "no_show", "cancelled", "late_cancel"])
def test_a_signed_visit_that_was_not_attended_is_refused(visit_case, clinician, status):
    row = visit_row(visit_case, clinician, status=status, signed_at=timezone.now(), signed_by=clinician)

    assert_refused(lambda: Visit.objects.create(**row), "visit_signed_only_when_attended")
    assert not Visit.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [{"signed_at": timezone.now()}, {"signed_by": None}],
    ids=["signed-at-only", "signed-by-missing"],
)
def test_a_signature_needs_both_its_time_and_its_signer(visit_case, clinician, fields):
    row = visit_row(visit_case, clinician, signed_at=timezone.now(), signed_by=clinician)
    row.update(fields)
    if "signed_at" in fields:
        row["signed_by"] = None

    assert_refused(lambda: Visit.objects.create(**row), "visit_signed_only_when_attended")


def test_turning_a_signed_visit_back_into_a_no_show_is_refused(clinician):
    visit = SignedVisitFactory(clinician=clinician)

    assert_refused(
        lambda: Visit.objects.filter(pk=visit.pk).update(status="no_show"), "visit_signed_only_when_attended"
    )
    assert Visit.objects.get(pk=visit.pk).status == "attended"


@pytest.mark.parametrize("text", ["", None])
def test_an_addendum_without_text_is_refused(clinician, text):
    visit = SignedVisitFactory(clinician=clinician)

    assert_refused(lambda: VisitAddendum.objects.create(visit=visit, author=clinician, text=text))
    assert not VisitAddendum.objects.exists()


# --- Break-glass ---


@pytest.mark.parametrize("hours", [-1, 0], ids=["before", "same-instant"])
def test_a_break_glass_grant_must_expire_after_it_was_granted(clinician, hours):
    now = timezone.now()

    assert_refused(
        lambda: BreakGlassGrant.objects.create(
            user=clinician,
            patient=PatientFactory(),
            reason="Covering the on-call shift.",
            granted_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        ),
        "breakglass_expires_after_grant",
    )
    assert not BreakGlassGrant.objects.exists()


def test_a_break_glass_grant_needs_a_reason(clinician):
    now = timezone.now()

    assert_refused(
        lambda: BreakGlassGrant.objects.create(
            user=clinician,
            patient=PatientFactory(),
            reason="",
            granted_at=now,
            expires_at=now + dt.timedelta(hours=4),
        ),
        "breakglass_reason_present",
    )


# --- Patient ---


def patient_row(**fields) -> dict:
    return {
        "mrn": mrn_allocate()[0],
        "first_name": "Dana",
        "last_name": "Whitfield",
        "date_of_birth": dt.date(1985, 4, 12),
        "sex_at_birth": "female",
        **fields,
    }


def test_a_medical_record_number_belongs_to_one_patient(db):
    first = Patient.objects.create(**patient_row())

    assert_refused(lambda: Patient.objects.create(**patient_row(mrn=first.mrn)))
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"county": "Cook"}, "patient_county_valid"),
        ({"county": "douglas"}, "patient_county_valid"),
        ({"sex_at_birth": "x"}, "patient_sex_at_birth_valid"),
        ({"entered_in_error": True}, "patient_entered_in_error_has_reason"),
        ({"mrn": ""}, "patient_mrn_present"),
    ],
    ids=["county-outside-kansas", "county-wrong-case", "sex-code", "error-without-reason", "blank-mrn"],
)
def test_a_patient_row_breaking_a_rule_is_refused(db, fields, constraint):
    assert_refused(lambda: Patient.objects.create(**patient_row(**fields)), constraint)
    assert not Patient.objects.exists()


@pytest.mark.parametrize("county", ["", "Douglas", "Wyandotte", "McPherson"])
def test_a_kansas_county_or_none_is_accepted(db, county):
    Patient.objects.create(**patient_row(county=county))

    assert Patient.objects.get().county == county


def test_marking_a_patient_entered_in_error_by_update_needs_a_reason(db):
    patient = PatientFactory()

    assert_refused(
        lambda: Patient.objects.filter(pk=patient.pk).update(entered_in_error=True),
        "patient_entered_in_error_has_reason",
    )
    assert Patient.objects.get(pk=patient.pk).entered_in_error is False


@pytest.mark.parametrize(
    ("field", "value"),
    [("craving", 11), ("heart_rate", 19), ("kratom_days_used_30", 31), ("duration_minutes", 4)],
)
def test_a_value_out_of_range_is_refused_by_the_service_naming_the_field(own_case, clinician, field, value):
    from cases.errors import ValidationFailed
    from cases.services.visits import visit_update
    from tests.factories import AttendedVisitFactory

    visit = AttendedVisitFactory(case=own_case, clinician=clinician)

    with pytest.raises(ValidationFailed) as refused:
        visit_update(visit=visit, actor=clinician, data={field: value})
    assert field in refused.value.errors
