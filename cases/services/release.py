"""Record release (SPEC sections 12 and 13): check the basis, build the document, hash it, record the disclosure,
then hand the document back to be sent.

`release_create(...)` is the one entry point, used alike by the API (`POST patients/{id}/release/`) and the chart's
"Release records" page. The order is the regulation's: nothing is built for a release the Part 2 rules refuse
(`disclosure_check`), and nothing is sent that is not first in the ledger (`disclosure_record`, which checks again
under the patient's lock, so a revocation recorded meanwhile still stops it). The disclosure keeps the SHA-256 of
the exact bytes returned.
"""

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from cases.errors import ValidationFailed
from cases.models import Consent, ConsentRecipient, CounselingNote, Disclosure, Patient
from cases.models.part2 import PART2_NOTICE, Purpose
from cases.release.fhir_bundle import FHIR_CONTENT_TYPE, fhir_bundle_bytes
from cases.release.printable import PRINTABLE_CONTENT_TYPE, ReleaseFacts, printable_bytes
from cases.release.selection import COUNSELING_NOTES, release_selection
from cases.services.part2 import disclosure_check, disclosure_record, expand_categories
from clinic.models import User
from clinic.policy import counseling_note_readers_q

FORMATS = (Disclosure.Format.FHIR, Disclosure.Format.PRINTABLE)
_TEXT_LIMITS = {
    "basis_reason": 5000,
    "recipient_name": 200,
    "recipient_address": 300,
    "recipient_affiliation": 200,
    "purpose_text": 500,
}


@dataclass(frozen=True)
class Release:
    """A recorded release and the document to send (exactly the bytes whose SHA-256 the disclosure keeps)."""

    disclosure: Disclosure
    document: bytes
    content_type: str
    filename: str


def _texts(data: Mapping[str, Any]) -> dict[str, str]:
    texts = {}
    for name, limit in _TEXT_LIMITS.items():
        value = data.get(name) or ""
        if not isinstance(value, str):
            raise ValidationFailed("Give text.", field=name)
        if len(value.strip()) > limit:
            raise ValidationFailed(f"At most {limit} characters.", field=name)
        texts[name] = value.strip()
    return texts


def _counseling_notes(actor: User, patient: Patient, categories: Sequence[str], wanted: object) -> list[Any]:
    """The actor's own counseling notes to release: those named in `wanted` (ids), or all of theirs for the patient.
    Anyone else's note is "no such note" (`disclosure_check` says so too)."""
    if COUNSELING_NOTES not in categories:
        if wanted:
            raise ValidationFailed(
                "Counseling notes go only with the counseling_notes category.", field="counseling_notes"
            )
        return []
    notes = CounselingNote.objects.filter(
        counseling_note_readers_q(actor), case__patient=patient
    ).select_related("author")
    if wanted:
        if not isinstance(wanted, list | tuple) or len(wanted) > 1000:
            raise ValidationFailed("Give the counseling notes as a list of ids.", field="counseling_notes")
        try:
            ids = {uuid.UUID(str(value)) for value in wanted}
        except ValueError as exc:
            raise ValidationFailed(
                "Give the counseling notes as a list of ids.", field="counseling_notes"
            ) from exc
        found = list(notes.filter(pk__in=ids).order_by("written_at", "id"))
        if len(found) != len(ids):
            raise ValidationFailed(
                "No such counseling note of yours for this patient.", field="counseling_notes"
            )
        return found
    return list(notes.order_by("written_at", "id"))


def _recipient_name(consent: Consent | None, recipient: object, given: str) -> str:
    """The name the document is addressed to: as given, else the consent's recipient entry (checked already)."""
    if given or consent is None:
        return given
    wanted = str(getattr(recipient, "pk", recipient))
    entry: ConsentRecipient | None = next((r for r in consent.recipients.all() if str(r.pk) == wanted), None)
    return entry.name if entry is not None and not entry.is_class else ""


def release_create(
    actor: User,
    *,
    patient: Patient,
    data: Mapping[str, Any],
    stylesheet_url: str,
    now: dt.datetime | None = None,
) -> Release:
    """Release `patient`'s records as SPEC section 13 says. `data` holds the request's fields (SPEC section 10:
    `basis`, `basis_reason`, `consent`, `consent_recipient`, `recipient_name`, `recipient_address`,
    `recipient_affiliation`, `purpose`, `purpose_text`, `information`, `format`, and for counseling notes the
    optional `counseling_notes` ids). A refusal is `ValidationFailed` naming the field, or `PermissionDenied` (a
    role that does not release, or break-glass). The caller has found the patient in the actor's scope (else 404).

    `stylesheet_url` is the printable summary's stylesheet, by absolute address (the document leaves the clinic)."""
    fmt = data.get("format")
    if fmt not in FORMATS:
        raise ValidationFailed(f"Choose the format: {', '.join(FORMATS)}.", field="format")
    texts = _texts(data)
    basis = str(data.get("basis") or "")
    consent_id: Any = data.get("consent") or None
    recipient: Any = data.get("consent_recipient") or None
    purpose = str(data.get("purpose") or "")
    information: Any = data.get("information")
    categories = information if isinstance(information, list | tuple) else []
    notes = _counseling_notes(actor, patient, categories, data.get("counseling_notes"))
    now = now or timezone.now()
    # Refuse before building anything; `disclosure_record` checks again under the lock.
    disclosure_check(
        actor,
        patient=patient,
        basis=basis,
        consent=consent_id,
        recipient=recipient,
        purpose=purpose,
        categories=information,  # the check names `information` when it is no list of codes
        on=timezone.localdate(now),
        basis_reason=texts["basis_reason"],
        counseling_notes=notes,
    )
    consent = (
        Consent.objects.prefetch_related("recipients").get(pk=consent_id, patient=patient)
        if basis == Disclosure.Basis.CONSENT
        else None
    )
    released = sorted(expand_categories(categories))
    selection = release_selection(patient=patient, categories=released, counseling_notes=notes)
    if fmt == Disclosure.Format.FHIR:
        document = fhir_bundle_bytes(selection, consent=consent, generated_at=now)
        content_type, extension = FHIR_CONTENT_TYPE, "json"
    else:
        facts = ReleaseFacts(
            recipient_name=_recipient_name(consent, recipient, texts["recipient_name"]),
            recipient_affiliation=texts["recipient_affiliation"],
            recipient_address=texts["recipient_address"],
            purpose=texts["purpose_text"] or str(Purpose(purpose).label),
            basis=str(Disclosure.Basis(basis).label),
            basis_reason=texts["basis_reason"],
            released_by=actor.get_full_name() or actor.get_username(),
            released_at=timezone.localtime(now),
        )
        document = printable_bytes(selection, consent=consent, facts=facts, stylesheet_url=stylesheet_url)
        content_type, extension = PRINTABLE_CONTENT_TYPE, "html"
    disclosure = disclosure_record(
        actor,
        patient=patient,
        basis=basis,
        consent=consent,
        recipient=recipient,
        purpose=purpose,
        categories=categories,
        channel=Disclosure.Channel.DOWNLOAD,
        notice=PART2_NOTICE,
        document_sha256=hashlib.sha256(document).hexdigest(),
        format=fmt,
        disclosed_at=now,
        counseling_notes=notes,
        **texts,
    )
    filename = f"{patient.mrn}-release-{timezone.localtime(now):%Y%m%d-%H%M%S}.{extension}"
    return Release(disclosure=disclosure, document=document, content_type=content_type, filename=filename)
