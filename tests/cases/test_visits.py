"""Visits (SPEC 3.4): scheduling, attendance, the clinical note, signing and addenda (`cases.services.visits`)."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from cases.errors import NoteLocked, ValidationFailed
from cases.models import Case, Visit, VisitAddendum
from cases.services.visits import visit_add_addendum, visit_schedule, visit_sign, visit_update
from clinic.roles import Role
from tests.factories import (
    AttendedVisitFactory,
    CaseFactory,
    SignedVisitFactory,
    UserFactory,
    VisitFactory,
    case_in_stage,
)

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def row(visit: Visit) -> dict:
    """The visit's columns as stored."""
    return Visit.objects.filter(pk=visit.pk).values().get()


# --- Scheduling ---


def test_front_desk_schedules_a_visit_with_a_clinician(own_case, front_desk, clinician):
    when = timezone.now() + dt.timedelta(days=2)

    visit = visit_schedule(
        case=own_case, actor=front_desk, clinician=clinician, visit_type="telehealth", scheduled_at=when
    )

    stored = row(visit)
    assert (stored["case_id"], stored["clinician_id"], stored["created_by_id"]) == (
        own_case.pk,
        clinician.pk,
        front_desk.pk,
    )
    assert (stored["visit_type"], stored["scheduled_at"], stored["duration_minutes"], stored["status"]) == (
        "telehealth",
        when,
        30,  # a telehealth visit's usual length (DEFAULT_DURATIONS)
        "scheduled",
    )
    assert (stored["signed_at"], stored["subjective"], stored["craving"]) == (None, "", None)


def test_a_visit_cannot_be_scheduled_on_a_closed_case(clinician):
    case = case_in_stage(Case.Stage.DISCHARGED, actor=clinician)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_schedule(
            case=case,
            actor=clinician,
            clinician=clinician,
            visit_type="individual_counseling",
            scheduled_at=timezone.now() + dt.timedelta(days=1),
        )

    assert list(excinfo.value.errors) == ["case"]
    assert not Visit.objects.exists()


def test_a_visit_cannot_be_scheduled_before_the_case_opened_in_chicago(clinician):
    case = CaseFactory(opened_on=dt.date(2026, 3, 10))
    # 04:30 UTC on March 10th is 23:30 on March 9th in Chicago (CDT started March 8th, UTC-5).
    when = dt.datetime(2026, 3, 10, 4, 30, tzinfo=dt.UTC)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_schedule(
            case=case, actor=clinician, clinician=clinician, visit_type="intake", scheduled_at=when
        )

    assert list(excinfo.value.errors) == ["scheduled_at"]
    assert not Visit.objects.exists()


def test_a_visit_on_the_day_the_case_opened_is_accepted(clinician):
    case = CaseFactory(opened_on=dt.date(2026, 3, 10))
    when = dt.datetime(2026, 3, 10, 0, 30, tzinfo=CHICAGO)

    visit = visit_schedule(
        case=case, actor=clinician, clinician=clinician, visit_type="intake", scheduled_at=when
    )

    assert row(visit)["scheduled_at"] == when


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.ADMINISTRATOR])
def test_a_visit_needs_a_clinician_or_supervisor(own_case, front_desk, role):
    not_clinical = UserFactory(roles=[role])

    with pytest.raises(ValidationFailed) as excinfo:
        visit_schedule(
            case=own_case,
            actor=front_desk,
            clinician=not_clinical,
            visit_type="intake",
            scheduled_at=timezone.now() + dt.timedelta(days=1),
        )

    assert list(excinfo.value.errors) == ["clinician"]
    assert not Visit.objects.exists()


def test_a_visit_with_an_inactive_clinician_is_refused(own_case, front_desk):
    gone = UserFactory(roles=[Role.CLINICIAN], is_active=False)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_schedule(
            case=own_case,
            actor=front_desk,
            clinician=gone,
            visit_type="intake",
            scheduled_at=timezone.now() + dt.timedelta(days=1),
        )

    assert list(excinfo.value.errors) == ["clinician"]


def test_scheduling_refuses_an_unknown_visit_type(own_case, front_desk, clinician):
    with pytest.raises(ValidationFailed) as excinfo:
        visit_schedule(
            case=own_case,
            actor=front_desk,
            clinician=clinician,
            visit_type="yoga",
            scheduled_at=timezone.now() + dt.timedelta(days=1),
        )

    assert list(excinfo.value.errors) == ["visit_type"]
    assert not Visit.objects.exists()


