"""Alerts: the clinician's worklist, raised by the domain when the data that warrants one is saved."""

import uuid

from django.db import models
from django.db.models import Q


class AlertKind(models.TextChoices):
    SUICIDE_RISK = "suicide_risk", "Suicide-risk screen positive (PHQ-9 item 9)"
    HYPERTENSIVE_CRISIS = "hypertensive_crisis", "Hypertensive crisis"
    ELEVATED_BP = "elevated_bp", "Elevated blood pressure"
    ALPHA2_HYPOTENSION = "alpha2_hypotension", "Low blood pressure or heart rate on clonidine or lofexidine"
    LIVER_INJURY = "liver_injury", "Possible drug-induced liver injury"
    HYS_LAW = "hys_law", "Potential Hy's law"
    WITHDRAWAL_MODERATE = "withdrawal_moderate", "Moderate or worse withdrawal (COWS 13+)"
    SEIZURE = "seizure", "Seizure"
    OVERDOSE = "overdose", "Overdose"
    ENGAGEMENT_RISK = "engagement_risk", "Engagement risk"
    FENTANYL_POSITIVE = "fentanyl_positive", "Urine screen positive for fentanyl"
    RETURN_TO_USE = "return_to_use", "Return to use in recovery"
    PLAN_REVIEW_OVERDUE = "plan_review_overdue", "Treatment plan review overdue"


class AlertSeverity(models.TextChoices):
    URGENT = "urgent", "Urgent"
    WARNING = "warning", "Warning"


SEVERITY_RANK = {"warning": 1, "urgent": 2}


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    Kind = AlertKind
    Severity = AlertSeverity
    Status = AlertStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="alerts")
    patient = models.ForeignKey("cases.Patient", on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    message = models.TextField()
    # What first raised it (e.g. "assessment", "<uuid>"); every triggering record is in `evidence`.
    source_type = models.CharField(max_length=24, blank=True)
    source_id = models.UUIDField(null=True, blank=True)
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledge_note = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolve_note = models.TextField(blank=True)
    # Set when new evidence returned an acknowledged alert to open (the acknowledgement fields are kept).
    reopened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["raised_at"]
        indexes = [
            models.Index(fields=["status", "severity", "raised_at"], name="alert_worklist_idx"),
            models.Index(fields=["case", "kind"], name="alert_case_kind_idx"),
        ]
        constraints = [
            # No duplicate unresolved alert for the same cause on a case.
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=~Q(status="resolved"),
                name="alert_one_unresolved_per_cause",
            ),
            models.CheckConstraint(condition=Q(kind__in=AlertKind.values), name="alert_kind_valid"),
            models.CheckConstraint(
                condition=Q(severity__in=AlertSeverity.values), name="alert_severity_valid"
            ),
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status_valid"),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | Q(acknowledged_by__isnull=False),
                name="alert_acknowledged_by_someone",
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved") | Q(resolved_at__isnull=False, resolved_by__isnull=False),
                name="alert_resolved_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.status})"


class AlertEvidence(models.Model):
    """One record that triggered an alert (SPEC section 5). Struck, never deleted, when its record is marked
    entered in error or corrected so that it no longer triggers the rule; the alert's severity and message follow
    its valid entries."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="evidence")
    # The triggering record ("assessment", "visit", "drugscreen", "liverpanel", "clinicalevent"), or "case" for
    # the time-based rules, whose finding is about the case as a whole.
    source_type = models.CharField(max_length=24)
    source_id = models.UUIDField()
    at = models.DateTimeField(help_text="When the finding was made (the record's own date or time)")
    summary = models.TextField()
    severity = models.CharField(max_length=8, choices=AlertSeverity.choices)
    # Within a kind, how bad the finding is (e.g. PHQ-9 item 9 value, COWS total): the worst valid entry is named.
    rank = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    struck = models.BooleanField(default=False)
    struck_at = models.DateTimeField(null=True, blank=True)
    struck_reason = models.CharField(max_length=200, blank=True)
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-added_at"]
        indexes = [
            models.Index(fields=["alert", "at"], name="alert_evidence_alert_idx"),
            models.Index(fields=["source_type", "source_id"], name="alert_evidence_source_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["alert", "source_type", "source_id"], name="alert_evidence_once"),
            models.CheckConstraint(
                condition=Q(severity__in=AlertSeverity.values), name="alert_evidence_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(struck=False) | Q(struck_at__isnull=False), name="alert_evidence_struck_when"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_type} {self.source_id}{' (struck)' if self.struck else ''}"
