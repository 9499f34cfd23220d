"""Clinical events (SPEC 3.6): serious events a clinician learns of, dated, on the case (seizure, overdose,
emergency visit, hospitalization). Immutable once recorded; a mistaken one is marked entered in error."""

import uuid

from django.db import models
from django.db.models import Q


class ClinicalEventKind(models.TextChoices):
    SEIZURE = "seizure", "Seizure"
    OVERDOSE = "overdose", "Overdose"
    EMERGENCY_VISIT = "emergency_visit", "Emergency department visit"
    HOSPITALIZATION = "hospitalization", "Hospitalization"


class RelatedToKratom(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Unknown"


class ClinicalEvent(models.Model):
    Kind = ClinicalEventKind
    Related = RelatedToKratom

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="clinical_events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    occurred_on = models.DateField(help_text="The day it happened (never in the future, nor before the case)")
    description = models.TextField()
    related_to_kratom = models.CharField(max_length=8, choices=Related.choices, default=Related.UNKNOWN)
    # Overdoses only: true / false, or null when not known. Always null for the other kinds.
    naloxone_given = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="+")
    entered_in_error = models.BooleanField(default=False)
    entered_in_error_reason = models.TextField(blank=True)
    entered_in_error_at = models.DateTimeField(null=True, blank=True)
    entered_in_error_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["case", "-occurred_on"]
        indexes = [models.Index(fields=["case", "occurred_on"], name="clinical_event_case_date_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ClinicalEventKind.values), name="clinical_event_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(related_to_kratom__in=RelatedToKratom.values), name="clinical_event_related_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind=ClinicalEventKind.OVERDOSE) | Q(naloxone_given__isnull=True),
                name="clinical_event_naloxone_only_for_overdose",
            ),
            models.CheckConstraint(condition=~Q(description=""), name="clinical_event_described"),
            models.CheckConstraint(
                condition=Q(entered_in_error=False) | ~Q(entered_in_error_reason=""),
                name="clinical_event_entered_in_error_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on}"
