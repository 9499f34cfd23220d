"""42 CFR Part 2 writes (SPEC section 12): consents, their scans, revocations and expiry events; the disclosure ledger
with the check every release passes first; SUD counseling notes; requests for an accounting of disclosures.

Every write validates, locks in the house order (patient, then case, then the consent and its child rows), writes
and appends its audit event in one transaction. Errors are `ValidationFailed` naming the field in the API's words
(SPEC section 10: `consent`, `consent_recipient`, `purpose`, `information`, ...) or Django's `PermissionDenied`
when the policy refuses (a release under break-glass, a counseling note that is not the actor's).
"""

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from cases.errors import Conflict, ValidationFailed
from cases.models import (
    AccountingRequest,
    Case,
    Consent,
    ConsentRecipient,
    ConsentRevocation,
    CounselingNote,
    Disclosure,
    Patient,
    Visit,
)
from cases.models.part2 import (
    ACCOUNTING_DUE_DAYS,
    ACCOUNTING_EXTENSION_DAYS,
    ACCOUNTING_YEARS,
    PART2_NOTICE,
    PART2_NOTICE_LONG,
    RECORD_CATEGORIES,
    TPO_PURPOSES,
    InformationCategory,
    Purpose,
    consent_document_storage,
)
from cases.services.validation import full_clean_or_raise
from clinic.audit import audit_record
from clinic.models import AuditAction, User
from clinic.policy import counseling_note_readers_q, release_refusal

Category = InformationCategory
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# What a consent's scan may be, told by its content (not its name or the client's content type).
DOCUMENT_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
MAX_RECIPIENTS = 20
# Nothing the clinic records predates this (and a time near year 1 cannot be turned into clinic time).
EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)


# --- Reading the lists of codes --------------------------------------------------------------------------------


def _codes(values: object, *, allowed: Iterable[str], field: str, what: str) -> list[str]:
    """A non-empty list of known codes, without repeats, in the order given."""
    if not isinstance(values, list | tuple) or not values:
        raise ValidationFailed(f"Give the {what} as a non-empty list of codes.", field=field)
    allowed = list(allowed)
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValidationFailed(
            f"Unknown {what}: {', '.join(map(str, unknown))[:200]}. Use: {', '.join(allowed)}.", field=field
        )
    return list(dict.fromkeys(values))


def expand_categories(categories: Iterable[str]) -> set[str]:
    """`all_records` stands for every category but SUD counseling notes."""
    expanded = set(categories)
    if Category.ALL_RECORDS in expanded:
        expanded = (expanded - {Category.ALL_RECORDS}) | set(RECORD_CATEGORIES)
    return expanded


def _text(data: Mapping[str, Any], name: str, *, required: bool, limit: int, label: str = "") -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed("Give text.", field=name)
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"{label or name.replace('_', ' ').capitalize()} is required.", field=name)
    if len(value) > limit:
        raise ValidationFailed(f"At most {limit} characters.", field=name)
    return value


def _day(data: Mapping[str, Any], name: str, *, required: bool) -> dt.date | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            raise ValidationFailed("This date is required.", field=name)
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationFailed("Give a date (YYYY-MM-DD).", field=name)
    if value < EARLIEST.date():
        raise ValidationFailed("This date is too far in the past.", field=name)
    return value


def _required_day(data: Mapping[str, Any], name: str) -> dt.date:
    day = _day(data, name, required=True)
    if day is None:  # pragma: no cover (`_day` has raised)
        raise ValidationFailed("This date is required.", field=name)
    return day


def _not_future(day: dt.date | None, field: str) -> None:
    if day is not None and day > timezone.localdate():
        raise ValidationFailed("This date cannot be in the future.", field=field)


# --- Consents --------------------------------------------------------------------------------------------------


def _recipients(values: object) -> list[dict[str, Any]]:
    if not isinstance(values, list | tuple) or not values:
        raise ValidationFailed(
            "Name at least one recipient (a person, an entity or a class).", field="recipients"
        )
    if len(values) > MAX_RECIPIENTS:
        raise ValidationFailed(f"At most {MAX_RECIPIENTS} recipients on one consent.", field="recipients")
    clean = []
    for index, value in enumerate(values):
        if not isinstance(value, Mapping):
            raise ValidationFailed(f"Recipient {index + 1}: give an object with a name.", field="recipients")
        unknown = sorted(set(value) - {"name", "is_class", "covered_entity", "intermediary"})
        if unknown:
            raise ValidationFailed(f"Recipient {index + 1}: unknown field {unknown[0]}.", field="recipients")
        try:
            name = _text(value, "name", required=True, limit=200)
            intermediary = _text(value, "intermediary", required=False, limit=200)
        except ValidationFailed as exc:
            raise ValidationFailed(f"Recipient {index + 1}: {exc.message}", field="recipients") from exc
        flags = {key: value.get(key, False) for key in ("is_class", "covered_entity")}
        if any(not isinstance(flag, bool) for flag in flags.values()):
            raise ValidationFailed(
                f"Recipient {index + 1}: is_class and covered_entity are true or false.", field="recipients"
            )
        clean.append({"name": name, "intermediary": intermediary, **flags})
    return clean


