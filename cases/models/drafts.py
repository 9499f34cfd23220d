"""Drafts: what a user typed into a long form and has not saved yet, kept server-side for them alone.

A draft is not part of the record: it is never signed, never shown to anyone but its author, replaced as the
author keeps typing (one row per author, form and object), deleted when the form is submitted or cancelled, and
expires after `Draft.LIFETIME` of silence. Every save, restore and discard is audited (`draft`), without its text.
"""

import datetime as dt
import uuid

from django.db import models
from django.db.models import Q


class DraftForm(models.TextChoices):
    """The forms that keep drafts; `object_id` is the record the form writes on."""

    VISIT_NOTE = "visit_note", "Visit note"  # object: the visit
    ADDENDUM = "addendum", "Addendum"  # object: the signed visit


class Draft(models.Model):
    Form = DraftForm
    LIFETIME = dt.timedelta(days=7)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    author = models.ForeignKey("clinic.User", on_delete=models.CASCADE, related_name="drafts")
    form = models.CharField(max_length=24, choices=Form.choices)
    object_id = models.UUIDField()
    patient = models.ForeignKey("cases.Patient", on_delete=models.CASCADE, related_name="+")
    # The form's fields as posted: {name: [value, ...]} (a QueryDict's lists), only the form's own field names.
    data = models.JSONField(default=dict)
    saved_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["author", "form", "object_id"], name="draft_one_per_author_form"),
            models.CheckConstraint(condition=Q(form__in=DraftForm.values), name="draft_form_valid"),
        ]
        indexes = [models.Index(fields=["expires_at"], name="draft_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.get_form_display()} draft of {self.author_id} on {self.object_id}"
