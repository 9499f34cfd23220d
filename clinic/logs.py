"""Structured logs: one JSON object per line, in UTC, each carrying the request id and the signed-in user's id.

- `logging_config(...)` is the LOGGING dict of the settings (and of gunicorn, deploy/gunicorn.conf.py), so the
  master's and the workers' lines look the same.
- `JsonFormatter` (python-json-logger) writes `time` (UTC, ISO 8601), `level`, `logger`, `message`, the request's
  `request_id` and `user_id`, and any `extra=` fields; a traceback is one escaped string (`exc_info`), never lines
  of its own.
- `RequestLogFilter` adds the request context and removes what must never be logged: the request object Django's
  own loggers attach (its text includes the query string, where a patient's name may be), and any field named
  like a secret.
- `AccessLogMiddleware` writes the access log: one `clinic.access` line per request with method, path (never the
  query string), status, duration and the ids.

Never logged: passwords, tokens, one-time codes, note text, patient names or any request body. The app logs ids,
codes and counts only; tests/ops/test_logs.py checks the formatted lines of a whole sign-in and chart session.
"""

import contextvars
import logging
import re
import sys
import time
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

# A well-formed incoming X-Request-ID (a proxy's or a client's correlation id): 8 to 64 characters of letters,
# digits and `-_.:`; anything else is replaced by a new id, so a client cannot inject text into the logs.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,63}$")

# Extra fields whose values are dropped whatever logger sets them.
SECRET_FIELD_PATTERN = re.compile(
    r"pass|secret|token|otp|authorization|cookie|session|note|text", re.IGNORECASE
)

# The attributes every LogRecord has; only the others (a logger's `extra=`) are checked for secrets.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "logs_current_request", default=None
)

access_logger = logging.getLogger("clinic.access")


def request_id_for(request: HttpRequest) -> str:
    """The id of this request: the incoming `X-Request-ID` when well-formed, else a new random one."""
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    if isinstance(incoming, str) and REQUEST_ID_PATTERN.match(incoming):
        return incoming
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The request id of the request being served (the audit's request context), if any.

    Looked up in sys.modules rather than imported: clinic.audit imports the models, and a line logged before Django
    has loaded the apps (gunicorn's master starting) must not import them."""
    audit = sys.modules.get("clinic.audit")
    context = audit.current_request_context() if audit is not None else None
    return context.request_id if context else None


def _user_id(request: HttpRequest | None) -> str | None:
    """The signed-in user's id, if the request already knows it. Never triggers a session or token lookup
    (a log line must not query the database, which may be the thing that is down)."""
    if request is None:
        return None
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = user._wrapped if user._wrapped is not empty else None  # type: ignore[attr-defined]
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


class RequestLogFilter(logging.Filter):
    """Adds `request_id` and `user_id`; strips the request object and secret-looking fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = _current_request.get()
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id()
        if not getattr(record, "user_id", None):
            record.user_id = _user_id(request)
        if "request" in record.__dict__:
            del record.__dict__["request"]  # Django's loggers attach it; its repr carries the query string
        for name in [key for key in record.__dict__ if key not in _RECORD_ATTRIBUTES]:
            if SECRET_FIELD_PATTERN.search(name):
                record.__dict__[name] = "[redacted]"
        return True


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, user_id, extras."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__("{levelname}{name}{message}", *args, style="{", **kwargs)

    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record.setdefault("request_id", getattr(record, "request_id", None))
        log_record.setdefault("user_id", getattr(record, "user_id", None))
        for noisy in ("color_message", "taskName"):
            log_record.pop(noisy, None)


def logging_config(*, level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """The LOGGING dict: every logger to standard error through one handler, JSON (or `text` for a developer)."""
    formatter = (
        {"()": "clinic.logs.JsonFormatter"}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": "clinic.logs.RequestLogFilter"}},
        "formatters": {"main": formatter},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "main", "filters": ["request"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's request logger would repeat every 4xx/5xx the access log already has (with a traceback for
            # 5xx, which it keeps): errors only.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "WARNING"},
            "gunicorn.error": {"level": level, "propagate": True},
            "gunicorn.access": {"level": "WARNING", "propagate": True},
        },
    }


class AccessLogMiddleware:
    """One `clinic.access` line per request; also lets log lines written during the request name its user.

    Placed right after `clinic.audit.RequestContextMiddleware`, whose request id it logs."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        started = time.perf_counter()
        try:
            response: HttpResponse = self.get_response(request)
            access_logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,  # never the query string: ?search= holds patient names
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": _user_id(request),
                },
            )
            return response
        finally:
            _current_request.reset(token)