def consent_record(*, actor: User, patient: Patient, data: Mapping[str, Any]) -> Consent:
    """Record a signed consent with every element 42 CFR 2.31(a) requires (SPEC section 12).

    `data` holds `kind`, `discloser`, `information` (category codes or ["all_records"]), `recipients` (list of
    {"name", "is_class", "covered_entity", "intermediary"}), `purposes` (codes; `other` needs `purpose_text`),
    `expires_on` or `expiration_event` (neither only for `tpo`), `signed_on`, `signer_name`, `signer_relationship`
    (`self` or the representative's capacity) and `form_version`. A missing or malformed element is a
    `ValidationFailed` naming it. The caller has checked the policy (`Capability.RECORD_CONSENTS` on the patient).
    """
    kind = data.get("kind")
    if kind not in Consent.Kind.values:
        raise ValidationFailed(f"Choose the kind of consent: {', '.join(Consent.Kind.values)}.", field="kind")
    discloser = _text(data, "discloser", required=True, limit=200, label="Who may disclose")
    information = _codes(
        data.get("information"), allowed=Category.values, field="information", what="information"
    )
    if kind == Consent.Kind.COUNSELING_NOTES:
        if information != [Category.COUNSELING_NOTES]:
            raise ValidationFailed(
                "A counseling-notes consent covers SUD counseling notes and nothing else (42 CFR 2.31(b)).",
                field="information",
            )
    elif Category.COUNSELING_NOTES in information:
        raise ValidationFailed(
            "SUD counseling notes need a consent of their own (kind counseling_notes; 42 CFR 2.31(b)).",
            field="information",
        )
    if Category.ALL_RECORDS in information and len(information) > 1:
        raise ValidationFailed("all_records already includes every other category.", field="information")
    recipients = _recipients(data.get("recipients"))
    purposes_given = data.get("purposes")
    if kind == Consent.Kind.TPO and purposes_given in (None, []):
        purposes = list(TPO_PURPOSES)
    else:
        purposes = _codes(purposes_given, allowed=Purpose.values, field="purposes", what="purposes")
    if kind == Consent.Kind.TPO and set(purposes) - set(TPO_PURPOSES):
        raise ValidationFailed(
            "A TPO consent is for treatment, payment and health care operations only; use a specific consent "
            "for other purposes.",
            field="purposes",
        )
    purpose_text = _text(
        data,
        "purpose_text",
        required=Purpose.OTHER in purposes,
        limit=500,
        label="Say what the other purpose is",
    )
    expires_on = _day(data, "expires_on", required=False)
    expiration_event = _text(data, "expiration_event", required=False, limit=300)
    if expires_on and expiration_event:
        raise ValidationFailed("Give an expiry date or an expiry event, not both.", field="expiration_event")
    if kind != Consent.Kind.TPO and not (expires_on or expiration_event):
        raise ValidationFailed(
            "Give the date or event on which this consent expires (only a TPO consent may have none).",
            field="expires_on",
        )
    signed_on = _required_day(data, "signed_on")
    _not_future(signed_on, "signed_on")
    if expires_on is not None and signed_on is not None and expires_on < signed_on:
        raise ValidationFailed("The consent cannot expire before it was signed.", field="expires_on")
    consent = Consent(
        patient=patient,
        kind=kind,
        discloser=discloser,
        information=information,
        purposes=purposes,
        purpose_text=purpose_text,
        expires_on=expires_on,
        expiration_event=expiration_event,
        signed_on=signed_on,
        signer_name=_text(data, "signer_name", required=True, limit=200, label="The signer's name"),
        signer_relationship=_text(
            data,
            "signer_relationship",
            required=True,
            limit=100,
            label="The signer's capacity (self or representative)",
        ),
        form_version=_text(data, "form_version", required=True, limit=40, label="The consent form's version"),
        recorded_by=actor,
    )
    full_clean_or_raise(consent, exclude=["patient", "recorded_by", "document"])
    with transaction.atomic():
        Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk).first()
        consent.save(force_insert=True)
        ConsentRecipient.objects.bulk_create(
            [
                ConsentRecipient(consent=consent, position=index + 1, **entry)
                for index, entry in enumerate(recipients)
            ]
        )
        audit_record(
            user=actor,
            action=AuditAction.CREATE,
            object_type="consent",
            object_id=consent.pk,
            patient_id=patient.pk,
            data_category="consent",
            detail={
                "kind": kind,
                "information": information,
                "purposes": purposes,
                "recipients": len(recipients),
            },
        )
    return consent


