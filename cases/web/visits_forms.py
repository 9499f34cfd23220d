"""The visit pages' forms: scheduling (date and time in the clinic's time zone) and the clinical note.

They check shapes only (a number is a number, a choice is one of the codes); the clinic's rules (ranges, both
blood pressure numbers or neither, notes only on attended visits, signed notes locked) are the service's, and
its refusals are shown on these forms by `cases.web.access.add_domain_errors`. The plausible ranges of
`cases.models.ranges` also reach the inputs as `min`/`max`, so a tablet offers the right keypad and bounds.
"""

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.utils import timezone

from cases.models import DEFAULT_DURATIONS, Case, Visit
from cases.models.ranges import RANGES
from cases.selectors import clinical_staff, clinical_staff_member


def _bounded(name: str, **attrs: Any) -> forms.NumberInput:
    low, high = RANGES[name]
    return forms.NumberInput(attrs={"min": low, "max": high, **attrs})


class ClinicianChoiceField(forms.ModelChoiceField):
    """The clinician picker: its choices are `clinical_staff()`; the one chosen is read with its roles in one
    query (`clinical_staff_member`)."""

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        try:
            user = clinical_staff_member(uuid.UUID(str(value)))
        except ValueError:
            user = None
        if user is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            )
        return user


class ScheduleForm(forms.Form):
    visit_type = forms.ChoiceField(label="Visit type", choices=Visit.VisitType.choices)
    date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    time = forms.TimeField(
        label="Time",
        help_text="Clinic time (Central).",
        widget=forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M"),
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)",
        required=False,
        help_text="Leave empty for the visit type's usual length: "
        + ", ".join(
            f"{Visit.VisitType(code).label.lower()} {minutes}" for code, minutes in DEFAULT_DURATIONS.items()
        )
        + ".",
        widget=_bounded("duration_minutes", step=5),
    )
    clinician = ClinicianChoiceField(  # each named by `str(user)`: the full name, else the username
        label="Clinician", queryset=clinical_staff().order_by("last_name", "first_name", "username")
    )

    # Sent only by the "Book anyway" button shown with an overlap's warning (never rendered as an input).
    confirm_conflicts = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinician"].initial = case.primary_clinician_id

    def scheduled_at(self) -> dt.datetime:
        """The chosen date and time, read in the clinic's time zone (the active one)."""
        return timezone.make_aware(dt.datetime.combine(self.cleaned_data["date"], self.cleaned_data["time"]))


class RescheduleForm(forms.Form):
    """A scheduled visit's new date and time (clinic time), its length, and why it moves."""

    date = forms.DateField(
        label="New date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    time = forms.TimeField(
        label="New time",
        help_text="Clinic time (Central).",
        widget=forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M"),
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", widget=_bounded("duration_minutes", step=5)
    )
    reason = forms.CharField(
        label="Reason for the move",
        max_length=500,
        help_text="Kept in the visit's history and the audit log.",
    )
    confirm_conflicts = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, visit: Visit, **kwargs: Any) -> None:
        local = timezone.localtime(visit.scheduled_at)
        kwargs["initial"] = {
            "date": local.date(),
            "time": local.time(),
            "duration_minutes": visit.duration_minutes,
        }
        super().__init__(*args, **kwargs)

    def scheduled_at(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.cleaned_data["date"], self.cleaned_data["time"]))


def _text(label: str) -> forms.CharField:
    return forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class NoteForm(forms.Form):
    """The SOAP note, vitals, craving, kratom use and withdrawal symptoms of one visit."""

    mark_attended = forms.BooleanField(
        label="The patient attended: mark the visit attended",
        required=False,
        help_text="A note and vitals can only be recorded for an attended visit.",
    )
    subjective = _text("Subjective")
    objective = _text("Objective")
    assessment = _text("Assessment")
    plan = _text("Plan")
    bp_systolic = forms.IntegerField(
        label="Blood pressure, systolic (mmHg)", required=False, widget=_bounded("bp_systolic")
    )
    bp_diastolic = forms.IntegerField(
        label="Blood pressure, diastolic (mmHg)", required=False, widget=_bounded("bp_diastolic")
    )
    heart_rate = forms.IntegerField(
        label="Heart rate (beats per minute)", required=False, widget=_bounded("heart_rate")
    )
    weight_kg = forms.DecimalField(
        label="Weight (kg)",
        required=False,
        max_digits=5,
        decimal_places=1,
        widget=_bounded("weight_kg", step="0.1"),
    )
    craving = forms.IntegerField(
        label="Craving (0 none to 10 worst)", required=False, widget=_bounded("craving")
    )
    kratom_days_used_30 = forms.IntegerField(
        label="Days kratom was used in the last 30", required=False, widget=_bounded("kratom_days_used_30")
    )
    kratom_daily_grams = forms.DecimalField(
        label="Current daily kratom (grams)",
        required=False,
        max_digits=6,
        decimal_places=1,
        widget=_bounded("kratom_daily_grams", step="0.1"),
    )
    withdrawal_symptoms = forms.MultipleChoiceField(
        label="Withdrawal symptoms present",
        required=False,
        choices=Visit.WithdrawalSymptom.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self, *args: Any, visit: Visit, writable: frozenset[str] | None = None, **kwargs: Any
    ) -> None:
        """`writable`: the fields the policy lets this user write on this visit (`writable_visit_fields`); the
        form has no input for the others, so nothing posted for them is written (all fields when None: drafts)."""
        kwargs["initial"] = {name: getattr(visit, name) for name in Visit.CLINICAL_FIELDS}
        super().__init__(*args, **kwargs)
        if writable is not None:
            for name in [n for n in Visit.CLINICAL_FIELDS if n not in writable]:
                del self.fields[name]
        if visit.status == Visit.Status.ATTENDED or (writable is not None and "status" not in writable):
            del self.fields["mark_attended"]
        else:
            # Writing the note of a visit due today means the patient came (a visit is checked in on its day
            # only: cases.services.visits).
            self.fields["mark_attended"].initial = (
                visit.status == Visit.Status.SCHEDULED
                and timezone.localdate(visit.scheduled_at) == timezone.localdate()
            )

    def changes(self) -> dict[str, Any]:
        """What the user changed, for `visit_update` (an untouched field is not rewritten, nor audited)."""
        data = {name: self.cleaned_data[name] for name in self.changed_data if name in Visit.CLINICAL_FIELDS}
        if self.cleaned_data.get("mark_attended"):
            data["status"] = Visit.Status.ATTENDED
        return data

    def _present(self, names: tuple[str, ...]) -> list[forms.BoundField]:
        return [self[name] for name in names if name in self.fields]

    def soap_fields(self) -> list[forms.BoundField]:
        return self._present(("subjective", "objective", "assessment", "plan"))

    def vitals_fields(self) -> list[forms.BoundField]:
        return self._present(("bp_systolic", "bp_diastolic", "heart_rate", "weight_kg"))

    def use_fields(self) -> list[forms.BoundField]:
        return self._present(("craving", "kratom_days_used_30", "kratom_daily_grams"))
