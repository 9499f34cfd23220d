"""Writes of clinical events (SPEC 3.6): record one (a seizure or an overdose raises its urgent alert in the same
transaction) and mark one entered in error (its alert evidence is struck). An event is never edited: a wrong one is
marked and the right one recorded."""

from collections.abc import Mapping
from typing import Any

from cases.errors import ValidationFailed
from cases.models import Case, ClinicalEvent

# The clinical record's shared checks (an open case, a day neither future nor before the case, known fields).
from cases.services.clinical import _check_day, _check_open, _mark_entered_in_error, _only, _save_checked
from clinic.models import User

CLINICAL_EVENT_FIELDS = ("kind", "occurred_on", "description", "related_to_kratom", "naloxone_given")


def _check_event(event: ClinicalEvent) -> None:
    if event.kind not in ClinicalEvent.Kind.values:
        raise ValidationFailed(
            "Not a clinical event kind; use " + ", ".join(ClinicalEvent.Kind.values) + ".", field="kind"
        )
    if event.naloxone_given is not None and event.kind != ClinicalEvent.Kind.OVERDOSE:
        raise ValidationFailed("Naloxone given is recorded for an overdose only.", field="naloxone_given")
    if not event.description:
        raise ValidationFailed("Describe what happened.", field="description")


def clinical_event_record(*, case: Case, actor: User, data: Mapping[str, Any]) -> ClinicalEvent:
    """Record the event on the (open) case; a seizure or an overdose raises its urgent alert, with this event as
    evidence, in the same transaction."""
    _check_open(case)
    fields = _only(data, CLINICAL_EVENT_FIELDS)
    if fields.get("occurred_on") is None:
        raise ValidationFailed("The date it happened is required.", field="occurred_on")
    _check_day(case, fields["occurred_on"], "occurred_on")
    event = ClinicalEvent(case=case, created_by=actor, **fields)
    _check_event(event)
    return _save_checked(event, actor=actor)


def clinical_event_mark_entered_in_error(*, event: ClinicalEvent, actor: User, reason: str) -> ClinicalEvent:
    """The event stays on record, marked with who, when and why; its alert evidence is struck (an alert left with
    nothing valid resolves itself, audited)."""
    return _mark_entered_in_error(
        ClinicalEvent.objects.select_related("case"), event.pk, actor=actor, reason=reason, noun="event"
    )
