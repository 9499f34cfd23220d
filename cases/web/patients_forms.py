"""The patient pages' forms: the search (the API's filter set, labelled), demographics, opening a case, break-glass.

Forms check shapes only (types, lengths, choices, as the models declare them); the rules are the services' and
the policy's, and a service's refusal is shown on the form (`cases.web.access.add_domain_errors`).
"""

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.models import fields_for_model, model_to_dict
from django.http import QueryDict

from cases.contact import (
    contact_preference_problem,
    display_phone,
    validate_phone,
    validate_postal_code,
)
from cases.errors import ValidationFailed
from cases.filters import PatientFilter
from cases.models import Case, Patient
from cases.selectors import clinical_staff
from cases.services.patients import DEMOGRAPHIC_FIELDS, check_date_of_birth
from cases.web.chart_forms import focus_first_error
from clinic.inputguard import SHORT_TEXT_MAX_LENGTH
from clinic.policy import CASE_ASSIGNMENT_FIELDS, CASE_PROFILE_FIELDS

ANY_OPEN_CASE = [("", "Any"), ("true", "Has an open case"), ("false", "No open case")]


class PatientSearch(PatientFilter):
    """The API's patient filters (`?search=`, `?stage=`, `?clinician=`, `?has_open_case=`: the same rules),
    labelled for the page, with the clinician picked from a list (`choices`: `(user id, name)` pairs)."""

    def __init__(
        self, data: QueryDict, *, queryset: QuerySet[Patient], clinicians: Sequence[tuple[str, str]]
    ) -> None:
        super().__init__(data, queryset=queryset)
        del self.filters["mrn"]  # the search box takes an exact MRN already
        for search_filter in self.filters.values():  # the API's help speaks of ids and codes; labels do here
            search_filter.extra.pop("help_text", None)
        self.filters["search"].label = "Name, MRN, date of birth or phone"
        self.filters["stage"].label = "Stage"
        self.filters["stage"].extra["empty_label"] = "Any stage"
        self.filters["clinician"].label = "Clinician"
        self.filters["clinician"].extra["widget"] = forms.Select(choices=[("", "Any clinician"), *clinicians])
        self.filters["has_open_case"].label = "Open case"
        self.filters["has_open_case"].extra["widget"] = forms.Select(choices=ANY_OPEN_CASE)

    @property
    def narrowed(self) -> bool:
        """Whether any filter was given (the page offers to clear them)."""
        return any(self.data.get(name) for name in self.filters)


def _label_blank_choice(field: forms.ChoiceField, label: str) -> None:
    """Replace a model choice field's "---------" with words."""
    choices: list[tuple[Any, Any]] = list(field.choices)  # type: ignore[arg-type]
    field.choices = [("", label), *((value, text) for value, text in choices if value != "")]


# --- Demographics ---------------------------------------------------------------------------------------------

DEMOGRAPHIC_LABELS = {
    "first_name": "Legal first name",
    "last_name": "Legal last name",
    "preferred_name": "Preferred name",
    "date_of_birth": "Date of birth",
    "sex_at_birth": "Sex assigned at birth",
    "gender_identity": "Gender identity",
    "phone": "Phone",
    "email": "Email",
    "address_line1": "Street address",
    "address_line2": "Address line 2",
    "city": "City",
    "state": "State",
    "postal_code": "ZIP code",
    "county": "County",
    "emergency_contact_name": "Emergency contact's name",
    "emergency_contact_relationship": "Relationship to the patient",
    "emergency_contact_phone": "Emergency contact's phone",
    "may_leave_voicemail": "May we leave a voicemail?",
    "may_text": "May we send text messages?",
    "preferred_contact_method": "Preferred way to reach them",
}


class NotAskedYesNo(forms.RadioSelect):
    """A yes / no question that may not have been asked yet (a nullable boolean), as three radio buttons."""

    def __init__(self) -> None:
        super().__init__(choices=[("unknown", "Not asked yet"), ("true", "Yes"), ("false", "No")])

    format_value = forms.NullBooleanSelect.format_value  # type: ignore[assignment]
    value_from_datadict = forms.NullBooleanSelect.value_from_datadict


