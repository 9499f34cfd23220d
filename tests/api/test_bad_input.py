"""Bad input to every endpoint: a 4xx with the exact code, a 400 names the offending field or parameter, never a
500, and a refused write changes nothing in the database (SPEC section 8)."""

import copy
import datetime as dt
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.forms.models import model_to_dict
from django.test.client import MULTIPART_CONTENT, encode_multipart
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from api.parsers import JSONParser
from cases.models import (
    ANALYTES,
    Alert,
    Assessment,
    BreakGlassGrant,
    Case,
    DrugScreen,
    LiverPanel,
    Medication,
    MrnAllocation,
    Patient,
    StageTransition,
    TreatmentGoal,
    Visit,
    VisitAddendum,
)
from clinic.models import User
from clinic.roles import Role
from tests.api.conftest import PHQ9_MILD, record_each_kind
from tests.builders import rows_for_the_scope
from tests.factories import (
    AttendedVisitFactory,
    CaseFactory,
    PatientFactory,
    SignedVisitFactory,
    UserFactory,
)

PASSWORD = "correct-horse-battery-staple"  # the factories' password
COUNTED = (
    Patient, Case, StageTransition, Visit, VisitAddendum, BreakGlassGrant, MrnAllocation, AuthToken,
    Assessment, TreatmentGoal, Medication, DrugScreen, LiverPanel, Alert,
)  # fmt: skip
NUL = "a\u0000b"
DSM5_NONE_BUT_CRAVING = {
    code: False
    for code in ("larger_longer", "cut_down", "time_spent", "role_failure", "social_problems", "activities_given_up",
                 "hazardous_use", "physical_psych_problems", "tolerance", "withdrawal")
}  # fmt: skip
MISSING = object()  # an override that leaves the key out of the body


@dataclass
class World:
    supervisor: User
    clinician: User
    patient: Patient  # with `case`, at intake, in `clinician`'s caseload
    case: Case
    free_patient: Patient  # registered, no case yet
    other_patient: Patient  # another clinician's: the target of break-glass
    visit: Visit  # attended, with a note, unsigned
    signed_visit: Visit
    # The clinical record of `case`: one of each kind, and an open alert.
    assessment: Assessment
    goal: TreatmentGoal
    medication: Medication
    screen: DrugScreen
    panel: LiverPanel
    alert: Alert
    counts_as_built: dict[str, int] = field(default_factory=dict)  # rows of each COUNTED model

    def ids(self) -> dict[str, str]:
        return {
            "patient": str(self.patient.pk),
            "other_patient": str(self.other_patient.pk),
            "case": str(self.case.pk),
            "visit": str(self.visit.pk),
            "signed_visit": str(self.signed_visit.pk),
            "assessment": str(self.assessment.pk),
            "goal": str(self.goal.pk),
            "medication": str(self.medication.pk),
            "screen": str(self.screen.pk),
            "panel": str(self.panel.pk),
            "alert": str(self.alert.pk),
        }


def build_world() -> World:
    world = _build_world()
    world.counts_as_built = counts()
    return world


def _build_world() -> World:
    # Usernames of their own: a module that imports `world` (test_input_guard) also builds the role users of
    # tests/conftest.py for its other tests, inside this module-long block.
    supervisor = UserFactory(username="world-supervisor", roles=[Role.SUPERVISOR])
    clinician = UserFactory(username="world-clinician", roles=[Role.CLINICIAN])
    other_clinician = UserFactory(username="world-otherclinician", roles=[Role.CLINICIAN])
    case = CaseFactory(primary_clinician=clinician)
    record = record_each_kind(case, supervisor)
    return World(
        supervisor=supervisor,
        clinician=clinician,
        patient=case.patient,
        case=case,
        free_patient=PatientFactory(),
        other_patient=CaseFactory(primary_clinician=other_clinician).patient,
        visit=AttendedVisitFactory(case=case, clinician=clinician),
        signed_visit=SignedVisitFactory(
            case=case, clinician=clinician, scheduled_at=timezone.now() - dt.timedelta(days=2)
        ),
        assessment=record["assessments"],
        goal=record["goals"],
        medication=record["medications"],
        screen=record["drug-screens"],
        panel=record["liver-panels"],
        alert=record["alerts"],
    )


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """The world, built once for the module (through the services, as the API builds it) and rolled back after."""
    with rows_for_the_scope(django_db_blocker, build_world) as world:
        yield world


@pytest.fixture
def world(module_world, db) -> World:
    """Each test's own copy of the world: its writes roll back with its savepoint, its changes to these instances
    stay with it."""
    return copy.deepcopy(module_world)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.mark.parametrize("turn", [1, 2, 3])
def test_each_test_starts_from_the_world_as_built(world, turn):
    """The world is built once for the module: a test's writes, and its changes to its copy of the rows, are gone
    before the next test (whichever of these runs later sees the world as built, whatever the earlier wrote)."""
    assert counts() == world.counts_as_built
    world.case.refresh_from_db()
    assert (world.case.stage, world.case.version, world.case.referral_source) == ("intake", 1, "self")
    assert world.supervisor.first_name != "Changed"
    Case.objects.filter(pk=world.case.pk).update(version=7, referral_source="family")
    PatientFactory()
    world.supervisor.first_name = "Changed"
    assert counts() != world.counts_as_built


def tomorrow() -> str:
    return (timezone.localdate() + dt.timedelta(days=1)).isoformat()


def in_an_hour() -> str:
    return (timezone.now() + dt.timedelta(hours=1)).isoformat()


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # formatted with `World.ids()`
    valid: Callable[[World], dict[str, Any]]
    role: str = "supervisor"  # `anonymous` for the token endpoint
    target: str | None = None  # the `World` row that a refused request must leave as it was
    # (label, overrides of the valid body, expected status, the key the 400 must name)
    cases: list[tuple[str, dict[str, Any], int, str]] = field(default_factory=list)

    def url(self, world: World, **replace: str) -> str:
        return self.path.format(**{**world.ids(), **replace})


