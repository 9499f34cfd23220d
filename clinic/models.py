"""Staff accounts. Roles are Django groups named after `clinic.roles.Role`."""

import uuid
from collections.abc import Iterable
from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models

from clinic.roles import Role


class User(AbstractUser):
    """A member of staff. Patients never log in."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    credentials = models.CharField(
        max_length=60,
        blank=True,
        default="",
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9][A-Za-z0-9 ,.()/-]*$",
                "Credentials are letters and digits, with spaces, commas, periods, hyphens, slashes or brackets "
                "between them (e.g. MD, FASAM).",
            )
        ],
        help_text="Professional credentials written after the name on signed notes, addenda and printed records, "
        "e.g. MD, NP, LCAC (leave empty for none).",
    )

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def full_name(self) -> str:
        return self.get_full_name()

    @property
    def signature(self) -> str:
        """The name a signature shows: "Chidi Okafor, MD" (the name alone when no credentials are on file)."""
        name = self.full_name or self.username
        return f"{name}, {self.credentials}" if self.credentials else name

    @cached_property
    def roles(self) -> frozenset[Role]:
        """The user's role codes; reads the prefetched groups when the queryset prefetched them (or what
        `remember_roles` was given: `clinic.backends` loads them with the user, in one query)."""
        return (
            self._roles_from({group.name for group in self.groups.all()}) if self.is_active else frozenset()
        )

    def remember_roles(self, group_names: Iterable[str | None]) -> None:
        """Set `roles` from group names read along with the user (no query of its own)."""
        self.__dict__["roles"] = self._roles_from(group_names) if self.is_active else frozenset()

    @staticmethod
    def _roles_from(group_names: Iterable[str | None]) -> frozenset[Role]:
        return frozenset(Role(name) for name in group_names if name in Role.values)

    def has_role(self, role: Role) -> bool:
        return role in self.roles


class AuditAction(models.TextChoices):
    LIST = "list", "List"
    VIEW = "view", "View"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    SIGN = "sign", "Sign"
    ADDENDUM = "addendum", "Addendum"
    TRANSITION = "transition", "Stage change"
    EXPORT = "export", "Export"
    LOGIN = "login", "Login"
    LOGOUT = "logout", "Logout"
    LOGIN_FAILED = "login_failed", "Failed login"
    BREAK_GLASS = "break_glass", "Break-glass access"
    ROLE_CHANGE = "role_change", "Role change"
    # Version 2 (SPEC section 10)
    DRAFT = "draft", "Draft saved"
    APPROVE = "approve", "Approval"
    REFUSE = "refuse", "Refusal"
    RELEASE = "release", "Record release"
    REVOKE = "revoke", "Revocation"
    PASSWORD_RESET = "password_reset", "Password reset"
    DEVICE_REMOVED = "device_removed", "MFA device removed"
    GRANT_END = "grant_end", "Break-glass grant ended"
    GRANT_REVIEW = "grant_review", "Break-glass grant reviewed"
    ATTENDANCE_CORRECTION = "attendance_correction", "Attendance correction"


class AuditOutcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"


class AuditDataCategory(models.TextChoices):
    """What kind of patient data an event touched, so that access to substance-use records can be reported.
    Not a constraint on the column: events without patient data (logins) leave it blank."""

    DEMOGRAPHICS = "demographics", "Demographics"
    CASE = "case", "Case (episode, stage, care team)"
    SUBSTANCE_HISTORY = "substance_history", "Substance-use history"
    VISIT_SCHEDULE = "visit_schedule", "Visit schedule and attendance"
    CLINICAL_NOTE = "clinical_note", "Clinical note and vitals"
    ASSESSMENT = "assessment", "Assessment"
    PLAN = "plan", "Treatment plan"
    MEDICATION = "medication", "Medication"
    LAB = "lab", "Lab result"
    ALERT = "alert", "Alert"
    ACCESS = "access", "Access (break-glass)"
    AUDIT = "audit", "Audit log"


class TransactionId(models.Func):
    """The writing transaction's id (`txid_current()`, 64 bits, never wraps) on PostgreSQL; 0 on SQLite, whose
    single writer commits in id order. The sealer orders events by (txid, id): see `clinic.audit`."""

    template = "txid_current()"
    output_field = models.BigIntegerField()

    def as_sqlite(self, compiler: object, connection: object, **extra_context: object) -> tuple[str, list]:
        return "0", []


class AuditEvent(models.Model):
    """One access or change, append-only (database triggers refuse UPDATE, DELETE and TRUNCATE). `hash` covers
    this event's own content only, so appends never wait on each other; `AuditSeal` rows chain them afterwards.
    `sequence` and `prev_hash` belong to the events written before seals (a chain built under a global lock);
    they stay for those events' verification and are empty on newer ones."""

    Action = AuditAction
    Outcome = AuditOutcome
    DataCategory = AuditDataCategory

    id = models.BigAutoField(primary_key=True)
    sequence = models.BigIntegerField(unique=True, null=True, blank=True)
    occurred_at = models.DateTimeField()
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150, blank=True)
    roles = models.JSONField(default=list)
    action = models.CharField(max_length=24, choices=Action.choices)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.UUIDField(null=True, blank=True)
    # Patients shown by a list request, space-separated, so "who saw this record" finds list views too.
    patients_seen = models.TextField(blank=True)
    data_category = models.CharField(max_length=24, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    # Filled by the database at INSERT (0 for the events written before it existed).
    txid = models.BigIntegerField(db_default=TransactionId())

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["txid", "id"], name="audit_seal_order_idx"),
            models.Index(fields=["patient_id", "occurred_at"], name="audit_patient_time_idx"),
            models.Index(fields=["user", "occurred_at"], name="audit_user_time_idx"),
            models.Index(fields=["action", "occurred_at"], name="audit_action_time_idx"),
            models.Index(fields=["occurred_at"], name="audit_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=AuditAction.values), name="audit_action_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=AuditOutcome.values), name="audit_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.username or '-'} {self.action} {self.object_type} {self.outcome}"