@pytest.mark.parametrize("minutes", [4, 481])
def test_scheduling_refuses_a_duration_outside_5_to_480_minutes(own_case, front_desk, clinician, minutes):
    # The range is a CheckConstraint, reported under non_field_errors with the constraint's name.
    with pytest.raises(ValidationFailed):
        visit_schedule(
            case=own_case,
            actor=front_desk,
            clinician=clinician,
            visit_type="intake",
            scheduled_at=timezone.now() + dt.timedelta(days=1),
            duration_minutes=minutes,
        )

    assert not Visit.objects.exists()


# --- Updating: attendance and the note ---


def test_a_signed_visit_cannot_change(clinician):
    visit = SignedVisitFactory(clinician=clinician)
    before = row(visit)

    with pytest.raises(NoteLocked):
        visit_update(visit=visit, actor=clinician, data={"plan": "Taper to 4 g/day."})

    assert row(visit) == before


def test_even_the_schedule_of_a_signed_visit_is_locked(clinician):
    visit = SignedVisitFactory(clinician=clinician)
    before = row(visit)

    with pytest.raises(NoteLocked):
        visit_update(visit=visit, actor=clinician, data={"duration_minutes": 30})

    assert row(visit) == before


@pytest.mark.parametrize(
    "data",
    [
        {"subjective": "Feels restless."},
        {"craving": 6},
        {"bp_systolic": 130, "bp_diastolic": 85},
        {"withdrawal_symptoms": ["nausea"]},
    ],
    ids=["note", "craving", "vitals", "symptoms"],
)
@pytest.mark.parametrize("status", ["scheduled", "no_show", "cancelled", "late_cancel"])
def test_clinical_details_are_refused_on_a_visit_not_attended(own_case, clinician, status, data):
    visit = VisitFactory(case=own_case, clinician=clinician, status=status)
    before = row(visit)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_update(visit=visit, actor=clinician, data=data)

    assert list(excinfo.value.errors) == ["status"]
    assert row(visit) == before


def test_marking_attended_and_writing_the_note_in_one_update_works(own_case, clinician):
    visit = VisitFactory(case=own_case, clinician=clinician, scheduled_at=timezone.now())

    visit_update(
        visit=visit,
        actor=clinician,
        data={
            "status": "attended",
            "subjective": "  Down to 5 g/day; sleep improving.  ",
            "plan": "Continue taper.",
            "craving": 4,
            "kratom_days_used_30": 21,
            "kratom_daily_grams": "5.0",
            "withdrawal_symptoms": ["insomnia", "irritability", "insomnia"],
            "bp_systolic": 132,
            "bp_diastolic": 86,
            "heart_rate": 88,
            "weight_kg": "81.4",
        },
    )

    stored = row(visit)
    assert stored["status"] == "attended"
    assert stored["subjective"] == "Down to 5 g/day; sleep improving."
    assert stored["plan"] == "Continue taper."
    assert (stored["craving"], stored["kratom_days_used_30"], str(stored["kratom_daily_grams"])) == (
        4,
        21,
        "5.0",
    )
    assert stored["withdrawal_symptoms"] == ["insomnia", "irritability"]
    assert (stored["bp_systolic"], stored["bp_diastolic"], stored["heart_rate"]) == (132, 86, 88)
    assert str(stored["weight_kg"]) == "81.4"
    assert stored["signed_at"] is None
    assert visit.status == "attended"
    assert visit.withdrawal_symptoms == ["insomnia", "irritability"]


@pytest.mark.parametrize("status", ["no_show", "cancelled", "late_cancel", "scheduled"])
def test_an_attended_visit_with_a_note_cannot_become_not_attended(clinician, status):
    visit = AttendedVisitFactory(clinician=clinician)
    before = row(visit)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_update(visit=visit, actor=clinician, data={"status": status})

    assert list(excinfo.value.errors) == ["status"]
    assert row(visit) == before


def test_an_attended_visit_with_only_vitals_cannot_become_a_no_show(clinician):
    visit = AttendedVisitFactory(clinician=clinician, subjective="", heart_rate=72)

    with pytest.raises(ValidationFailed):
        visit_update(visit=visit, actor=clinician, data={"status": "no_show"})

    assert row(visit)["status"] == "attended"


