"""Writes on the clinical record: assessments (scored by the instrument registry), plan goals, medications,
urine drug screens and liver panels. Each write checks the alert rules in the same transaction."""

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils import timezone

from cases.errors import ValidationFailed
from cases.instruments import score_responses
from cases.models import (
    ANALYTES,
    Assessment,
    Case,
    ClinicalEvent,
    DrugScreen,
    LiverPanel,
    Medication,
    TreatmentGoal,
)
from cases.services.alerts import ALPHA2_AGONISTS, alerts_check, alerts_recheck_alpha2, alerts_strike
from cases.services.validation import full_clean_or_raise
from clinic.audit import audit_record
from clinic.inputguard import RECORD_TEXT_MAX_LENGTH, clean_text, clean_texts
from clinic.models import User

GOAL_FIELDS = ("problem", "goal", "interventions", "target_date", "status", "review_date")
MEDICATION_FIELDS = (
    "medication", "other_name", "dose", "frequency", "start_date", "stop_date", "prescriber", "on_admission",
)  # fmt: skip
LIVER_FIELDS = (
    "collected_on", "alt", "alt_uln", "ast", "ast_uln", "alp", "alp_uln", "total_bilirubin", "total_bilirubin_uln",
)  # fmt: skip

Record = TypeVar("Record", bound=models.Model)


def _check_open(case: Case) -> None:
    if not case.is_open:
        raise ValidationFailed("The case is closed; open a new case to record care.", field="case")


def _check_day(case: Case, day: dt.date | None, field: str) -> None:
    if day is None:
        return
    if day > timezone.localdate():
        raise ValidationFailed("This date cannot be in the future.", field=field)
    if day < case.opened_on:
        raise ValidationFailed(f"This date is before the case opened ({case.opened_on}).", field=field)


