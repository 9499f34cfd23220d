"""Typed domain errors. The API maps `ValidationFailed` to 400 and `Conflict` to 409."""

from collections.abc import Mapping

from django.core.exceptions import ValidationError


class DomainError(Exception):
    """A rule of the clinic refused the change. `errors` maps a field name (or `non_field_errors`) to messages;
    `code`, when set, names the rule (the API answers it as `code`, beside the field errors)."""

    code: str = ""

    def __init__(
        self,
        message: str,
        *,
        field: str = "non_field_errors",
        errors: Mapping[str, list[str]] | None = None,
        code: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.errors: dict[str, list[str]] = dict(errors) if errors else {field: [message]}
        if code:  # else the class's own (a `Conflict` subclass names its kind of conflict)
            self.code = code


class ValidationFailed(DomainError):
    """Bad input: the request can be corrected and sent again."""

    @classmethod
    def from_django(cls, exc: ValidationError) -> "ValidationFailed":
        if hasattr(exc, "error_dict"):
            errors = {
                field: [str(m) for m in ValidationError(msgs).messages]
                for field, msgs in exc.error_dict.items()
            }
            errors = {("non_field_errors" if k == "__all__" else k): v for k, v in errors.items()}
        else:
            errors = {"non_field_errors": [str(m) for m in exc.messages]}
        first = next(iter(errors.values()))[0]
        return cls(first, errors=errors)


class TransitionNotAllowed(ValidationFailed):
    """The stage workflow does not allow this move (or its requirement is not met)."""


class Conflict(DomainError):
    """The request clashes with the current state of the record. `code` tells clients the conflicts apart (SPEC
    section 8); `details` is what the answer carries besides the message (e.g. the alerts in the way)."""

    code = "conflict"

    @property
    def details(self) -> dict[str, object]:
        return {}


class ConcurrentChange(Conflict):
    """Someone else changed the record between reading and writing it."""

    code = "concurrent_change"


class OpenCaseExists(Conflict):
    """The patient already has an open case."""

    code = "open_case_exists"


class NoteLocked(Conflict):
    """The visit's note is signed and can no longer change."""

    code = "note_signed"


class OpenUrgentAlerts(Conflict):
    """A move to recovery or discharge while urgent alerts are unresolved, not confirmed (SPEC 3.3, 5): `alerts`
    names them (`id`, `kind`, `message`, `status`)."""

    code = "open_urgent_alerts"

    def __init__(self, message: str, *, alerts: list[dict[str, str]]):
        super().__init__(message, field="confirm_open_alerts")
        self.alerts = alerts

    @property
    def details(self) -> dict[str, object]:
        return {"alerts": self.alerts}


class AttendanceRefused(Conflict):
    """An attendance rule refused the change now (check-in off the visit's day, a no-show before its start, a
    correction after its day): the same request may be right at another time. `code` names the rule."""


class SchedulingConflict(Conflict):
    """The booking overlaps other visits of the patient or the clinician; `conflicts` lists them. Sent again with
    `confirm_conflicts`, it is booked."""

    def __init__(self, message: str, *, conflicts: list[dict[str, object]]):
        super().__init__(message, code="scheduling_conflict")
        self.conflicts = conflicts


class NotFound(DomainError):
    """Nothing matched what was asked for (or it lies outside what the user may reach: the answer is the same)."""
