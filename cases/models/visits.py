"""Visits (encounters) with their SOAP notes, vitals and addenda."""

import uuid

from django.db import models
from django.db.models import F, Q

from cases.models.ranges import bounds, in_range, range_constraint


class VisitVisitType(models.TextChoices):
    INTAKE = "intake", "Intake"
    ASSESSMENT = "assessment", "Assessment"
    INDIVIDUAL_COUNSELING = "individual_counseling", "Individual counseling"
    GROUP_COUNSELING = "group_counseling", "Group counseling"
    MEDICATION_MANAGEMENT = "medication_management", "Medication management"
    TELEHEALTH = "telehealth", "Telehealth"
    PHONE_CHECKIN = "phone_checkin", "Phone check-in"
    LAB_ONLY = "lab_only", "Lab only"


# How long each type of visit lasts unless the scheduler says otherwise, in minutes (docs/web.md, "Scheduling").
DEFAULT_DURATIONS: dict[str, int] = {
    VisitVisitType.INTAKE: 60,
    VisitVisitType.ASSESSMENT: 60,
    VisitVisitType.INDIVIDUAL_COUNSELING: 50,
    VisitVisitType.GROUP_COUNSELING: 90,
    VisitVisitType.MEDICATION_MANAGEMENT: 30,
    VisitVisitType.TELEHEALTH: 30,
    VisitVisitType.PHONE_CHECKIN: 15,
    VisitVisitType.LAB_ONLY: 15,
}


class VisitStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ATTENDED = "attended", "Attended"
    NO_SHOW = "no_show", "No-show"
    CANCELLED = "cancelled", "Cancelled"
    LATE_CANCEL = "late_cancel", "Late cancellation"


class VisitWithdrawalSymptom(models.TextChoices):
    IRRITABILITY = "irritability", "Irritability"
    INSOMNIA = "insomnia", "Insomnia"
    MUSCLE_ACHES = "muscle_aches", "Muscle aches"
    NAUSEA = "nausea", "Nausea"
    SWEATING = "sweating", "Sweating"
    RESTLESSNESS = "restlessness", "Restlessness"
    DIARRHEA = "diarrhea", "Diarrhea"
    OTHER = "other", "Other"


