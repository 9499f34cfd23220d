"""42 CFR Part 2 (SPEC section 12): consents with their recipients and revocations, the disclosure ledger, SUD
counseling notes, and patients' requests for an accounting of disclosures.

The rules that decide whether a consent covers a release live in `cases.services.part2`; these models hold the
facts, their constraints, and what each row says about itself.
"""

import datetime as dt
import uuid

from django.core.files.storage import Storage, storages
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

# The statement of 42 CFR 2.32(a)(2) that goes with every release made on a patient's consent.
PART2_NOTICE = "42 CFR part 2 prohibits unauthorized use or disclosure of these records."
# The longer statement of 2.32(a)(1), which a program may send instead.
PART2_NOTICE_LONG = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules (42 CFR part 2). "
    "These rules prohibit you from using or disclosing this record, or testimony that describes the information "
    "contained in this record, in any civil, criminal, administrative, or legislative proceedings by any Federal, "
    "State, or local authority, against the patient, unless authorized by the consent of the patient, except as "
    "provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR 2.64 or 2.65. In "
    "addition, the Federal rules prohibit you from making any other use or disclosure of this record unless at "
    "least one of the following applies: (i) further use or disclosure is expressly permitted by the written "
    "consent of the individual whose information is being disclosed in this record or as otherwise permitted by "
    "42 CFR part 2; (ii) you are a covered entity or business associate and have received the record for "
    "treatment, payment, or health care operations; or (iii) you have received the record from a covered entity "
    "or business associate as permitted by 45 CFR part 164, subparts A and E. A general authorization for the "
    "release of medical or other information is NOT sufficient to meet the required elements of written consent "
    "to further use or redisclose the record (see 42 CFR 2.31)."
)

ACCOUNTING_YEARS = 6  # HIPAA 164.528(a)(1); Part 2 (2.25) asks for 3 for consented disclosures
ACCOUNTING_DUE_DAYS = 60  # 164.528(c)(1)
ACCOUNTING_EXTENSION_DAYS = 30  # 164.528(c)(2), once, with a written reason


def consent_document_storage() -> Storage:
    """Where signed consent forms are kept: the `consent_documents` storage of settings.STORAGES (private files,
    never under a public URL; served only through the API and pages that check the policy)."""
    return storages["consent_documents"]


class InformationCategory(models.TextChoices):
    DEMOGRAPHICS = "demographics", "Demographics"
    DIAGNOSES = "diagnoses", "Diagnoses"
    ASSESSMENTS = "assessments", "Assessments"
    VISIT_NOTES = "visit_notes", "Visit notes"
    MEDICATIONS = "medications", "Medications"
    DRUG_SCREENS = "drug_screens", "Urine drug screens"
    LIVER_PANELS = "liver_panels", "Liver panels"
    TREATMENT_PLAN = "treatment_plan", "Treatment plan"
    ATTENDANCE = "attendance", "Attendance"
    COUNSELING_NOTES = "counseling_notes", "SUD counseling notes"
    ALL_RECORDS = "all_records", "All records (except SUD counseling notes)"


# What `all_records` stands for. SUD counseling notes are never part of it: 42 CFR 2.31(b) needs a consent of
# their own, combined with no other.
RECORD_CATEGORIES: frozenset[str] = frozenset(InformationCategory.values) - {
    InformationCategory.ALL_RECORDS,
    InformationCategory.COUNSELING_NOTES,
}


class Purpose(models.TextChoices):
    TREATMENT = "treatment", "Treatment"
    PAYMENT = "payment", "Payment"
    HEALTH_CARE_OPERATIONS = "health_care_operations", "Health care operations"
    CARE_COORDINATION = "care_coordination", "Care coordination"
    PATIENT_REQUEST = "patient_request", "At the request of the patient"
    LEGAL = "legal", "Legal"
    OTHER = "other", "Other"


TPO_PURPOSES: tuple[str, ...] = (Purpose.TREATMENT, Purpose.PAYMENT, Purpose.HEALTH_CARE_OPERATIONS)