def consent_attach_document(*, actor: User, consent: Consent, upload: UploadedFile) -> Consent:
    """Store the scan of the signed form (PDF, PNG or JPEG up to 10 MB, told by its content) through the
    `consent_documents` storage under a name of our own; the client's file name is kept for display only. A consent
    keeps its first scan: a second upload is a `Conflict` (nothing on file is ever overwritten)."""
    import filetype  # a small pure-Python library reading magic numbers

    if upload is None:
        raise ValidationFailed("Attach the scanned form as `file`.", field="file")
    if upload.size is None or upload.size == 0:
        raise ValidationFailed("The file is empty.", field="file")
    if upload.size > MAX_DOCUMENT_BYTES:
        raise ValidationFailed("The file is larger than 10 MB.", field="file")
    upload.seek(0)
    head = upload.read(8192)
    kind = filetype.guess(head)
    mime = kind.mime if kind is not None else ""
    if mime not in DOCUMENT_TYPES:
        raise ValidationFailed("The scan must be a PDF, PNG or JPEG file.", field="file")
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    display_name = "".join(
        ch for ch in (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1] if ch.isprintable()
    )
    stored_name = f"consents/{consent.pk}/{uuid.uuid4().hex}.{DOCUMENT_TYPES[mime]}"
    with transaction.atomic():
        Patient.objects.select_for_update(no_key=True).filter(pk=consent.patient_id).first()
        current = Consent.objects.select_for_update(no_key=True).get(pk=consent.pk)
        if current.document:
            raise Conflict("A scan of this consent is already on file.", field="file")
        storage = consent_document_storage()
        saved_as = storage.save(stored_name, upload)
        try:
            current.document.name = saved_as
            current.document_name = display_name[:200]
            current.document_content_type = mime
            current.document_sha256 = digest.hexdigest()
            current.document_uploaded_at = timezone.now()
            current.save(
                update_fields=[
                    "document",
                    "document_name",
                    "document_content_type",
                    "document_sha256",
                    "document_uploaded_at",
                ]
            )
            audit_record(
                user=actor,
                action=AuditAction.UPDATE,
                object_type="consent",
                object_id=current.pk,
                patient_id=current.patient_id,
                data_category="consent",
                detail={
                    "document": {
                        "content_type": mime,
                        "sha256": current.document_sha256,
                        "bytes": upload.size,
                    }
                },
            )
        except BaseException:
            storage.delete(saved_as)  # the row never pointed at it: no orphan left behind
            raise
    return current


def consent_revoke(
    *,
    actor: User,
    consent: Consent,
    revoked_on: dt.date | None,
    how: str,
    recipient: ConsentRecipient | uuid.UUID | str | None = None,
    by_name: str = "",
) -> ConsentRevocation:
    """Record a written revocation (42 CFR 2.31(a)(6)) received on `revoked_on`, for one recipient or (None) all.
    Releases on or after that day are refused; those before it stand. `by_name` is who revoked (default: the
    patient). Revoking what is already revoked is a `ValidationFailed`."""
    how = _text({"how": how}, "how", required=True, limit=200, label="How the revocation was received")
    revoked_on = _required_day({"revoked_on": revoked_on}, "revoked_on")
    _not_future(revoked_on, "revoked_on")
    with transaction.atomic():
        patient = Patient.objects.select_for_update(no_key=True).get(pk=consent.patient_id)
        current = Consent.objects.select_for_update(no_key=True).get(pk=consent.pk)
        if revoked_on < current.signed_on:
            raise ValidationFailed("A consent cannot be revoked before it was signed.", field="revoked_on")
        entries = list(ConsentRecipient.objects.select_for_update(no_key=True).filter(consent=current))
        target: ConsentRecipient | None = None
        if recipient not in (None, ""):
            wanted = str(getattr(recipient, "pk", recipient))
            target = next((entry for entry in entries if str(entry.pk) == wanted), None)
            if target is None:
                raise ValidationFailed("This consent names no such recipient.", field="recipient")
            if target.revoked_on is not None:
                raise ValidationFailed(f"Already revoked on {target.revoked_on}.", field="recipient")
            ending = [target]
        else:
            ending = [entry for entry in entries if entry.revoked_on is None]
            if not ending:
                raise ValidationFailed(
                    "Every recipient of this consent is already revoked.", field="recipient"
                )
        revocation = ConsentRevocation.objects.create(
            consent=current,
            recipient=target,
            revoked_on=revoked_on,
            how=how,
            by_name=(by_name or "").strip()[:200] or f"{patient.first_name} {patient.last_name} (patient)",
            recorded_by=actor,
        )
        ConsentRecipient.objects.filter(pk__in=[entry.pk for entry in ending]).update(revoked_on=revoked_on)
        still_open = [entry for entry in entries if entry.revoked_on is None and entry not in ending]
        if not still_open:
            last = max([revoked_on, *(entry.revoked_on for entry in entries if entry.revoked_on)])
            current.revoked_on = last
            current.save(update_fields=["revoked_on"])
        audit_record(
            user=actor,
            action=AuditAction.REVOKE,
            object_type="consent",
            object_id=current.pk,
            patient_id=current.patient_id,
            data_category="consent",
            detail={
                "revoked_on": revoked_on.isoformat(),
                "recipient": str(target.pk) if target else "all",
                "how": how,
                "consent_revoked": not still_open,
            },
        )
    consent.refresh_from_db()
    return revocation


