"""Writes on drafts (cases.models.drafts): save as the author types, restore when the form reopens, discard on
submit or cancel, purge when expired. Each is audited as `draft` with what happened (`op`) and the fields that
held text, never the text itself.

Who may keep a draft on which record is the caller's question (the page asks the policy before it calls); these
functions only ever touch the author's own rows.
"""

import uuid
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cases.errors import ValidationFailed
from cases.models import Draft
from clinic.audit import audit_record
from clinic.models import AuditAction, AuditDataCategory, User

# More than any note a clinician types (four SOAP boxes of a few pages each); a bigger body is not a draft.
MAX_DRAFT_CHARS = 100_000

CATEGORIES: dict[str, str] = {
    Draft.Form.VISIT_NOTE: AuditDataCategory.CLINICAL_NOTE,
    Draft.Form.ADDENDUM: AuditDataCategory.CLINICAL_NOTE,
}


def _audit(
    *, author: User, form: str, object_id: uuid.UUID, patient_id: uuid.UUID, op: str, **detail: object
) -> None:
    audit_record(
        user=author,
        action=AuditAction.DRAFT,
        object_type="draft",
        object_id=object_id,
        patient_id=patient_id,
        data_category=CATEGORIES.get(form, ""),
        detail={"form": form, "op": op, **detail},
    )


def _clean(data: Mapping[str, Iterable[str]], fields: Iterable[str]) -> dict[str, list[str]]:
    """Only the form's own fields, as lists of strings; refused when too long or holding a NUL byte."""
    kept = {name: [str(value) for value in data[name]] for name in fields if name in data}
    if sum(len(value) for values in kept.values() for value in values) > MAX_DRAFT_CHARS:
        raise ValidationFailed(f"A draft holds at most {MAX_DRAFT_CHARS:,} characters.", field="draft")
    for name, values in kept.items():
        if any("\x00" in value for value in values):
            raise ValidationFailed("The text holds a NUL character.", field=name)
    return kept


def _filled(data: Mapping[str, list[str]]) -> list[str]:
    return sorted(name for name, values in data.items() if any(value.strip() for value in values))


def draft_save(
    *,
    author: User,
    form: str,
    object_id: uuid.UUID,
    patient_id: uuid.UUID,
    data: Mapping[str, Iterable[str]],
    fields: Iterable[str],
) -> Draft:
    """Keep (or replace) the author's draft of `form` on `object_id`, for `Draft.LIFETIME` from now. One row per
    author, form and object: an insert that meets the row another request of the same author just wrote updates
    it (the database's upsert), so two saves in flight never fail."""
    if form not in Draft.Form.values:
        raise ValidationFailed("No such form keeps drafts.", field="form")
    kept = _clean(data, fields)
    now = timezone.now()
    with transaction.atomic():
        _purge(Draft.objects.filter(author=author, expires_at__lte=now))  # the author's stale drafts go first
        (draft,) = Draft.objects.bulk_create(
            [
                Draft(
                    author=author,
                    form=form,
                    object_id=object_id,
                    patient_id=patient_id,
                    data=kept,
                    saved_at=now,
                    expires_at=now + Draft.LIFETIME,
                )
            ],
            update_conflicts=True,
            unique_fields=["author", "form", "object_id"],
            update_fields=["data", "saved_at", "expires_at", "patient"],
        )
        _audit(
            author=author,
            form=form,
            object_id=object_id,
            patient_id=patient_id,
            op="saved",
            fields=_filled(kept),
        )
    return draft


def draft_restore(*, author: User, form: str, object_id: uuid.UUID) -> Draft | None:
    """The author's unexpired draft of `form` on `object_id`, if any; reading it back is audited (`restored`)."""
    draft = Draft.objects.filter(
        author=author, form=form, object_id=object_id, expires_at__gt=timezone.now()
    ).first()
    if draft is not None:
        _audit(
            author=author,
            form=form,
            object_id=object_id,
            patient_id=draft.patient_id,
            op="restored",
            saved_at=draft.saved_at.isoformat(),
        )
    return draft


def drafts_restore_for_patient(*, author: User, form: str, patient_id: uuid.UUID) -> dict[uuid.UUID, Draft]:
    """The author's unexpired drafts of `form` on one patient's records, by record: one query, and one `restored`
    event per draft (a page showing several forms, such as the chart's addenda)."""
    drafts = Draft.objects.filter(
        author=author, form=form, patient_id=patient_id, expires_at__gt=timezone.now()
    )
    found = {draft.object_id: draft for draft in drafts}
    for object_id, draft in found.items():
        _audit(
            author=author,
            form=form,
            object_id=object_id,
            patient_id=patient_id,
            op="restored",
            saved_at=draft.saved_at.isoformat(),
        )
    return found


def draft_discard(*, author: User, form: str, object_id: uuid.UUID, reason: str = "discarded") -> bool:
    """Delete the author's draft of `form` on `object_id` (`reason`: `discarded` by the user, or `submitted`
    with the form). True when there was one."""
    drafts = Draft.objects.filter(author=author, form=form, object_id=object_id)
    if not drafts.exists():  # the usual case on a submitted form: one query, no transaction
        return False
    with transaction.atomic():
        draft = drafts.select_for_update().first()
        if draft is None:
            return False
        draft.delete()
        _audit(author=author, form=form, object_id=object_id, patient_id=draft.patient_id, op=reason)
    return True


def _purge(expired: QuerySet[Draft]) -> int:
    purged = 0
    for draft in expired.select_for_update().only("pk", "author", "form", "object_id", "patient"):
        draft.delete()
        audit_record(
            user=None,
            action=AuditAction.DRAFT,
            object_type="draft",
            object_id=draft.object_id,
            patient_id=draft.patient_id,
            data_category=CATEGORIES.get(draft.form, ""),
            detail={"form": draft.form, "op": "expired", "author": str(draft.author_id)},
        )
        purged += 1
    return purged


def drafts_purge_expired() -> int:
    """Delete every expired draft (any author), each with its audit event (`expired`, by no user): for a daily
    `manage.py purge_drafts`. Reads never return an expired draft, purged or not."""
    with transaction.atomic():
        return _purge(Draft.objects.filter(expires_at__lte=timezone.now()))