class ConsentKind(models.TextChoices):
    TPO = "tpo", "Treatment, payment and health care operations"
    SPECIFIC = "specific", "Specific recipient and purpose"
    COUNSELING_NOTES = "counseling_notes", "SUD counseling notes"


class ConsentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class Consent(models.Model):
    """A patient's written consent (42 CFR 2.31): each required element is a field. Rows are never deleted; a
    revocation is a `ConsentRevocation` row (and the date on the recipients it ends)."""

    Kind = ConsentKind
    Status = ConsentStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("cases.Patient", on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # 2.31(a)(2): who may make the disclosure (this program, by name).
    discloser = models.CharField(max_length=200)
    # 2.31(a)(3): the information, as category codes (or ["all_records"]).
    information = models.JSONField(default=list)
    # 2.31(a)(5): each purpose, as codes; `purpose_text` says what `other` is.
    purposes = models.JSONField(default=list)
    purpose_text = models.CharField(max_length=500, blank=True)
    # 2.31(a)(7): a date, an event, or (TPO only) none. An event ends the consent on `expired_on`, once recorded.
    expires_on = models.DateField(null=True, blank=True)
    expiration_event = models.CharField(max_length=300, blank=True)
    expired_on = models.DateField(null=True, blank=True)
    # 2.31(a)(8)-(9): who signed (the patient, or a representative and their capacity) and when.
    signed_on = models.DateField()
    signer_name = models.CharField(max_length=200)
    signer_relationship = models.CharField(
        max_length=100, help_text="`self`, or the representative's capacity"
    )
    # The clinic's approved form, whose text carries the statements 2.31(a)(6), (a)(4)(iii) and (a)(10) require.
    form_version = models.CharField(max_length=40)
    document = models.FileField(
        storage=consent_document_storage, upload_to="consents/", max_length=200, null=True, blank=True
    )
    document_name = models.CharField(max_length=200, blank=True)  # the uploaded file's name, for display only
    document_content_type = models.CharField(max_length=40, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    document_uploaded_at = models.DateTimeField(null=True, blank=True)
    revoked_on = models.DateField(null=True, blank=True)  # set once every recipient is revoked
    recorded_by = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-signed_on", "-created_at"]
        indexes = [models.Index(fields=["patient", "signed_on"], name="consent_patient_signed_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ConsentKind.values), name="consent_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind="tpo") | Q(expires_on__isnull=False) | ~Q(expiration_event=""),
                name="consent_expiry_given_unless_tpo",
            ),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gte=F("signed_on")),
                name="consent_expires_after_signed",
            ),
            models.CheckConstraint(
                condition=Q(expired_on__isnull=True)
                | (~Q(expiration_event="") & Q(expired_on__gte=F("signed_on"))),
                name="consent_expired_on_needs_event",
            ),
            models.CheckConstraint(
                condition=Q(revoked_on__isnull=True) | Q(revoked_on__gte=F("signed_on")),
                name="consent_revoked_after_signed",
            ),
            models.CheckConstraint(
                condition=~Q(discloser="")
                & ~Q(signer_name="")
                & ~Q(signer_relationship="")
                & ~Q(form_version=""),
                name="consent_elements_present",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} consent signed {self.signed_on}"

    def expired_by(self, day: dt.date) -> bool:
        """Valid through `expires_on`; an event's consent ends on the day the event happened."""
        return (self.expires_on is not None and day > self.expires_on) or (
            self.expired_on is not None and day >= self.expired_on
        )

    def status_on(self, day: dt.date) -> str:
        if self.revoked_on is not None and day >= self.revoked_on:
            return ConsentStatus.REVOKED
        if self.expired_by(day):
            return ConsentStatus.EXPIRED
        return ConsentStatus.ACTIVE

    @property
    def status(self) -> str:
        return self.status_on(timezone.localdate())