def consent_record_expiry_event(*, actor: User, consent: Consent, expired_on: dt.date | None) -> Consent:
    """Record the day a consent's expiry event happened (its `expiration_event`); from that day it is expired."""
    expired_on = _required_day({"expired_on": expired_on}, "expired_on")
    _not_future(expired_on, "expired_on")
    with transaction.atomic():
        Patient.objects.select_for_update(no_key=True).filter(pk=consent.patient_id).first()
        current = Consent.objects.select_for_update(no_key=True).get(pk=consent.pk)
        if not current.expiration_event:
            raise ValidationFailed("This consent does not expire on an event.", field="expired_on")
        if current.expired_on is not None:
            raise ValidationFailed(
                f"The event was already recorded ({current.expired_on}).", field="expired_on"
            )
        if expired_on < current.signed_on:
            raise ValidationFailed("The event cannot be before the consent was signed.", field="expired_on")
        current.expired_on = expired_on
        current.save(update_fields=["expired_on"])
        audit_record(
            user=actor,
            action=AuditAction.UPDATE,
            object_type="consent",
            object_id=current.pk,
            patient_id=current.patient_id,
            data_category="consent",
            detail={"expired_on": expired_on.isoformat(), "event": current.expiration_event},
        )
    consent.refresh_from_db()
    return consent


# --- Does a consent cover a release? -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """The answer of `consent_covers`: truthy when covered; else the failing element (`field`, in the API's
    words) and why."""

    covered: bool
    field: str = ""
    reason: str = ""

    def __bool__(self) -> bool:
        return self.covered


def _recipient_entry(
    consent: Consent, recipient: ConsentRecipient | uuid.UUID | str | None
) -> ConsentRecipient | None:
    if recipient in (None, ""):
        return None
    wanted = str(getattr(recipient, "pk", recipient))
    return next((entry for entry in consent.recipients.all() if str(entry.pk) == wanted), None)


def consent_covers(
    consent: Consent,
    *,
    recipient: ConsentRecipient | uuid.UUID | str | None,
    purpose: str,
    categories: Sequence[str],
    on: dt.date,
) -> Coverage:
    """Does `consent` permit releasing `categories` to `recipient` (one of its recipient entries, or its id) for
    `purpose` on day `on`? (42 CFR 2.31, 2.31(d) and SPEC section 12, checked in this order:)

    - `consent`: signed on or before `on`, not expired (valid through `expires_on`, ended on a recorded event's
      day), not revoked for every recipient by `on`;
    - `consent_recipient`: the entry is one of the consent's recipients and not revoked by `on`;
    - `purpose`: one of the consent's purposes;
    - `information`: every category is covered (`all_records` covers all but counseling notes); SUD counseling
      notes only under a `counseling_notes` consent, and alone.

    Reads the consent's recipients (prefetch `recipients` to save the query). Never raises for a refusal."""
    if on < consent.signed_on:
        return Coverage(
            False, "consent", f"The consent was signed on {consent.signed_on}, after this release."
        )
    if consent.revoked_on is not None and on >= consent.revoked_on:
        return Coverage(False, "consent", f"The consent was revoked on {consent.revoked_on}.")
    if consent.expired_by(on):
        ended = consent.expired_on or consent.expires_on
        return Coverage(False, "consent", f"The consent expired ({ended}).")
    entry = _recipient_entry(consent, recipient)
    if entry is None:
        return Coverage(False, "consent_recipient", "Choose one of the recipients this consent names.")
    if entry.revoked_by(on):
        return Coverage(
            False, "consent_recipient", f"The consent was revoked for {entry.name} on {entry.revoked_on}."
        )
    if purpose not in consent.purposes:
        return Coverage(
            False,
            "purpose",
            f"The consent does not cover this purpose ({purpose}); it covers: {', '.join(consent.purposes)}.",
        )
    wanted = set(categories)
    if not wanted:
        return Coverage(False, "information", "Choose the information to release.")
    if Category.COUNSELING_NOTES in wanted:
        if consent.kind != Consent.Kind.COUNSELING_NOTES:
            return Coverage(
                False,
                "information",
                "SUD counseling notes are released only under a counseling-notes consent.",
            )
        if wanted != {Category.COUNSELING_NOTES}:
            return Coverage(
                False, "information", "SUD counseling notes are released alone, with nothing else."
            )
        return Coverage(True)
    missing = expand_categories(wanted) - expand_categories(consent.information)
    if missing:
        return Coverage(False, "information", f"The consent does not cover: {', '.join(sorted(missing))}.")
    return Coverage(True)


