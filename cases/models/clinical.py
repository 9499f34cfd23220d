"""The rest of the clinical record: treatment-plan goals, medications, urine drug screens and liver panels."""

import uuid

from django.db import models
from django.db.models import F, Q

from cases.models.ranges import PlausibleLiverValue


class TreatmentGoalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    MET = "met", "Met"
    REVISED = "revised", "Revised"
    DISCONTINUED = "discontinued", "Discontinued"


class TreatmentGoal(models.Model):
    """One problem / goal / interventions line of a case's treatment plan, reviewed at least every 90 days."""

    Status = TreatmentGoalStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="goals")
    problem = models.TextField()
    goal = models.TextField()
    interventions = models.TextField(blank=True)
    target_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    review_date = models.DateField(help_text="When the plan was last reviewed")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["case", "created_at"]
        indexes = [models.Index(fields=["case", "status"], name="goal_case_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TreatmentGoalStatus.values), name="goal_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(problem="") & ~Q(goal=""), name="goal_problem_and_goal_present"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.goal[:40]} ({self.status})"


class MedicationName(models.TextChoices):
    BUPRENORPHINE_NALOXONE = "buprenorphine_naloxone", "Buprenorphine/naloxone"
    BUPRENORPHINE = "buprenorphine", "Buprenorphine"
    NALTREXONE_ORAL = "naltrexone_oral", "Naltrexone (oral)"
    NALTREXONE_ER = "naltrexone_er", "Naltrexone (extended-release)"
    CLONIDINE = "clonidine", "Clonidine"
    LOFEXIDINE = "lofexidine", "Lofexidine"
    NALOXONE = "naloxone", "Naloxone (overdose-reversal kit given)"
    OTHER = "other", "Other"


class Medication(models.Model):
    Name = MedicationName

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="medications")
    medication = models.CharField(max_length=24, choices=Name.choices)
    other_name = models.CharField(max_length=120, blank=True)
    dose = models.CharField(max_length=60, help_text="e.g. 8 mg/2 mg")
    frequency = models.CharField(max_length=60, help_text="e.g. once daily")
    start_date = models.DateField()
    stop_date = models.DateField(null=True, blank=True)
    prescriber = models.CharField(max_length=120)
    on_admission = models.BooleanField(
        default=False,
        help_text="Already taken when the patient came: its dates may be before the case opened.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["case", "-start_date"]
        indexes = [models.Index(fields=["case", "start_date"], name="medication_case_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(medication__in=MedicationName.values), name="medication_code_valid"
            ),
            models.CheckConstraint(
                condition=~Q(medication="other") | ~Q(other_name=""), name="medication_other_is_named"
            ),
            models.CheckConstraint(
                condition=Q(stop_date__isnull=True) | Q(stop_date__gte=F("start_date")),
                name="medication_stops_after_start",
            ),
        ]

    def __str__(self) -> str:
        name = self.other_name if self.medication == "other" else self.get_medication_display()
        return f"{name} {self.dose} {self.frequency}"


class ScreenResult(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    NOT_TESTED = "not_tested", "Not tested"


# The analytes of a urine drug screen, in the order the lab reports them (SPEC section 10 codes).
ANALYTES = (
    "mitragynine", "seven_oh_mitragynine", "opioids", "fentanyl", "buprenorphine", "methadone",
    "benzodiazepines", "amphetamines", "cocaine", "cannabinoids", "alcohol",
)  # fmt: skip

# The clinic's usual urine cup (issue 15, quick entry): every analyte but alcohol, whose EtG test is a send-out
# ordered on its own. The page's screen form asks a result for each of these (with "All negative" in one click) and
# leaves the others not tested unless opened; the API takes any subset (left out = not tested).
USUAL_SCREEN_PANEL = tuple(analyte for analyte in ANALYTES if analyte != "alcohol")


def _result_field() -> models.CharField:
    return models.CharField(max_length=10, choices=ScreenResult.choices, default=ScreenResult.NOT_TESTED)


class DrugScreen(models.Model):
    """A urine drug screen: one column per analyte, so that reports can count results in the database."""

    Result = ScreenResult

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="drug_screens")
    collected_on = models.DateField()
    mitragynine = _result_field()
    seven_oh_mitragynine = _result_field()
    opioids = _result_field()
    fentanyl = _result_field()
    buprenorphine = _result_field()
    methadone = _result_field()
    benzodiazepines = _result_field()
    amphetamines = _result_field()
    cocaine = _result_field()
    cannabinoids = _result_field()
    alcohol = _result_field()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["case", "-collected_on"]
        indexes = [
            models.Index(fields=["case", "collected_on"], name="screen_case_date_idx"),
            # The outcomes report reads a case's screens in recovery from this index alone (cases/reports).
            models.Index(fields=["case", "collected_on", "mitragynine"], name="screen_report_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(**{f"{analyte}__in": ScreenResult.values for analyte in ANALYTES}),
                name="screen_results_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Urine drug screen {self.collected_on}"

    @property
    def results(self) -> dict[str, str]:
        return {analyte: getattr(self, analyte) for analyte in ANALYTES}


class LiverPanel(models.Model):
    """ALT, AST, alkaline phosphatase (U/L) and total bilirubin (mg/dL), each with the lab's upper limit."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="liver_panels")
    collected_on = models.DateField()
    alt = models.DecimalField(max_digits=7, decimal_places=1, validators=[PlausibleLiverValue("alt")])
    alt_uln = models.DecimalField(max_digits=6, decimal_places=1, validators=[PlausibleLiverValue("alt_uln")])
    ast = models.DecimalField(max_digits=7, decimal_places=1, validators=[PlausibleLiverValue("ast")])
    ast_uln = models.DecimalField(max_digits=6, decimal_places=1, validators=[PlausibleLiverValue("ast_uln")])
    alp = models.DecimalField(max_digits=7, decimal_places=1, validators=[PlausibleLiverValue("alp")])
    alp_uln = models.DecimalField(max_digits=6, decimal_places=1, validators=[PlausibleLiverValue("alp_uln")])
    total_bilirubin = models.DecimalField(
        max_digits=5, decimal_places=2, validators=[PlausibleLiverValue("total_bilirubin")]
    )
    # Decimal bounds (cases.models.ranges.LIVER_RANGES): the float 0.5 would not be exact.
    total_bilirubin_uln = models.DecimalField(
        max_digits=4, decimal_places=2, validators=[PlausibleLiverValue("total_bilirubin_uln")]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["case", "-collected_on"]
        indexes = [models.Index(fields=["case", "collected_on"], name="liver_case_date_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(alt__gte=0, ast__gte=0, alp__gte=0, total_bilirubin__gte=0),
                name="liver_values_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(alt_uln__gt=0, ast_uln__gt=0, alp_uln__gt=0, total_bilirubin_uln__gt=0),
                name="liver_limits_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Liver panel {self.collected_on}"