def test_an_attended_visit_without_a_note_can_be_corrected_to_a_no_show(clinician, front_desk):
    visit = AttendedVisitFactory(
        clinician=clinician, subjective="", scheduled_at=timezone.now() - dt.timedelta(minutes=1)
    )

    visit_update(
        visit=visit, actor=front_desk, data={"status": "no_show"}, reason="Checked in the wrong patient."
    )

    assert row(visit)["status"] == "no_show"


@pytest.mark.parametrize("status", ["attended", "no_show", "cancelled", "late_cancel"])
def test_front_desk_marks_attendance(own_case, front_desk, status):
    visit = VisitFactory(case=own_case, scheduled_at=timezone.now() - dt.timedelta(minutes=1))

    visit_update(visit=visit, actor=front_desk, data={"status": status})

    assert row(visit)["status"] == status


def test_an_unknown_attendance_code_is_refused(own_case, front_desk):
    visit = VisitFactory(case=own_case)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_update(visit=visit, actor=front_desk, data={"status": "rescheduled"})

    assert list(excinfo.value.errors) == ["status"]
    assert row(visit)["status"] == "scheduled"


@pytest.mark.parametrize(
    "symptoms",
    [["nausea", "hiccups"], "nausea", [None], {"nausea": True}],
    ids=["unknown", "string", "null", "dict"],
)
def test_withdrawal_symptoms_must_be_a_list_of_known_codes(clinician, symptoms):
    visit = AttendedVisitFactory(clinician=clinician)
    before = row(visit)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_update(visit=visit, actor=clinician, data={"withdrawal_symptoms": symptoms})

    assert list(excinfo.value.errors) == ["withdrawal_symptoms"]
    assert row(visit) == before


def test_every_withdrawal_symptom_code_is_accepted(clinician):
    visit = AttendedVisitFactory(clinician=clinician)

    visit_update(
        visit=visit, actor=clinician, data={"withdrawal_symptoms": list(Visit.WithdrawalSymptom.values)}
    )

    assert row(visit)["withdrawal_symptoms"] == sorted(Visit.WithdrawalSymptom.values)


@pytest.mark.parametrize(
    "data",
    [{"bp_systolic": 140}, {"craving": 11}, {"heart_rate": 300}, {"bp_systolic": 80, "bp_diastolic": 90}],
    ids=["lone-systolic", "craving-11", "heart-rate-300", "diastolic-above-systolic"],
)
def test_implausible_clinical_values_are_refused(clinician, data):
    visit = AttendedVisitFactory(clinician=clinician)
    before = row(visit)

    with pytest.raises(ValidationFailed):
        visit_update(visit=visit, actor=clinician, data=data)

    assert row(visit) == before


@pytest.mark.parametrize("field", ["signed_at", "signed_by", "case", "created_by", "id", "addenda"])
def test_an_unknown_or_server_owned_field_is_refused(clinician, field):
    visit = AttendedVisitFactory(clinician=clinician)
    before = row(visit)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_update(visit=visit, actor=clinician, data={field: None, "plan": "x"})

    assert list(excinfo.value.errors) == [field]
    assert row(visit) == before


def test_rescheduling_before_the_case_opened_is_refused(own_case, front_desk):
    visit = VisitFactory(case=own_case)
    before = row(visit)
    too_early = timezone.make_aware(dt.datetime.combine(own_case.opened_on, dt.time(9))) - dt.timedelta(
        days=1
    )

    with pytest.raises(ValidationFailed) as excinfo:
        visit_update(visit=visit, actor=front_desk, data={"scheduled_at": too_early})

    assert list(excinfo.value.errors) == ["scheduled_at"]
    assert row(visit) == before


def test_reassigning_to_a_non_clinician_is_refused(own_case, front_desk):
    visit = VisitFactory(case=own_case)
    before = row(visit)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_update(visit=visit, actor=front_desk, data={"clinician": front_desk})

    assert list(excinfo.value.errors) == ["clinician"]
    assert row(visit) == before


# --- Signing ---


def test_signing_locks_the_note_with_signer_and_time(clinician):
    visit = AttendedVisitFactory(clinician=clinician)
    before = timezone.now()

    visit_sign(visit=visit, actor=clinician)

    stored = row(visit)
    assert stored["signed_by_id"] == clinician.pk
    assert before <= stored["signed_at"] <= timezone.now()
    assert visit.is_signed