# --- Disclosures ---------------------------------------------------------------------------------------------------


def disclosure_check(
    actor: User,
    *,
    patient: Patient,
    basis: str,
    consent: Consent | uuid.UUID | str | None = None,
    recipient: ConsentRecipient | uuid.UUID | str | None,
    purpose: str,
    categories: Sequence[str],
    on: dt.date,
    basis_reason: str = "",
    counseling_notes: Sequence[CounselingNote] = (),
) -> None:
    """Refuse a release that may not be made; return None when it may.

    - The policy first (`clinic.policy.release_refusal`): the actor's role releases records for this patient, and
      not under break-glass -> else `PermissionDenied` (the API's 403). The caller has already looked the patient
      up in the actor's scope, so that a patient outside it answers 404.
    - `basis` (a `Disclosure.Basis` code), `purpose` (a `Purpose` code) and `categories` (category codes) known,
      else `ValidationFailed` naming `basis`, `purpose` or `information`.
    - basis `consent`: `consent` (a `Consent` of this patient, or its id) must cover the release on day `on`
      (`consent_covers`; its failing element is the field named: `consent`, `consent_recipient`, `purpose`,
      `information`); `recipient` is the consent's recipient entry used (or its id).
    - any other basis: `basis_reason` is required (for a medical emergency, its nature: 42 CFR 2.51(c)); no
      consent is named.
    - SUD counseling notes: only under a `counseling_notes` consent, alone, each note given in `counseling_notes`
      and written by the actor (someone else's note is "not found": `PermissionDenied` is never about notes).
    """
    refusal = release_refusal(actor, patient)
    if refusal:
        raise PermissionDenied(refusal)
    if basis not in Disclosure.Basis.values:
        raise ValidationFailed(f"Choose the basis: {', '.join(Disclosure.Basis.values)}.", field="basis")
    if purpose not in Purpose.values:
        raise ValidationFailed(f"Choose one purpose: {', '.join(Purpose.values)}.", field="purpose")
    wanted = _codes(categories, allowed=Category.values, field="information", what="information")
    if Category.COUNSELING_NOTES in wanted:
        if wanted != [Category.COUNSELING_NOTES]:
            raise ValidationFailed(
                "SUD counseling notes are released alone, with nothing else.", field="information"
            )
        if basis != Disclosure.Basis.CONSENT:
            raise ValidationFailed(
                "SUD counseling notes are released only under a counseling-notes consent.",
                field="information",
            )
    elif counseling_notes:
        raise ValidationFailed(
            "Counseling notes go only with the counseling_notes category.", field="counseling_notes"
        )
    if basis == Disclosure.Basis.CONSENT:
        if consent is None or consent == "":
            raise ValidationFailed("Name the consent this release relies on.", field="consent")
        found = _consent_of(patient, consent)
        coverage = consent_covers(found, recipient=recipient, purpose=purpose, categories=wanted, on=on)
        if not coverage:
            raise ValidationFailed(coverage.reason, field=coverage.field)
    else:
        if consent not in (None, ""):
            raise ValidationFailed("A consent is named only when the basis is consent.", field="consent")
        if not (basis_reason or "").strip():
            what = (
                "the nature of the emergency" if basis == Disclosure.Basis.MEDICAL_EMERGENCY else "the reason"
            )
            raise ValidationFailed(f"Give {what} for a release without consent.", field="basis_reason")

    if Category.COUNSELING_NOTES in wanted:
        notes = list(counseling_notes)
        if not notes:
            raise ValidationFailed("Choose the counseling notes to release.", field="counseling_notes")
        readable = set(
            CounselingNote.objects.filter(
                counseling_note_readers_q(actor), case__patient=patient
            ).values_list("pk", flat=True)
        )
        if any(note.pk not in readable for note in notes):
            raise ValidationFailed(
                "No such counseling note of yours for this patient.", field="counseling_notes"
            )


