"""Patients and their medical record numbers."""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from cases.contact import (
    ContactNote,
    contact_notes,
    contact_preference_problem,
    display_phone,
    validate_phone,
    validate_postal_code,
)
from cases.kansas import COUNTY_CHOICES, KANSAS_COUNTIES


class MrnAllocation(models.Model):
    """One row per medical record number ever issued; its id is the MRN's serial, so numbers are never reused."""

    id = models.BigAutoField(primary_key=True)
    allocated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "MRN allocation"

    def __str__(self) -> str:
        return format_mrn(self.id)


def format_mrn(serial: int) -> str:
    """`KR` + six-digit serial + a Luhn check digit, e.g. KR0000125 for serial 12: short to read, typos caught."""
    digits = f"{serial:06d}"
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return f"KR{digits}{(10 - total % 10) % 10}"


class PatientSexAtBirth(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Unknown / not disclosed"


class ContactMethod(models.TextChoices):
    """How the patient prefers the clinic to reach them (issue 15: contact preferences in addiction care)."""

    PHONE = "phone", "Phone call"
    TEXT = "text", "Text message"
    EMAIL = "email", "Email"
    MAIL = "mail", "Letter"


class Patient(models.Model):
    SexAtBirth = PatientSexAtBirth
    ContactMethod = ContactMethod
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mrn = models.CharField("MRN", max_length=16, unique=True, editable=False)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices)
    gender_identity = models.CharField(max_length=60, blank=True)
    phone = models.CharField(max_length=30, blank=True, validators=[validate_phone])
    email = models.EmailField(blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True, default="KS")
    postal_code = models.CharField(max_length=10, blank=True, validators=[validate_postal_code])
    county = models.CharField(max_length=20, blank=True, choices=COUNTY_CHOICES, help_text="Kansas county")
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    emergency_contact_phone = models.CharField(max_length=30, blank=True, validators=[validate_phone])
    # Contact preferences (cases/contact.py): whether staff may leave a voicemail or send a text (a message from an
    # addiction clinic heard or read by someone else discloses treatment), and the preferred way to reach them.
    # `None` = not asked yet, which staff treat as "no".
    may_leave_voicemail = models.BooleanField(
        "may leave a voicemail", null=True, blank=True, default=None, help_text="Not asked yet: treat as no."
    )
    may_text = models.BooleanField(
        "may send text messages", null=True, blank=True, default=None, help_text="Not asked yet: treat as no."
    )
    preferred_contact_method = models.CharField(
        max_length=10, blank=True, choices=ContactMethod.choices, default=""
    )
    entered_in_error = models.BooleanField(default=False)
    entered_in_error_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["last_name", "first_name", "mrn"]
        indexes = [
            models.Index(fields=["last_name", "first_name"], name="patient_name_idx"),
            models.Index(fields=["date_of_birth", "last_name"], name="patient_dob_last_idx"),
            # The few records entered in error, which the whole-clinic reports leave out (cases/reports/scope.py).
            models.Index(fields=["id"], condition=Q(entered_in_error=True), name="patient_in_error_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(sex_at_birth__in=PatientSexAtBirth.values), name="patient_sex_at_birth_valid"
            ),
            models.CheckConstraint(
                condition=Q(county="") | Q(county__in=KANSAS_COUNTIES), name="patient_county_valid"
            ),
            models.CheckConstraint(
                condition=Q(entered_in_error=False) | ~Q(entered_in_error_reason=""),
                name="patient_entered_in_error_has_reason",
            ),
            models.CheckConstraint(condition=~Q(mrn=""), name="patient_mrn_present"),
            models.CheckConstraint(
                condition=Q(preferred_contact_method="")
                | Q(preferred_contact_method__in=ContactMethod.values),
                name="patient_preferred_contact_method_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.mrn})"

    @property
    def display_name(self) -> str:
        first = self.preferred_name or self.first_name
        return f"{first} {self.last_name}"

    @property
    def phone_display(self) -> str:
        """The phone number as staff read it (stored in E.164: `cases/contact.py`)."""
        return display_phone(self.phone)

    @property
    def emergency_contact_phone_display(self) -> str:
        return display_phone(self.emergency_contact_phone)

    def clean(self) -> None:
        """The preferred way of contact must be one the record allows (`cases/contact.py`)."""
        problem = contact_preference_problem(self)
        if problem:
            raise ValidationError({"preferred_contact_method": problem})

    @property
    def contact_preferences(self) -> list[ContactNote]:
        """What staff read before they call or write: the preferred way, voicemail and texts (`cases/contact.py`)."""
        return contact_notes(self)


class DuplicateReviewOutcome(models.TextChoices):
    """The two decisions of a duplicate review (its `status` once decided)."""

    DISTINCT = "distinct", "A different person"
    ENTERED_IN_ERROR = "entered_in_error", "Duplicate: marked entered in error"


class DuplicateReview(models.Model):
    """A registration flagged for the front desk's duplicate review (SPEC sections 2 and 3.1): someone who may not
    see every patient (a clinician) registered a patient resembling others outside their scope. They were told
    nothing; the front desk or a supervisor decides whether the new record is a different person (`distinct`) or a
    duplicate, which is then marked entered in error."""

    class Status(models.TextChoices):
        OPEN = "open", "To review"
        DISTINCT = "distinct", "A different person"
        ENTERED_IN_ERROR = "entered_in_error", "Duplicate: marked entered in error"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(
        Patient, on_delete=models.PROTECT, related_name="duplicate_review", help_text="The new registration"
    )
    matches = models.ManyToManyField(
        Patient, related_name="+", help_text="The resembling records, when flagged"
    )
    flagged_at = models.DateTimeField(auto_now_add=True)
    flagged_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["flagged_at", "id"]
        indexes = [
            models.Index(fields=["flagged_at"], condition=Q(status="open"), name="duplicate_review_open_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "distinct", "entered_in_error"]),
                name="duplicate_review_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | (~Q(status="open") & Q(resolved_at__isnull=False)),
                name="duplicate_review_resolved_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"Duplicate review of {self.patient_id} ({self.status})"
