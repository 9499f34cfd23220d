"""The stage workflow (SPEC 3.3): `cases.services.stages.case_transition` and its table."""

import datetime as dt
import itertools
import zoneinfo

import pytest
from django.utils import timezone

from cases.errors import ConcurrentChange, TransitionNotAllowed, ValidationFailed
from cases.models import Assessment, Case, StageTransition
from cases.services.cases import case_open
from cases.services.stages import TRANSITIONS, allowed_next_stages, case_transition
from tests.factories import CaseFactory, Dsm5ChecklistFactory, case_in_stage

Stage = Case.Stage
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
UTC = dt.UTC

ALLOWED = sorted(TRANSITIONS)
REFUSED = sorted(pair for pair in itertools.product(Stage.values, repeat=2) if pair not in TRANSITIONS)


def history(case: Case) -> list[tuple]:
    return list(
        StageTransition.objects.filter(case=case)
        .order_by("sequence")
        .values_list("sequence", "from_stage", "to_stage")
    )


def snapshot(case: Case) -> tuple:
    """Everything a stage change writes: the case's workflow columns and its history."""
    row = Case.objects.values_list(
        "stage", "status", "closed_on", "discharge_reason", "version", "updated_at"
    ).get(pk=case.pk)
    return row, history(case)


def request_for(to_stage: str) -> dict:
    """A complete request for `to_stage`: a reason always, a discharge reason when discharging."""
    return {
        "to_stage": to_stage,
        "reason": "Reviewed with the care team.",
        "discharge_reason": Case.DischargeReason.COMPLETED if to_stage == Stage.DISCHARGED else None,
    }


# --- The table ---


def test_the_table_is_the_one_in_the_spec():
    assert set(TRANSITIONS) == {
        ("intake", "assessment"),
        ("assessment", "treatment"),
        ("treatment", "recovery"),
        ("recovery", "treatment"),
        ("intake", "discharged"),
        ("assessment", "discharged"),
        ("treatment", "discharged"),
        ("recovery", "discharged"),
    }
    assert len(REFUSED) == 17


@pytest.mark.parametrize(("from_stage", "to_stage"), ALLOWED)
def test_each_move_of_the_table_is_allowed_and_recorded(clinician, from_stage, to_stage):
    case = case_in_stage(from_stage, actor=clinician, primary_clinician=clinician)
    if to_stage == Stage.TREATMENT and not case.assessments.exists():
        Dsm5ChecklistFactory(case=case, by=clinician)
    before = history(case)
    version = case.version

    transition = case_transition(case=case, actor=clinician, **request_for(to_stage))

    case.refresh_from_db()
    assert case.stage == to_stage
    assert case.version == version + 1
    assert history(case) == [*before, (len(before) + 1, from_stage, to_stage)]
    assert transition.sequence == len(before) + 1
    assert transition.by == clinician
    assert transition.reason == "Reviewed with the care team."


@pytest.mark.parametrize(("from_stage", "to_stage"), REFUSED)
def test_each_move_outside_the_table_is_refused_and_writes_nothing(clinician, from_stage, to_stage):
    case = case_in_stage(from_stage, actor=clinician, primary_clinician=clinician)
    Dsm5ChecklistFactory(case=case, by=clinician)
    before = snapshot(case)

    with pytest.raises(TransitionNotAllowed) as excinfo:
        case_transition(case=case, actor=clinician, **request_for(to_stage))

    assert excinfo.value.errors == {"to_stage": [f"A case cannot move from {from_stage} to {to_stage}."]}
    assert snapshot(case) == before


@pytest.mark.parametrize("stage", Stage.values)
def test_allowed_next_stages_lists_the_table_row(clinician, stage):
    case = case_in_stage(stage, actor=clinician)

    assert set(allowed_next_stages(case)) == {to for (frm, to) in TRANSITIONS if frm == stage}


def test_discharged_is_terminal(clinician):
    case = case_in_stage(Stage.DISCHARGED, actor=clinician)

    assert allowed_next_stages(case) == []


def test_an_unknown_stage_is_refused(own_case, clinician):
    before = snapshot(own_case)

    with pytest.raises(ValidationFailed) as excinfo:
        case_transition(case=own_case, to_stage="detox", actor=clinician)

    assert list(excinfo.value.errors) == ["to_stage"]
    assert snapshot(own_case) == before


# --- Reasons ---


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_returning_from_recovery_to_treatment_needs_a_reason(clinician, reason):
    case = case_in_stage(Stage.RECOVERY, actor=clinician)
    before = snapshot(case)

    with pytest.raises(ValidationFailed) as excinfo:
        case_transition(case=case, to_stage=Stage.TREATMENT, actor=clinician, reason=reason)

    assert list(excinfo.value.errors) == ["reason"]
    assert snapshot(case) == before