def _consent_of(patient: Patient, consent: Consent | uuid.UUID | str) -> Consent:
    if isinstance(consent, Consent):
        if consent.patient_id != patient.pk:
            raise ValidationFailed("This consent is not the patient's.", field="consent")
        return consent
    try:
        return Consent.objects.prefetch_related("recipients").get(pk=consent, patient=patient)
    except (
        Consent.DoesNotExist,
        ValueError,
        TypeError,
        DjangoValidationError,
    ) as exc:  # absent, or not an id
        raise ValidationFailed("No such consent for this patient.", field="consent") from exc


def _check_notice(basis: str, notice: str) -> str:
    notice = (notice or "").strip()
    if (
        basis == Disclosure.Basis.CONSENT
        and PART2_NOTICE.lower() not in notice.lower()
        and (PART2_NOTICE_LONG[:120].lower() not in notice.lower())
    ):
        raise ValidationFailed(
            f'A release on consent carries the 42 CFR 2.32 notice: "{PART2_NOTICE}"', field="notice"
        )
    if len(notice) > 5000:
        raise ValidationFailed("At most 5000 characters.", field="notice")
    return notice


def disclosure_record(
    actor: User,
    *,
    patient: Patient,
    basis: str,
    consent: Consent | uuid.UUID | str | None,
    recipient: ConsentRecipient | uuid.UUID | str | None,
    purpose: str,
    categories: Sequence[str],
    channel: str,
    notice: str,
    document_sha256: str = "",
    recipient_name: str = "",
    recipient_address: str = "",
    recipient_affiliation: str = "",
    basis_reason: str = "",
    purpose_text: str = "",
    format: str = Disclosure.Format.OTHER,
    disclosed_at: dt.datetime | None = None,
    counseling_notes: Sequence[CounselingNote] = (),
) -> Disclosure:
    """Check (`disclosure_check`) and write one ledger row with its audit event (action `release`), inside the
    caller's transaction when there is one (a record release builds and hashes its document, calls this, then
    sends: if anything after fails, the row and event roll back with it).

    - `recipient`: for basis `consent`, the consent's recipient entry used (or its id); `recipient_name` defaults
      to that entry's name, and must be given when the entry is a class ("my treating providers": which one?).
      For other bases, `recipient_name` is required and `recipient_affiliation` too for a medical emergency
      (42 CFR 2.51(c)(1)).
    - `notice`: the notice that went with the records; on consent it must carry the 2.32 statement
      (`cases.models.part2.PART2_NOTICE`).
    - `channel`: a `Disclosure.Channel` code; `format`: `fhir`, `printable` or `other`; `document_sha256`: the
      exact document's SHA-256 (lower-case hex) for a generated release.
    - `disclosed_at`: when it went (default now; not in the future). The release day checked against the consent
      is its local date.
    Locks the patient, then the consent, so a revocation recorded at the same moment is either before this release
    (which is then refused) or after it."""
    now = timezone.now()
    disclosed_at = disclosed_at or now
    if timezone.is_naive(disclosed_at):
        raise ValidationFailed("Give the time with a time zone offset.", field="disclosed_at")
    if disclosed_at > now + dt.timedelta(minutes=1):
        raise ValidationFailed("A disclosure cannot be dated in the future.", field="disclosed_at")
    if disclosed_at < EARLIEST:
        raise ValidationFailed("This date is too far in the past.", field="disclosed_at")
    if channel not in Disclosure.Channel.values:
        raise ValidationFailed(
            f"Choose the channel: {', '.join(Disclosure.Channel.values)}.", field="channel"
        )
    if format not in Disclosure.Format.values:
        raise ValidationFailed(f"Choose the format: {', '.join(Disclosure.Format.values)}.", field="format")
    document_sha256 = (document_sha256 or "").strip().lower()
    if document_sha256 and (len(document_sha256) != 64 or set(document_sha256) - set("0123456789abcdef")):
        raise ValidationFailed(
            "Give the document's SHA-256 as 64 hexadecimal digits.", field="document_sha256"
        )
    notice = _check_notice(basis, notice)
    fields = {
        "recipient_name": recipient_name,
        "recipient_address": recipient_address,
        "recipient_affiliation": recipient_affiliation,
        "basis_reason": basis_reason,
        "purpose_text": purpose_text,
    }
    limits = {
        "recipient_name": 200,
        "recipient_address": 300,
        "recipient_affiliation": 200,
        "basis_reason": 5000,
        "purpose_text": 500,
    }
    clean = {name: _text(fields, name, required=False, limit=limits[name]) for name in fields}
    if purpose == Purpose.OTHER and not clean["purpose_text"]:
        raise ValidationFailed("Say what the other purpose is.", field="purpose_text")
    on = timezone.localdate(disclosed_at)
    with transaction.atomic():
        locked_patient = Patient.objects.select_for_update(no_key=True).get(pk=patient.pk)
        consent_row: Consent | None = None
        if basis == Disclosure.Basis.CONSENT and consent is not None and consent != "":
            consent_id = consent.pk if isinstance(consent, Consent) else consent
            try:
                consent_row = (
                    Consent.objects.select_for_update(no_key=True)
                    .filter(pk=consent_id, patient=locked_patient)
                    .first()
                )
            except (ValueError, TypeError, DjangoValidationError) as exc:  # not an id
                raise ValidationFailed("No such consent for this patient.", field="consent") from exc
            if consent_row is None:
                raise ValidationFailed("No such consent for this patient.", field="consent")
        disclosure_check(
            actor,
            patient=locked_patient,
            basis=basis,
            consent=consent_row if consent_row is not None else consent,
            recipient=recipient,
            purpose=purpose,
            categories=categories,
            on=on,
            basis_reason=clean["basis_reason"],
            counseling_notes=counseling_notes,
        )
        entry = _recipient_entry(consent_row, recipient) if consent_row is not None else None
        name = clean["recipient_name"]
        if entry is not None and not name:
            if entry.is_class:
                raise ValidationFailed(
                    f"The consent names a class ({entry.name}); say which recipient received the records.",
                    field="recipient_name",
                )
            name = entry.name
        if not name:
            raise ValidationFailed("Name the recipient.", field="recipient_name")
        if basis == Disclosure.Basis.MEDICAL_EMERGENCY and not clean["recipient_affiliation"]:
            raise ValidationFailed(
                "Give the medical personnel's affiliation (42 CFR 2.51(c)).", field="recipient_affiliation"
            )
        disclosure = Disclosure(
            patient=locked_patient,
            disclosed_at=disclosed_at,
            recipient_name=name,
            recipient_address=clean["recipient_address"],
            recipient_affiliation=clean["recipient_affiliation"] or (entry.intermediary if entry else ""),
            information=sorted(expand_categories(categories)),
            purpose=purpose,
            purpose_text=clean["purpose_text"],
            basis=basis,
            basis_reason=clean["basis_reason"],
            consent=consent_row,
            consent_recipient=entry,
            released_by=actor,
            format=format,
            channel=channel,
            notice=notice,
            document_sha256=document_sha256,
        )
        disclosure.save(force_insert=True)
        if counseling_notes:
            disclosure.counseling_notes.set(counseling_notes)
        audit_record(
            user=actor,
            action=AuditAction.RELEASE,
            object_type="disclosure",
            object_id=disclosure.pk,
            patient_id=locked_patient.pk,
            data_category="disclosure",
            detail={
                "basis": basis,
                "consent": str(consent_row.pk) if consent_row else None,
                "recipient": name,
                "purpose": purpose,
                "information": disclosure.information,
                "format": format,
                "channel": channel,
                "document_sha256": document_sha256,
                "needs_privacy_review": disclosure.needs_privacy_review,
            },
        )
    return disclosure


