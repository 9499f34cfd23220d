"""Map domain errors onto HTTP: `ValidationFailed` -> 400 with field errors, `Conflict` -> 409; a
database too busy to answer now (a lock wait or statement timed out, a serialization failure or deadlock) -> 503
`busy` with Retry-After, instead of a 500; a row the database refuses by a CHECK constraint (a backstop: the
validators state the same rules) -> 400 `constraint_violated` naming the field."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from cases.errors import Conflict, DomainError, NotFound, SchedulingConflict, ValidationFailed
from cases.services.validation import integrity_refusal

# PostgreSQL SQLSTATEs that mean "try again in a moment": lock_not_available (lock_timeout), query_canceled
# (statement_timeout), serialization_failure, deadlock_detected. https://www.postgresql.org/docs/15/errcodes-appendix.html
# Any other database error that reaches Django is answered by clinic.errors (503 `database_unavailable` or 500).
BUSY_SQLSTATES = frozenset({"55P03", "57014", "40001", "40P01"})


def database_busy(exc: BaseException) -> bool:
    """The database refused for contention or time, not for the request's content."""
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else None
    return getattr(cause, "sqlstate", None) in BUSY_SQLSTATES


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DatabaseError) and database_busy(exc):
        set_rollback()
        return Response(
            {"detail": "The system is busy; try again in a moment.", "code": "busy"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(settings.RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, IntegrityError) and (refusal := integrity_refusal(exc)) is not None:
        set_rollback()
        exc = refusal
    if isinstance(exc, NotFound):
        return Response({"detail": exc.message}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, SchedulingConflict):
        body = {"detail": exc.message, "code": exc.code, "conflicts": exc.conflicts}
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, Conflict):
        coded = {"code": exc.code} if exc.code else {}
        answer: dict[str, object] = {"detail": exc.message, **coded, **exc.errors, **exc.details}
        return Response(answer, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ValidationFailed | DomainError):
        coded = {"code": exc.code} if exc.code else {}
        return Response({**exc.errors, **coded}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        return Response(ValidationFailed.from_django(exc).errors, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