def test_the_return_to_treatment_reason_is_stored_trimmed(clinician):
    case = case_in_stage(Stage.RECOVERY, actor=clinician)

    transition = case_transition(
        case=case, to_stage=Stage.TREATMENT, actor=clinician, reason="  Relapsed after a job loss.  "
    )

    assert StageTransition.objects.get(pk=transition.pk).reason == "Relapsed after a job loss."


@pytest.mark.parametrize("discharge_reason", [None, "", "graduated", "COMPLETED"])
def test_discharge_needs_a_known_discharge_reason(own_case, clinician, discharge_reason):
    before = snapshot(own_case)

    with pytest.raises(ValidationFailed) as excinfo:
        case_transition(
            case=own_case, to_stage=Stage.DISCHARGED, actor=clinician, discharge_reason=discharge_reason
        )

    assert list(excinfo.value.errors) == ["discharge_reason"]
    assert snapshot(own_case) == before


@pytest.mark.parametrize("discharge_reason", Case.DischargeReason.values)
def test_each_discharge_reason_code_is_accepted(own_case, clinician, discharge_reason):
    case_transition(
        case=own_case, to_stage=Stage.DISCHARGED, actor=clinician, discharge_reason=discharge_reason
    )

    own_case.refresh_from_db()
    assert own_case.discharge_reason == discharge_reason
    assert own_case.stage_history.get(sequence=2).discharge_reason == discharge_reason


def test_a_discharge_reason_is_refused_when_not_discharging(own_case, clinician):
    before = snapshot(own_case)

    with pytest.raises(ValidationFailed) as excinfo:
        case_transition(
            case=own_case, to_stage=Stage.ASSESSMENT, actor=clinician, discharge_reason="completed"
        )

    assert list(excinfo.value.errors) == ["discharge_reason"]
    assert snapshot(own_case) == before


# --- The DSM-5 precondition for treatment ---


@pytest.fixture
def assessed_case(clinician):
    """A case that moved to assessment a day ago, with no checklist yet."""
    case = CaseFactory(primary_clinician=clinician)
    case_transition(
        case=case,
        to_stage=Stage.ASSESSMENT,
        actor=clinician,
        effective_at=timezone.now() - dt.timedelta(days=1),
    )
    return case


def assert_treatment_refused(case: Case, actor, **kwargs) -> None:
    before = snapshot(case)

    with pytest.raises(TransitionNotAllowed) as excinfo:
        case_transition(case=case, to_stage=Stage.TREATMENT, actor=actor, **kwargs)

    assert list(excinfo.value.errors) == ["to_stage"]
    assert "DSM-5" in excinfo.value.message
    assert snapshot(case) == before


def test_treatment_without_a_dsm5_checklist_is_refused(assessed_case, clinician):
    assert_treatment_refused(assessed_case, clinician)


def test_a_checklist_entered_in_error_does_not_count(assessed_case, clinician):
    Dsm5ChecklistFactory(
        case=assessed_case, entered_in_error=True, entered_in_error_reason="Wrong patient chart."
    )

    assert_treatment_refused(assessed_case, clinician)


def test_a_checklist_administered_after_the_effective_time_does_not_count(assessed_case, clinician):
    administered_at = timezone.now() - dt.timedelta(hours=1)
    Dsm5ChecklistFactory(case=assessed_case, administered_at=administered_at)

    assert_treatment_refused(assessed_case, clinician, effective_at=administered_at - dt.timedelta(seconds=1))


def test_a_checklist_on_another_case_does_not_count(assessed_case, other_case, clinician):
    Dsm5ChecklistFactory(case=other_case)

    assert_treatment_refused(assessed_case, clinician)


def test_another_instrument_does_not_count_as_the_checklist(assessed_case, clinician):
    Dsm5ChecklistFactory(
        case=assessed_case,
        instrument=Assessment.Instrument.PHQ9,
        responses={"q1": 2},
        total=2,
        band="minimal",
    )

    assert_treatment_refused(assessed_case, clinician)


def test_a_valid_checklist_allows_treatment(assessed_case, clinician):
    Dsm5ChecklistFactory(case=assessed_case)

    case_transition(case=assessed_case, to_stage=Stage.TREATMENT, actor=clinician)

    assessed_case.refresh_from_db()
    assert assessed_case.stage == Stage.TREATMENT
    assert history(assessed_case)[-1] == (3, "assessment", "treatment")


