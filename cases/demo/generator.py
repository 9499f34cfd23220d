"""The demo clinic generator: patients with about a year of history, as unsaved rows, reproducible from a seed.
Draws the patients and the timelines of their cases; each case's records are `cases.demo.history.CaseHistory`'s."""

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence

from cases.demo import data
from cases.demo.common import (
    HISTORY_BUDGET,
    OPEN_STAGE_ORDER,
    Body,
    ClinicCalendar,
    DemoRows,
    DemoStaff,
    PatientPlan,
    Profile,
    Segment,
    Stage,
    Timeline,
    pick,
    pick_pair,
    quota,
    sample_weighted,
    years_before,
)
from cases.demo.history import CaseHistory
from cases.models import Patient


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
        # Contact preferences (issue 15): their own stream too, so that adding them changed no other row.
        self.contact_rng = random.Random(f"{seed}/contact")  # noqa: S311
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
        patient = Patient(
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
        self._contact_preferences(patient)
        return patient

    def _date_of_birth(self, first_opened: dt.date) -> dt.date:
        """An adult of 19 to 75 today, who was at least 18 when first seen here."""
        today = self.calendar.today
        age_years = self.rng.triangular(19, 76, 36)
        born = today - dt.timedelta(days=int(age_years * 365.25))
        latest = min(years_before(today, 19), years_before(first_opened, 18))
        earliest = years_before(today, 76) + dt.timedelta(days=1)
        return min(max(born, earliest), latest)

    def _contact_preferences(self, patient: Patient) -> None:
        """May we leave a voicemail, may we text, the preferred way (issue 15): about one in five not asked yet, and
        a preferred way the record allows (`cases.contact.contact_preference_problem`)."""
        rng = self.contact_rng
        patient.may_leave_voicemail = rng.choices((False, True, None), (45, 35, 20))[0]
        patient.may_text = rng.choices((True, False, None), (55, 25, 20))[0]
        ways = [
            "phone",
            "phone",
            "",
            *(["text"] * 3 if patient.may_text else []),
            *(["email"] if patient.email else []),
        ]
        patient.preferred_contact_method = rng.choice(ways)

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
