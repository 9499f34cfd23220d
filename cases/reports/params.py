"""A report's parameters (SPEC sections 6 and 8): the date range and the clinician filter, read from a query
string and checked, and the clinic-day boundaries the queries compare times with."""

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils import timezone

from cases.errors import ValidationFailed
from cases.measures import add_months
from cases.models import CareTeamMember, Case, Visit
from clinic.models import User
from clinic.policy import is_clinical_staff

DEFAULT_MONTHS = 12  # no `start`: the twelve months ending on `end`
MAX_MONTHS = 120  # a range longer than ten years is refused
# Dates outside these are refused: no clinic data lies there, and the day arithmetic stays far from the edges.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2999, 12, 31)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ReportParams:
    """`start` and `end` are clinic-local dates (America/Chicago), both days included."""

    start: dt.date
    end: dt.date
    clinician: User | None = None

    def as_query(self) -> dict[str, Any]:
        """The parameters as they were applied, for the response and the audit trail."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "clinician": str(self.clinician.pk) if self.clinician else None,
        }


def clinic_today() -> dt.date:
    return timezone.localdate(timezone=timezone.get_default_timezone())


def day_start(day: dt.date) -> dt.datetime:
    """The moment a clinic day begins (local midnight, which America/Chicago always has)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def day_end(day: dt.date) -> dt.datetime:
    """The moment a clinic day ends: the start of the next one (compare with `<`)."""
    return day_start(day + dt.timedelta(days=1))


def default_start(end: dt.date, months: int = DEFAULT_MONTHS) -> dt.date:
    """The day after the same date `months` calendar months earlier (clamped to the month's end)."""
    return add_months(end, -months) + dt.timedelta(days=1)


def _date(value: str, field: str, errors: dict[str, list[str]]) -> dt.date | None:
    if not _ISO_DATE.fullmatch(value):
        errors[field] = ["Give a date as YYYY-MM-DD."]
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        errors[field] = ["Not a real date."]
        return None
    if not EARLIEST <= day <= LATEST:
        errors[field] = [f"Give a date between {EARLIEST} and {LATEST}."]
        return None
    return day


def _has_carried_cases(user: User) -> bool:
    """A former clinician (account deactivated) whose cases and visits are still in the record."""
    return User.objects.filter(
        Exists(Case.objects.filter(primary_clinician=OuterRef("pk")))
        | Exists(CareTeamMember.objects.filter(user=OuterRef("pk")))
        | Exists(Visit.objects.filter(clinician=OuterRef("pk"))),
        pk=user.pk,
    ).exists()


def _clinician(value: str, errors: dict[str, list[str]]) -> User | None:
    try:
        user_id = uuid.UUID(value)
    except ValueError:
        errors["clinician"] = ["Give a clinician's user id (a UUID)."]
        return None
    user = User.objects.prefetch_related("groups").filter(pk=user_id).first()
    if user is None:
        errors["clinician"] = ["No such clinician."]
        return None
    if not (is_clinical_staff(user) or (not user.is_active and _has_carried_cases(user))):
        errors["clinician"] = ["This user is not a clinician or supervisor."]
        return None
    return user


def parse_params(query: Mapping[str, str]) -> ReportParams:
    """`start`, `end` (YYYY-MM-DD) and `clinician` (a user id) from a query string. Defaults: `end` = today,
    `start` = the day after the same date twelve months before `end`. Raises `ValidationFailed` naming each bad
    field: an impossible or malformed date, a date outside 1900-2999, `start` after `end`, a range over ten
    years, or a clinician id that is malformed, unknown, or not a clinician's or supervisor's."""
    errors: dict[str, list[str]] = {}
    raw = {name: (query.get(name) or "").strip() for name in ("start", "end", "clinician")}
    end = _date(raw["end"], "end", errors) if raw["end"] else clinic_today()
    start = _date(raw["start"], "start", errors) if raw["start"] else None
    clinician = _clinician(raw["clinician"], errors) if raw["clinician"] else None
    if end is not None and start is None and "start" not in errors:
        start = default_start(end)
    if start is not None and end is not None:
        if start > end:
            errors["start"] = ["The start comes after the end."]
        elif start < default_start(end, MAX_MONTHS):
            errors["start"] = [f"A report covers at most {MAX_MONTHS // 12} years."]
    if errors or start is None or end is None:  # a None date always comes with its error
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, errors=errors)
    return ReportParams(start=start, end=end, clinician=clinician)