ENDPOINTS = [
    Endpoint(
        "register patient",
        "post",
        "/api/v1/patients/",
        lambda w: {
            "first_name": "Ada",
            "last_name": "Byron",
            "date_of_birth": "1985-12-10",
            "sex_at_birth": "female",
        },
        cases=[
            ("first name is an object", {"first_name": {"a": 1}}, 400, "first_name"),
            (
                "first name is a number",
                {"first_name": 12},
                200,
                "",
            ),  # DRF reads a number as its text: accepted
            ("first name missing", {"first_name": MISSING}, 400, "first_name"),
            ("first name null", {"first_name": None}, 400, "first_name"),
            ("first name blank", {"first_name": "   "}, 400, "first_name"),
            ("first name over 100", {"first_name": "x" * 101}, 400, "first_name"),
            ("last name over 100", {"last_name": "x" * 101}, 400, "last_name"),
            ("preferred name over 100", {"preferred_name": "x" * 101}, 400, "preferred_name"),
            ("NUL in a name", {"last_name": NUL}, 400, "last_name"),
            ("date of birth is a number", {"date_of_birth": 19851210}, 400, "date_of_birth"),
            ("date of birth 30 February", {"date_of_birth": "2026-02-30"}, 400, "date_of_birth"),
            ("date of birth month 13", {"date_of_birth": "2026-13-01"}, 400, "date_of_birth"),
            ("date of birth in the future", {"date_of_birth": "TOMORROW"}, 400, "date_of_birth"),
            ("date of birth in year 1", {"date_of_birth": "0001-01-01"}, 400, "date_of_birth"),
            ("unknown sex at birth", {"sex_at_birth": "robot"}, 400, "sex_at_birth"),
            ("sex at birth is a list", {"sex_at_birth": ["female"]}, 400, "sex_at_birth"),
            ("unknown county", {"county": "Narnia"}, 400, "county"),
            ("bad email", {"email": "not-an-email"}, 400, "email"),
            ("confirm is not a boolean", {"confirm_not_duplicate": "perhaps"}, 400, "confirm_not_duplicate"),
            ("read-only mrn", {"mrn": "KR0000001"}, 400, "mrn"),
        ],
    ),
    Endpoint(
        "edit patient",
        "patch",
        "/api/v1/patients/{patient}/",
        lambda w: {"first_name": "Ann"},
        target="patient",
        cases=[
            ("first name is an object", {"first_name": {"a": 1}}, 400, "first_name"),
            ("first name null", {"first_name": None}, 400, "first_name"),
            ("first name blank", {"first_name": ""}, 400, "first_name"),
            ("first name over 100", {"first_name": "x" * 101}, 400, "first_name"),
            ("NUL in a name", {"first_name": NUL}, 400, "first_name"),
            ("date of birth 30 February", {"date_of_birth": "2026-02-30"}, 400, "date_of_birth"),
            ("date of birth in the future", {"date_of_birth": "TOMORROW"}, 400, "date_of_birth"),
            ("date of birth is a number", {"date_of_birth": 1985}, 400, "date_of_birth"),
            ("unknown sex at birth", {"sex_at_birth": "robot"}, 400, "sex_at_birth"),
            ("read-only id", {"id": str(uuid.uuid4())}, 400, "id"),
            ("read-only current case", {"current_case": None}, 400, "current_case"),
        ],
    ),
    Endpoint(
        "break glass",
        "post",
        "/api/v1/patients/{other_patient}/break-glass/",
        lambda w: {"reason": "Covering the on-call shift; the patient called in crisis."},
        role="clinician",
        cases=[
            ("reason missing", {"reason": MISSING}, 400, "reason"),
            ("reason too short", {"reason": "because"}, 400, "reason"),
            ("reason over 2000", {"reason": "x" * 2001}, 400, "reason"),
            ("reason is an object", {"reason": {"why": "crisis"}}, 400, "reason"),
            ("NUL in the reason", {"reason": NUL * 10}, 400, "reason"),
        ],
    ),
    Endpoint(
        "open case",
        "post",
        "/api/v1/cases/",
        lambda w: {"patient": str(w.free_patient.pk), "referral_source": "self"},
        cases=[
            ("patient not a uuid", {"patient": "not-a-uuid"}, 400, "patient"),
            ("patient unknown", {"patient": "RANDOM_UUID"}, 400, "patient"),
            ("patient is a number", {"patient": 7}, 400, "patient"),
            ("patient missing", {"patient": MISSING}, 400, "patient"),
            ("unknown referral source", {"referral_source": "walk_in"}, 400, "referral_source"),
            ("opened on 30 February", {"opened_on": "2026-02-30"}, 400, "opened_on"),
            ("opened on month 13", {"opened_on": "2026-13-01"}, 400, "opened_on"),
            ("opened in the future", {"opened_on": "TOMORROW"}, 400, "opened_on"),
            ("opened on is a number", {"opened_on": 20260101}, 400, "opened_on"),
            ("unknown kratom form", {"kratom_form": "leaf"}, 400, "kratom_form"),
            ("unknown reason for use", {"reasons_for_use": ["pain", "boredom"]}, 400, "reasons_for_use"),
            ("reasons for use not a list", {"reasons_for_use": "pain"}, 400, "reasons_for_use"),
            ("daily grams is text", {"kratom_daily_grams": "lots"}, 400, "kratom_daily_grams"),
            ("daily grams over 500", {"kratom_daily_grams": 501}, 400, "kratom_daily_grams"),
            ("years used negative", {"kratom_years_used": -1}, 400, "kratom_years_used"),
            ("clinician not a uuid", {"primary_clinician": "not-a-uuid"}, 400, "primary_clinician"),
            ("clinician unknown", {"primary_clinician": "RANDOM_UUID"}, 400, "primary_clinician"),
            ("care team member not a uuid", {"care_team": ["not-a-uuid"]}, 400, "care_team"),
            ("care team not a list", {"care_team": "RANDOM_UUID"}, 400, "care_team"),
            ("other substances over 2000", {"other_substances": "x" * 2001}, 400, "other_substances"),
            ("NUL in other substances", {"other_substances": NUL}, 400, "other_substances"),
            ("read-only stage", {"stage": "treatment"}, 400, "stage"),
        ],
    ),
    Endpoint(
        "edit case",
        "patch",
        "/api/v1/cases/{case}/",
        lambda w: {"referral_source": "family"},
        target="case",
        cases=[
            ("unknown referral source", {"referral_source": "walk_in"}, 400, "referral_source"),
            ("referral source null", {"referral_source": None}, 400, "referral_source"),
            ("unknown reason for use", {"reasons_for_use": ["boredom"]}, 400, "reasons_for_use"),
            ("years used over 80", {"kratom_years_used": 81}, 400, "kratom_years_used"),
            ("daily grams is an object", {"kratom_daily_grams": {"g": 4}}, 400, "kratom_daily_grams"),
            ("NUL in other substances", {"other_substances": NUL}, 400, "other_substances"),
            ("clinician unknown", {"primary_clinician": "RANDOM_UUID"}, 400, "primary_clinician"),
            ("read-only stage", {"stage": "discharged"}, 400, "stage"),
            ("read-only patient", {"patient": "RANDOM_UUID"}, 400, "patient"),
            ("read-only opened on", {"opened_on": "2020-01-01"}, 400, "opened_on"),
        ],
    ),
    Endpoint(
        "change stage",
        "post",
        "/api/v1/cases/{case}/transition/",
        lambda w: {"to_stage": "assessment"},
        target="case",
        cases=[
            ("unknown stage", {"to_stage": "nope"}, 400, "to_stage"),
            ("stage missing", {"to_stage": MISSING}, 400, "to_stage"),
            ("stage is a number", {"to_stage": 2}, 400, "to_stage"),
            ("stage the workflow does not allow", {"to_stage": "treatment"}, 400, "to_stage"),
            (
                "unknown discharge reason",
                {"to_stage": "discharged", "discharge_reason": "bored"},
                400,
                "discharge_reason",
            ),
            ("discharge without a reason", {"to_stage": "discharged"}, 400, "discharge_reason"),
            (
                "discharge reason when not discharging",
                {"discharge_reason": "completed"},
                400,
                "discharge_reason",
            ),
            ("effective at 30 February", {"effective_at": "2026-02-30T10:00:00Z"}, 400, "effective_at"),
            ("effective at month 13", {"effective_at": "2026-13-01T10:00:00Z"}, 400, "effective_at"),
            ("effective at is a number", {"effective_at": 1767225600}, 400, "effective_at"),
            ("effective in the future", {"effective_at": "IN_AN_HOUR"}, 400, "effective_at"),
            (
                "effective before the case opened",
                {"effective_at": "2000-01-01T00:00:00Z"},
                400,
                "effective_at",
            ),
            (
                "effective at the end of time",
                {"effective_at": "9999-12-31T23:59:59-12:00"},
                400,
                "effective_at",
            ),
            ("reason over 2000", {"reason": "x" * 2001}, 400, "reason"),
            ("NUL in the reason", {"reason": NUL}, 400, "reason"),
            ("reason is a list", {"reason": ["why"]}, 400, "reason"),
            ("version is text", {"version": "two"}, 400, "version"),
            ("version zero", {"version": 0}, 400, "version"),
            ("version null", {"version": None}, 400, "version"),
            ("version a fraction", {"version": 1.5}, 400, "version"),
        ],
    ),
    Endpoint(
        "schedule visit",
        "post",
        "/api/v1/visits/",
        lambda w: {
            "case": str(w.case.pk),
            "clinician": str(w.clinician.pk),
            "visit_type": "individual_counseling",
            "scheduled_at": "2030-01-02T10:00:00-06:00",
        },
        cases=[
            ("case not a uuid", {"case": "not-a-uuid"}, 400, "case"),
            ("case unknown", {"case": "RANDOM_UUID"}, 400, "case"),
            ("case missing", {"case": MISSING}, 400, "case"),
            ("clinician not a uuid", {"clinician": "not-a-uuid"}, 400, "clinician"),
            ("clinician unknown", {"clinician": "RANDOM_UUID"}, 400, "clinician"),
            ("clinician is an object", {"clinician": {"id": 1}}, 400, "clinician"),
            ("unknown visit type", {"visit_type": "yoga"}, 400, "visit_type"),
            ("NUL in the visit type", {"visit_type": NUL}, 400, "visit_type"),
            ("scheduled 30 February", {"scheduled_at": "2026-02-30T10:00:00-06:00"}, 400, "scheduled_at"),
            ("scheduled month 13", {"scheduled_at": "2026-13-01T10:00:00-06:00"}, 400, "scheduled_at"),
            ("scheduled at is a number", {"scheduled_at": 20260101}, 400, "scheduled_at"),
            ("scheduled in year 1", {"scheduled_at": "0001-01-01T00:00:00+14:00"}, 400, "scheduled_at"),
            (
                "scheduled before the case opened",
                {"scheduled_at": "2001-01-01T10:00:00Z"},
                400,
                "scheduled_at",
            ),
            ("duration is text", {"duration_minutes": "long"}, 400, "duration_minutes"),
            ("duration over 480", {"duration_minutes": 481}, 400, "duration_minutes"),
            ("duration under 5", {"duration_minutes": 4}, 400, "duration_minutes"),
            ("status at scheduling", {"status": "attended"}, 400, "status"),
            ("a note at scheduling", {"subjective": "Early note."}, 400, "subjective"),
        ],
    ),
    Endpoint(
        "edit visit",
        "patch",
        "/api/v1/visits/{visit}/",
        lambda w: {"craving": 5},
        target="visit",
        cases=[
            ("unknown status", {"status": "gone"}, 400, "status"),
            ("craving over 10", {"craving": 11}, 400, "craving"),
            ("craving negative", {"craving": -1}, 400, "craving"),
            ("craving is text", {"craving": "high"}, 400, "craving"),
            ("craving is a fraction", {"craving": 2.5}, 400, "craving"),
            ("days used over 30", {"kratom_days_used_30": 31}, 400, "kratom_days_used_30"),
            ("unknown withdrawal symptom", {"withdrawal_symptoms": ["hiccups"]}, 400, "withdrawal_symptoms"),
            ("withdrawal symptoms not a list", {"withdrawal_symptoms": "nausea"}, 400, "withdrawal_symptoms"),
            ("systolic not above diastolic", {"bp_systolic": 80, "bp_diastolic": 90}, 400, "bp_systolic"),
            ("systolic alone", {"bp_systolic": 120}, 400, "bp_diastolic"),
            ("systolic over 300", {"bp_systolic": 301, "bp_diastolic": 80}, 400, "bp_systolic"),
            ("heart rate is an object", {"heart_rate": {"bpm": 70}}, 400, "heart_rate"),
            ("weight is text", {"weight_kg": "heavy"}, 400, "weight_kg"),
            ("note over 20000", {"subjective": "x" * 20_001}, 400, "subjective"),
            ("plan over 20000", {"plan": "x" * 20_001}, 400, "plan"),
            ("NUL in the note", {"objective": NUL}, 400, "objective"),
            ("scheduled 30 February", {"scheduled_at": "2026-02-30T10:00:00-06:00"}, 400, "scheduled_at"),
            ("clinician unknown", {"clinician": "RANDOM_UUID"}, 400, "clinician"),
            ("moving the visit to another case", {"case": "RANDOM_UUID"}, 400, "case"),
            ("read-only signed at", {"signed_at": "2026-01-01T10:00:00Z"}, 400, "signed_at"),
        ],
    ),
    Endpoint(
        "sign visit",
        "post",
        "/api/v1/visits/{visit}/sign/",
        lambda w: {},
        target="visit",
        cases=[
            ("signed at in the body", {"signed_at": "2026-01-01T10:00:00Z"}, 400, "signed_at"),
        ],
    ),
    Endpoint(
        "add addendum",
        "post",
        "/api/v1/visits/{signed_visit}/addenda/",
        lambda w: {"text": "Craving was 4, not 3."},
        cases=[
            ("text missing", {"text": MISSING}, 400, "text"),
            ("text blank", {"text": "  "}, 400, "text"),
            ("text over 20000", {"text": "x" * 20_001}, 400, "text"),
            ("text is an object", {"text": {"a": "b"}}, 400, "text"),
            ("NUL in the text", {"text": NUL}, 400, "text"),
        ],
    ),
    Endpoint(
        "record assessment",
        "post",
        "/api/v1/assessments/",
        lambda w: {"case": str(w.case.pk), "instrument": "phq9", "responses": dict(PHQ9_MILD)},
        cases=[
            ("case not a uuid", {"case": "not-a-uuid"}, 400, "case"),
            ("case unknown", {"case": "RANDOM_UUID"}, 400, "case"),
            ("case missing", {"case": MISSING}, 400, "case"),
            ("unknown instrument", {"instrument": "audit_c"}, 400, "instrument"),
            ("instrument missing", {"instrument": MISSING}, 400, "instrument"),
            ("instrument is a number", {"instrument": 9}, 400, "instrument"),
            ("NUL in the instrument", {"instrument": NUL}, 400, "instrument"),
            ("responses missing", {"responses": MISSING}, 400, "responses"),
            ("responses a list", {"responses": [0, 1, 2]}, 400, "responses"),
            ("responses a string", {"responses": "all zero"}, 400, "responses"),
            ("responses null", {"responses": None}, 400, "responses"),
            ("response off the scale", {"responses": {**PHQ9_MILD, "q1": 4}}, 400, "responses.q1"),
            ("response negative", {"responses": {**PHQ9_MILD, "q1": -1}}, 400, "responses.q1"),
            ("response a fraction", {"responses": {**PHQ9_MILD, "q1": 0.5}}, 400, "responses.q1"),
            ("response a string", {"responses": {**PHQ9_MILD, "q1": "1"}}, 400, "responses.q1"),
            ("response a boolean", {"responses": {**PHQ9_MILD, "q1": True}}, 400, "responses.q1"),
            ("response an object", {"responses": {**PHQ9_MILD, "q1": {"v": 1}}}, 400, "responses.q1"),
            ("NUL in a response", {"responses": {**PHQ9_MILD, "q1": NUL}}, 400, "responses.q1"),
            ("response missing", {"responses": {**PHQ9_MILD, "q9": MISSING}}, 400, "responses.q9"),
            ("unknown item", {"responses": {**PHQ9_MILD, "q11": 0}}, 400, "responses.q11"),
            ("overlong item code", {"responses": {**PHQ9_MILD, "q" * 300: 0}}, 400, "responses." + "q" * 300),
            ("a thousand items", {"responses": {f"x{n}": 0 for n in range(1000)}}, 400, "responses"),
            ("administered in the future", {"administered_at": "IN_AN_HOUR"}, 400, "administered_at"),
            ("administered 30 February", {"administered_at": "2026-02-30T10:00:00Z"}, 400, "administered_at"),
            ("administered at is a number", {"administered_at": 1767225600}, 400, "administered_at"),
            (
                "administered at the end of time",
                {"administered_at": "9999-12-31T23:59:59-12:00"},
                400,
                "administered_at",
            ),
            (
                "administered before the case opened",
                {"administered_at": "2001-01-01T10:00:00Z"},
                400,
                "administered_at",
            ),
            ("total sent", {"total": 0}, 400, "total"),
            ("band sent", {"band": "minimal"}, 400, "band"),
            ("author sent", {"by": "RANDOM_UUID"}, 400, "by"),
        ],
    ),
    Endpoint(
        "mark assessment entered in error",
        "post",
        "/api/v1/assessments/{assessment}/entered-in-error/",
        lambda w: {"reason": "Recorded on the wrong patient."},
        target="assessment",
        cases=[
            ("reason missing", {"reason": MISSING}, 400, "reason"),
            ("reason blank", {"reason": "  "}, 400, "reason"),
            ("reason over 2000", {"reason": "x" * 2001}, 400, "reason"),
            ("reason is an object", {"reason": {"why": "oops"}}, 400, "reason"),
            ("NUL in the reason", {"reason": NUL}, 400, "reason"),
            ("total sent", {"total": 0}, 400, "total"),
        ],
    ),
    Endpoint(
        "add goal",
        "post",
        "/api/v1/goals/",
        lambda w: {
            "case": str(w.case.pk),
            "problem": "Daily use",
            "goal": "Taper",
            "target_date": "2099-01-01",
        },
        cases=[
            ("case unknown", {"case": "RANDOM_UUID"}, 400, "case"),
            ("case is a number", {"case": 7}, 400, "case"),
            ("problem missing", {"problem": MISSING}, 400, "problem"),
            ("problem blank", {"problem": "   "}, 400, "problem"),
            ("problem over 4000", {"problem": "x" * 4001}, 400, "problem"),
            ("goal is an object", {"goal": {"a": 1}}, 400, "goal"),
            ("NUL in the goal", {"goal": NUL}, 400, "goal"),
            ("interventions over 4000", {"interventions": "x" * 4001}, 400, "interventions"),
            ("unknown status", {"status": "abandoned"}, 400, "status"),
            ("reviewed in the future", {"review_date": "TOMORROW"}, 400, "review_date"),
            ("reviewed before the case opened", {"review_date": "2001-01-01"}, 400, "review_date"),
            ("review date 30 February", {"review_date": "2026-02-30"}, 400, "review_date"),
            ("target date is a number", {"target_date": 20260101}, 400, "target_date"),
            ("read-only author", {"created_by": "RANDOM_UUID"}, 400, "created_by"),
        ],
    ),
    Endpoint(
        "edit goal",
        "patch",
        "/api/v1/goals/{goal}/",
        lambda w: {"status": "revised"},
        target="goal",
        cases=[
            ("unknown status", {"status": "abandoned"}, 400, "status"),
            ("status null", {"status": None}, 400, "status"),
            ("problem blank", {"problem": ""}, 400, "problem"),
            ("NUL in the interventions", {"interventions": NUL}, 400, "interventions"),
            ("reviewed in the future", {"review_date": "TOMORROW"}, 400, "review_date"),
            ("reviewed before the case opened", {"review_date": "2001-01-01"}, 400, "review_date"),
            ("moving the goal to another case", {"case": "RANDOM_UUID"}, 400, "case"),
            ("read-only id", {"id": "RANDOM_UUID"}, 400, "id"),
        ],
    ),
    Endpoint(
        "add medication",
        "post",
        "/api/v1/medications/",
        lambda w: {
            "case": str(w.case.pk),
            "medication": "naltrexone_oral",
            "dose": "50 mg",
            "frequency": "once daily",
            "start_date": timezone.localdate().isoformat(),
            "prescriber": "Dr. Reyes",
        },
        cases=[
            ("case unknown", {"case": "RANDOM_UUID"}, 400, "case"),
            ("unknown medication", {"medication": "kratom"}, 400, "medication"),
            ("medication missing", {"medication": MISSING}, 400, "medication"),
            ("medication is a list", {"medication": ["clonidine"]}, 400, "medication"),
            ("other without a name", {"medication": "other"}, 400, "other_name"),
            ("other name over 120", {"medication": "other", "other_name": "x" * 121}, 400, "other_name"),
            ("dose blank", {"dose": ""}, 400, "dose"),
            ("dose over 60", {"dose": "x" * 61}, 400, "dose"),
            ("NUL in the frequency", {"frequency": NUL}, 400, "frequency"),
            ("prescriber over 120", {"prescriber": "x" * 121}, 400, "prescriber"),
            ("prescriber missing", {"prescriber": MISSING}, 400, "prescriber"),
            ("start date 30 February", {"start_date": "2026-02-30"}, 400, "start_date"),
            ("start date is a number", {"start_date": 20260101}, 400, "start_date"),
            ("stopped before it started", {"stop_date": "2001-01-01"}, 400, "stop_date"),
        ],
    ),
    Endpoint(
        "edit medication",
        "patch",
        "/api/v1/medications/{medication}/",
        lambda w: {"stop_date": timezone.localdate().isoformat()},
        target="medication",
        cases=[
            ("stopped before it started", {"stop_date": "2001-01-01"}, 400, "stop_date"),
            ("unknown medication", {"medication": "kratom"}, 400, "medication"),
            ("other without a name", {"medication": "other"}, 400, "other_name"),
            ("dose null", {"dose": None}, 400, "dose"),
            ("NUL in the dose", {"dose": NUL}, 400, "dose"),
            ("moving the medication to another case", {"case": "RANDOM_UUID"}, 400, "case"),
        ],
    ),
    Endpoint(
        "record drug screen",
        "post",
        "/api/v1/drug-screens/",
        lambda w: {
            "case": str(w.case.pk),
            "collected_on": timezone.localdate().isoformat(),
            "results": {"mitragynine": "positive", "fentanyl": "negative"},
        },
        cases=[
            ("case unknown", {"case": "RANDOM_UUID"}, 400, "case"),
            ("collected in the future", {"collected_on": "TOMORROW"}, 400, "collected_on"),
            ("collected before the case opened", {"collected_on": "2001-01-01"}, 400, "collected_on"),
            ("collected on 30 February", {"collected_on": "2026-02-30"}, 400, "collected_on"),
            ("collected on missing", {"collected_on": MISSING}, 400, "collected_on"),
            ("collected on is a number", {"collected_on": 20260101}, 400, "collected_on"),
            ("results a list", {"results": ["fentanyl"]}, 400, "results"),
            ("results null", {"results": None}, 400, "results"),
            ("unknown analyte", {"results": {"heroin": "positive"}}, 400, "results.heroin"),
            ("unknown result", {"results": {"fentanyl": "trace"}}, 400, "results.fentanyl"),
            ("result null", {"results": {"fentanyl": None}}, 400, "results.fentanyl"),
            ("result a boolean", {"results": {"fentanyl": True}}, 400, "results.fentanyl"),
            ("NUL in a result", {"results": {"fentanyl": NUL}}, 400, "results.fentanyl"),
            ("a hundred analytes", {"results": {f"x{n}": "positive" for n in range(100)}}, 400, "results"),
        ],
    ),
    Endpoint(
        "edit drug screen",
        "patch",
        "/api/v1/drug-screens/{screen}/",
        lambda w: {"results": {"cocaine": "negative"}},
        target="screen",
        cases=[
            ("unknown analyte", {"results": {"heroin": "positive"}}, 400, "results.heroin"),
            ("unknown result", {"results": {"cocaine": "trace"}}, 400, "results.cocaine"),
            ("results null", {"results": None}, 400, "results"),
            ("collected in the future", {"collected_on": "TOMORROW"}, 400, "collected_on"),
            ("collected on null", {"collected_on": None}, 400, "collected_on"),
            ("moving the screen to another case", {"case": "RANDOM_UUID"}, 400, "case"),
        ],
    ),
    Endpoint(
        "record liver panel",
        "post",
        "/api/v1/liver-panels/",
        lambda w: {
            "case": str(w.case.pk),
            "collected_on": timezone.localdate().isoformat(),
            "alt": 30,
            "alt_uln": 40,
            "ast": 25,
            "ast_uln": 40,
            "alp": 80,
            "alp_uln": 120,
            "total_bilirubin": 0.8,
            "total_bilirubin_uln": 1.2,
        },
        cases=[
            ("case unknown", {"case": "RANDOM_UUID"}, 400, "case"),
            ("alt missing", {"alt": MISSING}, 400, "alt"),
            ("alt negative", {"alt": -1}, 400, "alt"),
            ("alt is text", {"alt": "high"}, 400, "alt"),
            ("alt is NaN text", {"alt": "NaN"}, 400, "alt"),
            ("alt is infinite", {"alt": "Infinity"}, 400, "alt"),
            ("alt over the digits", {"alt": 10_000_000}, 400, "alt"),
            ("alt with two decimals", {"alt": 30.25}, 400, "alt"),
            ("ALT limit zero", {"alt_uln": 0}, 400, "alt_uln"),
            ("ALP limit null", {"alp_uln": None}, 400, "alp_uln"),
            ("ast is an object", {"ast": {"u": 25}}, 400, "ast"),
            ("bilirubin limit zero", {"total_bilirubin_uln": 0}, 400, "total_bilirubin_uln"),
            ("collected in the future", {"collected_on": "TOMORROW"}, 400, "collected_on"),
            ("collected on month 13", {"collected_on": "2026-13-01"}, 400, "collected_on"),
            ("read-only R ratio", {"r_ratio": 1.0}, 400, "r_ratio"),
            ("read-only Hy's law", {"hys_law": False}, 400, "hys_law"),
        ],
    ),
    Endpoint(
        "edit liver panel",
        "patch",
        "/api/v1/liver-panels/{panel}/",
        lambda w: {"alt": 45},
        target="panel",
        cases=[
            ("alt negative", {"alt": -1}, 400, "alt"),
            ("alt null", {"alt": None}, 400, "alt"),
            ("ast is text", {"ast": "normal"}, 400, "ast"),
            ("collected in the future", {"collected_on": "TOMORROW"}, 400, "collected_on"),
            ("read-only pattern", {"pattern": "mixed"}, 400, "pattern"),
            ("moving the panel to another case", {"case": "RANDOM_UUID"}, 400, "case"),
        ],
    ),
    Endpoint(
        "acknowledge alert",
        "post",
        "/api/v1/alerts/{alert}/acknowledge/",
        lambda w: {"note": "Called the patient."},
        target="alert",
        cases=[
            ("note missing", {"note": MISSING}, 400, "note"),
            ("note blank", {"note": "  "}, 400, "note"),
            ("note over 2000", {"note": "x" * 2001}, 400, "note"),
            ("note is a list", {"note": ["called"]}, 400, "note"),
            ("NUL in the note", {"note": NUL}, 400, "note"),
            ("status sent", {"status": "resolved"}, 400, "status"),
        ],
    ),
    Endpoint(
        "resolve alert",
        "post",
        "/api/v1/alerts/{alert}/resolve/",
        lambda w: {"note": "Seen in clinic."},
        target="alert",
        cases=[
            ("note missing", {"note": MISSING}, 400, "note"),
            ("note blank", {"note": ""}, 400, "note"),
            ("note over 2000", {"note": "x" * 2001}, 400, "note"),
            ("note is an object", {"note": {"n": 1}}, 400, "note"),
            ("NUL in the note", {"note": NUL}, 400, "note"),
        ],
    ),
    Endpoint(
        "get a token",
        "post",
        "/api/v1/auth/token/",
        lambda w: {"username": w.supervisor.username, "password": PASSWORD},
        role="anonymous",
        cases=[
            ("username missing", {"username": MISSING}, 400, "username"),
            ("password missing", {"password": MISSING}, 400, "password"),
            ("username is an object", {"username": {"a": 1}}, 400, "username"),
            ("username over 150", {"username": "x" * 151}, 400, "username"),
            ("password over 256", {"password": "x" * 257}, 400, "password"),
            ("NUL in the username", {"username": NUL}, 400, "username"),
            ("wrong password", {"password": "wrong-horse"}, 401, ""),
        ],
    ),
]
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}
WITH_ID = [endpoint for endpoint in ENDPOINTS if "{" in endpoint.path]