def _only(data: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationFailed(f"Unknown or read-only field: {', '.join(unknown)}.", field=unknown[0])
    clean_texts(data, dict.fromkeys(data, RECORD_TEXT_MAX_LENGTH))  # NUL bytes and over-long texts
    return {key: value.strip() if isinstance(value, str) else value for key, value in data.items()}


# The data category each record is audited under (so access to substance-use records can be reported).
DATA_CATEGORIES = {
    "assessment": "assessment",
    "treatmentgoal": "plan",
    "medication": "medication",
    "drugscreen": "lab",
    "liverpanel": "lab",
    "clinicalevent": "clinical_note",
}


def _save_checked(record: Record, *, actor: User, fields: list[str] | None = None) -> Record:
    full_clean_or_raise(record, exclude=["case", "created_by"])
    with transaction.atomic():
        if fields is None:
            record.save(force_insert=True)
        else:
            record.save(update_fields=fields)
        model_name = record._meta.model_name or ""
        audit_record(
            user=actor,
            action="create" if fields is None else "update",
            object_type=model_name,
            object_id=record.pk,
            patient_id=record.case.patient_id,  # type: ignore[attr-defined]
            data_category=DATA_CATEGORIES.get(model_name, "clinical"),
            detail={"fields": sorted(fields)} if fields else {},
        )
        alerts_check(record, actor=actor, changed=fields)
    return record


Marked = TypeVar("Marked", Assessment, ClinicalEvent)


def _mark_entered_in_error(
    records: models.QuerySet[Marked], pk: Any, *, actor: User, reason: str, noun: str
) -> Marked:
    """A record that is never edited (a score, a clinical event) stays on record, marked entered in error with who,
    when and why (a reason is required), audited as an update; its alert evidence is struck (an alert left with
    nothing valid resolves itself, audited). The row is locked first, so it is marked once."""
    reason = clean_text(reason, field="reason")
    if not reason:
        raise ValidationFailed("A reason is required.", field="reason")
    with transaction.atomic():
        current = records.select_for_update(no_key=True).get(pk=pk)
        if current.entered_in_error:
            raise ValidationFailed(f"This {noun} is already marked entered in error.", field="reason")
        current.entered_in_error = True
        current.entered_in_error_reason = reason
        current.entered_in_error_at = timezone.now()
        current.entered_in_error_by = actor
        current.save(
            update_fields=[
                "entered_in_error",
                "entered_in_error_reason",
                "entered_in_error_at",
                "entered_in_error_by",
            ]
        )
        model_name = current._meta.model_name or ""
        audit_record(
            user=actor,
            action="update",
            object_type=model_name,
            object_id=current.pk,
            patient_id=current.case.patient_id,
            data_category=DATA_CATEGORIES[model_name],
            detail={"entered_in_error": True},
        )
        alerts_strike(current, actor=actor, reason=f"entered in error: {reason}")
    return current


# --- Assessments --------------------------------------------------------------------------------------------


def assessment_record(
    *, case: Case, actor: User, instrument: str, responses: Any, administered_at: dt.datetime | None = None
) -> Assessment:
    """Validate and score the responses (the client never sets total or band), store them, raise alerts."""
    _check_open(case)
    administered_at = administered_at or timezone.now()
    if timezone.is_naive(administered_at):
        raise ValidationFailed("Give the time with a time zone offset.", field="administered_at")
    if administered_at > timezone.now():
        raise ValidationFailed("An assessment cannot be dated in the future.", field="administered_at")
    _check_day(case, timezone.localdate(administered_at), "administered_at")
    clean, score = score_responses(instrument, responses)
    assessment = Assessment(
        case=case,
        instrument=instrument,
        responses=clean,
        total=score.total,
        band=score.band,
        administered_at=administered_at,
        by=actor,
    )
    return _save_checked(assessment, actor=actor)


def assessment_mark_entered_in_error(*, assessment: Assessment, actor: User, reason: str) -> Assessment:
    """Recorded scores never change; a mistaken one is marked, with who, when and why, and stops counting."""
    return _mark_entered_in_error(
        Assessment.objects.all(), assessment.pk, actor=actor, reason=reason, noun="assessment"
    )


# --- Treatment plan -----------------------------------------------------------------------------------------


def goal_add(*, case: Case, actor: User, data: Mapping[str, Any]) -> TreatmentGoal:
    _check_open(case)
    fields = _only(data, GOAL_FIELDS)
    fields.setdefault("review_date", timezone.localdate())
    _check_day(case, fields["review_date"], "review_date")
    return _save_checked(TreatmentGoal(case=case, created_by=actor, **fields), actor=actor)


def goal_update(*, goal: TreatmentGoal, actor: User, data: Mapping[str, Any]) -> TreatmentGoal:
    fields = _only(data, GOAL_FIELDS)
    if "review_date" in fields:
        _check_day(goal.case, fields["review_date"], "review_date")
    for name, value in fields.items():
        setattr(goal, name, value)
    return _save_checked(goal, actor=actor, fields=[*fields, "updated_at"])


# --- Medications --------------------------------------------------------------------------------------------


def _check_medication(medication: Medication) -> None:
    if medication.medication == Medication.Name.OTHER and not medication.other_name:
        raise ValidationFailed("Name the medication when it is 'other'.", field="other_name")
    if medication.stop_date and medication.stop_date < medication.start_date:
        raise ValidationFailed("The stop date is before the start date.", field="stop_date")
    # SPEC 3.5: not before the case opened, unless the patient was already taking it on admission.
    opened = medication.case.opened_on
    if not medication.on_admission:
        for name in ("start_date", "stop_date"):
            day = getattr(medication, name)
            if day is not None and day < opened:
                raise ValidationFailed(
                    f"This date is before the case opened ({opened}); mark the medication on_admission if the "
                    "patient was already taking it.",
                    field=name,
                )


def medication_add(*, case: Case, actor: User, data: Mapping[str, Any]) -> Medication:
    _check_open(case)
    medication = Medication(case=case, created_by=actor, **_only(data, MEDICATION_FIELDS))
    _check_medication(medication)
    with transaction.atomic():
        _save_checked(medication, actor=actor)
        if medication.medication in ALPHA2_AGONISTS:  # earlier visits' vitals may now be on it
            alerts_recheck_alpha2(case.pk, actor=actor)
    return medication


def medication_update(*, medication: Medication, actor: User, data: Mapping[str, Any]) -> Medication:
    fields = _only(data, MEDICATION_FIELDS)
    was_alpha2 = medication.medication in ALPHA2_AGONISTS
    for name, value in fields.items():
        setattr(medication, name, value)
    _check_medication(medication)
    with transaction.atomic():
        _save_checked(medication, actor=actor, fields=[*fields, "updated_at"])
        if was_alpha2 or medication.medication in ALPHA2_AGONISTS:  # the days on it may have changed
            alerts_recheck_alpha2(medication.case_id, actor=actor)
    return medication


# --- Labs ---------------------------------------------------------------------------------------------------


def _screen_results(results: Any) -> dict[str, str]:
    if not isinstance(results, Mapping):
        raise ValidationFailed("Results must be an object of analyte to result.", field="results")
    errors = {}
    for analyte, result in results.items():
        if analyte not in ANALYTES:
            errors[f"results.{analyte}"] = ["Unknown analyte; known: " + ", ".join(ANALYTES) + "."]
        elif result not in DrugScreen.Result.values:
            errors[f"results.{analyte}"] = ["Not a result; use positive, negative or not_tested."]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], errors=errors)
    return dict(results)


def drug_screen_record(*, case: Case, actor: User, collected_on: dt.date, results: Any) -> DrugScreen:
    """A urine drug screen; an analyte left out is `not_tested`."""
    _check_open(case)
    _check_day(case, collected_on, "collected_on")
    screen = DrugScreen(case=case, created_by=actor, collected_on=collected_on, **_screen_results(results))
    return _save_checked(screen, actor=actor)


def drug_screen_update(
    *, screen: DrugScreen, actor: User, collected_on: dt.date | None = None, results: Any = None
) -> DrugScreen:
    """Correct a screen: `results` replaces only the analytes it names."""
    fields: list[str] = []
    if collected_on is not None:
        _check_day(screen.case, collected_on, "collected_on")
        screen.collected_on = collected_on
        fields.append("collected_on")
    if results is not None:
        for analyte, result in _screen_results(results).items():
            setattr(screen, analyte, result)
            fields.append(analyte)
    if not fields:
        return screen
    return _save_checked(screen, actor=actor, fields=fields)


def liver_panel_record(*, case: Case, actor: User, data: Mapping[str, Any]) -> LiverPanel:
    _check_open(case)
    fields = _only(data, LIVER_FIELDS)
    _check_day(case, fields.get("collected_on"), "collected_on")
    return _save_checked(LiverPanel(case=case, created_by=actor, **fields), actor=actor)


def liver_panel_update(*, panel: LiverPanel, actor: User, data: Mapping[str, Any]) -> LiverPanel:
    fields = _only(data, LIVER_FIELDS)
    if "collected_on" in fields:
        _check_day(panel.case, fields["collected_on"], "collected_on")
    for name, value in fields.items():
        setattr(panel, name, value)
    return _save_checked(panel, actor=actor, fields=list(fields))
