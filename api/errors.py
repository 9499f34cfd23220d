"""Map domain errors onto HTTP: `ValidationFailed` -> 400 with field errors, `Conflict` -> 409; JSON 404s."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cases.errors import Conflict, DomainError, ValidationFailed


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Conflict):
        return Response({"detail": exc.message, **exc.errors}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ValidationFailed | DomainError):
        return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        return Response(ValidationFailed.from_django(exc).errors, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's `handler404`: a URL under /api/ that matches no route (an id that is not a UUID, say)
    answers JSON like every other API error; elsewhere, the site's own page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    if getattr(request, "htmx", False):
        return HttpResponse("Not found, or not in your caseload.", status=404, content_type="text/plain")
    return defaults.page_not_found(request, exception)
