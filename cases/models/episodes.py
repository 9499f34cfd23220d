"""Cases (episodes of care), their care teams and their stage history."""

import uuid

from django.db import models
from django.db.models import F, Q

from cases.models.ranges import in_range, range_constraint


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class CaseStage(models.TextChoices):
    INTAKE = "intake", "Intake"
    ASSESSMENT = "assessment", "Assessment"
    TREATMENT = "treatment", "Treatment"
    RECOVERY = "recovery", "Long-term recovery"
    DISCHARGED = "discharged", "Discharged"


class CaseDischargeReason(models.TextChoices):
    COMPLETED = "completed", "Treatment completed"
    LEFT_AGAINST_ADVICE = "left_against_advice", "Left against professional advice"
    TERMINATED_BY_FACILITY = "terminated_by_facility", "Terminated by facility"
    TRANSFERRED = "transferred", "Transferred to another program or level of care"
    INCARCERATED = "incarcerated", "Incarcerated"
    DEATH = "death", "Death"
    OTHER = "other", "Other"


class CaseReferralSource(models.TextChoices):
    SELF = "self", "Self"
    FAMILY = "family", "Family"
    PRIMARY_CARE = "primary_care", "Primary care"
    EMERGENCY_DEPARTMENT = "emergency_department", "Emergency department"
    COURT = "court", "Court / legal"
    EMPLOYER = "employer", "Employer"
    OTHER_PROVIDER = "other_provider", "Other provider"
    OTHER = "other", "Other"


class CaseKratomForm(models.TextChoices):
    POWDER = "powder", "Powder"
    CAPSULES = "capsules", "Capsules"
    EXTRACT = "extract", "Extract"
    SEVEN_OH_PRODUCT = "seven_oh_product", "7-OH product"
    OTHER = "other", "Other"


class CaseReasonForUse(models.TextChoices):
    PAIN = "pain", "Pain"
    ANXIETY_MOOD = "anxiety_mood", "Anxiety or mood"
    ENERGY = "energy", "Energy"
    OPIOID_WITHDRAWAL = "opioid_withdrawal", "Opioid withdrawal"
    OTHER = "other", "Other"


class Case(models.Model):
    """One treatment episode (FHIR EpisodeOfCare). A patient has at most one open case."""

    Status = CaseStatus
    Stage = CaseStage
    DischargeReason = CaseDischargeReason
    ReferralSource = CaseReferralSource
    KratomForm = CaseKratomForm
    ReasonForUse = CaseReasonForUse
    OPEN_STAGES = (Stage.INTAKE, Stage.ASSESSMENT, Stage.TREATMENT, Stage.RECOVERY)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("cases.Patient", on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.INTAKE)
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    referral_source = models.CharField(max_length=24, choices=ReferralSource.choices)
    primary_clinician = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="primary_cases"
    )
    care_team = models.ManyToManyField(
        "clinic.User", through="cases.CareTeamMember", related_name="care_team_cases", blank=True
    )
    discharge_reason = models.CharField(max_length=24, choices=DischargeReason.choices, null=True, blank=True)
    # Presenting substance profile.
    kratom_form = models.CharField(max_length=20, choices=KratomForm.choices, blank=True)
    kratom_daily_grams = models.DecimalField(
        validators=in_range("kratom_daily_grams"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    kratom_years_used = models.DecimalField(
        validators=in_range("kratom_years_used"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    reasons_for_use = models.JSONField(default=list, blank=True, help_text="List of ReasonForUse codes")
    other_substances = models.TextField(blank=True)
    # Optimistic-concurrency counter: bumped by every stage change, checked by the workflow service.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-opened_on", "-created_at"]
        indexes = [
            models.Index(fields=["patient", "status"], name="case_patient_status_idx"),
            models.Index(fields=["primary_clinician", "status"], name="case_clinician_status_idx"),
            models.Index(fields=["status", "stage"], name="case_status_stage_idx"),
            models.Index(fields=["opened_on"], name="case_opened_on_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="open"), name="case_one_open_per_patient"
            ),
            models.CheckConstraint(condition=Q(status__in=CaseStatus.values), name="case_status_valid"),
            models.CheckConstraint(condition=Q(stage__in=CaseStage.values), name="case_stage_valid"),
            models.CheckConstraint(
                condition=Q(referral_source__in=CaseReferralSource.values), name="case_referral_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(kratom_form="") | Q(kratom_form__in=CaseKratomForm.values),
                name="case_kratom_form_valid",
            ),
            models.CheckConstraint(
                condition=Q(discharge_reason__isnull=True)
                | Q(discharge_reason__in=CaseDischargeReason.values),
                name="case_discharge_reason_valid",
            ),
            # Discharged <=> closed, with a closing date and a reason; open cases have neither.
            models.CheckConstraint(
                condition=(
                    Q(
                        stage="discharged",
                        status="closed",
                        closed_on__isnull=False,
                        discharge_reason__isnull=False,
                    )
                    | (
                        ~Q(stage="discharged")
                        & Q(status="open", closed_on__isnull=True, discharge_reason__isnull=True)
                    )
                ),
                name="case_closed_iff_discharged",
            ),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=F("opened_on")),
                name="case_closed_after_opened",
            ),
            range_constraint("kratom_daily_grams", name="case_kratom_daily_grams_range"),
            range_constraint("kratom_years_used", name="case_kratom_years_range"),
        ]

    def __str__(self) -> str:
        return f"Case {self.opened_on} ({self.get_stage_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class CareTeamMember(models.Model):
    """A clinician on a case's care team besides (or as well as) the primary clinician."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="care_team_members")
    user = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="care_team_memberships")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="care_team_member_unique")]
        indexes = [models.Index(fields=["user", "case"], name="care_team_user_case_idx")]

    def __str__(self) -> str:
        return f"{self.user} on {self.case_id}"


class StageTransition(models.Model):
    """One stage change of a case, append-only. `sequence` numbers a case's history 1, 2, 3, ..."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="stage_history")
    sequence = models.PositiveIntegerField()
    from_stage = models.CharField(max_length=12, choices=Case.Stage.choices, null=True, blank=True)
    to_stage = models.CharField(max_length=12, choices=Case.Stage.choices)
    effective_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey("clinic.User", null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    discharge_reason = models.CharField(
        max_length=24, choices=Case.DischargeReason.choices, null=True, blank=True
    )

    class Meta:
        ordering = ["case", "sequence"]
        indexes = [
            # The reports read a case's history from this index alone: its stage at a moment, the end of each
            # stay (the next change), the stays in order (cases/reports).
            models.Index(
                fields=["case", "sequence", "effective_at", "to_stage", "from_stage"],
                name="stage_transition_report_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["case", "sequence"], name="stage_transition_sequence_unique"),
            models.CheckConstraint(
                condition=Q(to_stage__in=Case.Stage.values), name="stage_transition_to_valid"
            ),
            models.CheckConstraint(
                # `from_stage__isnull=False` keeps a later row from slipping through with a NULL origin
                # (NULL IN (...) is unknown, and a CHECK passes on unknown).
                condition=Q(from_stage__isnull=True, sequence=1, to_stage="intake")
                | Q(from_stage__isnull=False, from_stage__in=Case.Stage.values, sequence__gt=1),
                name="stage_transition_chain_start",
            ),
            models.CheckConstraint(condition=~Q(from_stage=F("to_stage")), name="stage_transition_moves"),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or '-'} -> {self.to_stage} at {self.effective_at:%Y-%m-%d %H:%M}"