def client_for(world: World, role: str) -> APIClient:
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(user=getattr(world, role))
    return client


def snapshot(world: World, endpoint: Endpoint) -> dict[str, Any]:
    """Row counts of everything a write could create, and the target row as stored."""
    state: dict[str, Any] = {model.__name__: model.objects.count() for model in COUNTED}
    if endpoint.target:
        row = getattr(world, endpoint.target)
        state["target"] = model_to_dict(type(row).objects.get(pk=row.pk))
        if any(f.name == "updated_at" for f in row._meta.fields):
            state["target_updated_at"] = type(row).objects.values_list("updated_at", flat=True).get(pk=row.pk)
    return state


def body_with(world: World, endpoint: Endpoint, overrides: dict[str, Any]) -> dict[str, Any]:
    placeholders = {"TOMORROW": tomorrow(), "IN_AN_HOUR": in_an_hour(), "RANDOM_UUID": str(uuid.uuid4())}

    def resolve(value: Any) -> Any:
        if isinstance(value, str):
            return placeholders.get(value, value)
        if isinstance(value, list):
            return [resolve(item) for item in value]
        if isinstance(value, dict):  # e.g. an assessment's responses, where MISSING leaves an item out
            return {key: resolve(item) for key, item in value.items() if item is not MISSING}
        return value

    body = endpoint.valid(world)
    for key, value in overrides.items():
        if value is MISSING:
            body.pop(key, None)
        else:
            body[key] = resolve(value)
    return body


