"""Model validation that raises the domain's own error type."""

from django.core.exceptions import ValidationError
from django.db import models

from cases.errors import ValidationFailed


def full_clean_or_raise(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    """Run Django's field, choice and constraint validation; raise `ValidationFailed` naming each field."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=True, validate_constraints=True)
    except ValidationError as exc:
        raise ValidationFailed.from_django(exc) from exc
