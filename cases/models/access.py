"""Break-glass grants: a clinician's time-limited, audited access to a patient outside their caseload."""

import datetime as dt
import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class BreakGlassVerdict(models.TextChoices):
    APPROPRIATE = "appropriate", "Appropriate"
    INAPPROPRIATE = "inappropriate", "Inappropriate"


def running_grant_q(at: dt.datetime | None = None) -> Q:
    """The grants in force at `at` (now): granted and not yet expired (a supervisor's early end brings `expires_at`
    forward). The one statement of a running grant: the caseload, the chart, the dashboard and `?active=` read it."""
    at = timezone.now() if at is None else at
    return Q(granted_at__lte=at, expires_at__gt=at)


class BreakGlassGrantQuerySet(models.QuerySet["BreakGlassGrant"]):
    def running(self, at: dt.datetime | None = None) -> "BreakGlassGrantQuerySet":
        """The grants in force at `at` (now): `running_grant_q`."""
        return self.filter(running_grant_q(at))


class BreakGlassGrant(models.Model):
    Verdict = BreakGlassVerdict

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="break_glass_grants")
    patient = models.ForeignKey("cases.Patient", on_delete=models.PROTECT, related_name="break_glass_grants")
    reason = models.TextField()
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()  # brought forward when a supervisor ends the grant early
    # A supervisor's end of the grant before it ran out (SPEC section 2), and their review of it.
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    review_verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    review_note = models.TextField(blank=True)

    objects = BreakGlassGrantQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["user", "expires_at"], name="breakglass_user_expiry_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("granted_at")), name="breakglass_expires_after_grant"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="breakglass_reason_present"),
        ]

    def __str__(self) -> str:
        return f"{self.user} -> {self.patient_id} until {self.expires_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        """This grant, in force now (`running_grant_q` for one row in hand)."""
        return self.granted_at <= timezone.now() < self.expires_at