def send(client: APIClient, method: str, url: str, raw: bytes | str, content_type: str) -> Any:
    return client.generic(method.upper(), url, raw, content_type=content_type)


def assert_refused(
    response: Any, status: int, key: str | None, before: dict[str, Any], after: dict[str, Any]
):
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    if key:
        assert key in response.json(), response.json()
    assert after == before, "a refused request changed the database"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_the_valid_body_is_accepted(world, endpoint):
    """The baseline every refusal below departs from: the same request with the valid body succeeds."""
    client = client_for(world, endpoint.role)
    body = json.dumps(endpoint.valid(world))
    response = send(client, endpoint.method, endpoint.url(world), body, "application/json")
    assert response.status_code in (200, 201), response.content[:500]


# Every endpoint reads its body with the one JSON parser (api.parsers.JSONParser, DEFAULT_PARSER_CLASSES): what
# the parser refuses is tested once, on the parser and through two endpoints (a create and an edit), and each
# endpoint is shown to read through it (one malformed body a 400, one body that is not JSON a 415, nothing
# written); test_every_api_view_reads_json_only_through_the_parser holds every view to the same parser.
MALFORMED = {
    "truncated": '{"first_name": ',
    "single-quotes": "{'single': 'quotes'}",
    "trailing-comma": '{"a": 1,}',
    "nul": "\u0000",
    "nan": "NaN",
    "trailing-text": '{"a": 1} trailing',
}
NOT_JSON = ["text/plain", "form", "multipart", "xml"]
THROUGH = ["register patient", "edit visit"]  # the parser's refusals end to end: a create and an edit


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_the_parser_refuses_malformed_json(raw):
    with pytest.raises(ParseError):
        JSONParser().parse(io.BytesIO(raw.encode()), "application/json", {})


