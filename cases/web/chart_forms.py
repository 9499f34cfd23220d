"""The chart's forms: stage change, clinician assignment, alert notes, and the clinical record's add and edit forms.

Forms check shapes only (a date is a date, a choice is one of the codes); every rule of the clinic is the service's,
which the view calls with `cleaned_data` and whose refusal `add_domain_errors` shows on the form. Fields are built
from the model's own fields where there is one (labels, lengths, digits and validators are declared once).
"""

from collections.abc import Mapping, Sequence
from typing import Any, cast

from django import forms
from django.db import models

from cases.models import (
    ANALYTES,
    USUAL_SCREEN_PANEL,
    Case,
    DrugScreen,
    LiverPanel,
    Medication,
    TreatmentGoal,
)
from cases.selectors import clinical_staff
from cases.services.stages import GATED_STAGES, TRANSITIONS
from clinic.inputguard import RECORD_TEXT_MAX_LENGTH, SHORT_TEXT_MAX_LENGTH

NOTE_MAX_LENGTH = SHORT_TEXT_MAX_LENGTH
TEXT_MAX_LENGTH = RECORD_TEXT_MAX_LENGTH

# Analyte names as a lab report prints them (the codes are SPEC section 10's).
ANALYTE_LABELS: dict[str, str] = {
    "mitragynine": "Mitragynine",
    "seven_oh_mitragynine": "7-OH-mitragynine",
    "opioids": "Opioids",
    "fentanyl": "Fentanyl",
    "buprenorphine": "Buprenorphine",
    "methadone": "Methadone",
    "benzodiazepines": "Benzodiazepines",
    "amphetamines": "Amphetamines",
    "cocaine": "Cocaine",
    "cannabinoids": "Cannabinoids",
    "alcohol": "Alcohol (EtG)",
}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def model_field(model: type[models.Model], name: str, **kwargs: Any) -> forms.Field:
    """The form field the model declares for `name` (label, length, choices and validators from the model)."""
    field = cast(models.Field, model._meta.get_field(name)).formfield(**kwargs)
    if field is None:
        raise ValueError(f"{model.__name__}.{name} has no form field")
    if isinstance(field, forms.DateField):
        field.widget = DateInput()
    elif isinstance(field.widget, forms.Textarea):
        field.widget.attrs["rows"] = 2
    return field


def filled(data: dict[str, Any]) -> dict[str, Any]:
    """The fields given a value: an empty optional field is left for the service's (or the model's) default."""
    return {name: value for name, value in data.items() if value not in (None, "")}


# --- Case: stage change and clinicians ----------------------------------------------------------------------


def move_label(case: Case, to_stage: str) -> str:
    """The button's words for a move from the case's stage."""
    if to_stage not in Case.Stage.values:  # a hand-made post: the form refuses the field, naming it
        return "Change stage"
    if to_stage == Case.Stage.DISCHARGED:
        return "Discharge"
    if case.stage == Case.Stage.RECOVERY and to_stage == Case.Stage.TREATMENT:
        return "Return to treatment"
    return f"Move to {Case.Stage(to_stage).label.lower()}"


class StageChangeForm(forms.Form):
    """One move of the workflow. Which moves exist and what each needs is `TRANSITIONS`, read here only to offer the
    right fields (the discharge reason for a discharge, `required` on a reason the rule asks for); the service
    enforces the rule. `to_stage` accepts any stage so that a stale form gets the service's 409, not a 400."""

    to_stage = forms.ChoiceField(choices=Case.Stage.choices, widget=forms.HiddenInput)
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    discharge_reason = forms.ChoiceField(
        choices=[("", "Choose a reason"), *Case.DischargeReason.choices], required=False
    )
    reason = forms.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    effective_at = forms.DateTimeField(
        label="Effective at",
        required=False,
        widget=DateTimeInput(),
        help_text="Leave empty for now. May be back-dated, not before the previous stage change.",
    )

    def __init__(
        self, *args: Any, case: Case, to_stage: str, open_urgent: Sequence[Any] = (), **kwargs: Any
    ) -> None:
        """`open_urgent`: the case's unresolved urgent alerts; a move to recovery or discharge lists them and asks
        for the confirmation the service needs to move past them."""
        to_stage = to_stage if to_stage in Case.Stage.values else ""  # anything else: the field's 400
        kwargs.setdefault("auto_id", f"id_move_{to_stage or 'stage'}_%s")
        kwargs.setdefault("initial", {"to_stage": to_stage, "version": case.version})
        super().__init__(*args, **kwargs)
        self.move = to_stage
        self.label = move_label(case, to_stage)
        rule = TRANSITIONS.get((case.stage, to_stage))
        if rule is not None and not rule.discharge_reason_required:
            del self.fields["discharge_reason"]
        elif rule is not None:
            self.fields["discharge_reason"].widget.attrs["required"] = True
            self.fields["discharge_reason"].help_text = "Required: closes the case."
        if rule is not None and rule.reason_required:
            self.fields["reason"].widget.attrs["required"] = True
            self.fields["reason"].help_text = "Required for this change."
        else:
            self.fields["reason"].label = "Reason (optional)"
        self.open_urgent = list(open_urgent) if to_stage in GATED_STAGES else []
        if self.open_urgent:
            self.fields["confirm_open_alerts"] = forms.BooleanField(
                required=False,
                label="I have reviewed these urgent alerts; move the case with them still unresolved",
            )

    def transition_kwargs(self) -> dict[str, Any]:
        """The service's arguments (`version` is set on the case by the view)."""
        data = self.cleaned_data
        return {
            "to_stage": data["to_stage"],
            "reason": data["reason"],
            "discharge_reason": data.get("discharge_reason") or None,
            "effective_at": data["effective_at"],
            "confirm_open_alerts": bool(data.get("confirm_open_alerts")),
        }