DEMOGRAPHIC_WIDGETS: dict[str, type[forms.Widget] | forms.Widget] = {
    "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    "phone": forms.TextInput(attrs={"type": "tel"}),
    "emergency_contact_phone": forms.TextInput(attrs={"type": "tel"}),
    "state": forms.TextInput(attrs={"size": 2}),
    "may_leave_voicemail": NotAskedYesNo(),
    "may_text": NotAskedYesNo(),
}
# The form's sections, in order: (legend, fields).
DEMOGRAPHIC_SECTIONS = (
    ("Name", ("first_name", "last_name", "preferred_name")),
    ("Birth and identity", ("date_of_birth", "sex_at_birth", "gender_identity")),
    ("Contact", ("phone", "email")),
    ("Contact preferences", ("preferred_contact_method", "may_leave_voicemail", "may_text")),
    ("Address", ("address_line1", "address_line2", "city", "state", "postal_code", "county")),
    (
        "Emergency contact",
        ("emergency_contact_name", "emergency_contact_relationship", "emergency_contact_phone"),
    ),
)


PHONE_FIELDS = ("phone", "emergency_contact_phone")
CONTACT_VALIDATORS = {
    "phone": validate_phone,
    "emergency_contact_phone": validate_phone,
    "postal_code": validate_postal_code,
}


class DemographicsForm(forms.Form):
    """Every demographic field the API takes (`DEMOGRAPHIC_FIELDS`), typed and bounded as the `Patient` model
    declares them; `patient_register` / `patient_update` check the whole record."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = fields_for_model(
            Patient, fields=DEMOGRAPHIC_FIELDS, labels=DEMOGRAPHIC_LABELS, widgets=DEMOGRAPHIC_WIDGETS
        )
        for field in fields.values():
            if isinstance(field, forms.ChoiceField):
                _label_blank_choice(field, "Choose…" if field.required else "Not given")
        fields["county"].help_text = "Kansas county of residence."
        # A form built from the model does not run the model's validators; these run here so that every error
        # shows at once (the service runs them again through `full_clean`).
        for name, check in CONTACT_VALIDATORS.items():
            fields[name].validators.append(check)
        self.fields = {**fields, **self.fields}

    @classmethod
    def of(cls, patient: Patient, data: QueryDict | None = None) -> "DemographicsForm":
        """The form for editing `patient`, with their current demographics as the initial values (phone numbers
        as staff read them, not as stored)."""
        initial = model_to_dict(patient, fields=DEMOGRAPHIC_FIELDS)
        for name in PHONE_FIELDS:
            initial[name] = display_phone(initial[name])
        return cls(data, initial=initial)

    def clean_date_of_birth(self) -> Any:
        """The service's plausibility check, asked here too so that it shows with every other error at once."""
        born = self.cleaned_data.get("date_of_birth")
        if born is not None:
            try:
                check_date_of_birth(born)
            except ValidationFailed as failed:
                raise forms.ValidationError(failed.message) from failed
        return born

    def clean(self) -> dict[str, Any]:
        """The preferred way of contact must fit the record (the service's rule, `contact_preference_problem`), asked
        here too so that it shows with every other error at once. Skipped when a field it reads is in error."""
        cleaned = super().clean() or {}
        read = ("preferred_contact_method", "may_text", "phone", "email", "address_line1")
        if all(name in cleaned for name in read):
            problem = contact_preference_problem(SimpleNamespace(**{name: cleaned[name] for name in read}))
            if problem:
                self.add_error("preferred_contact_method", problem)
        return cleaned

    def focus_first_error(self) -> None:
        """Put the focus on the first field in error (in the page's order), none elsewhere."""
        focus_first_error(self)

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in DEMOGRAPHIC_SECTIONS]

    def demographics(self, *, changed_only: bool = False) -> dict[str, Any]:
        names = (
            [n for n in DEMOGRAPHIC_FIELDS if n in self.changed_data] if changed_only else DEMOGRAPHIC_FIELDS
        )
        return {name: self.cleaned_data[name] for name in names}


