"""The demo generator's vocabulary: constants, seeded-random helpers, the clinic calendar, the staff it hands
work to, the unsaved rows it fills, and the plans it draws (no rows of its own)."""

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models

from cases.demo import data
from cases.models import (
    Assessment,
    CareTeamMember,
    Case,
    ClinicalEvent,
    DrugScreen,
    LiverPanel,
    Medication,
    Patient,
    StageTransition,
    TreatmentGoal,
    Visit,
    VisitAddendum,
)
from clinic.models import User

Stage = Case.Stage
Attendance = Visit.Status
VisitType = Visit.VisitType
Result = DrugScreen.Result
GoalStatus = TreatmentGoal.Status

# The order a case walks through its open stages (SPEC 3.3).
OPEN_STAGE_ORDER = (Stage.INTAKE, Stage.ASSESSMENT, Stage.TREATMENT, Stage.RECOVERY)
# Clinic days (weekdays) of history one patient may span: about a year, earlier episodes included.
HISTORY_BUDGET = 255
# Scheduled visits reach this many clinic days ahead (about five weeks): longer than the widest gap between
# visits, so every open case has its next visit booked.
FUTURE_HORIZON = 26
# Appointment start times, in minutes after midnight; groups meet in the evening so people can come after work.
DAY_SLOTS = tuple(range(8 * 60, 16 * 60 + 1, 30))
GROUP_START = 17 * 60 + 30
# Notes of visits in the last few clinic days may still be waiting for their signature.
RECENT_DAYS = 3
# Treatment progress is measured against this many clinic days (a typical taper plus stabilisation).
TREATMENT_SCALE = 80
# Alerts are raised for what was recorded in this window before "now". Older data belongs to a past the
# worklist has long dealt with, and checking a year of it would cost time at 10,000 patients.
ALERT_WINDOW = dt.timedelta(days=30)


# --- Small deterministic helpers around the seeded random source. ---


