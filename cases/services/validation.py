"""Model validation that raises the domain's own error type."""

from django.core.exceptions import ValidationError
from django.db import models

from cases.errors import ValidationFailed
from clinic.models import User
from clinic.policy import is_clinical_staff


def full_clean_or_raise(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    """Run Django's field, choice and constraint validation; raise `ValidationFailed` naming each field."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=True, validate_constraints=True)
    except ValidationError as exc:
        raise ValidationFailed.from_django(exc) from exc


def check_clinical_staff(user: User, *, field: str) -> None:
    """Only active clinical staff (`clinic.policy.is_clinical_staff`) carry a case or see a patient at a visit."""
    if not is_clinical_staff(user):
        raise ValidationFailed(f"{user.username} is not an active clinician or supervisor.", field=field)