@pytest.mark.parametrize("name", THROUGH)
@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_json_is_a_400(world, name, raw):
    endpoint = BY_NAME[name]
    client = client_for(world, endpoint.role)
    before = snapshot(world, endpoint)
    response = send(client, endpoint.method, endpoint.url(world), raw, "application/json")
    assert_refused(response, 400, "detail", before, snapshot(world, endpoint))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_each_endpoint_reads_json_through_the_parser(world, endpoint):
    client = client_for(world, endpoint.role)
    before = snapshot(world, endpoint)
    response = send(client, endpoint.method, endpoint.url(world), MALFORMED["truncated"], "application/json")
    assert_refused(response, 400, "detail", before, snapshot(world, endpoint))
    assert response.json()["detail"].startswith("JSON parse error"), response.json()
    response = send(client, endpoint.method, endpoint.url(world), *not_json(endpoint, world, "multipart"))
    assert_refused(response, 415, "detail", before, snapshot(world, endpoint))


def test_every_api_view_reads_json_only_through_the_parser():
    """Each view and action under /api/ parses bodies with the project's JSON parser alone (the consent document
    upload, a file, reads multipart), so that the refusals above hold for every endpoint, listed or not."""
    from django.urls import URLPattern, URLResolver, get_resolver
    from rest_framework.parsers import MultiPartParser

    def patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from patterns(pattern, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern

    parsers = {}
    for route, pattern in patterns(get_resolver()):
        view = getattr(pattern.callback, "cls", None)
        if view is None or not route.startswith("api/"):
            continue
        initkwargs = getattr(pattern.callback, "initkwargs", {})
        parsers[route] = list(initkwargs.get("parser_classes", view.parser_classes))
    assert len(parsers) > 40, sorted(parsers)
    multipart = {route for route, classes in parsers.items() if classes == [MultiPartParser]}
    assert all("consent" in route for route in multipart), multipart
    assert {route: c for route, c in parsers.items() if route not in multipart and c != [JSONParser]} == {}


@pytest.mark.parametrize("name", THROUGH)
@pytest.mark.parametrize("kind", NOT_JSON)
def test_a_body_that_is_not_json_is_a_415(world, name, kind):
    endpoint = BY_NAME[name]
    client = client_for(world, endpoint.role)
    before = snapshot(world, endpoint)
    response = send(client, endpoint.method, endpoint.url(world), *not_json(endpoint, world, kind))
    assert_refused(response, 415, "detail", before, snapshot(world, endpoint))


def not_json(endpoint: Endpoint, world: World, kind: str) -> tuple[str | bytes, str]:
    """The valid body sent as something other than JSON: (raw body, content type)."""
    body = {key: str(value) for key, value in endpoint.valid(world).items()} or {"x": "y"}
    return {
        "text/plain": (json.dumps(body), "text/plain"),
        "form": (
            "&".join(f"{key}={value}" for key, value in body.items()),
            "application/x-www-form-urlencoded",
        ),
        "multipart": (encode_multipart("BoUnDaRy", body), MULTIPART_CONTENT),
        "xml": ("<patient><first_name>Ada</first_name></patient>", "application/xml"),
    }[kind]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("raw", ["[]", '[{"a": 1}]', '"text"', "42", "true", "null"])
def test_a_body_that_is_not_an_object_is_a_400(world, endpoint, raw):
    client = client_for(world, endpoint.role)
    before = snapshot(world, endpoint)
    response = send(client, endpoint.method, endpoint.url(world), raw, "application/json")
    assert_refused(response, 400, "non_field_errors", before, snapshot(world, endpoint))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_an_unknown_key_is_a_400_naming_it(world, endpoint):
    client = client_for(world, endpoint.role)
    before = snapshot(world, endpoint)
    body = {**endpoint.valid(world), "is_superuser": True}
    response = send(client, endpoint.method, endpoint.url(world), json.dumps(body), "application/json")
    assert_refused(response, 400, "is_superuser", before, snapshot(world, endpoint))


FIELD_CASES = [
    pytest.param(endpoint, overrides, status, key, id=f"{endpoint.name}: {label}")
    for endpoint in ENDPOINTS
    for label, overrides, status, key in endpoint.cases
]


@pytest.mark.parametrize(("endpoint", "overrides", "status", "key"), FIELD_CASES)
def test_a_bad_field_is_refused_naming_it(world, endpoint, overrides, status, key):
    client = client_for(world, endpoint.role)
    before = snapshot(world, endpoint)
    body = json.dumps(body_with(world, endpoint, overrides))
    response = send(client, endpoint.method, endpoint.url(world), body, "application/json")
    if status < 300:  # documented leniency, not a refusal
        assert response.status_code in (200, 201), response.content[:500]
        return
    assert_refused(response, status, key, before, snapshot(world, endpoint))


BAD_IDS = ["not-a-uuid", "RANDOM_UUID", "0.5", "12345", "%00", "' OR 1=1 --", "x" * 300]


@pytest.mark.parametrize("endpoint", WITH_ID, ids=lambda e: e.name)
@pytest.mark.parametrize(
    "bad_id", BAD_IDS, ids=["word", "random-uuid", "number", "int", "nul", "sql", "long"]
)
def test_a_bad_id_in_the_url_is_a_json_404_and_writes_nothing(world, endpoint, bad_id):
    client = client_for(world, endpoint.role)
    bad_id = str(uuid.uuid4()) if bad_id == "RANDOM_UUID" else bad_id
    url = endpoint.url(world, **dict.fromkeys(world.ids(), bad_id))
    before = snapshot(world, endpoint)
    response = send(client, endpoint.method, url, json.dumps(endpoint.valid(world)), "application/json")
    assert_refused(response, 404, "detail", before, snapshot(world, endpoint))


LISTS = [
    "/api/v1/patients/", "/api/v1/cases/", "/api/v1/visits/", "/api/v1/staff/", "/api/v1/instruments/",
    "/api/v1/assessments/", "/api/v1/goals/", "/api/v1/medications/", "/api/v1/drug-screens/",
    "/api/v1/liver-panels/", "/api/v1/alerts/",
]  # fmt: skip
DETAILS = [f"{path}{{}}/" for path in LISTS]


@pytest.mark.parametrize("path", DETAILS)
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "RANDOM_UUID", "1", "%20"])
def test_reading_a_bad_id_is_a_json_404(world, path, bad_id):
    client = client_for(world, "supervisor")
    response = client.get(path.format(str(uuid.uuid4()) if bad_id == "RANDOM_UUID" else bad_id))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."} or "detail" in response.json()