def pick(rng: random.Random, weights: Mapping[str, int]) -> str:
    """One key of `weights`, drawn with those weights (dict order is fixed, so draws are reproducible)."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def pick_pair(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def sample_weighted(rng: random.Random, weights: Mapping[str, int], k: int) -> list[str]:
    """`k` distinct keys, likelier ones first (Efraimidis-Spirakis keys: u ** (1 / w), highest wins)."""
    keyed = sorted(weights, key=lambda name: rng.random() ** (1 / weights[name]), reverse=True)
    return keyed[:k]


def quota(total: int, weights: Mapping[str, int]) -> list[str]:
    """`total` labels split in proportion to `weights` (largest remainder), each label at least once when
    `total` allows: a small demo still shows every stage and every discharge reason."""
    if total <= 0:
        return []
    weight_sum = sum(weights.values())
    exact = {name: total * weight / weight_sum for name, weight in weights.items()}
    counts = {name: int(share) for name, share in exact.items()}
    if total >= len(weights):
        counts = {name: max(count, 1) for name, count in counts.items()}
    while sum(counts.values()) < total:
        counts[max(counts, key=lambda name: exact[name] - counts[name])] += 1
    while sum(counts.values()) > total:
        counts[max(counts, key=lambda name: counts[name] - exact[name] if counts[name] > 1 else -1.0)] -= 1
    return [name for name, count in counts.items() for _ in range(count)]


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def grams(value: float) -> Decimal:
    return Decimal(f"{max(value, 0.0):.1f}")


# --- Time: clinic days counted from today. ---


class ClinicCalendar:
    """Clinic days are weekdays numbered from today: day 0 is today (or the next weekday), day -1 the last
    weekday before today. History lives on days < 0, so nothing recorded as done is later than now."""

    def __init__(self, today: dt.date, tz: dt.tzinfo) -> None:
        self.today = today
        self.tz = tz
        self._past: list[dt.date] = []
        self._future: list[dt.date] = []

    def date(self, day: int) -> dt.date:
        if day < 0:
            return self._nth(self._past, -day - 1, self.today, -1)
        return self._nth(self._future, day, self.today - dt.timedelta(days=1), 1)

    def at(self, day: int, minute: int) -> dt.datetime:
        date = self.date(day)
        minute = min(minute, 24 * 60 - 1)
        return dt.datetime(date.year, date.month, date.day, minute // 60, minute % 60, tzinfo=self.tz)

    @staticmethod
    def _nth(days: list[dt.date], index: int, origin: dt.date, step: int) -> dt.date:
        cursor = days[-1] if days else origin
        while len(days) <= index:
            cursor += dt.timedelta(days=step)
            if cursor.weekday() < 5:
                days.append(cursor)
        return days[index]


# --- What gets generated. ---


@dataclass(frozen=True)
class DemoStaff:
    """The demo users the generator hands work to."""

    front_desk: User
    primaries: Sequence[User]  # clinicians who take cases as primary clinician
    caseload_weights: Sequence[int]
    prescribers: Sequence[User]  # run medication-management visits
    counselors: Sequence[User]
    supervisor: User

    @classmethod
    def from_users(cls, users: Mapping[str, User]) -> "DemoStaff":
        """Assemble from `{username: user}` holding every member of `data.DEMO_STAFF`."""
        staff = data.DEMO_STAFF
        primaries = [member for member in staff if member.caseload_weight]
        return cls(
            front_desk=next(users[m.username] for m in staff if m.role == "front_desk"),
            primaries=[users[m.username] for m in primaries],
            caseload_weights=[m.caseload_weight for m in primaries],
            prescribers=[users[m.username] for m in staff if m.prescriber],
            counselors=[users[m.username] for m in primaries if not m.prescriber],
            supervisor=next(users[m.username] for m in staff if m.role == "supervisor"),
        )


@dataclass
class DemoRows:
    """Unsaved rows for a batch of patients, primary keys already set so that rows can point at each other."""

    patients: list[Patient] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    care_team: list[CareTeamMember] = field(default_factory=list)
    transitions: list[StageTransition] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    addenda: list[VisitAddendum] = field(default_factory=list)
    goals: list[TreatmentGoal] = field(default_factory=list)
    medications: list[Medication] = field(default_factory=list)
    drug_screens: list[DrugScreen] = field(default_factory=list)
    liver_panels: list[LiverPanel] = field(default_factory=list)
    clinical_events: list[ClinicalEvent] = field(default_factory=list)
    # Not rows: the recent records whose alert rules the command runs once the rows are written.
    alert_checks: list["AlertCheck"] = field(default_factory=list)

    def in_insert_order(self) -> list[tuple[type[models.Model], list[Any]]]:
        """(model, rows) with every row after the rows it references."""
        return [
            (Patient, self.patients),
            (Case, self.cases),
            (CareTeamMember, self.care_team),
            (StageTransition, self.transitions),
            (Assessment, self.assessments),
            (Visit, self.visits),
            (VisitAddendum, self.addenda),
            (TreatmentGoal, self.goals),
            (Medication, self.medications),
            (DrugScreen, self.drug_screens),
            (LiverPanel, self.liver_panels),
            (ClinicalEvent, self.clinical_events),
        ]


@dataclass(frozen=True)
class AlertCheck:
    """A recent record to run the alert rules on, at the moment it was saved (the alert's raise time)."""

    at: dt.datetime
    record: Assessment | Visit | DrugScreen | LiverPanel | ClinicalEvent
    case: Case
    clinician: User  # the case's primary clinician, who settles its alerts
    attendance: bool = False  # a no-show: the attendance rule, not the record rules


@dataclass(frozen=True)
class PatientPlan:
    stage: str  # where the patient's latest case stands today
    discharge_reason: str | None  # set when that case is discharged
    readmission: bool  # an earlier, discharged case precedes it
    findings: frozenset[str] = frozenset()  # rare findings (`data.RARE_FINDINGS`) on the latest case


@dataclass(frozen=True)
class Segment:
    """A stretch of a case in one stage, in clinic days: entered on `start`, left on `end` (0 = still there)."""

    stage: str
    start: int
    end: int


@dataclass(frozen=True)
class Timeline:
    segments: tuple[Segment, ...]
    discharge_reason: str | None = None  # the case was discharged on the last segment's `end`

    @property
    def opened(self) -> int:
        return self.segments[0].start


@dataclass(frozen=True)
class Profile:
    """The presenting substance profile of one case."""

    form: str
    daily_grams: float
    years_used: float
    reasons: list[str]
    other_substances: str


@dataclass(frozen=True)
class Body:
    """A patient's usual vitals; visits scatter around them."""

    systolic: int
    diastolic: int
    heart_rate: int
    weight_kg: float


@dataclass
class PlannedVisit:
    day: int
    segment: int  # index into the timeline's segments
    visit_type: str
    status: str
    entry: bool = False  # the visit at which the case entered this segment's stage
    discharge: bool = False  # the closing session of a completed or transferred case
    days_used: int = 0  # days of kratom use in the 30 before an attended visit
