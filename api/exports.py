"""CSV exports: the renderer that lets a list answer `?format=csv`, and the streamed response that writes every
row (not one page) without holding them all in memory."""

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

# A cell a spreadsheet would read as a formula (CSV injection): usernames of failed logins are anyone's input.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class CSVRenderer(BaseRenderer):
    """Selected by `?format=csv` (or `Accept: text/csv`); views stream the body themselves (`csv_response`),
    so this renders only what reaches it otherwise: a list of rows."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        rows = data if isinstance(data, list) else [data]
        header = list(rows[0]) if rows and isinstance(rows[0], Mapping) else []
        return "".join(_lines(header, rows)).encode()


def cell(value: object) -> str:
    """One value as text: lists space-separated, objects as JSON, None empty, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        text = " ".join(str(item) for item in value)
    elif isinstance(value, dict):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


class _Line:
    """A file-like object whose `write` hands back the line, for `csv.writer` inside a generator."""

    def write(self, value: str) -> str:
        return value


def _lines(header: Sequence[str], rows: Iterable[Mapping[str, object]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([cell(row.get(name)) for name in header])


def csv_response(
    header: Sequence[str], rows: Iterable[Mapping[str, object]], *, filename: str
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