class ClinicianAssignmentForm(forms.Form):
    primary_clinician = forms.ModelChoiceField(
        queryset=clinical_staff(), required=False, empty_label="No primary clinician"
    )
    care_team = forms.ModelMultipleChoiceField(
        queryset=clinical_staff(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_assign_%s")
        kwargs.setdefault(
            "initial",
            {
                "primary_clinician": case.primary_clinician_id,
                "care_team": [u.pk for u in case.care_team.all()],
            },
        )
        super().__init__(*args, **kwargs)


class AlertNoteForm(forms.Form):
    """What was done about an alert: one note, for whichever button is pressed."""

    note = forms.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2, "required": True})
    )

    def __init__(self, *args: Any, alert_id: object, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"id_alert_{alert_id}_%s")
        super().__init__(*args, **kwargs)


# --- The clinical record ------------------------------------------------------------------------------------


# The lab's short names, for the screens table's column headings (the full name is the heading's title).
ANALYTE_ABBREVIATIONS: dict[str, str] = {
    "mitragynine": "MIT",
    "seven_oh_mitragynine": "7-OH",
    "opioids": "OPI",
    "fentanyl": "FYL",
    "buprenorphine": "BUP",
    "methadone": "MTD",
    "benzodiazepines": "BZO",
    "amphetamines": "AMP",
    "cocaine": "COC",
    "cannabinoids": "THC",
    "alcohol": "EtG",
}
# Negative first: the usual answer, in the first column of the entry grid.
SCREEN_ENTRY_CHOICES = [
    (DrugScreen.Result.NEGATIVE, "Negative"),
    (DrugScreen.Result.POSITIVE, "Positive"),
    (DrugScreen.Result.NOT_TESTED, "Not tested"),
]
ALL_NEGATIVE = "negative"  # the value of the form's "All negative" button (`fill`)


class DrugScreenForm(forms.Form):
    """A urine drug screen as a grid of radio buttons, one row per analyte (issue 15, quick entry). The clinic's
    usual panel (`USUAL_SCREEN_PANEL`) needs an answer for each of its analytes, none chosen beforehand (a result is
    never assumed); "All negative" marks every one not yet answered negative (`with_usual_panel_negative`), so a
    routine negative cup is two clicks. The other analytes start as not tested."""

    collected_on = model_field(DrugScreen, "collected_on", label="Collected on")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_screen_%s")
        super().__init__(*args, **kwargs)
        for analyte in ANALYTES:
            usual = analyte in USUAL_SCREEN_PANEL
            self.fields[analyte] = forms.ChoiceField(
                label=ANALYTE_LABELS[analyte],
                choices=SCREEN_ENTRY_CHOICES,
                initial=None if usual else DrugScreen.Result.NOT_TESTED,
                required=usual,
                widget=forms.RadioSelect,
                error_messages={"required": "Choose a result (or not tested)."},
            )

    @classmethod
    def with_usual_panel_negative(cls, data: Mapping[str, Any]) -> "DrugScreenForm":
        """The form as submitted with "All negative": every usual-panel analyte not yet answered is negative, the
        answers given kept (a positive marked first stays positive). Unbound: nothing is checked or saved yet."""
        known = {value for value, _ in SCREEN_ENTRY_CHOICES}
        initial: dict[str, Any] = {"collected_on": data.get("collected_on", "")}
        for analyte in ANALYTES:
            given = data.get(analyte)
            if given in known:
                initial[analyte] = given
            elif analyte in USUAL_SCREEN_PANEL:
                initial[analyte] = DrugScreen.Result.NEGATIVE
        return cls(initial=initial)

    def analyte_fields(self) -> list[forms.BoundField]:
        return [self[analyte] for analyte in ANALYTES]

    def columns(self) -> list[tuple[forms.BoundField, str]]:
        """Each analyte's field with its short name (the grid's column headings, as the screens table's)."""
        return [(self[analyte], ANALYTE_ABBREVIATIONS[analyte]) for analyte in ANALYTES]

    def grid(self) -> list[tuple[str, list[tuple[str, Any]]]]:
        """The radio buttons by result, then by analyte: one row per result (negative first), one column per
        analyte, each button with its analyte's name (for its label)."""
        fields = self.analyte_fields()
        return [
            (label, [(str(field.label), field.subwidgets[index]) for field in fields])
            for index, (_, label) in enumerate(SCREEN_ENTRY_CHOICES)
        ]

    def fields_in_error(self) -> list[forms.BoundField]:
        """Every field in error, in the form's order (the summary above the grid lists them all at once)."""
        return [self[name] for name in self.fields if name in self.errors]

    def record_kwargs(self) -> dict[str, Any]:
        """An analyte left out is not tested (as in the API)."""
        results = {analyte: self.cleaned_data[analyte] for analyte in ANALYTES if self.cleaned_data[analyte]}
        return {"collected_on": self.cleaned_data["collected_on"], "results": results}


