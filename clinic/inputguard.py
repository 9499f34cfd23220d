"""One guard for every entry point (SPEC section 8): what no request may carry, whatever reads it.

- JSON nested deeper than `MAX_JSON_DEPTH` levels: 400 (checked on the raw text before parsing, so a body nested
  thousands deep never reaches Python's recursive decoder); `api.parsers.JSONParser` uses `json_too_deep`.
- A NUL byte anywhere in a decoded JSON document (key or value): 400 naming the field (`first_nul_path`); PostgreSQL
  cannot store one in a text or `jsonb` column.
- A free text with a NUL byte or longer than its limit: 400 naming the field. The services call `clean_text`, so the
  API and the pages refuse the same input with the same message (a page posting straight to a service used to
  skip the serializer's checks and store it).
- A request body over `MAX_REQUEST_BODY_BYTES`: 413 (`RequestBodyLimitMiddleware`, JSON under `/api/`).

The messages are the API serializers' own wording, so a refusal reads the same whichever check caught it.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from cases.errors import ValidationFailed
from clinic.errors import error_response

MAX_JSON_DEPTH = 64
# Free-text limits shared by the services, the serializers and the page forms.
SHORT_TEXT_MAX_LENGTH = 2000  # reasons, notes on alerts, entered-in-error reasons, break-glass reasons
RECORD_TEXT_MAX_LENGTH = 4000  # the texts of a clinical record (plan goals, interventions)
NOTE_TEXT_MAX_LENGTH = 20_000  # visit note sections and addenda

NUL_MESSAGE = "Null characters are not allowed."


def too_long_message(limit: int) -> str:
    return f"Ensure this field has no more than {limit} characters."


def depth_message(limit: int = MAX_JSON_DEPTH) -> str:
    return f"JSON nested deeper than {limit} levels is not accepted."


# A JSON string literal (with escapes); removed before counting brackets, so brackets inside strings do not count.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def json_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text opens more than `limit` arrays or objects inside one another. Linear in the text; an
    unterminated string or unbalanced brackets are left for the parser to refuse."""
    depth = 0
    for match in _BRACKETS.finditer(_JSON_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth = max(0, depth - 1)
    return False


def first_nul_path(data: Any, path: str = "") -> str | None:
    """The dotted path of the first string (key or value) holding a NUL byte, or None. Iterative: a document the
    parser accepted is at most `MAX_JSON_DEPTH` deep, but nothing here relies on that."""
    stack: list[tuple[Any, str]] = [(data, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return where or "non_field_errors"
        elif isinstance(value, Mapping):
            for key, item in value.items():
                key_text = str(key)
                if "\x00" in key_text:  # the key itself cannot name the field: its parent does
                    return where or "non_field_errors"
                stack.append((item, f"{where}.{key_text}" if where else key_text))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                stack.append((item, f"{where}.{index}" if where else str(index)))
    return None


def text_problem(value: str, *, max_length: int) -> str | None:
    """What is wrong with a free text, in the API's words, or None."""
    if "\x00" in value:
        return NUL_MESSAGE
    if len(value) > max_length:
        return too_long_message(max_length)
    return None


def clean_text(
    value: object, *, field: str, max_length: int = SHORT_TEXT_MAX_LENGTH, strip: bool = True
) -> str:
    """A free text as the services store it: a string, stripped, with no NUL byte and at most `max_length`
    characters; anything else raises `ValidationFailed` naming `field` (400 from the API and on the pages)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed("Not a valid string.", field=field)
    problem = text_problem(value, max_length=max_length)
    if problem is not None:
        raise ValidationFailed(problem, field=field)
    return value.strip() if strip else value


def clean_texts(data: Mapping[str, Any], limits: Mapping[str, int]) -> None:
    """`clean_text`'s checks on each field of `data` named in `limits` (the values are left as they are)."""
    for name, limit in limits.items():
        value = data.get(name)
        if isinstance(value, str):
            problem = text_problem(value, max_length=limit)
            if problem is not None:
                raise ValidationFailed(problem, field=name)


# --- Request bodies ---------------------------------------------------------------------------------------------


def body_too_large_message(limit: int) -> str:
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KB"
    return f"The request body is larger than the {size} this server accepts."


class RequestBodyLimitMiddleware:
    """413 for a request whose body is larger than `MAX_REQUEST_BODY_BYTES`, decided on `Content-Length` before
    anything reads the body, answered through `clinic.errors.error_response` like every other error (the JSON
    envelope `{"detail", "code", "request_id"}` under `/api/`, the error page elsewhere, plain text for htmx). A
    body sent without a length (chunked) is capped by Django's own `DATA_UPLOAD_MAX_MEMORY_SIZE` for forms and by
    the same limit when read (`LimitedStream`), so it cannot get past either. Placed right after the request id is
    given (so the answer names it) and before anything reads the body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit: int = settings.MAX_REQUEST_BODY_BYTES
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            length = 0  # Django treats a malformed length as no body
        if length > limit:
            return error_response(
                request, status=413, code="request_too_large", detail=body_too_large_message(limit)
            )
        return self.get_response(request)
