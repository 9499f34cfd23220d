"""Opening a case at intake (`case_open`) and assigning its clinicians (`case_assign_clinicians`)."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.errors import OpenCaseExists, ValidationFailed
from cases.models import CareTeamMember, Case, StageTransition
from cases.services.cases import case_assign_clinicians, case_open
from clinic.roles import Role
from tests.factories import CaseFactory, PatientFactory, UserFactory


@pytest.fixture
def patient(db):
    return PatientFactory()


def team(case: Case) -> set:
    return set(CareTeamMember.objects.filter(case=case).values_list("user__username", flat=True))


def test_case_open_creates_an_open_intake_case_opened_today(patient, front_desk, clinician):
    case = case_open(patient=patient, actor=front_desk, referral_source="family", primary_clinician=clinician)

    case = Case.objects.get(pk=case.pk)
    assert (case.patient, case.status, case.stage, case.opened_on) == (
        patient,
        "open",
        "intake",
        timezone.localdate(),
    )
    assert (case.referral_source, case.primary_clinician, case.created_by, case.version) == (
        "family",
        clinician,
        front_desk,
        1,
    )
    assert (case.closed_on, case.discharge_reason) == (None, None)


def test_case_open_writes_the_first_history_row(patient, front_desk):
    before = timezone.now()

    case = case_open(patient=patient, actor=front_desk, referral_source="self")

    row = StageTransition.objects.get(case=case)
    assert (row.sequence, row.from_stage, row.to_stage, row.by, row.reason, row.discharge_reason) == (
        1,
        None,
        "intake",
        front_desk,
        "Case opened",
        None,
    )
    assert before <= row.effective_at <= timezone.now()


def test_a_back_dated_case_starts_its_history_at_local_midnight_of_that_day(patient, front_desk):
    opened_on = timezone.localdate() - dt.timedelta(days=10)

    case = case_open(patient=patient, actor=front_desk, referral_source="self", opened_on=opened_on)

    row = StageTransition.objects.get(case=case)
    assert timezone.localtime(row.effective_at) == timezone.make_aware(
        dt.datetime.combine(opened_on, dt.time.min)
    )
    assert Case.objects.get(pk=case.pk).opened_on == opened_on


def test_case_open_refuses_a_second_open_case(patient, front_desk):
    existing = CaseFactory(patient=patient)

    with pytest.raises(OpenCaseExists) as excinfo:
        case_open(patient=patient, actor=front_desk, referral_source="self")

    assert list(excinfo.value.errors) == ["patient"]
    assert list(patient.cases.values_list("pk", flat=True)) == [existing.pk]
    assert StageTransition.objects.filter(case__patient=patient).count() == 1


def test_case_open_refuses_a_future_opening_date(patient, front_desk):
    with pytest.raises(ValidationFailed) as excinfo:
        case_open(
            patient=patient,
            actor=front_desk,
            referral_source="self",
            opened_on=timezone.localdate() + dt.timedelta(days=1),
        )

    assert list(excinfo.value.errors) == ["opened_on"]
    assert not patient.cases.exists()


def test_case_open_refuses_a_patient_entered_in_error(front_desk):
    patient = PatientFactory(entered_in_error=True, entered_in_error_reason="Duplicate registration.")

    with pytest.raises(ValidationFailed) as excinfo:
        case_open(patient=patient, actor=front_desk, referral_source="self")

    assert list(excinfo.value.errors) == ["patient"]
    assert not patient.cases.exists()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.ADMINISTRATOR, None])
def test_case_open_refuses_a_primary_clinician_without_a_clinical_role(patient, front_desk, role):
    user = UserFactory(roles=[role] if role else [])

    with pytest.raises(ValidationFailed) as excinfo:
        case_open(patient=patient, actor=front_desk, referral_source="self", primary_clinician=user)

    assert list(excinfo.value.errors) == ["primary_clinician"]
    assert not patient.cases.exists()


def test_case_open_refuses_an_inactive_clinician(patient, front_desk):
    user = UserFactory(roles=[Role.CLINICIAN], is_active=False)

    with pytest.raises(ValidationFailed) as excinfo:
        case_open(patient=patient, actor=front_desk, referral_source="self", primary_clinician=user)

    assert list(excinfo.value.errors) == ["primary_clinician"]
    assert not patient.cases.exists()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.ADMINISTRATOR])
def test_case_open_refuses_a_care_team_member_without_a_clinical_role(patient, front_desk, clinician, role):
    user = UserFactory(roles=[role])

    with pytest.raises(ValidationFailed) as excinfo:
        case_open(
            patient=patient,
            actor=front_desk,
            referral_source="self",
            primary_clinician=clinician,
            care_team=[clinician, user],
        )

    assert list(excinfo.value.errors) == ["care_team"]
    assert not patient.cases.exists()
    assert not CareTeamMember.objects.exists()


def test_a_supervisor_may_be_primary_clinician(patient, front_desk, supervisor):
    case = case_open(patient=patient, actor=front_desk, referral_source="self", primary_clinician=supervisor)

    assert Case.objects.get(pk=case.pk).primary_clinician == supervisor


def test_case_open_writes_the_care_team_rows(patient, front_desk, clinician, other_clinician, supervisor):
    case = case_open(
        patient=patient,
        actor=front_desk,
        referral_source="self",
        primary_clinician=clinician,
        care_team=[other_clinician, supervisor],
    )

    assert team(case) == {"otherclinician", "supervisor"}


def test_a_clinician_listed_twice_on_the_care_team_is_one_member(patient, front_desk, clinician):
    case = case_open(
        patient=patient, actor=front_desk, referral_source="self", care_team=[clinician, clinician]
    )

    assert team(case) == {"clinician"}


def test_case_open_stores_the_substance_profile(patient, front_desk):
    case = case_open(
        patient=patient,
        actor=front_desk,
        referral_source="emergency_department",
        profile={
            "kratom_form": "seven_oh_product",
            "kratom_daily_grams": "12.5",
            "kratom_years_used": "3",
            "reasons_for_use": ["pain", "energy", "pain"],
            "other_substances": "  alcohol on weekends  ",
        },
    )

    case = Case.objects.get(pk=case.pk)
    assert case.kratom_form == "seven_oh_product"
    assert str(case.kratom_daily_grams) == "12.5"
    assert case.reasons_for_use == ["energy", "pain"]
    assert case.other_substances == "alcohol on weekends"


@pytest.mark.parametrize("reasons", [["pain", "boredom"], "pain", [None], {"pain": True}])
def test_case_open_refuses_reasons_for_use_outside_the_list(patient, front_desk, reasons):
    with pytest.raises(ValidationFailed) as excinfo:
        case_open(
            patient=patient, actor=front_desk, referral_source="self", profile={"reasons_for_use": reasons}
        )

    assert list(excinfo.value.errors) == ["reasons_for_use"]
    assert not patient.cases.exists()


@pytest.mark.parametrize("field", ["stage", "status", "closed_on", "version"])
def test_case_open_refuses_workflow_fields_in_the_profile(patient, front_desk, field):
    with pytest.raises(ValidationFailed) as excinfo:
        case_open(patient=patient, actor=front_desk, referral_source="self", profile={field: "x"})

    assert list(excinfo.value.errors) == [field]
    assert not patient.cases.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("referral_source", "police"), ("referral_source", ""), ("kratom_form", "tea")]
)
def test_case_open_refuses_unknown_codes_naming_the_field(patient, front_desk, field, value):
    kwargs = {"referral_source": "self", "profile": {}}
    if field == "referral_source":
        kwargs["referral_source"] = value
    else:
        kwargs["profile"] = {field: value}

    with pytest.raises(ValidationFailed) as excinfo:
        case_open(patient=patient, actor=front_desk, **kwargs)

    assert field in excinfo.value.errors
    assert not patient.cases.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("kratom_daily_grams", "-1"), ("kratom_daily_grams", "500.1"), ("kratom_years_used", "81")],
)
def test_case_open_refuses_out_of_range_amounts(patient, front_desk, field, value):
    # The range lives in a CheckConstraint, so the error is reported under non_field_errors (naming the constraint).
    with pytest.raises(ValidationFailed):
        case_open(patient=patient, actor=front_desk, referral_source="self", profile={field: value})

    assert not patient.cases.exists()


@pytest.mark.parametrize("code", Case.ReferralSource.values)
def test_each_referral_source_code_is_accepted(patient, front_desk, code):
    case = case_open(patient=patient, actor=front_desk, referral_source=code)

    assert Case.objects.get(pk=case.pk).referral_source == code


# --- case_assign_clinicians ---


def test_assigning_clinicians_replaces_the_care_team(supervisor, clinician, other_clinician):
    third = UserFactory(username="third", roles=[Role.CLINICIAN])
    case = CaseFactory(primary_clinician=clinician, care_team=[clinician, other_clinician])

    case_assign_clinicians(
        case=case, actor=supervisor, primary_clinician=other_clinician, care_team=[other_clinician, third]
    )

    case.refresh_from_db()
    assert case.primary_clinician == other_clinician
    assert team(case) == {"otherclinician", "third"}


def test_assigning_an_empty_care_team_removes_every_member(supervisor, clinician):
    case = CaseFactory(primary_clinician=clinician, care_team=[clinician])

    case_assign_clinicians(case=case, actor=supervisor, primary_clinician=None, care_team=[])

    case.refresh_from_db()
    assert case.primary_clinician is None
    assert team(case) == set()


def test_assigning_keeps_a_member_who_stays_on_the_team(supervisor, clinician, other_clinician):
    case = CaseFactory(primary_clinician=clinician, care_team=[clinician])
    kept = CareTeamMember.objects.get(case=case, user=clinician)

    case_assign_clinicians(
        case=case,
        actor=supervisor,
        primary_clinician=clinician,
        care_team=[clinician, other_clinician, clinician],
    )

    assert CareTeamMember.objects.get(case=case, user=clinician).pk == kept.pk
    assert team(case) == {"clinician", "otherclinician"}


def test_assigning_a_non_clinician_changes_nothing(supervisor, clinician, front_desk):
    case = CaseFactory(primary_clinician=clinician, care_team=[clinician])

    with pytest.raises(ValidationFailed) as excinfo:
        case_assign_clinicians(
            case=case, actor=supervisor, primary_clinician=clinician, care_team=[front_desk]
        )

    assert list(excinfo.value.errors) == ["care_team"]
    case.refresh_from_db()
    assert case.primary_clinician == clinician
    assert team(case) == {"clinician"}
