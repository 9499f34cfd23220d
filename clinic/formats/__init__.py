"""Dates and times as staff read them, for text built in Python (messages, refusals, chart labels). The formats
themselves are in `clinic/formats/en/formats.py` (`FORMAT_MODULE_PATH`), which templates read too."""

import datetime as dt

from django.utils import formats, timezone


def show_date(value: dt.date) -> str:
    """2026-12-03 (a datetime is first taken to the clinic's day)."""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return formats.date_format(value, "DATE_FORMAT")


def show_datetime(value: dt.datetime, *, weekday: bool = False) -> str:
    """2026-12-03 14:30 in the clinic's zone; with `weekday`, Thu 2026-12-03 14:30."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    text = formats.date_format(local, "DATETIME_FORMAT")
    return f"{formats.date_format(local, 'D')} {text}" if weekday else text


def show_time(value: dt.datetime | dt.time) -> str:
    """14:30 (a datetime in the clinic's zone)."""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.time_format(value, "TIME_FORMAT")
