"""The census report's rollup (PostgreSQL only; cases/census_rollup.py). Not clinical records: no foreign keys,
never shown row by row."""

from django.db import models


class ReportDirty(models.Model):
    """A patient whose cases, stage changes or entered-in-error flag changed since the rollup last counted them:
    written by database triggers in the writing transaction (insert only), removed by the pass that recounts."""

    id = models.BigAutoField(primary_key=True)
    patient_id = models.UUIDField()

    def __str__(self) -> str:
        return str(self.patient_id)


class CensusFact(models.Model):
    """What one patient's cases add to the census (`kind`: opened, first, closed, stage), as of the last pass:
    kept per patient so that a pass can take a patient's old facts out of `CensusCount` and put the new ones in."""

    id = models.BigAutoField(primary_key=True)
    patient_id = models.UUIDField()
    kind = models.CharField(max_length=8)
    day = models.DateField()
    key = models.CharField(max_length=32)
    clinician_id = models.UUIDField(help_text="The case's primary clinician; all zeros for none")
    n = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["patient_id"], name="census_fact_patient_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.day} {self.key}: {self.n}"


class CensusCount(models.Model):
    """The census facts of every patient summed per (kind, day, key, clinician): a few thousand rows."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=8)
    day = models.DateField()
    key = models.CharField(max_length=32)
    clinician_id = models.UUIDField()
    n = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "day", "key", "clinician_id"], name="census_count_cell")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.day} {self.key}: {self.n}"