class Visit(models.Model):
    VisitType = VisitVisitType
    Status = VisitStatus
    WithdrawalSymptom = VisitWithdrawalSymptom
    # Booking a visit writes these; whoever schedules the patient's visits may change them (`clinic.policy`).
    SCHEDULING_FIELDS = ("clinician", "visit_type", "scheduled_at", "duration_minutes")
    # Fields only a clinician may read or write (SPEC section 2: front desk never sees them).
    CLINICAL_FIELDS = (
        "subjective", "objective", "assessment", "plan", "craving", "kratom_days_used_30", "kratom_daily_grams",
        "withdrawal_symptoms", "bp_systolic", "bp_diastolic", "heart_rate", "weight_kg",
    )  # fmt: skip

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="visits")
    clinician = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="visits")
    visit_type = models.CharField(max_length=24, choices=VisitType.choices)
    scheduled_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(validators=in_range("duration_minutes"), default=50)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    # SOAP note.
    subjective = models.TextField(blank=True)
    objective = models.TextField(blank=True)
    assessment = models.TextField(blank=True)
    plan = models.TextField(blank=True)
    # Kratom use and withdrawal since the last visit.
    craving = models.PositiveSmallIntegerField(
        validators=in_range("craving"), null=True, blank=True, help_text="0 (none) to 10 (worst)"
    )
    kratom_days_used_30 = models.PositiveSmallIntegerField(
        validators=in_range("kratom_days_used_30"), null=True, blank=True
    )
    kratom_daily_grams = models.DecimalField(
        validators=in_range("kratom_daily_grams"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    withdrawal_symptoms = models.JSONField(
        default=list, blank=True, help_text="List of WithdrawalSymptom codes"
    )
    # Vitals.
    bp_systolic = models.PositiveSmallIntegerField(validators=in_range("bp_systolic"), null=True, blank=True)
    bp_diastolic = models.PositiveSmallIntegerField(
        validators=in_range("bp_diastolic"), null=True, blank=True
    )
    heart_rate = models.PositiveSmallIntegerField(validators=in_range("heart_rate"), null=True, blank=True)
    weight_kg = models.DecimalField(
        validators=in_range("weight_kg"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    # Signing locks the note; corrections are addenda.
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="signed_visits"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-scheduled_at"]
        indexes = [
            models.Index(fields=["case", "scheduled_at"], name="visit_case_time_idx"),
            models.Index(fields=["clinician", "scheduled_at"], name="visit_clinician_time_idx"),
            models.Index(fields=["scheduled_at"], name="visit_time_idx"),
            # The visits report counts from this index alone (cases/reports/visits_report.py).
            models.Index(
                fields=["scheduled_at", "visit_type", "status", "clinician", "case"], name="visit_report_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(visit_type__in=VisitVisitType.values), name="visit_type_valid"
            ),
            models.CheckConstraint(condition=Q(status__in=VisitStatus.values), name="visit_status_valid"),
            # The ranges come from `cases.models.ranges.RANGES`, as the fields' validators do.
            range_constraint("duration_minutes", name="visit_duration_range", null=False),
            range_constraint("craving", name="visit_craving_range"),
            range_constraint("kratom_days_used_30", name="visit_kratom_days_range", low_in_column=True),
            range_constraint("kratom_daily_grams", name="visit_kratom_grams_range"),
            # Both numbers or neither. The IS NOT NULL terms matter: a comparison with NULL is unknown, and a
            # CHECK passes on unknown, so without them a lone systolic (or diastolic) value would get through.
            models.CheckConstraint(
                condition=Q(bp_systolic__isnull=True, bp_diastolic__isnull=True)
                | Q(
                    bp_systolic__isnull=False,
                    bp_diastolic__isnull=False,
                    bp_systolic__gt=F("bp_diastolic"),
                    **bounds("bp_systolic"),
                    **bounds("bp_diastolic"),
                ),
                name="visit_blood_pressure_plausible",
            ),
            range_constraint("heart_rate", name="visit_heart_rate_plausible"),
            range_constraint("weight_kg", name="visit_weight_plausible"),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_by__isnull=True)
                | Q(signed_at__isnull=False, signed_by__isnull=False, status="attended"),
                name="visit_signed_only_when_attended",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_visit_type_display()} at {self.scheduled_at:%Y-%m-%d %H:%M}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class VisitAddendum(models.Model):
    """A correction or addition to a signed note: who, when, what. Never edited."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    text = models.TextField()

    class Meta:
        ordering = ["visit", "created_at"]
        verbose_name_plural = "visit addenda"
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="addendum_text_present")]

    def __str__(self) -> str:
        return f"Addendum by {self.author} at {self.created_at:%Y-%m-%d %H:%M}"


class VisitEventKind(models.TextChoices):
    ATTENDANCE = "attendance", "Attendance recorded"
    CORRECTION = "correction", "Attendance corrected"
    RESCHEDULE = "reschedule", "Rescheduled"


class VisitEvent(models.Model):
    """One change in a visit's history, never edited: its attendance recorded or corrected (old and new status,
    the reason of a correction), or the visit moved (old and new time, the reason)."""

    Kind = VisitEventKind

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    from_status = models.CharField(max_length=12, choices=VisitStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=VisitStatus.choices, blank=True)
    from_scheduled_at = models.DateTimeField(null=True, blank=True)
    to_scheduled_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    by = models.ForeignKey("clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["visit", "at"]
        indexes = [models.Index(fields=["visit", "at"], name="visit_event_visit_time_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=VisitEventKind.values), name="visit_event_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind="reschedule", from_scheduled_at__isnull=False, to_scheduled_at__isnull=False)
                | (
                    Q(kind__in=["attendance", "correction"], from_scheduled_at__isnull=True)
                    & ~Q(from_status="")
                    & ~Q(to_status="")
                ),
                name="visit_event_shape",
            ),
            models.CheckConstraint(
                condition=~Q(kind="correction") | ~Q(reason=""), name="visit_event_correction_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class VisitCount(models.Model):
    """The visits report's rollup (PostgreSQL only; cases/rollups.py): visits per clinic day, visit type,
    clinician and status. Written by database triggers on `cases_visit` (change rows, `settled` false: +n or -n)
    and by the settling pass (one settled row per cell: the total); the count of a cell is the sum of its rows.
    Not a clinical record: no foreign keys, never shown row by row."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField(help_text="The clinic-time date of the visits' scheduled time")
    visit_type = models.CharField(max_length=24)
    clinician_id = models.UUIDField()
    status = models.CharField(max_length=12)
    visits = models.IntegerField()
    settled = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["day"], name="visit_count_day_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "visit_type", "clinician_id", "status"],
                condition=Q(settled=True),
                name="visit_count_settled_cell",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.visit_type} {self.status}: {self.visits}"