class RegisterForm(DemographicsForm):
    # Sent by the "Register anyway" button, once the possible duplicates have been shown.
    confirm_not_duplicate = forms.BooleanField(required=False, widget=forms.HiddenInput)


class DuplicateReviewForm(forms.Form):
    """One decision of the duplicate review; `duplicate_review_resolve` checks it."""

    outcome = forms.ChoiceField(
        label="Decision",
        choices=[
            ("distinct", "A different person: keep both records"),
            ("entered_in_error", "The same person: mark the new record entered in error"),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="How you decided",
        max_length=SHORT_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="E.g. checked the photo ID and address; called the patient.",
    )


# --- Opening a case -------------------------------------------------------------------------------------------

CASE_LABELS = {
    "referral_source": "Referral source",
    "opened_on": "Opened on",
    "kratom_form": "Kratom form",
    "kratom_daily_grams": "Typical daily amount (grams)",
    "kratom_years_used": "Years of use",
    "other_substances": "Other substances used",
}
ASSIGNMENT_FIELDS = CASE_ASSIGNMENT_FIELDS


class CaseOpenForm(forms.Form):
    """A case at intake: referral source and opening date; the presenting substance profile for those who may
    record it; the primary clinician and care team for those who may assign them (see the page's view)."""

    primary_clinician = forms.ModelChoiceField(
        queryset=clinical_staff(), required=False, label="Primary clinician", empty_label="Not assigned yet"
    )
    care_team = forms.ModelMultipleChoiceField(
        queryset=clinical_staff(), required=False, label="Care team", widget=forms.CheckboxSelectMultiple
    )
    reasons_for_use = forms.MultipleChoiceField(
        choices=Case.ReasonForUse.choices,
        required=False,
        label="Reasons for use",
        widget=forms.CheckboxSelectMultiple,
    )
    other_substances = forms.CharField(
        max_length=2000,
        required=False,
        label=CASE_LABELS["other_substances"],
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, may_assign: bool, may_record_profile: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = fields_for_model(
            Case,
            fields=("referral_source", "opened_on", "kratom_form", "kratom_daily_grams", "kratom_years_used"),
            labels=CASE_LABELS,
            widgets={"opened_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")},
        )
        _label_blank_choice(fields["referral_source"], "Choose…")
        _label_blank_choice(fields["kratom_form"], "Not recorded")
        fields["opened_on"].required = False
        fields["opened_on"].help_text = "Leave empty for today."
        self.fields = {**fields, **self.fields}
        dropped = (() if may_assign else ASSIGNMENT_FIELDS) + (
            () if may_record_profile else CASE_PROFILE_FIELDS
        )
        for name in dropped:
            del self.fields[name]
        self.order_fields(["referral_source", "opened_on", *ASSIGNMENT_FIELDS, *CASE_PROFILE_FIELDS])

    def profile(self) -> dict[str, Any]:
        """The presenting substance profile, as `case_open(profile=...)` takes it (empty if not asked)."""
        return {name: self.cleaned_data[name] for name in CASE_PROFILE_FIELDS if name in self.cleaned_data}

    def fields_in(self, names: Sequence[str]) -> list[forms.BoundField]:
        return [self[name] for name in names if name in self.fields]


# --- Break-glass ----------------------------------------------------------------------------------------------


class BreakGlassForm(forms.Form):
    """The exact MRN, or the exact full name and date of birth, with the reason, in one step (SPEC section 2);
    which combination is enough is the service's rule (`break_glass_find_and_grant`)."""

    mrn = forms.CharField(
        label="MRN",
        max_length=16,
        required=False,
        help_text="The patient's medical record number, exactly (e.g. KR0000125). Or leave it empty and give the "
        "full name and date of birth.",
    )
    first_name = forms.CharField(label="First name", max_length=100, required=False)
    last_name = forms.CharField(label="Last name", max_length=100, required=False)
    date_of_birth = forms.DateField(
        label="Date of birth",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(
        label="Reason",
        max_length=SHORT_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you need this record now. Supervisors review every break-glass access.",
    )