class ConsentRecipient(models.Model):
    """One recipient a consent names (2.31(a)(4)): a person or entity, or a class ("my treating providers"); whether
    it is a HIPAA covered entity or business associate; and the intermediary (an HIE) it is reached through."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="recipients")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    is_class = models.BooleanField(default=False)
    covered_entity = models.BooleanField(default=False)
    intermediary = models.CharField(max_length=200, blank=True)
    revoked_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["consent", "position"]
        constraints = [
            models.UniqueConstraint(fields=["consent", "position"], name="consent_recipient_position_unique"),
            models.CheckConstraint(condition=~Q(name=""), name="consent_recipient_name_present"),
        ]

    def __str__(self) -> str:
        return self.name

    def revoked_by(self, day: dt.date) -> bool:
        return self.revoked_on is not None and day >= self.revoked_on


class ConsentRevocation(models.Model):
    """A written revocation, as received: for one recipient, or (recipient null) for all. Append-only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="revocations")
    recipient = models.ForeignKey(
        ConsentRecipient, null=True, blank=True, on_delete=models.PROTECT, related_name="revocations"
    )
    revoked_on = models.DateField()
    how = models.CharField(
        max_length=200, help_text="How the written revocation arrived (letter, signed form...)"
    )
    by_name = models.CharField(max_length=200, help_text="Who revoked: the patient or their representative")
    recorded_by = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["consent", "recorded_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(how="") & ~Q(by_name=""), name="consent_revocation_elements"),
        ]

    def __str__(self) -> str:
        return f"Revoked on {self.revoked_on}"


class DisclosureBasis(models.TextChoices):
    CONSENT = "consent", "Patient's written consent (2.31)"
    MEDICAL_EMERGENCY = "medical_emergency", "Medical emergency (2.51)"
    COURT_ORDER = "court_order", "Court order (2.61-2.67)"
    AUDIT_EVALUATION = "audit_evaluation", "Audit or evaluation (2.53)"
    RESEARCH = "research", "Research (2.52)"
    REPORTING_OBLIGATION = "reporting_obligation", "Reporting required by law (2.12(c)(6), 2.54)"


class DisclosureFormat(models.TextChoices):
    FHIR = "fhir", "FHIR Bundle"
    PRINTABLE = "printable", "Printable summary"
    OTHER = "other", "Other"


class DisclosureChannel(models.TextChoices):
    DOWNLOAD = "download", "Downloaded from the tracker"
    ELECTRONIC = "electronic", "Sent electronically"
    FAX = "fax", "Fax"
    MAIL = "mail", "Mail"
    IN_PERSON = "in_person", "Handed over in person"
    PHONE = "phone", "Telephone"
    OTHER = "other", "Other"


