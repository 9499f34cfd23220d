"""A demo case's medications: buprenorphine, withdrawal medications, naltrexone and the odd other medicine."""

from cases.demo import data
from cases.demo.case import CaseBase
from cases.demo.common import Segment, Stage, pick
from cases.models import Medication


class MedicationsPart(CaseBase):
    """Medications: buprenorphine, withdrawal medications, naltrexone and the odd other medicine."""

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
