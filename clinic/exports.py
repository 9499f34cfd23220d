"""CSV files, written one way for every export (the audit log, the accounting of disclosures, the reports): one cell
rule with one formula defuser (CSV injection), and one writer that yields a line at a time, so a long export is
streamed without being held in memory."""

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

# A cell a spreadsheet would read as a formula (CSV injection): names, usernames and free text are people's input.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defused(text: str) -> str:
    """`text` with a leading quote when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: object) -> str:
    """One value as text: None empty, true/false, numbers as they are (a number is never a formula, so -1.5 stays
    a number), lists space-separated, objects as JSON, and any other text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        text = " ".join(str(item) for item in value)
    elif isinstance(value, dict):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    else:
        text = str(value)
    return defused(text)


class _Line:
    """A file-like object whose `write` hands back the line, for `csv.writer` inside a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """Each row as one CSV line, every value through `cell`."""
    writer = csv.writer(_Line())
    for row in rows:
        yield writer.writerow([cell(value) for value in row])


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """A whole (small) CSV file at once."""
    return "".join(csv_lines(rows))
