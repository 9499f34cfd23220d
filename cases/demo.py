"""The demo clinic generator: patients with about a year of history, as unsaved rows, reproducible from a seed."""

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models

from cases import demo_data as data
from cases.instruments import INSTRUMENTS, score_responses
from cases.models import (
    ANALYTES,
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
        """Assemble from `{username: user}` holding every member of `demo_data.DEMO_STAFF`."""
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
    findings: frozenset[str] = frozenset()  # rare findings (`demo_data.RARE_FINDINGS`) on the latest case


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


# --- The generator. ---


class DemoGenerator:
    """Draws every choice from one `random.Random(seed)` in a fixed order, and every date from `today`:
    the same seed on the same day gives the same clinic."""

    def __init__(
        self, *, seed: int, today: dt.date, tz: dt.tzinfo, staff: DemoStaff, visit_density: float = 1.0
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - fictional data, not secrets; must be reproducible
        # Follow-up visits come this many times as often as the clinic's usual rhythm (1: the demo's own;
        # `make bench-reports` books about twice as many to reach a network's 1.5 million visits).
        self.visit_density = visit_density
        # How staff settle the alerts the data raises: its own stream, so that the rows stay the same
        # whether or not the alerts are raised.
        self.alert_rng = random.Random(f"{seed}/alerts")  # noqa: S311
        self.calendar = ClinicCalendar(today, tz)
        # The moment the demo is "as of": the start of today. Everything recorded lies before it.
        self.now = dt.datetime.combine(today, dt.time.min, tzinfo=tz)
        self.staff = staff

    def batches(self, count: int, batch_size: int) -> Iterator[DemoRows]:
        """Rows for `count` patients, `batch_size` patients at a time (keeps memory flat at large counts)."""
        rows = DemoRows()
        for plan in self.plans(count):
            self.add_patient(rows, plan)
            if len(rows.patients) >= batch_size:
                yield rows
                rows = DemoRows()
        if rows.patients:
            yield rows

    def plans(self, count: int) -> list[PatientPlan]:
        rng = self.rng
        stages = quota(count, data.STAGE_WEIGHTS)
        rng.shuffle(stages)
        reasons = quota(stages.count(Stage.DISCHARGED), data.DISCHARGE_REASON_WEIGHTS)
        rng.shuffle(reasons)
        open_positions = [i for i, stage in enumerate(stages) if stage != Stage.DISCHARGED]
        wanted = max(1, round(count * data.READMISSION_SHARE)) if count >= 3 else 0
        readmitted = set(rng.sample(open_positions, min(wanted, len(open_positions))))
        next_reason = iter(reasons)
        findings = self._rare_findings(stages)
        return [
            PatientPlan(
                stage=stage,
                discharge_reason=next(next_reason) if stage == Stage.DISCHARGED else None,
                readmission=i in readmitted,
                findings=frozenset(findings.get(i, ())),
            )
            for i, stage in enumerate(stages)
        ]

    def _rare_findings(self, stages: Sequence[str]) -> dict[int, set[str]]:
        """{patient position: findings}: a fixed few per clinic size, at most one liver finding each."""
        findings: dict[int, set[str]] = defaultdict(set)
        for finding in data.RARE_FINDINGS:
            wanted = max(finding.minimum, round(len(stages) * finding.share))
            liver = finding.code in ("liver_injury", "hys_law")
            candidates = [
                i
                for i, stage in enumerate(stages)
                if stage == finding.stage and not (liver and findings[i] & {"liver_injury", "hys_law"})
            ]
            for i in self.rng.sample(candidates, min(wanted, len(candidates))):
                findings[i].add(finding.code)
        return findings

    def add_patient(self, rows: DemoRows, plan: PatientPlan) -> None:
        budget = HISTORY_BUDGET - 100 if plan.readmission else HISTORY_BUDGET
        timelines = [self._latest_timeline(plan, budget)]
        if plan.readmission:
            reason = pick(self.rng, data.EARLIER_DISCHARGE_REASON_WEIGHTS)
            ended = timelines[0].opened - self.rng.randint(10, 40)
            timelines.insert(0, self._closed_timeline(reason, ended, min(60, HISTORY_BUDGET + ended)))
        patient = self._patient(first_opened=self.calendar.date(timelines[0].opened))
        rows.patients.append(patient)
        profile = self._profile(None)
        body = self._body()
        for number, timeline in enumerate(timelines):
            if number:
                profile = self._profile(profile)
            latest = number == len(timelines) - 1
            findings = plan.findings if latest else frozenset()
            opening = CaseHistory(self, rows, patient, timeline, profile, body, findings).build()
            if number == 0:
                # Registered at the front desk just before the intake visit.
                patient.created_at = patient.updated_at = opening - dt.timedelta(minutes=15)

    # --- Timelines: which stages a case went through, and when. ---

    def _latest_timeline(self, plan: PatientPlan, budget: int) -> Timeline:
        if plan.discharge_reason is not None:
            ended = -1 - self.rng.randint(0, 130)
            return self._closed_timeline(plan.discharge_reason, ended, budget + ended)
        return self._open_timeline(plan.stage, budget)

    def _open_timeline(self, stage: str, budget: int) -> Timeline:
        rng = self.rng
        path = self._path(stage)
        lengths = [self._stage_length(s, path[:i]) for i, s in enumerate(path[:-1])]
        elapsed: tuple[int, int] = {
            Stage.INTAKE: (0, 4),
            Stage.ASSESSMENT: (0, 8),
            Stage.TREATMENT: (3, 40 if Stage.RECOVERY in path else 110),
            Stage.RECOVERY: (5, 120),
        }[Stage(stage)]
        lengths.append(rng.randint(*elapsed) + 1)
        return Timeline(self._segments(path, self._fit(lengths, budget), end=0))

    def _closed_timeline(self, reason: str, ended: int, budget: int) -> Timeline:
        last_stage = pick(self.rng, data.DISCHARGED_FROM_WEIGHTS[reason])
        path = self._path(last_stage)
        lengths = [self._stage_length(s, path[:i]) for i, s in enumerate(path)]
        return Timeline(self._segments(path, self._fit(lengths, budget), end=ended), discharge_reason=reason)

    def _path(self, last_stage: str) -> list[str]:
        """The stages a case passes through up to `last_stage`; some relapse in recovery and come back."""
        path: list[str] = list(OPEN_STAGE_ORDER[: OPEN_STAGE_ORDER.index(Stage(last_stage)) + 1])
        if last_stage in (Stage.TREATMENT, Stage.RECOVERY) and self.rng.random() < data.RELAPSE_SHARE:
            loop = [Stage.RECOVERY, Stage.TREATMENT]
            path = [*path[:3], *loop, *path[3:]]
        return path

    def _stage_length(self, stage: str, before: Sequence[str]) -> int:
        """Clinic days a case spends in `stage` before moving on."""
        if stage == Stage.INTAKE:
            return self.rng.randint(1, 5)
        if stage == Stage.ASSESSMENT:
            return self.rng.randint(2, 10)
        if stage == Stage.TREATMENT:
            return self.rng.randint(10, 40) if Stage.TREATMENT in before else self.rng.randint(25, 110)
        return self.rng.randint(15, 90)

    @staticmethod
    def _fit(lengths: list[int], budget: int) -> list[int]:
        """Shorten the longest stages until the case fits in `budget` clinic days."""
        lengths = list(lengths)
        while sum(lengths) > budget and max(lengths) > 1:
            longest = lengths.index(max(lengths))
            lengths[longest] -= min(sum(lengths) - budget, lengths[longest] - 1)
        return lengths

    @staticmethod
    def _segments(path: Sequence[str], lengths: Sequence[int], *, end: int) -> tuple[Segment, ...]:
        """Lay the stages back to back so that the last one ends on `end`."""
        segments: list[Segment] = []
        for stage, length in zip(reversed(path), reversed(lengths), strict=True):
            segments.append(Segment(stage, end - length, end))
            end -= length
        return tuple(reversed(segments))

    # --- Who the patient is. ---

    def _patient(self, first_opened: dt.date) -> Patient:
        rng = self.rng
        sex = pick(rng, data.SEX_AT_BIRTH_WEIGHTS)
        female_name = sex == "female" or (sex in ("intersex", "unknown") and rng.random() < 0.5)
        first = rng.choice(data.FEMALE_FIRST_NAMES if female_name else data.MALE_FIRST_NAMES)
        last = rng.choice(data.LAST_NAMES)
        city, county, area_code, zip_codes, _ = rng.choices(
            data.KANSAS_PLACES, weights=[place[4] for place in data.KANSAS_PLACES]
        )[0]
        return Patient(
            mrn="",  # issued in bulk when the batch is written
            first_name=first,
            last_name=last,
            preferred_name=data.NICKNAMES.get(first, "") if rng.random() < 0.3 else "",
            date_of_birth=self._date_of_birth(first_opened),
            sex_at_birth=sex,
            gender_identity=pick_pair(rng, data.GENDER_IDENTITIES[sex]),
            phone=self._phone(area_code),
            email=self._email(first, last),
            address_line1=(
                f"{rng.randint(100, 9899)} {rng.choice(('', '', 'N ', 'S ', 'E ', 'W '))}"
                f"{rng.choice(data.STREET_NAMES)} {rng.choice(data.STREET_SUFFIXES)}"
            ),
            address_line2=f"Apt {rng.randint(1, 48)}" if rng.random() < 0.15 else "",
            city=city,
            state="KS",
            postal_code=rng.choice(zip_codes),
            county=county,
            **self._emergency_contact(last, area_code),
            created_by_id=self.staff.front_desk.pk,
        )

    def _date_of_birth(self, first_opened: dt.date) -> dt.date:
        """An adult of 19 to 75 today, who was at least 18 when first seen here."""
        today = self.calendar.today
        age_years = self.rng.triangular(19, 76, 36)
        born = today - dt.timedelta(days=int(age_years * 365.25))
        latest = min(years_before(today, 19), years_before(first_opened, 18))
        earliest = years_before(today, 76) + dt.timedelta(days=1)
        return min(max(born, earliest), latest)

    def _phone(self, area_code: str) -> str:
        # 555-0100 to 555-0199 are reserved for fiction: no real person gets called from the demo.
        return f"{area_code}-555-01{self.rng.randint(0, 99):02d}"

    def _email(self, first: str, last: str) -> str:
        if self.rng.random() < 0.25:
            return ""
        local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == ".")
        suffix = str(self.rng.randint(1, 99)) if self.rng.random() < 0.5 else ""
        return f"{local}{suffix}@{self.rng.choice(data.EMAIL_DOMAINS)}"

    def _emergency_contact(self, last: str, area_code: str) -> dict[str, str]:
        rng = self.rng
        if rng.random() < 0.15:
            return {}
        relationship = pick_pair(rng, data.EMERGENCY_RELATIONSHIPS)
        first = rng.choice(data.FEMALE_FIRST_NAMES + data.MALE_FIRST_NAMES)
        family = relationship not in ("Friend", "Partner") and rng.random() < 0.8
        return {
            "emergency_contact_name": f"{first} {last if family else rng.choice(data.LAST_NAMES)}",
            "emergency_contact_relationship": relationship,
            "emergency_contact_phone": self._phone(area_code),
        }

    def _profile(self, previous: Profile | None) -> Profile:
        """What the patient uses; a readmission usually comes back with the same form of kratom."""
        rng = self.rng
        form = previous.form if previous and rng.random() < 0.8 else pick(rng, data.KRATOM_FORM_WEIGHTS)
        low, mode, high = data.DAILY_GRAMS_BY_FORM[form]
        reasons = sample_weighted(rng, data.REASON_FOR_USE_WEIGHTS, rng.choices((1, 2, 3), (50, 35, 15))[0])
        return Profile(
            form=form,
            daily_grams=round(rng.triangular(low, high, mode), 1),
            years_used=(previous.years_used + 1.0) if previous else round(rng.triangular(0.5, 15, 3), 1),
            reasons=sorted(reasons),
            other_substances=rng.choice(data.OTHER_SUBSTANCES) if rng.random() < 0.4 else "",
        )

    def _body(self) -> Body:
        rng = self.rng
        # About one patient in eight runs hypertensive (kratom is linked to raised blood pressure).
        hypertensive = rng.random() < 0.12
        return Body(
            systolic=rng.randint(138, 152) if hypertensive else rng.randint(106, 128),
            diastolic=rng.randint(86, 96) if hypertensive else rng.randint(64, 80),
            heart_rate=rng.randint(60, 92),
            weight_kg=round(rng.triangular(50, 140, 82), 1),
        )


class CaseHistory:
    """Builds one case: its row, care team, visits with notes, assessments, stage history and addenda."""

    def __init__(
        self,
        generator: DemoGenerator,
        rows: DemoRows,
        patient: Patient,
        timeline: Timeline,
        profile: Profile,
        body: Body,
        findings: frozenset[str] = frozenset(),
    ) -> None:
        self.rng = generator.rng
        self.visit_density = generator.visit_density
        self.calendar = generator.calendar
        self.staff = generator.staff
        self.findings = findings
        # Records saved from here on are recent enough to be checked against the alert rules.
        self.alert_window_start = generator.now - ALERT_WINDOW
        self.rows = rows
        self.patient = patient
        self.timeline = timeline
        self.profile = profile
        self.body = body
        self.segments = timeline.segments
        rng = self.rng
        self.primary = rng.choices(self.staff.primaries, weights=self.staff.caseload_weights)[0]
        self.team = self._care_team()
        # How well this patient responds: drop-outs improve less before they leave.
        dropped_out = timeline.discharge_reason == "left_against_advice"
        self.response = rng.uniform(0.2, 0.6) if dropped_out else rng.uniform(0.7, 1.3)
        self.dsm5_criteria = rng.choices(range(2, 12), weights=(6, 9, 14, 16, 16, 13, 10, 7, 5, 4))[0]
        self.severity = self._dsm5_band(self.dsm5_criteria)
        self.phq9_baseline = rng.triangular(2, 22, 9)
        self.gad7_baseline = rng.triangular(2, 19, 8)
        # Most patients' mood lifts as treatment takes hold; some stay where they started.
        non_responder = rng.random() < data.MOOD_NON_RESPONDER_SHARE
        self.mood_response = rng.uniform(-0.1, 0.15) if non_responder else rng.uniform(0.45, 0.85)
        # How hard withdrawal hits when kratom is stopped (drives COWS; falls as treatment goes on): mild for
        # most, moderate (COWS 13+) for about one in five, harder with concentrated 7-OH products.
        self.cows_intensity = rng.triangular(0.06, 0.45, 0.18) + (
            0.06 if profile.form == "seven_oh_product" else 0
        )
        liver = [code for code in ("hys_law", "liver_injury") if code in findings]
        self.liver_state = liver[0] if liver else "mild" if rng.random() < data.LIVER_MILD_SHARE else "normal"
        self.liver_lab = rng.choices(data.LIVER_LABS, weights=[lab[5] for lab in data.LIVER_LABS])[0]
        self.liver_baseline = bool(liver) or rng.random() < data.LIVER_BASELINE_SHARE
        self.plan_review_lapses = rng.random() < data.PLAN_REVIEW_LAPSE_SHARE
        self.case = Case(
            patient_id=patient.pk,
            opened_on=self.calendar.date(timeline.opened),
            referral_source=pick(rng, data.REFERRAL_SOURCE_WEIGHTS),
            primary_clinician_id=self.primary.pk,
            kratom_form=profile.form,
            kratom_daily_grams=grams(profile.daily_grams),
            kratom_years_used=Decimal(f"{profile.years_used:.1f}"),
            reasons_for_use=profile.reasons,
            other_substances=profile.other_substances,
            created_by_id=self.staff.front_desk.pk,
        )
        self.last_screen_day: int | None = None
        self.last_cows_day: int | None = None
        self.prescriber = next((c for c in (self.primary, *self.team) if c in self.staff.prescribers), None)
        self.approach = pick(rng, data.TREATMENT_APPROACH_WEIGHTS) if self.prescriber else "none"
        # Clinic days on buprenorphine, as (start, stop) with stop None while still taking it.
        self.buprenorphine_days: list[tuple[int, int | None]] = []

    def build(self) -> dt.datetime:
        """Append the case's rows; returns the moment the case was opened."""
        rows = self.rows
        first = (len(rows.assessments), len(rows.drug_screens), len(rows.liver_panels))
        planned = self._plan_visits()
        visits = [self._visit(p) for p in planned]
        opening = visits[0].scheduled_at - dt.timedelta(minutes=10)
        visits[0].created_at = visits[0].updated_at = opening
        transitions = self._transitions(planned, visits, opening)
        self._assessments(planned, visits)
        self._finish_case(transitions, opening)
        self._medications()
        self._labs(planned, visits)
        self._plan_goals(planned, visits)
        self._rare_events(planned, visits)
        self._queue_alert_checks(
            visits, rows.assessments[first[0] :], rows.drug_screens[first[1] :], rows.liver_panels[first[2] :]
        )
        self.rows.cases.append(self.case)
        self.rows.care_team.extend(
            CareTeamMember(
                case_id=self.case.pk,
                user_id=member.pk,
                added_at=self.calendar.at(self.timeline.opened, 18 * 60),
            )
            for member in self.team
        )
        self.rows.transitions.extend(transitions)
        self.rows.visits.extend(visits)
        return opening

    # --- Clinicians. ---

    def _care_team(self) -> list[User]:
        """Counselors as primary usually share the case with a prescriber; prescribers sometimes with a counselor."""
        rng = self.rng
        if self.primary in self.staff.prescribers:
            others = [c for c in self.staff.counselors if c != self.primary]
            return [rng.choice(others)] if others and rng.random() < 0.25 else []
        prescribers = list(self.staff.prescribers)
        return [rng.choice(prescribers)] if prescribers and rng.random() < 0.55 else []

    def _clinician_for(self, visit_type: str) -> User | None:
        """Who sees the patient: the prescriber for medication management, else mostly the primary."""
        if visit_type == VisitType.MEDICATION_MANAGEMENT:
            prescribers = [c for c in (self.primary, *self.team) if c in self.staff.prescribers]
            return prescribers[0] if prescribers else None
        if self.team and self.rng.random() < 0.15:
            return self.team[0]
        return self.primary

    # --- Visits. ---

    def _plan_visits(self) -> list[PlannedVisit]:
        planned: list[PlannedVisit] = []
        is_open = self.timeline.discharge_reason is None
        for index, segment in enumerate(self.segments):
            last = index == len(self.segments) - 1
            for number, day in enumerate(self._visit_days(segment, future=last and is_open)):
                planned.append(self._planned(index, segment, day, entry=number == 0))
        if self.timeline.discharge_reason in ("completed", "transferred"):
            day = self.segments[-1].end
            planned.append(
                PlannedVisit(
                    day,
                    len(self.segments) - 1,
                    VisitType.INDIVIDUAL_COUNSELING,
                    Attendance.ATTENDED,
                    discharge=True,
                )
            )
        if self.timeline.discharge_reason == "left_against_advice":
            self._trail_off(planned)
        return planned

    def _visit_days(self, segment: Segment, *, future: bool) -> list[int]:
        """The stage's entry visit on its first day, then follow-ups at the stage's usual rhythm."""
        rng = self.rng
        days = [segment.start]
        day = segment.start
        limit = FUTURE_HORIZON if future else segment.end
        upcoming = 0
        while True:
            since = day - segment.start
            if segment.stage == Stage.TREATMENT:
                gap = rng.randint(3, 6) if since < 20 else rng.randint(5, 10)
            elif segment.stage == Stage.RECOVERY:
                gap = rng.randint(15, 25)  # about monthly once in recovery
            else:
                gap = rng.randint(2, 5)
            if self.visit_density != 1.0:
                gap = max(1, round(gap / self.visit_density))
            day += gap
            if day >= limit or (day >= 0 and upcoming >= 3):
                return days
            upcoming += day >= 0
            days.append(day)

    def _planned(self, index: int, segment: Segment, day: int, *, entry: bool) -> PlannedVisit:
        rng = self.rng
        if day >= 0:
            status: str = Attendance.SCHEDULED
        elif entry:
            status = Attendance.ATTENDED  # a stage changes at a visit the patient came to
        else:
            status = pick(rng, data.ATTENDANCE_WEIGHTS)
        if entry:
            visit_type: str = {
                Stage.INTAKE: VisitType.INTAKE,
                Stage.ASSESSMENT: VisitType.ASSESSMENT,
            }.get(Stage(segment.stage), VisitType.INDIVIDUAL_COUNSELING)
        elif day >= 0 and segment.stage in (Stage.INTAKE, Stage.ASSESSMENT):
            visit_type = VisitType.ASSESSMENT  # the work-up the patient is booked for next
        else:
            visit_type = pick(rng, data.VISIT_TYPE_WEIGHTS[segment.stage])
        if visit_type == VisitType.MEDICATION_MANAGEMENT and self._clinician_for(visit_type) is None:
            visit_type = VisitType.INDIVIDUAL_COUNSELING  # nobody on this case prescribes
        return PlannedVisit(day, index, visit_type, status, entry=entry and day < 0)

    def _trail_off(self, planned: list[PlannedVisit]) -> None:
        """Patients who leave against advice usually stop coming first: their last visits are no-shows."""
        misses = self.rng.randint(2, 3)
        for visit in reversed(planned):
            if misses == 0:
                break
            if not visit.entry:
                visit.status = Attendance.NO_SHOW
                misses -= 1

    def _visit(self, planned: PlannedVisit) -> Visit:
        rng = self.rng
        clinician = self._clinician_for(planned.visit_type) or self.primary
        start_minute = (
            GROUP_START if planned.visit_type == VisitType.GROUP_COUNSELING else rng.choice(DAY_SLOTS)
        )
        scheduled_at = self.calendar.at(planned.day, start_minute)
        minutes = data.VISIT_MINUTES[planned.visit_type]
        # Booked one to ten clinic days ahead, never before the case opened nor later than yesterday.
        booked_day = min(max(self.timeline.opened, planned.day - rng.randint(1, 10)), -1)
        created_at = self.calendar.at(booked_day, 17 * 60 + rng.randint(0, 59))
        visit = Visit(
            case_id=self.case.pk,
            clinician_id=clinician.pk,
            visit_type=planned.visit_type,
            scheduled_at=scheduled_at,
            duration_minutes=minutes,
            status=planned.status,
            created_at=created_at,
            updated_at=created_at,
            created_by_id=self.staff.front_desk.pk if rng.random() < 0.7 else clinician.pk,
        )
        if planned.status in (Attendance.NO_SHOW, Attendance.CANCELLED, Attendance.LATE_CANCEL):
            visit.updated_at = scheduled_at + dt.timedelta(minutes=minutes)
        if planned.status == Attendance.ATTENDED:
            self._write_note(visit, planned)
            self._sign(visit, planned.day, clinician)
        return visit

    # --- The clinical note. ---

    def _phase(self, planned: PlannedVisit) -> tuple[str, float]:
        """Where the patient is in their care ("pre", "early", "late", "recovery", "relapse") and how far
        treatment has got them (0 = as they came in, 1 = stable)."""
        segment = self.segments[planned.segment]
        if segment.stage in (Stage.INTAKE, Stage.ASSESSMENT):
            return "pre", 0.0
        if segment.stage == Stage.RECOVERY:
            return "recovery", 1.0
        returned = any(s.stage == Stage.RECOVERY for s in self.segments[: planned.segment])
        # Buprenorphine takes over from kratom: use and withdrawal fall faster than on a taper alone.
        speed = self.response * (1.5 if self.approach == "buprenorphine" else 1.0)
        progress = min(1.0, (planned.day - segment.start) / TREATMENT_SCALE * speed)
        if returned:
            progress = min(1.0, 0.3 + 2 * progress)
            return ("relapse" if planned.day - segment.start < 10 else "late"), progress
        return ("early" if progress < 0.45 else "late"), progress

    def _use_since_last_visit(self, phase: str, progress: float) -> tuple[float, int, int, list[str]]:
        """(daily grams, days used of the last 30, craving 0-10, withdrawal symptoms), trending down."""
        rng = self.rng
        baseline = self.profile.daily_grams
        if phase == "pre":
            amount, days, craving, symptoms = (
                baseline * rng.uniform(0.85, 1.15),
                rng.randint(25, 30),
                rng.randint(6, 9),
                rng.randint(2, 5),
            )
        elif phase == "recovery":
            slipped = rng.random() < 0.08
            amount = rng.uniform(1, max(1.5, baseline * 0.3)) if slipped else 0.0
            days = rng.randint(1, 4) if slipped else 0
            craving = rng.choices(range(5), weights=(25, 35, 25, 10, 5))[0]
            symptoms = 1 if rng.random() < 0.1 else 0
        else:
            amount = baseline * max(0.0, 1 - 1.15 * progress) * rng.uniform(0.8, 1.2)
            days = (
                round(30 * (1 - progress) ** 1.3 + rng.uniform(-2, 2)) if amount >= 0.5 else rng.randint(0, 2)
            )
            craving = round(8.5 - 7 * progress + rng.gauss(0, 1.1))
            symptoms = (
                rng.randint(1, 4)
                if progress < 0.3
                else rng.randint(0, 2)
                if progress < 0.7
                else rng.randint(0, 1)
            )
        if amount < 0.5:
            amount = 0.0
        chosen = sample_weighted(rng, data.WITHDRAWAL_SYMPTOM_WEIGHTS, symptoms) if symptoms else []
        return amount, min(max(days, 0), 30), min(max(craving, 0), 10), sorted(chosen)

    def _write_note(self, visit: Visit, planned: PlannedVisit) -> None:
        rng = self.rng
        phase, progress = self._phase(planned)
        amount, days, craving, symptoms = self._use_since_last_visit(phase, progress)
        planned.days_used = days
        in_person = planned.visit_type in data.IN_PERSON_TYPES
        if planned.visit_type != VisitType.LAB_ONLY:
            visit.craving = craving
            visit.kratom_days_used_30 = days
            visit.kratom_daily_grams = grams(amount)
            visit.withdrawal_symptoms = symptoms
        if in_person:
            self._take_vitals(visit, phase, progress)
        words = [data.SYMPTOM_WORDS[s] for s in symptoms]
        symptom_text = ", ".join(words[:-1]) + f" and {words[-1]}" if len(words) > 1 else "".join(words)
        symptom_text = symptom_text or "no withdrawal symptoms"
        fill = {
            "name": self.patient.preferred_name or self.patient.first_name,
            "form": data.FORM_WORDS[self.profile.form],
            "grams": f"{amount:.0f}" if amount >= 1 else f"{amount:.1f}",
            "years": f"{self.profile.years_used:g}",
            "reason": data.REASON_WORDS[self.profile.reasons[0]],
            "referral": data.REFERRAL_WORDS[self.case.referral_source],
            "days": days,
            "craving": craving,
            "symptoms": symptom_text,
            "symptoms_sentence": f"Withdrawal: {symptom_text}." if words else "No withdrawal symptoms.",
            "topic": rng.choice(data.GROUP_TOPICS),
            "severity": self.severity,
            # ICD-10-CM: F19.10 for a mild other-substance use disorder, F19.20 for moderate or severe.
            "icd": INSTRUMENTS["dsm5_sud"].diagnosis_codes.get(self.severity, "F19.20"),
            "next_grams": f"{amount * 0.75:.0f}",
            "weeks": {"pre": 1, "early": 1, "relapse": 1, "late": 2}.get(phase, 4),
            "bp": f"{visit.bp_systolic}/{visit.bp_diastolic}",
            "hr": visit.heart_rate,
            "weight": visit.weight_kg,
            "affect": rng.choice(data.AFFECTS),
            "exam": rng.choice(data.EXAMS),
        }
        kind = {
            VisitType.GROUP_COUNSELING: "group",
            VisitType.PHONE_CHECKIN: "phone",
            VisitType.LAB_ONLY: "lab",
        }.get(VisitType(planned.visit_type), phase)
        visit.subjective = rng.choice(data.SUBJECTIVE[kind]).format(**fill)
        if planned.visit_type == VisitType.LAB_ONLY:
            visit.objective = rng.choice(data.OBJECTIVE_LAB)
            visit.plan = rng.choice(data.PLAN_NOTES["lab"])
            return
        visit.objective = rng.choice(data.OBJECTIVE_IN_PERSON if in_person else data.OBJECTIVE_REMOTE).format(
            **fill
        )
        visit.assessment = rng.choice(data.ASSESSMENT_NOTES[phase]).format(**fill)
        visit.plan = rng.choice(data.PLAN_NOTES[phase]).format(**fill)

    def _take_vitals(self, visit: Visit, phase: str, progress: float) -> None:
        rng = self.rng
        body = self.body
        # Withdrawal raises pressure and pulse early on; weight comes back as appetite returns.
        strain = 6 if phase in ("pre", "relapse") or (phase == "early" and progress < 0.3) else 0
        systolic = round(body.systolic + strain + rng.gauss(0, 6))
        diastolic = round(body.diastolic + strain / 2 + rng.gauss(0, 4))
        visit.bp_systolic = min(max(systolic, 90), 200)
        visit.bp_diastolic = min(max(diastolic, 50), visit.bp_systolic - 25)
        visit.heart_rate = min(max(round(body.heart_rate + 1.5 * strain + rng.gauss(0, 6)), 48), 130)
        visit.weight_kg = Decimal(f"{body.weight_kg + 2.5 * progress + rng.gauss(0, 0.6):.1f}")

    def _sign(self, visit: Visit, day: int, clinician: User) -> None:
        """Older notes are all signed; a few from the last days still wait for their signature."""
        rng = self.rng
        ended = visit.scheduled_at + dt.timedelta(minutes=visit.duration_minutes)
        visit.updated_at = ended + dt.timedelta(minutes=5)
        if day >= -RECENT_DAYS and rng.random() < 0.55:
            return
        visit.signed_at = visit.updated_at = ended + dt.timedelta(minutes=rng.randint(10, 240))
        visit.signed_by_id = clinician.pk
        if rng.random() < 0.04:
            self._add_addendum(visit, day, clinician)

    def _add_addendum(self, visit: Visit, day: int, clinician: User) -> None:
        later = day + self.rng.randint(1, 5)
        if later >= 0:
            return  # it would be dated today or later
        author = self.staff.supervisor if self.rng.random() < 0.2 else clinician
        self.rows.addenda.append(
            VisitAddendum(
                visit_id=visit.pk,
                author_id=author.pk,
                created_at=self.calendar.at(later, self.rng.choice(DAY_SLOTS)),
                text=self.rng.choice(data.ADDENDUM_TEXTS),
            )
        )

    # --- Stage history. ---

    def _transitions(
        self, planned: Sequence[PlannedVisit], visits: Sequence[Visit], opening: dt.datetime
    ) -> list[StageTransition]:
        """The chain: opened at intake, each later stage entered at its entry visit, then the discharge."""
        rng = self.rng
        chain = [
            StageTransition(
                case_id=self.case.pk,
                sequence=1,
                from_stage=None,
                to_stage=Stage.INTAKE,
                effective_at=opening,
                recorded_at=opening,
                by_id=self.staff.front_desk.pk,
                reason="Case opened at intake",
            )
        ]
        for plan, visit in zip(planned, visits, strict=True):
            if not plan.entry or plan.segment == 0:
                continue
            from_stage = self.segments[plan.segment - 1].stage
            to_stage = self.segments[plan.segment].stage
            reasons = data.TRANSITION_REASONS[(from_stage, to_stage)]
            inducted = from_stage == Stage.ASSESSMENT and self.approach == "buprenorphine"
            if inducted:
                reasons = data.BUPRENORPHINE_START_REASONS
            chain.append(
                self._transition(
                    chain, to_stage, visit.scheduled_at, by=visit.clinician_id, reason=rng.choice(reasons)
                )
            )
        reason = self.timeline.discharge_reason
        if reason is not None:
            closing = visits[-1] if planned[-1].discharge else None
            if closing is not None:
                when = closing.scheduled_at + dt.timedelta(minutes=closing.duration_minutes)
            else:
                when = self.calendar.at(self.segments[-1].end, 16 * 60 + 45 + rng.randint(0, 40))
            chain.append(
                self._transition(
                    chain,
                    Stage.DISCHARGED,
                    when,
                    by=self.primary.pk,
                    reason=rng.choice(data.DISCHARGE_NOTES[reason]),
                    discharge_reason=reason,
                )
            )
        return chain

    def _transition(
        self,
        chain: Sequence[StageTransition],
        to_stage: str,
        when: dt.datetime,
        *,
        by: Any,
        reason: str,
        discharge_reason: str | None = None,
    ) -> StageTransition:
        previous = chain[-1]
        return StageTransition(
            case_id=self.case.pk,
            sequence=previous.sequence + 1,
            from_stage=previous.to_stage,
            to_stage=to_stage,
            effective_at=when,
            recorded_at=when,
            by_id=by,
            reason=reason,
            discharge_reason=discharge_reason,
        )

    def _finish_case(self, transitions: Sequence[StageTransition], opening: dt.datetime) -> None:
        last = transitions[-1]
        case = self.case
        case.stage = last.to_stage
        # Every stage change after opening bumps the optimistic-concurrency counter (see case_transition).
        case.version = len(transitions)
        case.created_at = opening
        case.updated_at = last.effective_at
        if last.to_stage == Stage.DISCHARGED:
            case.status = Case.Status.CLOSED
            case.closed_on = last.effective_at.astimezone(self.calendar.tz).date()
            case.discharge_reason = last.discharge_reason
        else:
            case.status = Case.Status.OPEN

    # --- Structured assessments. ---

    def _assessments(self, planned: Sequence[PlannedVisit], visits: Sequence[Visit]) -> None:
        """COWS at intake and at in-person visits of the first weeks of treatment, easing as the taper or
        buprenorphine takes hold; DSM-5, PHQ-9 and GAD-7 at assessment; a fresh DSM-5 checklist on entering
        recovery and on returning to treatment; PHQ-9 and GAD-7 again about every five weeks (and at the latest
        such visit of a patient with the rare "self_harm" finding, who answers item 9 above 0 there)."""
        reached_treatment = any(s.stage == Stage.TREATMENT for s in self.segments)
        screen_types = (
            VisitType.INDIVIDUAL_COUNSELING,
            VisitType.MEDICATION_MANAGEMENT,
            VisitType.TELEHEALTH,
        )
        self_harm_at = None
        if "self_harm" in self.findings:  # at the latest one-to-one contact (a PHQ-9 may be taken by phone)
            self_harm_at = next(
                (
                    plan
                    for plan, visit in zip(reversed(planned), reversed(visits), strict=True)
                    if visit.status == Attendance.ATTENDED
                    and plan.visit_type in (*screen_types, VisitType.PHONE_CHECKIN)
                    and not plan.entry
                ),
                None,
            )
        for plan, visit in zip(planned, visits, strict=True):
            if visit.status != Attendance.ATTENDED:
                continue
            segment = self.segments[plan.segment]
            stage = segment.stage
            phase, progress = self._phase(plan)
            if (
                stage == Stage.TREATMENT
                and plan.visit_type in (VisitType.INDIVIDUAL_COUNSELING, VisitType.MEDICATION_MANAGEMENT)
                and plan.day - segment.start < data.COWS_TREATMENT_DAYS
                and (self.last_cows_day is None or plan.day - self.last_cows_day >= 2)
            ):
                # Observed withdrawal fades over the first weeks; a return to treatment starts lower.
                start = self.cows_intensity * (0.8 if phase in ("relapse", "late") else 1.0)
                intensity = max(0.02, start * (1 - 2.2 * progress))
                self._record(visit, 10, "cows", self._cows(intensity))
                if self.rng.random() < data.SOWS_WITH_COWS_SHARE:  # the patient's own rating, alongside
                    self._record(visit, 12, "sows", self._sows(intensity))
                self.last_cows_day = plan.day
            if plan.visit_type == VisitType.INTAKE:
                self._record(visit, 30, "cows", self._cows(self.cows_intensity))
            elif plan.entry and stage == Stage.ASSESSMENT:
                if reached_treatment or self.rng.random() < 0.5:
                    self._record(visit, 20, "dsm5_sud", self._dsm5(self.dsm5_criteria))
                self._screen(visit, plan.day, progress, self_harm=plan is self_harm_at)
            elif plan.entry and stage == Stage.RECOVERY:
                self._record(visit, 20, "dsm5_sud", self._dsm5(0, craving=self.rng.random() < 0.5))
            elif plan.entry and phase == "relapse":
                self._record(visit, 20, "dsm5_sud", self._dsm5(self.rng.randint(2, 5)))
            elif stage in (Stage.TREATMENT, Stage.RECOVERY) and (
                plan is self_harm_at
                or (
                    plan.visit_type in screen_types
                    and (self.last_screen_day is None or plan.day - self.last_screen_day >= 25)
                )
            ):
                self._screen(visit, plan.day, progress, self_harm=plan is self_harm_at)

    def _screen(self, visit: Visit, day: int, progress: float, *, self_harm: bool = False) -> None:
        """PHQ-9 and GAD-7, easing for most patients as treatment takes hold. Item 9 (thoughts of self-harm)
        is 0 but on the one `self_harm` screen of a rare patient: the command raises its urgent alert
        through the domain's rules, and the primary clinician acknowledges it."""
        rng = self.rng
        phq9 = round(self.phq9_baseline * (1 - self.mood_response * progress) + rng.gauss(0, 1.3))
        gad7 = round(self.gad7_baseline * (1 - 0.9 * self.mood_response * progress) + rng.gauss(0, 1.3))
        item9 = 1 if self_harm else 0
        phq9_items = [*self._spread(min(max(phq9, 0), 24), 8, 3), item9]
        self._record(visit, 35, "phq9", {f"q{i}": v for i, v in enumerate(phq9_items, 1)})
        gad7_items = self._spread(min(max(gad7, 0), 21), 7, 3)
        self._record(visit, 42, "gad7", {f"q{i}": v for i, v in enumerate(gad7_items, 1)})
        self.last_screen_day = day

    def _spread(self, total: int, items: int, highest: int) -> list[int]:
        """Item values adding up to `total`, none above `highest`."""
        values = [0] * items
        for _ in range(total):
            values[self.rng.choice([i for i, v in enumerate(values) if v < highest])] += 1
        return values

    def _dsm5(self, met: int, *, craving: bool = False) -> dict[str, bool]:
        chosen = set(sample_weighted(self.rng, data.DSM5_CRITERION_WEIGHTS, met))
        if craving:
            chosen.add("craving")
        return {code: code in chosen for code in data.DSM5_CRITERION_WEIGHTS}

    @staticmethod
    def _dsm5_band(met: int) -> str:
        band = INSTRUMENTS["dsm5_sud"].band_for(met)
        return band.code if band else "severe"

    def _cows(self, intensity: float) -> dict[str, Any]:
        """Each observed item at one of its own allowed values, all leaning the same way (`intensity`, 0-1)."""
        scores = {}
        for item in INSTRUMENTS["cows"].items:
            values = item.allowed
            scores[item.code] = values[sum(self.rng.random() < intensity for _ in values[1:])]
        return scores

    def _sows(self, intensity: float) -> dict[str, Any]:
        """Each of the 16 self-rated items 0-4, leaning with the observed withdrawal (`intensity`, 0-1)."""
        return {
            item.code: sum(self.rng.random() < min(0.95, intensity * 1.4) for _ in range(4))
            for item in INSTRUMENTS["sows"].items
        }

    def _record(self, visit: Visit, after_minutes: int, instrument: str, responses: dict[str, Any]) -> None:
        # The clinic's own scorer: it also rejects any response the generator got wrong.
        clean, score = score_responses(instrument, responses)
        # Filled in during the visit, so never after it ended.
        minutes = min(after_minutes, visit.duration_minutes - 1)
        administered_at = visit.scheduled_at + dt.timedelta(minutes=minutes)
        self.rows.assessments.append(
            Assessment(
                case_id=self.case.pk,
                instrument=instrument,
                responses=clean,
                total=score.total,
                band=score.band,
                administered_at=administered_at,
                recorded_at=administered_at,
                by_id=visit.clinician_id,
            )
        )

    # --- Medications. ---

    def _closing_day(self) -> int | None:
        """The clinic day the case was discharged, or None while it is open."""
        return self.segments[-1].end if self.timeline.discharge_reason is not None else None

    def _medications(self) -> None:
        """Prescribed from the first treatment visit when a prescriber is on the case: buprenorphine/naloxone
        for many (some titrated up, some tapered off in recovery, restarted on a return to treatment), a
        withdrawal medication for the first weeks otherwise, a few on naltrexone once off kratom, and the
        odd other medicine. Everything a discharged case took stops by the discharge."""
        treatment = [segment for segment in self.segments if segment.stage == Stage.TREATMENT]
        if self.prescriber is None or not treatment:
            return
        rng = self.rng
        first = treatment[0]
        if self.approach == "buprenorphine":
            self._buprenorphine(first)
            if rng.random() < 0.2:
                self._withdrawal_medication(first.start)
        elif self.approach == "withdrawal_medication":
            self._withdrawal_medication(first.start)
        if self.approach != "buprenorphine" and rng.random() < data.NALTREXONE_SHARE:
            naltrexone = data.NALTREXONE
            name, dose, frequency, _ = rng.choices(naltrexone, weights=[m[3] for m in naltrexone])[0]
            self._prescribe(name, dose, frequency, first.start + rng.randint(20, 40), None)
        if rng.random() < data.OTHER_MEDICATION_SHARE:
            other = data.OTHER_MEDICATIONS
            name, dose, frequency, days, _ = rng.choices(other, weights=[m[4] for m in other])[0]
            start = first.start + rng.randint(0, 10)
            self._prescribe("other", dose, frequency, start, start + days if days else None, other_name=name)

    def _buprenorphine(self, first: Segment) -> None:
        """Induction on entering treatment; about half taper off in recovery (a taper a return to treatment
        interrupts just goes on), and those who had come off restart when they return."""
        rng = self.rng
        name, frequency = "buprenorphine_naloxone", "once daily"
        dose = pick(rng, data.BUPRENORPHINE_DOSES)
        taking_since: int | None = first.start
        if rng.random() < 0.3:  # started low, raised within the first week or two
            raised = first.start + rng.randint(3, 8)
            self._prescribe(name, "8 mg/2 mg", frequency, first.start, raised)
            dose, taking_since = pick(rng, data.BUPRENORPHINE_TITRATED_DOSES), raised
        later = self.segments[self.segments.index(first) + 1 :]
        for segment in later:
            if segment.stage == Stage.RECOVERY and taking_since is not None and rng.random() < 0.45:
                stop = max(segment.start + rng.randint(10, 60), taking_since)
                if stop < segment.end or segment is later[-1]:
                    self._prescribe(name, dose, frequency, taking_since, stop)
                    taking_since = None
            elif segment.stage == Stage.TREATMENT and taking_since is None:
                taking_since = segment.start
        if taking_since is not None:
            self._prescribe(name, dose, frequency, taking_since, None)

    def _withdrawal_medication(self, start: int) -> None:
        choices = data.WITHDRAWAL_MEDICATIONS
        name, dose, frequency, _ = self.rng.choices(choices, weights=[m[3] for m in choices])[0]
        self._prescribe(name, dose, frequency, start, start + self.rng.randint(5, 15))

    def _prescribe(
        self, name: str, dose: str, frequency: str, start: int, stop: int | None, *, other_name: str = ""
    ) -> None:
        """One medication row from clinic day `start` to `stop` (None: still taking it). Not started yet or
        after the discharge: no row. A stop still ahead for an open case is not known yet (None); a
        discharged case's medication stops by the discharge at the latest."""
        closing = self._closing_day()
        prescriber = self.prescriber
        if prescriber is None or start > (closing if closing is not None else -1):
            return
        if closing is not None:
            stop = closing if stop is None else min(stop, closing)
        elif stop is not None and stop >= 0:
            stop = None
        if stop is not None:
            stop = max(stop, start)
        created_at = self.calendar.at(start, 12 * 60 + self.rng.randint(0, 299))
        self.rows.medications.append(
            Medication(
                case_id=self.case.pk,
                medication=name,
                other_name=other_name,
                dose=dose,
                frequency=frequency,
                start_date=self.calendar.date(start),
                stop_date=self.calendar.date(stop) if stop is not None else None,
                prescriber=prescriber.full_name or prescriber.username,
                created_at=created_at,
                updated_at=self.calendar.at(stop, 17 * 60 + 30) if stop is not None else created_at,
                created_by_id=prescriber.pk,
            )
        )
        if name == "buprenorphine_naloxone":
            self.buprenorphine_days.append((start, stop))

    def _on_buprenorphine(self, day: int) -> bool:
        return any(start <= day and (stop is None or day <= stop) for start, stop in self.buprenorphine_days)

    # --- Labs: urine drug screens and liver panels. ---

    def _labs(self, planned: Sequence[PlannedVisit], visits: Sequence[Visit]) -> None:
        """Urine collected at in-person visits from assessment on: on entering each stage, at every lab-only
        visit, and otherwise every two to three weeks in treatment, every month or so in recovery. A liver
        panel with the first screen for most patients, and a follow-up for some (all whose first one was
        abnormal). The rare fentanyl positive is the screen at the patient's latest visit."""
        rng = self.rng
        first_screen = len(self.rows.drug_screens)
        last_screen: int | None = None
        gap = 0
        panels = 0
        follow_up: int | None = None
        lab_visits = [
            (plan, visit)
            for plan, visit in zip(planned, visits, strict=True)
            if visit.status == Attendance.ATTENDED
            and plan.visit_type in data.LAB_VISIT_TYPES
            and self.segments[plan.segment].stage != Stage.INTAKE
        ]
        for plan, visit in lab_visits:
            stage = self.segments[plan.segment].stage
            if (
                plan.visit_type == VisitType.LAB_ONLY
                or plan.entry
                or last_screen is None
                or plan.day - last_screen >= gap
                or ("fentanyl" in self.findings and plan is lab_visits[-1][0])
            ):
                self._drug_screen(visit, plan)
                last_screen = plan.day
                gap = rng.randint(*data.SCREEN_GAP_DAYS[stage])
            if panels == 0 and self.liver_baseline:
                self._liver_panel(visit, plan, self.liver_state)
                panels = 1
                if self.liver_state in ("liver_injury", "hys_law"):
                    follow_up = plan.day + rng.randint(4, 8)  # repeat within a week or two
                elif self.liver_state == "mild" or rng.random() < data.LIVER_FOLLOW_UP_SHARE:
                    follow_up = plan.day + rng.randint(20, 45)
            elif (
                panels == 1 and follow_up is not None and plan.day >= follow_up and stage != Stage.ASSESSMENT
            ):
                self._liver_panel(visit, plan, pick_pair(rng, data.LIVER_FOLLOW_UP[self.liver_state]))
                panels = 2
        if "fentanyl" in self.findings:
            # The latest screen, if recent (so it is on today's worklist).
            recent = [
                screen
                for screen in self.rows.drug_screens[first_screen:]
                if screen.created_at >= self.alert_window_start
            ]
            if recent:
                recent[-1].fentanyl = Result.POSITIVE

    def _drug_screen(self, visit: Visit, plan: PlannedVisit) -> None:
        """Mitragynine positive while the patient still uses (detectable for about a week), negative once
        off kratom; 7-OH products show as 7-hydroxymitragynine; buprenorphine when prescribed; the odd
        other positive (more likely for what the patient reports using); a few analytes not tested."""
        rng = self.rng
        phase, _ = self._phase(plan)
        used = phase == "pre" or rng.random() < 1 - (1 - plan.days_used / 30) ** 6
        seven_oh = self.profile.form == "seven_oh_product"
        chances = dict(data.SCREEN_BACKGROUND_POSITIVE)
        for analyte, chance in data.OTHER_SUBSTANCE_POSITIVE.get(self.profile.other_substances, {}).items():
            chances[analyte] = max(chances.get(analyte, 0.0), chance)
        chances["mitragynine"] = (0.5 if seven_oh else 0.97) if used else 0.01
        chances["seven_oh_mitragynine"] = (0.95 if seven_oh else 0.4) if used else 0.0
        chances["buprenorphine"] = 0.95 if self._on_buprenorphine(plan.day) else 0.003
        results: dict[str, str] = {}
        for analyte in ANALYTES:
            tested = rng.random() < data.SCREEN_TESTED_SHARE[analyte]
            positive = rng.random() < chances.get(analyte, 0.0)
            results[analyte] = Result.POSITIVE if positive else Result.NEGATIVE
            if not tested:
                results[analyte] = Result.NOT_TESTED
        ended = visit.scheduled_at + dt.timedelta(minutes=visit.duration_minutes)
        self.rows.drug_screens.append(
            DrugScreen(
                case_id=self.case.pk,
                collected_on=self.calendar.date(plan.day),
                created_at=ended + dt.timedelta(minutes=rng.randint(5, 90)),
                created_by_id=visit.clinician_id,
                **results,
            )
        )

    def _liver_panel(self, visit: Visit, plan: PlannedVisit, state: str) -> None:
        """ALT, AST, ALP (U/L) and total bilirubin (mg/dL) as multiples of the patient's lab's limits."""
        rng = self.rng
        _, alt_uln, ast_uln, alp_uln, bilirubin_uln, _ = self.liver_lab
        ranges = data.LIVER_STATES[state]

        def value(analyte: str, uln: str, places: int) -> Decimal:
            return Decimal(f"{float(uln) * rng.uniform(*ranges[analyte]):.{places}f}")

        self.rows.liver_panels.append(
            LiverPanel(
                case_id=self.case.pk,
                collected_on=self.calendar.date(plan.day),
                alt=value("alt", alt_uln, 0),
                alt_uln=Decimal(alt_uln),
                ast=value("ast", ast_uln, 0),
                ast_uln=Decimal(ast_uln),
                alp=value("alp", alp_uln, 0),
                alp_uln=Decimal(alp_uln),
                total_bilirubin=value("bilirubin", bilirubin_uln, 1),
                total_bilirubin_uln=Decimal(bilirubin_uln),
                # Resulted by the lab later the same day.
                created_at=visit.scheduled_at + dt.timedelta(minutes=rng.randint(180, 360)),
                created_by_id=visit.clinician_id,
            )
        )

    # --- Treatment plan. ---

    def _plan_goals(self, planned: Sequence[PlannedVisit], visits: Sequence[Visit]) -> None:
        """One to three goals written on entering treatment (the kratom goal first), reviewed every month or
        so at an individual, medication or telehealth visit, on returning to treatment (the kratom goal is
        revised and a new one set) and at discharge. A few plans' reviews lapse after the first."""
        treatment = [i for i, segment in enumerate(self.segments) if segment.stage == Stage.TREATMENT]
        if not treatment:
            return
        rng = self.rng
        start = self.segments[treatment[0]].start
        returned = self.segments[treatment[1]].start if len(treatment) > 1 else None
        reviews = [start]
        gap = rng.randint(*data.PLAN_REVIEW_GAP_DAYS)
        for plan, visit in zip(planned, visits, strict=True):
            if visit.status != Attendance.ATTENDED or plan.day <= start:
                continue
            if plan.day == returned and plan.entry:
                reviews.append(plan.day)
            elif (
                not self.plan_review_lapses
                and self.segments[plan.segment].stage in (Stage.TREATMENT, Stage.RECOVERY)
                and plan.visit_type
                in (VisitType.INDIVIDUAL_COUNSELING, VisitType.MEDICATION_MANAGEMENT, VisitType.TELEHEALTH)
                and plan.day - reviews[-1] >= gap
            ):
                reviews.append(plan.day)
                gap = rng.randint(*data.PLAN_REVIEW_GAP_DAYS)
        closing = self._closing_day()
        if closing is not None and closing > reviews[-1]:
            reviews.append(closing)  # the plan is closed out at discharge

        reason = self.timeline.discharge_reason
        outcome = (
            str(self.segments[-1].stage)
            if reason is None
            else "completed"
            if reason == "completed"
            else "closed_early"
        )
        reached_recovery = any(segment.stage == Stage.RECOVERY for segment in self.segments)
        kratom_status = {
            "treatment": GoalStatus.ACTIVE,
            "recovery": GoalStatus.MET,
            "completed": GoalStatus.MET,
            "closed_early": GoalStatus.MET if reached_recovery else GoalStatus.DISCONTINUED,
        }[outcome]
        profile = self.profile
        topic_weights = {
            "withdrawal": 20,
            "mood": 30 if self.phq9_baseline >= 10 else 6,
            "anxiety": 25 if "anxiety_mood" in profile.reasons or self.gad7_baseline >= 10 else 5,
            "pain": 30 if "pain" in profile.reasons else 3,
            "sleep": 10,
            "relationships": 10,
            "work": 8,
            "other_substance": 20 if profile.other_substances else 0,
            "liver": 40 if self.liver_baseline and self.liver_state != "normal" else 0,
        }
        extra = rng.choices((0, 1, 2), weights=(25, 45, 30))[0]
        topics = sample_weighted(rng, {t: w for t, w in topic_weights.items() if w}, extra)
        goals: list[tuple[str, int, str]] = [
            ("kratom", start, GoalStatus.REVISED if returned is not None else kratom_status)
        ]
        goals += [(topic, start, pick_pair(rng, data.GOAL_STATUS_WEIGHTS[outcome])) for topic in topics]
        if returned is not None:
            goals.append(("kratom_return", returned, kratom_status))
        fill = {
            "grams": f"{profile.daily_grams:g}",
            "form": data.FORM_WORDS[profile.form],
            "severity": self.severity,
            "other": profile.other_substances.lower(),
        }
        reviewed_at = self.calendar.at(reviews[-1], 17 * 60 + 30 + rng.randint(0, 29))
        for topic, day, status in goals:
            problem, goal, interventions = rng.choice(data.GOALS[topic])
            self.rows.goals.append(
                TreatmentGoal(
                    case_id=self.case.pk,
                    problem=problem.format(**fill),
                    goal=goal.format(**fill),
                    interventions=interventions.format(**fill),
                    target_date=self.calendar.date(day) + dt.timedelta(days=rng.randint(60, 120)),
                    status=status,
                    review_date=self.calendar.date(reviews[-1]),
                    created_at=self.calendar.at(day, 17 * 60 + rng.randint(0, 29)),
                    updated_at=reviewed_at,
                    created_by_id=self.primary.pk,
                )
            )

    # --- What the alert rules will be run on. ---

    def _rare_events(self, planned: Sequence[PlannedVisit], visits: Sequence[Visit]) -> None:
        """The rare findings that are events or vitals, a few days before the patient's latest attended visit
        (so recent enough for today's worklist): a seizure or an overdose told at that visit (SPEC 3.6), or
        clonidine restarted for a hard week with the visit's pressure and pulse too low on it."""
        wanted = self.findings & {"seizure", "overdose", "alpha2_hypotension"}
        if not wanted:
            return
        latest = next(
            (
                (plan, visit)
                for plan, visit in zip(reversed(planned), reversed(visits), strict=True)
                if visit.status == Attendance.ATTENDED
                and visit.scheduled_at >= self.alert_window_start
                and self.segments[plan.segment].stage == Stage.TREATMENT
                and plan.visit_type not in (VisitType.PHONE_CHECKIN, VisitType.TELEHEALTH, VisitType.LAB_ONLY)
            ),
            None,
        )
        if latest is None:
            return
        plan, visit = latest
        told = visit.scheduled_at + dt.timedelta(minutes=15)
        for finding in sorted(wanted & set(data.CLINICAL_EVENTS)):
            days_before = self.rng.randint(2, 5)
            occurred = max(self.case.opened_on, self.calendar.date(plan.day) - dt.timedelta(days=days_before))
            for kind, related, naloxone, text in data.CLINICAL_EVENTS[finding]:
                self.rows.clinical_events.append(
                    ClinicalEvent(
                        case_id=self.case.pk, kind=kind, occurred_on=occurred, description=text,
                        related_to_kratom=related, naloxone_given=naloxone, created_at=told,
                        created_by_id=visit.clinician_id,
                    )
                )  # fmt: skip
        if "alpha2_hypotension" in wanted and self.prescriber is not None:
            self._prescribe(
                "clonidine", "0.1 mg", "three times daily", max(plan.day - 4, self.timeline.opened), None
            )
            visit.bp_systolic, visit.bp_diastolic, visit.heart_rate = 86, 54, 52

    def _queue_alert_checks(
        self,
        visits: Sequence[Visit],
        assessments: Sequence[Assessment],
        screens: Sequence[DrugScreen],
        panels: Sequence[LiverPanel],
    ) -> None:
        """The case's records from the alert window, in the order they were saved: assessments, visits with
        blood pressure, no-shows (the attendance rule), drug screens and liver panels."""
        start = self.alert_window_start
        checks: list[AlertCheck] = []

        def check(at: dt.datetime, record: Any, *, attendance: bool = False) -> None:
            if at >= start:
                checks.append(AlertCheck(at, record, self.case, self.primary, attendance))

        for assessment in assessments:
            check(assessment.administered_at, assessment)
        for visit in visits:
            if visit.bp_systolic is not None:
                check(visit.scheduled_at + dt.timedelta(minutes=10), visit)
        # A no-show is checked once the next outcome is known too: the attendance rule looks at the visits on
        # both sides, and a run of two no-shows is only there to see once the second is marked.
        outcomes = [
            visit for visit in visits if visit.status not in (Attendance.SCHEDULED, Attendance.CANCELLED)
        ]
        for visit, following in zip(outcomes, [*outcomes[1:], None], strict=True):
            if visit.status == Attendance.NO_SHOW:
                known = visit.updated_at if following is None else max(visit.updated_at, following.updated_at)
                check(known, visit, attendance=True)
        for screen in screens:
            check(screen.created_at, screen)
        for panel in panels:
            check(panel.created_at, panel)
        for event in (e for e in self.rows.clinical_events if e.case_id == self.case.pk):
            check(event.created_at, event)
        checks.sort(key=lambda c: c.at)
        self.rows.alert_checks.extend(checks)