@pytest.mark.parametrize("status", ["scheduled", "no_show", "cancelled", "late_cancel"])
def test_only_an_attended_visit_can_be_signed(own_case, clinician, status):
    visit = VisitFactory(case=own_case, clinician=clinician, status=status)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_sign(visit=visit, actor=clinician)

    assert list(excinfo.value.errors) == ["status"]
    assert row(visit)["signed_at"] is None


def test_a_note_without_text_cannot_be_signed(clinician):
    visit = AttendedVisitFactory(clinician=clinician, subjective="", craving=3, heart_rate=70)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_sign(visit=visit, actor=clinician)

    assert list(excinfo.value.errors) == ["subjective"]
    assert row(visit)["signed_at"] is None


@pytest.mark.parametrize("field", ["subjective", "objective", "assessment", "plan"])
def test_any_soap_section_is_enough_to_sign(clinician, field):
    visit = AttendedVisitFactory(clinician=clinician, **{"subjective": "", field: "Seen today."})

    visit_sign(visit=visit, actor=clinician)

    assert row(visit)["signed_by_id"] == clinician.pk


def test_a_second_signature_is_a_conflict(clinician, supervisor):
    visit = SignedVisitFactory(clinician=clinician)
    before = row(visit)

    with pytest.raises(NoteLocked):
        visit_sign(visit=visit, actor=supervisor)

    assert row(visit) == before


def test_a_stale_copy_cannot_sign_a_note_already_signed(clinician, supervisor):
    visit = AttendedVisitFactory(clinician=clinician)
    stale = Visit.objects.get(pk=visit.pk)
    visit_sign(visit=visit, actor=clinician)

    with pytest.raises(NoteLocked):
        visit_sign(visit=stale, actor=supervisor)

    assert row(visit)["signed_by_id"] == clinician.pk


def test_a_stale_copy_cannot_edit_a_note_signed_since(clinician):
    visit = AttendedVisitFactory(clinician=clinician)
    stale = Visit.objects.get(pk=visit.pk)
    visit_sign(visit=visit, actor=clinician)
    before = row(visit)

    with pytest.raises(NoteLocked):
        visit_update(visit=stale, actor=clinician, data={"plan": "Changed after signing."})

    assert row(visit) == before


# --- Addenda ---


def test_an_addendum_is_added_to_a_signed_note(clinician, supervisor):
    visit = SignedVisitFactory(clinician=clinician)
    note = row(visit)

    addendum = visit_add_addendum(visit=visit, actor=supervisor, text="  Heart rate was 78, not 87.  ")

    assert list(VisitAddendum.objects.filter(visit=visit).values_list("pk", "author_id", "text")) == [
        (addendum.pk, supervisor.pk, "Heart rate was 78, not 87.")
    ]
    assert addendum.created_at is not None
    assert row(visit) == note


def test_addenda_accumulate_in_order(clinician):
    visit = SignedVisitFactory(clinician=clinician)

    visit_add_addendum(visit=visit, actor=clinician, text="First correction.")
    visit_add_addendum(visit=visit, actor=clinician, text="Second correction.")

    assert list(visit.addenda.values_list("text", flat=True)) == ["First correction.", "Second correction."]


def test_an_addendum_needs_a_signed_note(clinician):
    visit = AttendedVisitFactory(clinician=clinician)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_add_addendum(visit=visit, actor=clinician, text="Too early.")

    assert list(excinfo.value.errors) == ["visit"]
    assert not VisitAddendum.objects.exists()


@pytest.mark.parametrize("text", ["", "   ", None])
def test_an_addendum_needs_text(clinician, text):
    visit = SignedVisitFactory(clinician=clinician)

    with pytest.raises(ValidationFailed) as excinfo:
        visit_add_addendum(visit=visit, actor=clinician, text=text)

    assert list(excinfo.value.errors) == ["text"]
    assert not VisitAddendum.objects.exists()


def test_a_visit_time_without_a_time_zone_is_refused_naming_the_field(own_case, clinician):
    with pytest.raises(ValidationFailed) as refused:
        visit_schedule(
            case=own_case,
            actor=clinician,
            clinician=clinician,
            visit_type="individual_counseling",
            scheduled_at=dt.datetime(2026, 11, 30, 10, 0),
        )
    assert "scheduled_at" in refused.value.errors