# (list, query string, expected status, the parameter a 400 names; None = accepted as documented)
QUERIES = [
    *[
        (path, query, status, key)
        for path in LISTS
        for query, status, key in [
            ("page=0", 404, "detail"),
            ("page=-1", 404, "detail"),
            ("page=abc", 404, "detail"),
            ("page=999999", 404, "detail"),
            ("page=1e3", 404, "detail"),
            ("page=%00", 404, "detail"),
            ("page_size=abc", 200, None),  # ignored: the default size
            ("page_size=0", 200, None),  # ignored: the default size
            ("page_size=-5", 200, None),  # ignored: the default size
            ("page_size=1000000", 200, None),  # capped at 200
        ]
    ],
    ("/api/v1/patients/", "stage=nope", 400, "stage"),
    ("/api/v1/patients/", "clinician=not-a-uuid", 400, "clinician"),
    ("/api/v1/patients/", "clinician=%00", 400, "clinician"),
    ("/api/v1/patients/", "has_open_case=maybe", 200, None),  # not a boolean: no filter
    ("/api/v1/patients/", "search=" + "x" * 101, 400, "search"),
    ("/api/v1/patients/", "search=a%00b", 400, "search"),
    ("/api/v1/patients/", "search=%27%3B%20DROP%20TABLE", 200, None),
    ("/api/v1/cases/", "stage=nope", 400, "stage"),
    ("/api/v1/cases/", "status=ajar", 400, "status"),
    ("/api/v1/cases/", "patient=not-a-uuid", 400, "patient"),
    ("/api/v1/cases/", "clinician=12", 400, "clinician"),
    ("/api/v1/visits/", "status=maybe", 400, "status"),
    ("/api/v1/visits/", "case=not-a-uuid", 400, "case"),
    ("/api/v1/visits/", "patient=not-a-uuid", 400, "patient"),
    ("/api/v1/visits/", "clinician=not-a-uuid", 400, "clinician"),
    ("/api/v1/visits/", "date_from=2026-02-30", 400, "date_from"),
    ("/api/v1/visits/", "date_to=2026-13-01", 400, "date_to"),
    ("/api/v1/visits/", "date_from=yesterday", 400, "date_from"),
    ("/api/v1/visits/", "date_from=%00", 400, "date_from"),
    ("/api/v1/visits/", "date_to=9999-12-31", 200, None),
    ("/api/v1/visits/", "date_from=9999-12-31", 200, None),
    ("/api/v1/visits/", "date_from=0001-01-01", 200, None),
    ("/api/v1/visits/", "date_to=0001-01-01", 200, None),
    ("/api/v1/visits/", "date_from=0001-01-01&date_to=9999-12-31", 200, None),
    ("/api/v1/staff/", "role=janitor", 400, "role"),
    ("/api/v1/staff/", "is_active=perhaps", 200, None),  # not a boolean: no filter
    ("/api/v1/patients/", "unknown_parameter=1", 200, None),  # unknown parameters are ignored
    *[
        (path, query, 400, query.split("=")[0])
        for path in LISTS[5:]
        for query in ("case=not-a-uuid", "case=%00", "patient=12", "patient=" + "f" * 300)
    ],
    ("/api/v1/assessments/", "instrument=audit_c", 400, "instrument"),
    ("/api/v1/assessments/", "instrument=%00", 400, "instrument"),
    ("/api/v1/assessments/", "entered_in_error=perhaps", 200, None),  # not a boolean: no filter
    ("/api/v1/goals/", "status=abandoned", 400, "status"),
    ("/api/v1/alerts/", "status=ajar", 400, "status"),
    ("/api/v1/alerts/", "severity=meh", 400, "severity"),
    ("/api/v1/alerts/", "kind=%27%3B%20DROP%20TABLE", 400, "kind"),
    ("/api/v1/alerts/", "status=open&severity=urgent&kind=suicide_risk", 200, None),
]