class AuditSeal(models.Model):
    """One batch of events, sealed after their transactions ended (SPEC section 7), append-only like the events.

    A seal covers the events after the previous seal's last (txid, id) up to and including its own, in that
    order; `merkle_root` is the RFC 6962 tree head of their hashes and `hash` covers this row with
    `prev_hash`, the previous seal's hash, so the seals form a chain and `sequence` has no gaps."""

    id = models.BigAutoField(primary_key=True)
    sequence = models.BigIntegerField(unique=True)
    sealed_at = models.DateTimeField()
    first_event_id = models.BigIntegerField()
    first_txid = models.BigIntegerField()
    last_event_id = models.BigIntegerField()
    last_txid = models.BigIntegerField()
    event_count = models.PositiveIntegerField()
    # The oldest transaction still running when the seal was taken (PostgreSQL; 0 on SQLite): no event of a
    # transaction at or after it is in this seal.
    horizon = models.BigIntegerField()
    merkle_root = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        indexes = [models.Index(fields=["last_txid", "last_event_id"], name="audit_seal_last_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(event_count__gt=0), name="audit_seal_not_empty"),
        ]

    def __str__(self) -> str:
        return f"seal #{self.sequence}: {self.event_count} events to #{self.last_event_id}"


class AccessChangeKind(models.TextChoices):
    ROLES = "roles", "Role change"
    PASSWORD_RESET = "password_reset", "Password reset link"
    DEVICE_REMOVAL = "device_removal", "Authenticator removal"
    EMAIL_CHANGE = "email_change", "E-mail change"


class AccessChangeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"


class AccessChange(models.Model):
    """A change to someone's access that waits for a second person (SPEC section 2, clinic/approvals.py): roles
    that grant `clinician` or `supervisor`, and on an account holding one of those, a password reset, removing an
    authenticator or changing the e-mail address. It grants nothing until a different administrator or supervisor
    (neither the requester nor the account's owner) approves it."""

    Kind = AccessChangeKind
    Status = AccessChangeStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(User, on_delete=models.PROTECT, related_name="access_changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    roles_before = models.JSONField(default=list, blank=True)
    roles_after = models.JSONField(default=list, blank=True)
    email_before = models.EmailField(blank=True)
    email_after = models.EmailField(blank=True)
    device_id = models.CharField(max_length=64, blank=True)  # the TOTP device to remove
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=AccessChangeKind.values), name="accesschange_kind"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=AccessChangeStatus.values), name="accesschange_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.subject} ({self.get_status_display().lower()})"