class Disclosure(models.Model):
    """One release of a patient's records outside the clinic (SPEC section 12): the ledger the accounting of
    disclosures (2.25, HIPAA 164.528) is read from. Append-only: a mistaken entry stays and is explained."""

    Basis = DisclosureBasis
    Format = DisclosureFormat
    Channel = DisclosureChannel

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("cases.Patient", on_delete=models.PROTECT, related_name="disclosures")
    disclosed_at = models.DateTimeField()
    recipient_name = models.CharField(max_length=200)
    recipient_address = models.CharField(max_length=300, blank=True)
    recipient_affiliation = models.CharField(max_length=200, blank=True)
    information = models.JSONField(default=list)  # category codes, expanded (never `all_records`)
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    purpose_text = models.CharField(max_length=500, blank=True)
    basis = models.CharField(max_length=24, choices=Basis.choices)
    basis_reason = models.TextField(blank=True)
    consent = models.ForeignKey(
        Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="disclosures"
    )
    consent_recipient = models.ForeignKey(
        ConsentRecipient, null=True, blank=True, on_delete=models.PROTECT, related_name="disclosures"
    )
    counseling_notes = models.ManyToManyField("cases.CounselingNote", blank=True, related_name="disclosures")
    released_by = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="+")
    format = models.CharField(max_length=12, choices=Format.choices, default=Format.OTHER)
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.OTHER)
    notice = models.TextField(blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-disclosed_at", "-recorded_at"]
        indexes = [
            models.Index(fields=["patient", "disclosed_at"], name="disclosure_patient_time_idx"),
            models.Index(fields=["disclosed_at"], name="disclosure_time_idx"),
            models.Index(fields=["basis", "disclosed_at"], name="disclosure_basis_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(basis__in=DisclosureBasis.values), name="disclosure_basis_valid"
            ),
            models.CheckConstraint(condition=Q(purpose__in=Purpose.values), name="disclosure_purpose_valid"),
            models.CheckConstraint(
                condition=Q(format__in=DisclosureFormat.values), name="disclosure_format_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=DisclosureChannel.values), name="disclosure_channel_valid"
            ),
            # On consent: the consent, the recipient entry used and the 2.32 notice. Otherwise: the reason.
            models.CheckConstraint(
                condition=Q(basis="consent", consent__isnull=False, consent_recipient__isnull=False)
                & ~Q(notice="")
                | (~Q(basis="consent") & Q(consent__isnull=True) & ~Q(basis_reason="")),
                name="disclosure_basis_complete",
            ),
            models.CheckConstraint(condition=~Q(recipient_name=""), name="disclosure_recipient_present"),
        ]

    def __str__(self) -> str:
        return f"Disclosure to {self.recipient_name} on {self.disclosed_at:%Y-%m-%d}"

    @property
    def needs_privacy_review(self) -> bool:
        """Every release without consent is flagged for the privacy officer (SPEC section 12)."""
        return self.basis != DisclosureBasis.CONSENT


class CounselingNote(models.Model):
    """An SUD counseling note (42 CFR 2.11): the counselor's notes of a session's conversation, kept apart from the
    visit's SOAP note. Only its author reads, lists or releases it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="counseling_notes")
    visit = models.ForeignKey(
        "cases.Visit", null=True, blank=True, on_delete=models.PROTECT, related_name="counseling_notes"
    )
    author = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="counseling_notes")
    written_at = models.DateTimeField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-written_at", "-created_at"]
        indexes = [models.Index(fields=["author", "written_at"], name="counseling_note_author_idx")]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="counseling_note_text_present")]

    def __str__(self) -> str:
        return f"Counseling note {self.written_at:%Y-%m-%d}"


class AccountingRequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    LATE = "late", "Late"
    FULFILLED = "fulfilled", "Fulfilled"


class AccountingRequest(models.Model):
    """A patient's request for an accounting of disclosures (2.25; HIPAA 164.528(c)): due 60 days after it was
    received, extendable once by 30 days with a written reason given within the first 60."""

    Status = AccountingRequestStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("cases.Patient", on_delete=models.PROTECT, related_name="accounting_requests")
    requested_on = models.DateField()
    requested_by_name = models.CharField(max_length=200)
    due_on = models.DateField()
    extended_due_on = models.DateField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    extended_at = models.DateTimeField(null=True, blank=True)
    extended_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fulfilled_on = models.DateField(null=True, blank=True)
    fulfilled_by = models.ForeignKey(
        "clinic.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey("clinic.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "created_at"]
        indexes = [models.Index(fields=["fulfilled_on", "due_on"], name="accounting_request_open_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_on__gt=F("requested_on")), name="accounting_due_after_request"
            ),
            models.CheckConstraint(
                condition=Q(extended_due_on__isnull=True, extension_reason="")
                | (Q(extended_due_on__gt=F("due_on")) & ~Q(extension_reason="")),
                name="accounting_extension_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(fulfilled_on__isnull=True) | Q(fulfilled_on__gte=F("requested_on")),
                name="accounting_fulfilled_after_request",
            ),
        ]

    def __str__(self) -> str:
        return f"Accounting requested {self.requested_on}, due {self.effective_due_on}"

    @property
    def effective_due_on(self) -> dt.date:
        return self.extended_due_on or self.due_on

    def status_on(self, day: dt.date) -> str:
        if self.fulfilled_on is not None:
            return AccountingRequestStatus.FULFILLED
        return AccountingRequestStatus.LATE if day > self.effective_due_on else AccountingRequestStatus.OPEN

    @property
    def status(self) -> str:
        return self.status_on(timezone.localdate())