# --- SUD counseling notes ------------------------------------------------------------------------------------------


def counseling_note_write(
    *, actor: User, case: Case, text: str, visit: Visit | None = None, written_at: dt.datetime | None = None
) -> CounselingNote:
    """Write an SUD counseling note (42 CFR 2.11) on `case`, optionally for one of its visits. The caller has
    checked the policy (`Capability.WRITE_COUNSELING_NOTES` on the patient). Medication, session times, test
    results and summaries of diagnosis, plan and progress belong in the SOAP note, not here."""
    text = _text({"text": text}, "text", required=True, limit=20000, label="The note")
    now = timezone.now()
    written_at = written_at or now
    if timezone.is_naive(written_at):
        raise ValidationFailed("Give the time with a time zone offset.", field="written_at")
    if written_at > now + dt.timedelta(minutes=1):
        raise ValidationFailed("A note cannot be dated in the future.", field="written_at")
    if written_at < EARLIEST:
        raise ValidationFailed("This date is too far in the past.", field="written_at")
    if timezone.localdate(written_at) < case.opened_on:
        raise ValidationFailed(f"This is before the case opened ({case.opened_on}).", field="written_at")
    if visit is not None and visit.case_id != case.pk:
        raise ValidationFailed("This visit is not on this case.", field="visit")
    with transaction.atomic():
        Patient.objects.select_for_update(no_key=True).filter(pk=case.patient_id).first()
        note = CounselingNote.objects.create(
            case=case, visit=visit, author=actor, written_at=written_at, text=text
        )
        audit_record(
            user=actor,
            action=AuditAction.CREATE,
            object_type="counseling_note",
            object_id=note.pk,
            patient_id=case.patient_id,
            data_category="counseling_note",
        )
    return note


