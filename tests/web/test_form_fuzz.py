"""Every page form, every field, a table of hostile values: never a 500, and nothing with a NUL byte or an over-long
text is stored (SPEC section 8: the pages refuse what the API refuses). schemathesis fuzzes the API (`make fuzz`);
this is its counterpart for the pages' forms.

Each target is posted once per (field, hostile value) with every other field plausible, as a supervisor (who may
use every clinical form) or, for the break-glass form, as a clinician."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.models import Alert, Case
from cases.web.chart_forms import DrugScreenForm, LiverPanelForm
from clinic.inputguard import NOTE_TEXT_MAX_LENGTH
from tests.factories import (
    AlertFactory,
    AttendedVisitFactory,
    PatientFactory,
    SignedVisitFactory,
    TreatmentGoalFactory,
    case_in_stage,
    responses_totalling,
)

pytestmark = pytest.mark.django_db

HOSTILE = [
    "",
    "\x00",
    "a\x00b",
    "%00",
    "x" * (NOTE_TEXT_MAX_LENGTH * 5 + 1),  # 100,001 characters
    "TREATMENT",
    " treatment ",
    "-1",
    "0",
    "99999999999999999999999999",
    "1e308",
    "NaN",
    "2024-02-30",
    "0000-00-00",
    "00:61",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "🙂" * 3,
    "00000000-0000-0000-0000-000000000000",
    "[]",
]


@dataclass
class Target:
    url: str
    data: dict[str, object]  # a plausible post; each field is replaced in turn by each hostile value
    as_role: str = "supervisor"


@pytest.fixture
def world(clinician, supervisor, front_desk):
    today = timezone.localdate()
    case = case_in_stage(Case.Stage.TREATMENT, actor=supervisor, primary_clinician=clinician)
    attended = AttendedVisitFactory(case=case, clinician=clinician, subjective="")
    signed = SignedVisitFactory(
        case=case, clinician=clinician, scheduled_at=timezone.now() - dt.timedelta(days=3)
    )
    goal = TreatmentGoalFactory(case=case)
    alert = AlertFactory(case=case, kind=Alert.Kind.ENGAGEMENT_RISK)
    from cases.services.clinical import assessment_record, medication_add

    assessment = assessment_record(
        case=case, actor=supervisor, instrument="phq9", responses=responses_totalling("phq9", 6)
    )
    medication = medication_add(
        case=case,
        actor=supervisor,
        data={
            "medication": "clonidine",
            "dose": "0.1 mg",
            "frequency": "twice daily",
            "start_date": today - dt.timedelta(days=1),
            "prescriber": "Dr. Reyes",
        },
    )
    newcomer = PatientFactory(created_by=front_desk)
    outsider = PatientFactory(created_by=front_desk)
    return {
        "case": case,
        "attended": attended,
        "signed": signed,
        "goal": goal,
        "alert": alert,
        "assessment": assessment,
        "medication": medication,
        "newcomer": newcomer,
        "outsider": outsider,
        "today": today.isoformat(),
        "clinician": clinician,
    }


def _demographics() -> dict[str, object]:
    return {
        "first_name": "Ada",
        "last_name": "Quill",
        "date_of_birth": "1980-04-02",
        "sex_at_birth": "female",
        "phone": "785-555-0100",
        "city": "Topeka",
        "state": "KS",
        "postal_code": "66603",
    }


TARGETS: dict[str, Callable[[dict], Target]] = {
    "register": lambda w: Target(reverse("patient-register"), _demographics()),
    "edit_demographics": lambda w: Target(reverse("patient-edit", args=[w["outsider"].pk]), _demographics()),
    "open_case": lambda w: Target(
        reverse("patient-open-case", args=[w["newcomer"].pk]),
        {
            "referral_source": "self",
            "opened_on": w["today"],
            "kratom_form": "powder",
            "kratom_daily_grams": "10",
            "kratom_years_used": "2",
            "reasons_for_use": ["pain"],
            "other_substances": "none",
            "primary_clinician": str(w["clinician"].pk),
        },
    ),
    "break_glass": lambda w: Target(
        reverse("break-glass"),
        {"mrn": w["outsider"].mrn, "reason": "Patient arrived unconscious."},
        "clinician",
    ),
    "stage_change": lambda w: Target(
        reverse("case-stage-change", args=[w["case"].pk]),
        {"to_stage": "recovery", "version": str(w["case"].version), "reason": "Stable.", "effective_at": ""},
    ),
    "clinicians": lambda w: Target(
        reverse("case-clinicians", args=[w["case"].pk]), {"primary_clinician": str(w["clinician"].pk)}
    ),
    "alert_acknowledge": lambda w: Target(
        reverse("alert-acknowledge-page", args=[w["alert"].pk]), {"note": "Called the patient."}
    ),
    "alert_resolve": lambda w: Target(
        reverse("alert-resolve-page", args=[w["alert"].pk]), {"note": "Back on schedule."}
    ),
    "schedule": lambda w: Target(
        reverse("visit-schedule", args=[w["case"].pk]),
        {
            "visit_type": "individual_counseling",
            "date": (timezone.localdate() + dt.timedelta(days=2)).isoformat(),
            "time": "10:00",
            "duration_minutes": "30",
            "clinician": str(w["clinician"].pk),
        },
    ),
    "note": lambda w: Target(
        reverse("visit-note", args=[w["attended"].pk]),
        {
            "subjective": "Better.",
            "objective": "Calm.",
            "assessment": "Improving.",
            "plan": "Continue.",
            "bp_systolic": "120",
            "bp_diastolic": "80",
            "heart_rate": "70",
            "weight_kg": "80",
            "craving": "3",
            "kratom_days_used_30": "2",
            "kratom_daily_grams": "1",
            "withdrawal_symptoms": ["insomnia"],
        },
    ),
    "addendum": lambda w: Target(reverse("visit-addendum", args=[w["signed"].pk]), {"text": "Correction."}),
    "assessment": lambda w: Target(
        reverse("assessment-record", args=[w["case"].pk, "phq9"]),
        {**{k: str(v) for k, v in responses_totalling("phq9", 5).items()}, "administered_at": ""},
    ),
    "entered_in_error": lambda w: Target(
        reverse("assessment-mark-entered-in-error", args=[w["assessment"].pk]), {"reason": "Wrong patient."}
    ),
    "drug_screen": lambda w: Target(
        reverse("drug-screen-add", args=[w["case"].pk]),
        {**dict.fromkeys(DrugScreenForm().fields, "negative"), "collected_on": w["today"]},
    ),
    "liver_panel": lambda w: Target(
        reverse("liver-panel-add", args=[w["case"].pk]),
        {**dict.fromkeys(LiverPanelForm().fields, ""), "collected_on": w["today"], "alt": "30"},
    ),
    "medication": lambda w: Target(
        reverse("medication-add", args=[w["case"].pk]),
        {
            "medication": "clonidine",
            "other_name": "",
            "dose": "0.1 mg",
            "frequency": "daily",
            "start_date": w["today"],
            "stop_date": "",
            "prescriber": "Dr. Reyes",
        },
    ),
    "medication_edit": lambda w: Target(
        reverse("medication-update", args=[w["medication"].pk]), {"stop_date": w["today"]}
    ),
    "goal": lambda w: Target(
        reverse("goal-add", args=[w["case"].pk]),
        {
            "problem": "Cravings",
            "goal": "Fewer",
            "interventions": "CBT",
            "target_date": "",
            "review_date": "",
        },
    ),
    "goal_edit": lambda w: Target(
        reverse("goal-update", args=[w["goal"].pk]), {"status": "met", "review_date": w["today"]}
    ),
}


def _text_values_with_nul_or_too_long() -> list[str]:
    """Every stored text of the clinic's own tables that holds a NUL byte or more than 20,000 characters."""
    found = []
    for model in [*apps.get_app_config("cases").get_models(), *apps.get_app_config("clinic").get_models()]:
        names = [
            f.name for f in model._meta.concrete_fields if isinstance(f, models.CharField | models.TextField)
        ]
        for row in model._default_manager.values("pk", *names):
            for name in names:
                value = row[name]
                if isinstance(value, str) and ("\x00" in value or len(value) > NOTE_TEXT_MAX_LENGTH):
                    found.append(f"{model.__name__}.{name}")
    return found


@pytest.mark.parametrize("target_name", sorted(TARGETS))
def test_hostile_values_in_every_field_never_answer_500_nor_store(
    request, client: Client, world, target_name
):
    target = TARGETS[target_name](world)
    client.force_login(request.getfixturevalue(target.as_role))
    client.raise_request_exception = True  # a 500 fails the test with its traceback
    statuses = set()
    for field in target.data:
        for value in HOSTILE:
            data = {**target.data, field: value}
            response = client.post(target.url, data)
            assert response.status_code < 500, (field, value[:20])
            statuses.add(response.status_code)
            if "\x00" in value or len(value) > NOTE_TEXT_MAX_LENGTH:
                assert response.status_code in (400, 404, 409), (field, value[:20], response.status_code)
    assert _text_values_with_nul_or_too_long() == []
    assert statuses & {400}  # the table did reach the forms' validation
