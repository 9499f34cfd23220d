"""Map domain errors onto HTTP: `ValidationFailed` -> 400 with field errors, `Conflict` -> 409; a database error
classified by clinic.errors.database_failure (the pages' handler500 asks the same function) -> its 503, `busy` for
a lock wait or statement that timed out, a serialization failure or deadlock, `database_unavailable` for a
database that cannot answer, with Retry-After, instead of a 500; a row the database refuses by a CHECK constraint
(a backstop: the validators state the same rules) -> 400 `constraint_violated` naming the field."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http.response import HttpResponseBase
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from cases.errors import Conflict, DomainError, NotFound, SchedulingConflict, ValidationFailed
from cases.services.validation import integrity_refusal
from clinic.errors import database_failure, database_failure_response


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponseBase | None:
    if (failure := database_failure(exc)) is not None:
        set_rollback()
        request = context["request"]
        return database_failure_response(getattr(request, "_request", request), exc, failure)
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
