"""Model validation that raises the domain's own error type, and the database's refusal of a row translated into
one.

Which rule is checked where (issue 14): a value's type, choices and plausible range are the fields' own
validators (`cases.models.ranges`), checked here without a query; the same bounds are CHECK constraints in the
database, which stay the backstop and are not re-checked here one query at a time (Django's
`validate_constraints` runs each CHECK as a SAVEPOINT and a SELECT, and its error names no field). Unique
constraints are still validated here: a duplicate caught before the INSERT is a 400 naming the field, which the
database's refusal is not. A CHECK the database refuses anyway (a rule no validator states) becomes
`ValidationFailed` naming the constraint's fields (`integrity_refusal`), never a 500.
"""

from collections.abc import Iterator

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models
from django.db.models import CheckConstraint, Q, UniqueConstraint

from cases.errors import ValidationFailed
from clinic.models import User
from clinic.policy import is_clinical_staff

CHECK_VIOLATION = "23514"  # PostgreSQL's SQLSTATE check_violation
SQLITE_CHECK_FAILED = "CHECK constraint failed: "


def full_clean_or_raise(
    instance: models.Model, *, exclude: list[str] | None = None, validate_unique: bool = False
) -> None:
    """Run Django's field, choice and validator checks and the model's unique constraints; raise `ValidationFailed`
    naming each field. `validate_unique`: also the fields declared `unique=True` (and the primary key, one query
    each), for a model whose unique field is written from input."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=validate_unique, validate_constraints=False)
    except ValidationError as exc:
        raise ValidationFailed.from_django(exc) from exc
    _validate_unique_constraints(instance, exclude=exclude)


def _validate_unique_constraints(instance: models.Model, *, exclude: list[str] | None) -> None:
    """`Model.validate_constraints` for the unique constraints only (one query each, none for a model without)."""
    errors: dict[str, list[ValidationError]] = {}
    excluded = set(exclude or ())
    for model_class, constraints in instance.get_constraints():
        for constraint in constraints:
            if not isinstance(constraint, UniqueConstraint):
                continue
            try:
                constraint.validate(model_class, instance, exclude=excluded)  # type: ignore[attr-defined]
            except ValidationError as exc:
                fields = constraint.fields
                key = fields[0] if getattr(exc, "code", None) == "unique" and len(fields) == 1 else "__all__"
                errors.setdefault(key, []).append(exc)
    if errors:
        raise ValidationFailed.from_django(ValidationError(errors))


def check_clinical_staff(user: User, *, field: str) -> None:
    """Only active clinical staff (`clinic.policy.is_clinical_staff`) carry a case or see a patient at a visit."""
    if not is_clinical_staff(user):
        raise ValidationFailed(f"{user.username} is not an active clinician or supervisor.", field=field)


def _violated_check(exc: IntegrityError) -> str | None:
    """The name of the CHECK constraint the database refused the row for (None: another kind of refusal)."""
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == CHECK_VIOLATION:
        diag = getattr(cause, "diag", None)
        return getattr(diag, "constraint_name", None) or ""
    message = str(exc)
    if message.startswith(SQLITE_CHECK_FAILED):
        return message.removeprefix(SQLITE_CHECK_FAILED).strip()
    return None


def _q_fields(condition: object) -> Iterator[str]:
    for child in getattr(condition, "children", ()):
        if isinstance(child, Q):
            yield from _q_fields(child)
        elif isinstance(child, tuple):
            yield str(child[0]).split("__")[0]


def check_constraint_fields(name: str) -> list[str]:
    """The fields a CHECK constraint of the clinic's models reads, in their order ([] when none is named so)."""
    for model in apps.get_app_config("cases").get_models():
        for constraint in model._meta.constraints:
            if isinstance(constraint, CheckConstraint) and constraint.name == name:
                return list(dict.fromkeys(_q_fields(constraint.condition)))
    return []


def integrity_refusal(exc: IntegrityError) -> ValidationFailed | None:
    """The database's refusal of a row by a CHECK constraint, as a 400 naming the constraint's fields (the
    validators state every range, so this is the backstop, not the way a bad value is normally refused). None for
    any other integrity error (a unique or foreign key refusal is the caller's to answer)."""
    name = _violated_check(exc)
    if name is None:
        return None
    fields = check_constraint_fields(name)
    message = "This value breaks a rule of the record" + (f" ({name})." if name else ".")
    errors = {field: [message] for field in fields or ["non_field_errors"]}
    return ValidationFailed(message, errors=errors, code="constraint_violated")