# --- Accounting of disclosures ----------------------------------------------------------------------------------------


def accounting_window_start(as_of: dt.date) -> dt.date:
    """The first day an accounting as of `as_of` covers: the same date six years earlier (29 February -> 28th)."""
    try:
        return as_of.replace(year=as_of.year - ACCOUNTING_YEARS)
    except ValueError:
        return as_of.replace(year=as_of.year - ACCOUNTING_YEARS, day=28)


def accounting_request_record(
    *, actor: User, patient: Patient, requested_on: dt.date | None, requested_by_name: str = ""
) -> AccountingRequest:
    """Record a patient's request for an accounting of disclosures, received on `requested_on`; it is due 60 days
    later (HIPAA 164.528(c)(1))."""
    requested_on = _required_day({"requested_on": requested_on}, "requested_on")
    _not_future(requested_on, "requested_on")
    by = _text({"requested_by_name": requested_by_name}, "requested_by_name", required=False, limit=200)
    with transaction.atomic():
        Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk).first()
        request = AccountingRequest.objects.create(
            patient=patient,
            requested_on=requested_on,
            requested_by_name=by or f"{patient.first_name} {patient.last_name} (patient)",
            due_on=requested_on + dt.timedelta(days=ACCOUNTING_DUE_DAYS),
            recorded_by=actor,
        )
        audit_record(
            user=actor,
            action=AuditAction.CREATE,
            object_type="accounting_request",
            object_id=request.pk,
            patient_id=patient.pk,
            data_category="disclosure",
            detail={"requested_on": requested_on.isoformat(), "due_on": request.due_on.isoformat()},
        )
    return request


def accounting_request_extend(*, actor: User, request: AccountingRequest, reason: str) -> AccountingRequest:
    """Extend the due date once by 30 days, with the reason the patient is told. 164.528(c)(2) allows it only
    within the first 60 days, so an extension after the original due date is refused."""
    reason = _text({"reason": reason}, "reason", required=True, limit=2000, label="The reason for the delay")
    with transaction.atomic():
        Patient.objects.select_for_update(no_key=True).filter(pk=request.patient_id).first()
        current = AccountingRequest.objects.select_for_update(no_key=True).get(pk=request.pk)
        if current.fulfilled_on is not None:
            raise ValidationFailed("This request has been fulfilled.", field="reason")
        if current.extended_due_on is not None:
            raise ValidationFailed("A request is extended only once (HIPAA 164.528(c)(2)).", field="reason")
        if timezone.localdate() > current.due_on:
            raise ValidationFailed(
                "The extension must be given before the original due date (HIPAA 164.528(c)(2)).",
                field="reason",
            )
        current.extended_due_on = current.due_on + dt.timedelta(days=ACCOUNTING_EXTENSION_DAYS)
        current.extension_reason = reason
        current.extended_at = timezone.now()
        current.extended_by = actor
        current.save(update_fields=["extended_due_on", "extension_reason", "extended_at", "extended_by"])
        audit_record(
            user=actor,
            action=AuditAction.UPDATE,
            object_type="accounting_request",
            object_id=current.pk,
            patient_id=current.patient_id,
            data_category="disclosure",
            detail={"extended_due_on": current.extended_due_on.isoformat(), "reason": reason},
        )
    return current


def accounting_request_fulfil(
    *, actor: User, request: AccountingRequest, fulfilled_on: dt.date | None = None
) -> AccountingRequest:
    """Record that the accounting was given to the patient (default today)."""
    fulfilled_on = _required_day({"fulfilled_on": fulfilled_on or timezone.localdate()}, "fulfilled_on")
    _not_future(fulfilled_on, "fulfilled_on")
    with transaction.atomic():
        Patient.objects.select_for_update(no_key=True).filter(pk=request.patient_id).first()
        current = AccountingRequest.objects.select_for_update(no_key=True).get(pk=request.pk)
        if current.fulfilled_on is not None:
            raise ValidationFailed(f"Already fulfilled on {current.fulfilled_on}.", field="fulfilled_on")
        if fulfilled_on < current.requested_on:
            raise ValidationFailed("This is before the request was received.", field="fulfilled_on")
        current.fulfilled_on = fulfilled_on
        current.fulfilled_by = actor
        current.save(update_fields=["fulfilled_on", "fulfilled_by"])
        audit_record(
            user=actor,
            action=AuditAction.UPDATE,
            object_type="accounting_request",
            object_id=current.pk,
            patient_id=current.patient_id,
            data_category="disclosure",
            detail={
                "fulfilled_on": fulfilled_on.isoformat(),
                "late": fulfilled_on > current.effective_due_on,
            },
        )
    return current