def focus_first_error(form: forms.Form) -> None:
    """Put the focus on the first field in error, in the form's order (and on no other field): the browser
    focuses it on a page, htmx when the refused form is swapped in. Every error shows at once beside its field."""
    for field in form.fields.values():
        field.widget.attrs.pop("autofocus", None)
    first = next((name for name in form.fields if name in form.errors), None)
    if first is not None:
        form.fields[first].widget.attrs["autofocus"] = True


LIVER_LABELS = {
    "collected_on": "Collected on",
    "alt": "ALT (U/L)",
    "alt_uln": "ALT upper limit (U/L)",
    "ast": "AST (U/L)",
    "ast_uln": "AST upper limit (U/L)",
    "alp": "Alkaline phosphatase (U/L)",
    "alp_uln": "ALP upper limit (U/L)",
    "total_bilirubin": "Total bilirubin (mg/dL)",
    "total_bilirubin_uln": "Bilirubin upper limit (mg/dL)",
}
LIVER_LIMITS = ("alt_uln", "ast_uln", "alp_uln", "total_bilirubin_uln")


class LiverPanelForm(forms.Form):
    def __init__(self, *args: Any, latest: LiverPanel | None = None, **kwargs: Any) -> None:
        """`latest`: the patient's last panel, whose lab limits fill the limits (same lab, same limits)."""
        kwargs.setdefault("auto_id", "id_panel_%s")
        if latest is not None:
            limits = {name: getattr(latest, name) for name in LIVER_LIMITS}
            kwargs["initial"] = {**limits, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        for name, label in LIVER_LABELS.items():
            self.fields[name] = model_field(LiverPanel, name, label=label)


class MedicationForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_medication_%s")
        super().__init__(*args, **kwargs)
        self.fields["medication"] = model_field(Medication, "medication")
        self.fields["other_name"] = model_field(
            Medication,
            "other_name",
            label="Name (when other)",
            help_text="Required when the medication is other.",
        )
        for name in ("dose", "frequency"):
            self.fields[name] = model_field(Medication, name)
        self.fields["start_date"] = model_field(Medication, "start_date")
        self.fields["stop_date"] = model_field(
            Medication, "stop_date", help_text="Leave empty while current."
        )
        self.fields["prescriber"] = model_field(Medication, "prescriber")
        self.fields["on_admission"] = model_field(
            Medication, "on_admission", label="Taken on admission", required=False
        )


class MedicationStopForm(forms.Form):
    stop_date = model_field(Medication, "stop_date", required=True)

    def __init__(self, *args: Any, medication: Medication, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"id_medication_{medication.pk}_%s")
        super().__init__(*args, **kwargs)


class GoalForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_goal_%s")
        super().__init__(*args, **kwargs)
        for name in ("problem", "goal", "interventions"):
            self.fields[name] = model_field(TreatmentGoal, name, max_length=TEXT_MAX_LENGTH)
        self.fields["target_date"] = model_field(TreatmentGoal, "target_date")
        self.fields["review_date"] = model_field(
            TreatmentGoal, "review_date", required=False, help_text="Defaults to today."
        )


class GoalUpdateForm(forms.Form):
    status = model_field(TreatmentGoal, "status")
    review_date = model_field(TreatmentGoal, "review_date", label="Reviewed on", help_text="")

    def __init__(self, *args: Any, goal: TreatmentGoal, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"id_goal_{goal.pk}_%s")
        kwargs.setdefault("initial", {"status": goal.status, "review_date": goal.review_date})
        super().__init__(*args, **kwargs)
