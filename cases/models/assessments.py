"""Recorded structured assessments (instrument responses with their computed total and band)."""

import uuid
from functools import reduce
from operator import or_

from django.db import models
from django.db.models import Q

from cases.instruments.definitions import DSM5_SUD, INSTRUMENTS

HIGHEST_TOTAL = max(instrument.max_total for instrument in INSTRUMENTS.values())


class AssessmentInstrument(models.TextChoices):
    DSM5_SUD = "dsm5_sud", "DSM-5 substance use disorder checklist"
    COWS = "cows", "Clinical Opiate Withdrawal Scale"
    SOWS = "sows", "Subjective Opiate Withdrawal Scale"
    PHQ9 = "phq9", "PHQ-9"
    GAD7 = "gad7", "GAD-7"


def criteria_met_other_than_craving() -> Q:
    """A filter on DSM-5 checklists' responses (for the remission rule, cases/remission.py), built from the
    instrument's declaration: a counted criterion other than craving answered yes. Tolerance and withdrawal always
    count (no medical-supervision exclusion for kratom, docs/clinical.md)."""
    counted = [item.code for item in DSM5_SUD.items if item.counted and item.code != "craving"]
    return reduce(or_, (Q(**{f"responses__{code}": True}) for code in counted))


class Assessment(models.Model):
    """One administration of an instrument. Immutable once recorded; a mistake is marked entered-in-error."""

    Instrument = AssessmentInstrument
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="assessments")
    instrument = models.CharField(max_length=10, choices=Instrument.choices)
    responses = models.JSONField()
    total = models.PositiveSmallIntegerField()
    band = models.CharField(max_length=20, null=True, blank=True)
    administered_at = models.DateTimeField()
    by = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    entered_in_error = models.BooleanField(default=False)
    entered_in_error_reason = models.TextField(blank=True)
    entered_in_error_at = models.DateTimeField(null=True, blank=True)
    entered_in_error_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["case", "administered_at"]
        indexes = [
            models.Index(fields=["case", "instrument", "administered_at"], name="assessment_case_instr_idx"),
            # The outcomes report: each case's valid scores of an instrument in time order, read from the index
            # alone (cases/reports/outcomes_report.py).
            models.Index(
                fields=["case", "instrument", "administered_at", "recorded_at", "id", "total"],
                condition=Q(entered_in_error=False),
                name="assessment_report_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(instrument__in=AssessmentInstrument.values), name="assessment_instrument_valid"
            ),
            # The database's backstop for every instrument at once: no total above the largest one's maximum
            # (SOWS, 64); each instrument's own range is the scoring's (cases/instruments/scoring.py).
            models.CheckConstraint(condition=Q(total__lte=HIGHEST_TOTAL), name="assessment_total_range"),
            models.CheckConstraint(
                condition=Q(entered_in_error=False) | ~Q(entered_in_error_reason=""),
                name="assessment_entered_in_error_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} {self.total} ({self.band or '-'})"
