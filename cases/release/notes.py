"""The plain text of a visit's note and of a counseling note, as both release formats carry it."""

from typing import Any

from django.utils import timezone

from cases.models import Visit

_SYMPTOMS = dict(Visit.WithdrawalSymptom.choices)


def _who(user: Any) -> str:
    """The signer or author with their credentials ("Chidi Okafor, MD")."""
    return user.signature if user is not None else "unknown"


def _when(value: Any) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M %Z}"


def visit_note_lines(visit: Visit) -> list[tuple[str, str]]:
    """(label, text) pairs of the note: SOAP, reported use, craving, withdrawal; empty parts left out."""
    lines = [
        (label, text)
        for label, text in (
            ("Subjective", visit.subjective),
            ("Objective", visit.objective),
            ("Assessment", visit.assessment),
            ("Plan", visit.plan),
        )
        if text
    ]
    if visit.kratom_days_used_30 is not None or visit.kratom_daily_grams is not None:
        parts = []
        if visit.kratom_days_used_30 is not None:
            parts.append(f"{visit.kratom_days_used_30} of the last 30 days")
        if visit.kratom_daily_grams is not None:
            parts.append(f"{visit.kratom_daily_grams} g a day")
        lines.append(("Kratom use", "; ".join(parts)))
    if visit.craving is not None:
        lines.append(("Craving", f"{visit.craving} of 10"))
    if visit.withdrawal_symptoms:
        lines.append(
            ("Withdrawal symptoms", ", ".join(_SYMPTOMS.get(s, str(s)) for s in visit.withdrawal_symptoms))
        )
    return lines


def visit_note_text(visit: Visit) -> str:
    """The note as text, with its signature and addenda; empty when the visit has no note at all."""
    lines = visit_note_lines(visit)
    addenda = list(visit.addenda.all())
    if not lines and not addenda:
        return ""
    text = [f"{label}: {value}" for label, value in lines]
    if visit.signed_at is not None:
        text.append(f"Signed by {_who(visit.signed_by)} at {_when(visit.signed_at)}")
    else:
        text.append("Not signed")
    for addendum in addenda:
        text.append(f"Addendum by {_who(addendum.author)} at {_when(addendum.created_at)}: {addendum.text}")
    return "\n".join(text)


def counseling_note_text(note: Any) -> str:
    return f"{note.text}\n\nWritten by {_who(note.author)} at {_when(note.written_at)}"
