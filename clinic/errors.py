"""What the app answers when it fails: JSON under /api/, a plain page elsewhere, each with the request id.

- `server_error` (the project's `handler500`): an unexpected error is a 500; the database being unreachable, or a
  lock or statement timeout, is a 503 with `Retry-After` (the request may simply be tried again: nothing was
  written, as every write is one transaction). Django calls it for an exception from a view or from any
  middleware, so a database that is down when the session is read still answers 503.
- `page_not_found` (`handler404`): a URL under /api/ that matches no route answers JSON like the API's other
  errors; elsewhere the site's page.
- `bad_request` (`handler400`): a request Django refuses before any view (a malformed body, a host it does not
  serve) answers the same way.
- `error_response(...)` builds any of these; other modules (the request-body limit's 413, say) use it so that
  every error looks alike.

The pages are rendered without the request's context processors or the site's base template: both read the
session and the user, which need the database that may be the very thing that failed.
"""

import logging
import sys
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.cache import add_never_cache_headers
from django.views import defaults

logger = logging.getLogger("clinic.errors")

TITLES = {
    400: "Bad request",
    413: "Request too large",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def is_database_unavailable(exc: BaseException | None) -> bool:
    """The database cannot answer now (down, restarting, out of connections, a lock or statement timeout), as
    opposed to a bug: Django wraps all of these as OperationalError or InterfaceError, on PostgreSQL and SQLite."""
    return isinstance(exc, OperationalError | InterfaceError)


def _request_id() -> str | None:
    from clinic.logs import current_request_id

    return current_request_id()


def error_response(
    request: HttpRequest,
    *,
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """`{"detail", "code", "request_id"}` under /api/; a page (plain text for htmx) elsewhere."""
    request_id = _request_id()
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": detail, "code": code, "request_id": request_id}, status=status)
    elif getattr(request, "htmx", False) or request.headers.get("HX-Request") == "true":
        # (the header itself for answers given before django-htmx's middleware has run: the 413)
        text = f"{detail} (request id {request_id})" if request_id else detail
        response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    else:
        context = {"title": TITLES.get(status, "Error"), "detail": detail, "request_id": request_id}
        response = HttpResponse(loader.render_to_string("clinic/error.html", context), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    add_never_cache_headers(response)
    return response


def database_unavailable(request: HttpRequest) -> HttpResponse:
    return error_response(
        request,
        status=503,
        code="database_unavailable",
        detail="The clinic's database is not answering just now. Nothing was saved; try again in a few seconds.",
        headers={"Retry-After": str(settings.RETRY_AFTER_SECONDS)},
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """The project's `handler500`; Django calls it while handling the exception, which `sys.exc_info()` holds."""
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable(request)
    return error_response(
        request,
        status=500,
        code="server_error",
        detail="Something went wrong on our side. It has been logged; quote the request id when you report it.",
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's `handler400` (a body Django cannot read, a host the site does not serve, ...)."""
    return error_response(
        request, status=400, code="bad_request", detail="The request could not be understood as sent."
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's `handler404`: a URL under /api/ that matches no route (an id that is not a UUID, say)
    answers JSON like every other API error; elsewhere, the site's own page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    if getattr(request, "htmx", False):
        return HttpResponse("Not found, or not in your caseload.", status=404, content_type="text/plain")
    return defaults.page_not_found(request, exception)


# --- Error reporting (Sentry), configured by SENTRY_DSN only ------------------------------------------------------

# What an event may keep of the request: where it went and how, never what it carried.
_REQUEST_KEYS_KEPT = ("url", "method")


def scrub_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    """`before_send`: strip everything that could hold patient data or a secret from an error event: the request's
    body, query string, cookies, headers and environment; the user but their id; local variables in frames; and
    breadcrumbs (log messages and SQL with their parameters)."""
    request = event.get("request")
    if isinstance(request, dict):
        event["request"] = {key: request[key] for key in _REQUEST_KEYS_KEPT if key in request}
        if "url" in event["request"]:
            event["request"]["url"] = str(event["request"]["url"]).split("?", 1)[0]
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    event.pop("breadcrumbs", None)
    event.pop("extra", None)
    for exception in (event.get("exception") or {}).get("values", []):
        for frame in (exception.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    request_id = _request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def init_error_reporting(*, dsn: str, environment: str, traces_sample_rate: float = 0.0) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), LoggingIntegration(event_level=logging.ERROR)],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,  # type: ignore[arg-type]
        before_breadcrumb=lambda crumb, hint: None,
    )
