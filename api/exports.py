"""CSV exports: the renderer that lets a list answer `?format=csv`, and the streamed response that writes every
row (not one page) without holding them all in memory. Cells and lines are `clinic.exports`' (one writer, one
formula defuser, shared with the reports)."""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

from clinic.exports import csv_lines


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


def _lines(header: Sequence[str], rows: Iterable[Mapping[str, object]]) -> Iterator[str]:
    yield from csv_lines([header])
    yield from csv_lines([row.get(name) for name in header] for row in rows)


def csv_response(
    header: Sequence[str], rows: Iterable[Mapping[str, object]], *, filename: str
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