def test_a_checklist_administered_at_the_effective_time_counts(assessed_case, clinician):
    administered_at = timezone.now() - dt.timedelta(hours=1)
    Dsm5ChecklistFactory(case=assessed_case, administered_at=administered_at)

    transition = case_transition(
        case=assessed_case, to_stage=Stage.TREATMENT, actor=clinician, effective_at=administered_at
    )

    assert transition.effective_at == administered_at


# --- Effective time (back-dating) ---


def test_the_effective_time_defaults_to_now(own_case, clinician):
    before = timezone.now()

    transition = case_transition(case=own_case, to_stage=Stage.ASSESSMENT, actor=clinician)

    assert before <= transition.effective_at <= timezone.now()


def test_a_back_dated_effective_time_is_stored(own_case, clinician):
    when = timezone.now() - dt.timedelta(days=3)

    case_transition(case=own_case, to_stage=Stage.ASSESSMENT, actor=clinician, effective_at=when)

    assert own_case.stage_history.get(sequence=2).effective_at == when


def test_an_effective_time_in_the_future_is_refused(own_case, clinician):
    before = snapshot(own_case)

    with pytest.raises(ValidationFailed) as excinfo:
        case_transition(
            case=own_case,
            to_stage=Stage.ASSESSMENT,
            actor=clinician,
            effective_at=timezone.now() + dt.timedelta(minutes=5),
        )

    assert list(excinfo.value.errors) == ["effective_at"]
    assert snapshot(own_case) == before


def test_an_effective_time_before_the_previous_transition_is_refused(own_case, clinician):
    previous = timezone.now() - dt.timedelta(days=2)
    case_transition(case=own_case, to_stage=Stage.ASSESSMENT, actor=clinician, effective_at=previous)
    before = snapshot(own_case)

    with pytest.raises(ValidationFailed) as excinfo:
        case_transition(
            case=own_case,
            to_stage=Stage.DISCHARGED,
            actor=clinician,
            discharge_reason="left_against_advice",
            effective_at=previous - dt.timedelta(seconds=1),
        )

    assert list(excinfo.value.errors) == ["effective_at"]
    assert snapshot(own_case) == before


def test_an_effective_time_before_the_case_opened_is_refused(own_case, clinician):
    opening = own_case.stage_history.get(sequence=1).effective_at
    before = snapshot(own_case)

    with pytest.raises(ValidationFailed) as excinfo:
        case_transition(
            case=own_case,
            to_stage=Stage.ASSESSMENT,
            actor=clinician,
            effective_at=opening - dt.timedelta(minutes=1),
        )

    assert list(excinfo.value.errors) == ["effective_at"]
    assert snapshot(own_case) == before


def test_an_effective_time_equal_to_the_previous_transition_is_allowed(own_case, clinician):
    previous = timezone.now() - dt.timedelta(days=2)
    case_transition(case=own_case, to_stage=Stage.ASSESSMENT, actor=clinician, effective_at=previous)

    transition = case_transition(
        case=own_case,
        to_stage=Stage.DISCHARGED,
        actor=clinician,
        discharge_reason="left_against_advice",
        effective_at=previous,
    )

    assert transition.effective_at == previous
    assert history(own_case) == [
        (1, None, "intake"),
        (2, "intake", "assessment"),
        (3, "assessment", "discharged"),
    ]


def test_a_naive_effective_time_is_refused(own_case, clinician):
    before = snapshot(own_case)

    with pytest.raises(ValidationFailed) as excinfo:
        case_transition(
            case=own_case,
            to_stage=Stage.ASSESSMENT,
            actor=clinician,
            effective_at=dt.datetime.now() - dt.timedelta(hours=1),  # naive on purpose
        )

    assert list(excinfo.value.errors) == ["effective_at"]
    assert snapshot(own_case) == before


# --- Discharge ---


def test_discharge_closes_the_case_on_the_chicago_date_of_the_effective_time(clinician):
    case = CaseFactory(primary_clinician=clinician, opened_on=dt.date(2026, 2, 2))
    case_transition(
        case=case,
        to_stage=Stage.ASSESSMENT,
        actor=clinician,
        effective_at=dt.datetime(2026, 2, 3, 15, 0, tzinfo=CHICAGO),
    )
    # 03:00 UTC on March 1st is 21:00 on February 28th in Chicago (CST, UTC-6).
    when = dt.datetime(2026, 3, 1, 3, 0, tzinfo=UTC)

    case_transition(
        case=case,
        to_stage=Stage.DISCHARGED,
        actor=clinician,
        reason="Moved out of state.",
        discharge_reason="transferred",
        effective_at=when,
    )

    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED
    assert case.stage == Stage.DISCHARGED
    assert case.closed_on == dt.date(2026, 2, 28)
    assert case.discharge_reason == "transferred"