@pytest.mark.parametrize(("path", "query", "status", "key"), QUERIES)
def test_bad_query_parameters_are_refused_or_ignored_never_a_500(world, path, query, status, key):
    response = client_for(world, "supervisor").get(f"{path}?{query}")
    assert response.status_code == status, response.content[:500]
    body = response.json()
    if key:
        assert key in body, body
    if status == 200:
        assert {"count", "next", "previous", "results"} <= set(body)
        assert len(body["results"]) <= 200


def test_an_oversize_page_size_is_capped_at_200(world):
    response = client_for(world, "supervisor").get("/api/v1/patients/?page_size=1000000")
    assert response.status_code == 200
    assert "page_size=1000000" not in (response.json()["next"] or "")  # one page holds everything here


# (endpoint, a body that sits exactly on a boundary and must be accepted)
BOUNDARIES = [
    ("edit visit", {"craving": 0}),
    ("edit visit", {"craving": 10}),
    ("edit visit", {"kratom_days_used_30": 0}),
    ("edit visit", {"kratom_days_used_30": 30}),
    ("edit visit", {"bp_systolic": 50, "bp_diastolic": 20}),
    ("edit visit", {"bp_systolic": 300, "bp_diastolic": 200}),
    ("edit visit", {"bp_systolic": 121, "bp_diastolic": 120}),
    ("edit visit", {"heart_rate": 20}),
    ("edit visit", {"heart_rate": 250}),
    ("edit visit", {"weight_kg": 20}),
    ("edit visit", {"weight_kg": 400}),
    ("edit visit", {"kratom_daily_grams": 0}),
    ("edit visit", {"kratom_daily_grams": 500}),
    ("edit visit", {"subjective": "x" * 20_000}),
    ("edit visit", {"withdrawal_symptoms": []}),
    ("edit visit", {"withdrawal_symptoms": ["irritability", "insomnia", "nausea", "other"]}),
    ("edit visit", {"subjective": "Ünïcödé ✓ 漢字 — emoji 🙂"}),
    ("schedule visit", {"duration_minutes": 5}),
    ("schedule visit", {"duration_minutes": 480}),
    ("register patient", {"first_name": "x" * 100, "last_name": "y" * 100}),
    ("register patient", {"last_name": "O'Brien-Núñez"}),
    ("open case", {"opened_on": "TODAY"}),
    ("open case", {"kratom_daily_grams": 500, "kratom_years_used": 80}),
    ("open case", {"kratom_daily_grams": 0, "kratom_years_used": 0}),
    ("open case", {"reasons_for_use": ["pain", "anxiety_mood", "energy", "opioid_withdrawal", "other"]}),
    ("open case", {"other_substances": "x" * 2000}),
    ("change stage", {"reason": "x" * 2000}),
    ("change stage", {"effective_at": "A_MINUTE_AGO"}),
    ("add addendum", {"text": "x" * 20_000}),
    ("break glass", {"reason": "x" * 2000}),
    ("record assessment", {"administered_at": "A_MINUTE_AGO"}),
    ("record assessment", {"responses": {**PHQ9_MILD, "q9": 3}}),
    (
        "record assessment",
        {"instrument": "dsm5_sud", "responses": {"craving": True, **DSM5_NONE_BUT_CRAVING}},
    ),
    ("mark assessment entered in error", {"reason": "x" * 2000}),
    (
        "add goal",
        {"review_date": "TODAY", "problem": "x" * 4000, "goal": "y" * 4000, "interventions": "z" * 4000},
    ),
    ("add goal", {"goal": "Ünïcödé ✓ 漢字 — emoji 🙂"}),
    ("edit goal", {"review_date": "TODAY", "status": "discontinued"}),
    (
        "add medication",
        {"medication": "other", "other_name": "x" * 120, "dose": "y" * 60, "prescriber": "z" * 120},
    ),
    ("add medication", {"stop_date": "TODAY"}),
    ("record drug screen", {"collected_on": "TODAY"}),
    ("record drug screen", {"results": dict.fromkeys(ANALYTES, "positive")}),
    ("edit drug screen", {"results": dict.fromkeys(ANALYTES, "not_tested")}),
    # The plausible ranges of SPEC v2 3.5 (cases/models/ranges.py LIVER_RANGES), both ends.
    ("record liver panel", {"alt": 0, "ast": 0, "alp": 1, "total_bilirubin": 0}),
    ("record liver panel", {"alt_uln": 10, "ast_uln": 10, "alp_uln": 50, "total_bilirubin_uln": 0.5}),
    ("record liver panel", {"alt": 20000, "alt_uln": 100, "total_bilirubin": 50, "total_bilirubin_uln": 2.0}),
    ("edit liver panel", {"alt": 0.1}),
    ("acknowledge alert", {"note": "x" * 2000}),
    ("resolve alert", {"note": "Ünïcödé ✓ 漢字 — emoji 🙂"}),
]


