"""The API's JSON parser: DRF's, behind the input guard (`clinic.inputguard`, SPEC section 8).

A body nested deeper than 64 levels is a 400 before Python's recursive decoder sees it (a body nested 1,000 deep
used to end in a RecursionError and a 500, even without credentials); a NUL byte in any key or value is a 400
naming the field (PostgreSQL cannot store one, and the pages refuse the same)."""

import codecs
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.utils import json

from clinic.inputguard import NUL_MESSAGE, depth_message, first_nul_path, json_too_deep


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]  # text encodings only (DRF's own check)
        try:
            text = codecs.getreader(encoding)(stream).read() if stream is not None else ""
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if json_too_deep(text):
            raise ParseError(depth_message())
        try:
            data = json.loads(text) if self.strict else json.loads(text, parse_constant=None)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        where = first_nul_path(data)
        if where is not None:
            raise ValidationError({where: [NUL_MESSAGE]})
        return data