def test_discharge_writes_the_full_history_row(own_case, clinician):
    case_transition(
        case=own_case,
        to_stage=Stage.DISCHARGED,
        actor=clinician,
        reason="  Stopped attending after two weeks.  ",
        discharge_reason="left_against_advice",
    )

    row = own_case.stage_history.get(sequence=2)
    assert (row.from_stage, row.to_stage, row.by, row.reason, row.discharge_reason) == (
        "intake",
        "discharged",
        clinician,
        "Stopped attending after two weeks.",
        "left_against_advice",
    )


def test_a_move_that_is_not_a_discharge_stores_no_discharge_reason(own_case, clinician):
    case_transition(case=own_case, to_stage=Stage.ASSESSMENT, actor=clinician)

    assert own_case.stage_history.get(sequence=2).discharge_reason is None
    own_case.refresh_from_db()
    assert (own_case.status, own_case.closed_on, own_case.discharge_reason) == ("open", None, None)


def test_the_callers_case_object_is_refreshed_after_a_discharge(own_case, clinician):
    case_transition(case=own_case, to_stage=Stage.DISCHARGED, actor=clinician, discharge_reason="death")

    assert (own_case.stage, own_case.status, own_case.discharge_reason, own_case.version) == (
        "discharged",
        "closed",
        "death",
        2,
    )
    assert own_case.closed_on == timezone.localdate()


# --- Versions and stale reads ---


def test_each_move_bumps_the_version_by_one(own_case, clinician):
    assert own_case.version == 1

    case_transition(case=own_case, to_stage=Stage.ASSESSMENT, actor=clinician)
    case_transition(case=own_case, to_stage=Stage.DISCHARGED, actor=clinician, discharge_reason="other")

    assert Case.objects.get(pk=own_case.pk).version == 3
    assert own_case.version == 3


def test_a_refused_move_does_not_bump_the_version(own_case, clinician):
    with pytest.raises(TransitionNotAllowed):
        case_transition(case=own_case, to_stage=Stage.RECOVERY, actor=clinician)

    assert Case.objects.get(pk=own_case.pk).version == 1


def test_a_stale_case_raises_concurrent_change_and_writes_nothing(own_case, clinician, other_clinician):
    stale = Case.objects.get(pk=own_case.pk)
    case_transition(case=own_case, to_stage=Stage.ASSESSMENT, actor=clinician)
    before = snapshot(own_case)

    with pytest.raises(ConcurrentChange):
        case_transition(case=stale, to_stage=Stage.ASSESSMENT, actor=other_clinician)

    assert snapshot(own_case) == before
    assert stale.version == 1


def test_a_stale_case_gets_concurrent_change_even_when_its_move_would_be_allowed_now(own_case, clinician):
    stale = Case.objects.get(pk=own_case.pk)
    case_transition(case=own_case, to_stage=Stage.ASSESSMENT, actor=clinician)
    before = snapshot(own_case)

    with pytest.raises(ConcurrentChange):
        case_transition(case=stale, to_stage=Stage.DISCHARGED, actor=clinician, discharge_reason="other")

    assert snapshot(own_case) == before


# --- Readmission ---


def test_after_discharge_the_patient_can_be_readmitted_as_a_second_case(clinician, front_desk):
    first = case_in_stage(
        Stage.DISCHARGED, actor=clinician, opened_on=timezone.localdate() - dt.timedelta(days=60)
    )
    patient = first.patient

    second = case_open(patient=patient, actor=front_desk, referral_source="primary_care")

    assert patient.cases.count() == 2
    assert set(patient.cases.values_list("pk", "status")) == {(first.pk, "closed"), (second.pk, "open")}
    assert (second.stage, second.opened_on) == ("intake", timezone.localdate())
    assert history(second) == [(1, None, "intake")]
    assert history(first)[-1][2] == "discharged"


def test_a_readmission_may_open_on_the_day_the_previous_case_closed(clinician, front_desk):
    first = case_in_stage(Stage.DISCHARGED, actor=clinician)
    first.refresh_from_db()

    second = case_open(
        patient=first.patient, actor=front_desk, referral_source="self", opened_on=first.closed_on
    )

    assert second.opened_on == first.closed_on


def test_a_readmission_cannot_open_before_the_previous_case_closed(clinician, front_desk):
    first = case_in_stage(Stage.DISCHARGED, actor=clinician)
    first.refresh_from_db()

    with pytest.raises(ValidationFailed) as excinfo:
        case_open(
            patient=first.patient,
            actor=front_desk,
            referral_source="self",
            opened_on=first.closed_on - dt.timedelta(days=1),
        )

    assert list(excinfo.value.errors) == ["opened_on"]
    assert first.patient.cases.count() == 1
