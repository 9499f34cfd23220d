"""What the app answers when it fails: JSON under /api/, a plain page elsewhere, each with the request id.

- `database_failure(exc)` is the one place that classifies a database error (the API's exception handler and the
  pages' `server_error` both ask it, so the same failure gets the same answer on both): a lock wait or statement
  that timed out, a serialization failure or deadlock (PostgreSQL), a locked file (SQLite) is 503 `busy`; the
  database unreachable or the connection lost (any other OperationalError / InterfaceError) is 503
  `database_unavailable`; both with `Retry-After` (settings.RETRY_AFTER_SECONDS). The request may simply be tried
  again: nothing was written, as every write is one transaction.
- `server_error` (the project's `handler500`): an unexpected error is a 500; a classified database failure its
  503. Django calls it for an exception from a view or from any middleware, so a database that is down when the
  session is read still answers 503.
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
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
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


# PostgreSQL SQLSTATEs that mean "busy, try again in a moment": lock_not_available (lock_timeout), query_canceled
# (statement_timeout), serialization_failure, deadlock_detected. https://www.postgresql.org/docs/15/errcodes-appendix.html
BUSY_SQLSTATES = frozenset({"55P03", "57014", "40001", "40P01"})
# SQLSTATEs of a session the server ended on its own timer, which psycopg raises as InternalError rather than
# OperationalError: idle_in_transaction_session_timeout (a worker that stalled mid-transaction, say frozen or
# swapped out: its transaction is rolled back and its locks released), transaction_timeout (PostgreSQL 17),
# idle_session_timeout. The connection is gone and nothing was written: the database "did not answer" this request.
ENDED_SESSION_SQLSTATES = frozenset({"25P03", "25P04", "57P05"})
# SQLite's primary result codes for the same: SQLITE_BUSY (the busy timeout ran out), SQLITE_LOCKED.
BUSY_SQLITE_CODES = frozenset({5, 6})


@dataclass(frozen=True)
class DatabaseFailure:
    """How a database error is answered: always a 503 with Retry-After, the code telling busy from unavailable."""

    code: str
    detail: str
    status: int = 503


BUSY = DatabaseFailure("busy", "The system is busy; try again in a moment.")
UNAVAILABLE = DatabaseFailure(
    "database_unavailable",
    "The clinic's database is not answering just now. Nothing was saved; try again in a few seconds.",
)


def _driver_error(exc: BaseException) -> BaseException | None:
    """The driver's exception under Django's wrapper (`raise ... from` the psycopg or sqlite3 error)."""
    return exc.__cause__


def database_failure(exc: BaseException | None) -> DatabaseFailure | None:
    """`BUSY` for contention or time (the same request will likely succeed in a moment), `UNAVAILABLE` for a
    database that cannot answer (down, restarting, out of connections, the connection lost), None for anything
    else (a bug, a refused row: not this module's to answer)."""
    if not isinstance(
        exc, DatabaseError | InterfaceError
    ):  # (Django's InterfaceError is not a DatabaseError)
        return None
    driver = _driver_error(exc)
    if getattr(driver, "sqlstate", None) in BUSY_SQLSTATES:
        return BUSY
    sqlite_code = getattr(driver, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int) and sqlite_code & 0xFF in BUSY_SQLITE_CODES:
        return BUSY
    if isinstance(exc, OperationalError | InterfaceError):
        return UNAVAILABLE
    if getattr(driver, "sqlstate", None) in ENDED_SESSION_SQLSTATES:
        return UNAVAILABLE
    return None


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


def database_failure_response(
    request: HttpRequest, exc: BaseException, failure: DatabaseFailure
) -> HttpResponse:
    """The answer to a classified database failure, for the API's exception handler and `server_error` alike; one
    `clinic.errors` warning line names the code and the driver's SQLSTATE (or SQLite code), never its message."""
    driver = _driver_error(exc)
    logger.warning(
        "database failure",
        extra={
            "code": failure.code,
            "error": type(driver or exc).__name__,
            "sqlstate": getattr(driver, "sqlstate", None) or getattr(driver, "sqlite_errorname", None),
        },
    )
    return error_response(
        request,
        status=failure.status,
        code=failure.code,
        detail=failure.detail,
        headers={"Retry-After": str(settings.RETRY_AFTER_SECONDS)},
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """The project's `handler500`; Django calls it while handling the exception, which `sys.exc_info()` holds."""
    exc = sys.exc_info()[1]
    if exc is not None and (failure := database_failure(exc)) is not None:
        return database_failure_response(request, exc, failure)
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