@pytest.mark.parametrize(("name", "overrides"), BOUNDARIES, ids=[f"{n}: {sorted(o)}" for n, o in BOUNDARIES])
def test_values_on_the_boundary_are_accepted(world, name, overrides):
    endpoint = BY_NAME[name]
    today = timezone.localdate().isoformat()
    a_minute_ago = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
    resolved = {
        key: {"TODAY": today, "A_MINUTE_AGO": a_minute_ago}.get(value, value)
        if isinstance(value, str)
        else value
        for key, value in overrides.items()
    }
    body = json.dumps({**endpoint.valid(world), **resolved})
    response = send(
        client_for(world, endpoint.role), endpoint.method, endpoint.url(world), body, "application/json"
    )
    assert response.status_code in (200, 201), response.content[:500]
    shown = response.json()
    for key, value in resolved.items():
        if key not in shown or key in ("effective_at", "administered_at", "reason"):
            continue
        if isinstance(value, list):  # stored as a set of codes, in code order
            assert sorted(shown[key]) == sorted(value), key
        else:
            assert shown[key] == value or (isinstance(value, int) and float(shown[key]) == value), key


def test_a_refused_transition_leaves_the_history_as_it_was(world):
    client = client_for(world, "supervisor")
    before = list(StageTransition.objects.filter(case=world.case).values_list("sequence", "to_stage"))
    response = client.post(
        f"/api/v1/cases/{world.case.pk}/transition/",
        {"to_stage": "assessment", "effective_at": in_an_hour()},
        format="json",
    )
    assert response.status_code == 400
    assert "effective_at" in response.json()
    assert list(StageTransition.objects.filter(case=world.case).values_list("sequence", "to_stage")) == before
    world.case.refresh_from_db()
    assert (world.case.stage, world.case.version) == ("intake", 1)
